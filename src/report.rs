//! How errors reach the operator: one line saying what failed (network,
//! plugin, the plugin's own code and message), one line per cause, and a
//! hint with the next step where we know one. Red and cyan on a terminal,
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
            c if c == ErrorCode::InvalidEnvironment as u32 && failure.error.msg.contains("failed to find plugin") => {
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
    let text = format!("{report:#}");
    if text.contains("no network named") {
        return Some("`cnictl list` shows the networks in the config dir (--conf-dir / NETCONFPATH)".into());
    }
    if text.contains("expected")
        && (text.contains(".conflist:") || text.contains(".conf:") || text.contains(".json:"))
    {
        return Some("`cnictl validate FILE` checks a config file".into());
    }
    if text.contains("Permission denied") || text.contains("Operation not permitted") {
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

/// Prints an error report for the operator; `verb` is the command that met it.
pub fn print(report: &Report, verb: &str) {
    let color = colored();
    let label = if color { "error:".red().bold().to_string() } else { "error:".to_string() };
    eprintln!("cnictl: {label} {report}");
    for cause in report.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint(report, verb) {
        let label = if color { "hint:".cyan().bold().to_string() } else { "hint:".to_string() };
        eprintln!("  {label} {hint}");
    }
}
