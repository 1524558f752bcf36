//! How errors reach the operator: one line saying what failed (network,
//! plugin, the plugin's own code and message), one line per cause, and a
//! hint with the next step where we know one, chosen by the cause's type
//! (never by its text). Red and cyan on a terminal,
//! plain with `NO_COLOR` or when stderr is not a terminal.

use std::io::IsTerminal;

use cni::ErrorCode;
use color_eyre::eyre::Report;
use color_eyre::owo_colors::OwoColorize;

use crate::runtime::PluginFailure;

/// True when stderr should carry colour.
pub fn colored() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// True when the error is a write to a closed stdout (the reader went
/// away): not an error for the operator.
pub fn closed_pipe(report: &Report) -> bool {
    report
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The next step for an error that `verb` (`add`, `netns list`..) met, if we
/// know one; never `verb` itself.
pub fn hint(report: &Report, verb: &str) -> Option<String> {
    let hint = any_hint(report)?;
    let names_verb = [format!("`cnictl {verb}`"), format!("`cnictl {verb} ")];
    (!names_verb.iter().any(|n| hint.contains(n.as_str()))).then_some(hint)
}

fn any_hint(report: &Report) -> Option<String> {
    if let Some(failure) = report.chain().find_map(|e| e.downcast_ref::<PluginFailure>()) {
        let network = &failure.network;
        let code = failure.error.code;
        return match code {
            _ if !failure.found => {
                Some("install the plugin into the plugin path, or point --cni-path / CNI_PATH at it; `cnictl plugins` lists what is found".into())
            }
            c if c == ErrorCode::UnknownContainer as u32 => {
                Some("the namespace is gone or was never there; `cnictl netns list` shows the named ones".into())
            }
            c if c == ErrorCode::InvalidConfig as u32 || c == ErrorCode::Decoding as u32 => {
                Some(format!("`cnictl validate {network}` checks the config and its plugins"))
            }
            c if c == ErrorCode::IncompatibleVersion as u32 => {
                Some(format!("`cnictl validate {network}` shows which versions each plugin speaks"))
            }
            c if c == ErrorCode::TryAgainLater as u32 => Some("a transient condition: try again".into()),
            c if c == ErrorCode::PluginNotAvailable as u32 => {
                Some(format!("the plugin cannot take new attachments now; `cnictl status {network}` tells when it can"))
            }
            _ => Some("`cnictl doctor` looks for host problems that break networks".into()),
        };
    }
    if report.chain().any(|e| e.is::<crate::runtime::config::NoSuchNetwork>()) {
        return Some("`cnictl list` shows the networks in the config dir (--conf-dir / NETCONFPATH)".into());
    }
    if report.chain().any(|e| e.is::<crate::runtime::config::BadConfigFile>()) {
        return Some("`cnictl validate FILE` checks a config file".into());
    }
    if refused_access(report) {
        if nix::unistd::geteuid().is_root() {
            return Some(
                "cnictl runs as root, so something else refuses: a read-only mount, a security module \
                 (AppArmor, SELinux), or a container without the capability"
                    .into(),
            );
        }
        return Some(
            "network namespaces, plugins and the result cache need root: run cnictl as root (sudo)".into(),
        );
    }
    None
}

/// True when a cause is a refused access: [`NeedsRoot`], or an OS error
/// EACCES or EPERM (from std or nix).
fn refused_access(report: &Report) -> bool {
    let refused = |code: i32| code == libc::EACCES || code == libc::EPERM;
    report.chain().any(|e| {
        e.is::<NeedsRoot>()
            || e.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error).is_some_and(refused)
            || e.downcast_ref::<nix::errno::Errno>().is_some_and(|errno| refused(*errno as i32))
    })
}

/// The exit status of a command refused for want of privilege (sysexits'
/// EX_NOPERM), so scripts can tell "run me as root" from a failure.
pub const EXIT_NEEDS_ROOT: u8 = 77;

/// What only root may read or change refused access: the command stops
/// rather than answer from what it could not see.
#[derive(Debug)]
pub struct NeedsRoot {
    /// The command or step that needed it (`check`, `gc`...).
    pub what: String,
    /// The file or object access to which was refused.
    pub path: std::path::PathBuf,
}

impl std::fmt::Display for NeedsRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} needs root: {} cannot be read or changed as this user", self.what, self.path.display())
    }
}

impl std::error::Error for NeedsRoot {}

/// `Err(NeedsRoot)` when `error` is a refused access (EACCES, EPERM) to
/// `path`, else `error` with the path named: for readers of root's state.
pub fn io_needing_root(what: &str, path: &std::path::Path, error: std::io::Error) -> Report {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::PermissionDenied) || error.raw_os_error() == Some(libc::EPERM) {
        return Report::new(NeedsRoot { what: what.to_string(), path: path.to_path_buf() });
    }
    Report::new(error).wrap_err(format!("{what}: cannot read {}", path.display()))
}

/// The exit status for a report: [`EXIT_NEEDS_ROOT`] when privilege was missing.
pub fn exit_code(report: &Report) -> std::process::ExitCode {
    if report.chain().any(|e| e.downcast_ref::<NeedsRoot>().is_some()) {
        return std::process::ExitCode::from(EXIT_NEEDS_ROOT);
    }
    std::process::ExitCode::FAILURE
}

/// Writes a line for the operator to stderr. Nothing can be said about a
/// stderr that cannot be written to (a closed one), so that is ignored,
/// never a panic.
pub fn say(text: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints an error report for the operator; `verb` is the command that met it.
pub fn print(report: &Report, verb: &str) {
    let color = colored();
    let label = if color { "error:".red().bold().to_string() } else { "error:".to_string() };
    say(format_args!("cnictl: {label} {report}"));
    for cause in report.chain().skip(1) {
        say(format_args!("  caused by: {cause}"));
    }
    if let Some(hint) = hint(report, verb) {
        let label = if color { "hint:".cyan().bold().to_string() } else { "hint:".to_string() };
        say(format_args!("  {label} {hint}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_from_the_causes_type_not_its_words() {
        let missing = crate::runtime::config::NoSuchNetwork {
            name: "n".into(),
            dir: "/etc/cni/net.d".into(),
            unreadable: Vec::new(),
        };
        let hint = any_hint(&Report::new(missing).wrap_err("cnictl add"));
        assert!(hint.is_some_and(|h| h.contains("cnictl list")));
        let denied = Report::new(std::io::Error::from_raw_os_error(libc::EACCES)).wrap_err("opening");
        assert!(refused_access(&denied));
        let errno = Report::new(nix::errno::Errno::EPERM).wrap_err("setns");
        assert!(refused_access(&errno));
        // The same words in a message of another kind choose nothing.
        let words = color_eyre::eyre::eyre!("no network named x: Permission denied, expected .conflist:");
        assert_eq!(any_hint(&words), None);
    }
}
