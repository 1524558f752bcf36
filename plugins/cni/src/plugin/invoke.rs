//! Finding and running plugins through the exec protocol.
//!
//! Used by `cnictl` to run a chain and by main plugins to delegate to
//! their IPAM plugin. A plugin is a file named after its type in one of
//! the search directories or, failing that, our multicall binary run under
//! that type's name, so a fresh build works without links.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env::Command as Verb;
use crate::error::{CniError, ErrorCode};
use crate::{BUILTIN_PLUGIN_TYPES, MULTICALL_BINARY};

/// Where a plugin was found and the name to run it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginExe {
    /// The file to execute.
    pub program: PathBuf,
    /// `argv[0]`: the plugin type, which the multicall binary dispatches on.
    pub name: String,
}

/// Refuses plugin types that could escape the search directories.
pub fn validate_plugin_type(plugin_type: &str) -> Result<(), CniError> {
    if plugin_type.is_empty() {
        return Err(CniError::config("plugin type is empty"));
    }
    if plugin_type.contains('/') || plugin_type == "." || plugin_type == ".." {
        return Err(CniError::config(format!(
            "plugin type {plugin_type:?} must be a plain name, not a path"
        )));
    }
    Ok(())
}

/// True for a regular file (or a link to one) with an execute bit.
pub fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Finds a plugin: in each directory in turn, a file named after the type,
/// else the multicall binary if the type is one of ours.
pub fn find_plugin(plugin_type: &str, dirs: &[PathBuf]) -> Result<PluginExe, CniError> {
    validate_plugin_type(plugin_type)?;
    let builtin = BUILTIN_PLUGIN_TYPES.contains(&plugin_type);
    for dir in dirs {
        let candidate = dir.join(plugin_type);
        if is_executable_file(&candidate) {
            return Ok(PluginExe { program: candidate, name: plugin_type.to_string() });
        }
        let multicall = dir.join(MULTICALL_BINARY);
        if builtin && is_executable_file(&multicall) {
            return Ok(PluginExe { program: multicall, name: plugin_type.to_string() });
        }
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(CniError::new(
        ErrorCode::InvalidEnvironment,
        format!("failed to find plugin {plugin_type:?} in path [{}]", shown.join(" ")),
    ))
}

/// The `CNI_*` variables of one plugin call. Every one is set, empty when
/// not relevant (GC, STATUS), as libcni does.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// The verb.
    pub command: Verb,
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// `CNI_NETNS`.
    pub netns: &'a str,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
    /// `CNI_ARGS`.
    pub args: &'a str,
    /// `CNI_PATH`.
    pub path: &'a str,
}

impl Invocation<'_> {
    /// The six variables, as the plugin's environment gets them.
    pub fn env(&self) -> [(&'static str, &str); 6] {
        [
            ("CNI_COMMAND", self.command.as_str()),
            ("CNI_CONTAINERID", self.container_id),
            ("CNI_NETNS", self.netns),
            ("CNI_IFNAME", self.ifname),
            ("CNI_ARGS", self.args),
            ("CNI_PATH", self.path),
        ]
    }
}

/// Runs a plugin with `stdin` and the invocation's variables (on top of
/// the inherited environment). Returns stdout on success; on failure, the
/// plugin's own error object if it printed one. What the plugin wrote on
/// stderr reaches ours, as libcni passes it through (runtimes and cnictl
/// show plugin warnings that way), each line prefixed with the plugin's
/// type unless the plugin already put it there.
pub fn exec_plugin(exe: &PluginExe, stdin: &[u8], call: &Invocation) -> Result<Vec<u8>, CniError> {
    let output = run_plugin_within(exe, &call.env(), stdin, None)?;
    // A failure without JSON carries stderr in its message instead.
    if !failed_without_json(&output) {
        relay_stderr(&exe.name, &output.stderr, &mut std::io::stderr());
    }
    outcome_of(exe, output)
}

/// [`exec_plugin`] with a time limit, and stderr kept out of ours: a
/// plugin still running after `limit` is killed and the call fails. For
/// probes of files that may not be plugins at all (`cnictl plugins`),
/// which must not hang, nor fill the operator's terminal.
pub fn exec_plugin_within(
    exe: &PluginExe,
    stdin: &[u8],
    call: &Invocation,
    limit: Option<std::time::Duration>,
) -> Result<Vec<u8>, CniError> {
    outcome_of(exe, run_plugin_within(exe, &call.env(), stdin, limit)?)
}

/// A plugin that failed without printing JSON (it crashed, or is no plugin).
fn failed_without_json(output: &std::process::Output) -> bool {
    !output.status.success() && serde_json::from_slice::<serde_json::Value>(&output.stdout).is_err()
}

/// What a finished plugin answered: stdout, its error object, or (when it
/// failed without JSON) an error carrying its stderr or stdout.
fn outcome_of(exe: &PluginExe, output: std::process::Output) -> Result<Vec<u8>, CniError> {
    if failed_without_json(&output) {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let detail = if stderr.is_empty() { stdout } else { stderr };
        return Err(CniError::internal(format!("plugin {} failed ({}): {detail}", exe.name, output.status)));
    }
    plugin_outcome(output.status.success(), output.stdout, &exe.name)
}

fn plugin_error_object(stdout: &[u8]) -> Option<CniError> {
    serde_json::from_slice::<serde_json::Value>(stdout).ok().as_ref().and_then(CniError::from_json)
}

/// Writes a plugin's stderr to `out`, line by line, each prefixed with
/// `<type>: ` unless it already starts so (our plugins name themselves).
pub fn relay_stderr(plugin_type: &str, stderr: &[u8], out: &mut dyn Write) {
    if stderr.is_empty() {
        return;
    }
    let prefix = format!("{plugin_type}: ");
    let mut text = String::new();
    for line in String::from_utf8_lossy(stderr).lines().filter(|l| !l.trim().is_empty()) {
        if !line.starts_with(&prefix) {
            text.push_str(&prefix);
        }
        text.push_str(line);
        text.push('\n');
    }
    // Written whole, so lines of plugins run side by side do not interleave.
    let _ = out.write_all(text.as_bytes());
}

/// Runs a plugin as `exe.name` with `env` on top of the inherited
/// environment (later entries win) and `stdin`, waiting at most `limit`;
/// its whole output. The one place plugins are spawned: [`exec_plugin`]
/// and cnictl's probes (VERSION, VALIDATE) go through it.
pub fn run_plugin_within(
    exe: &PluginExe,
    env: &[(&str, &str)],
    stdin: &[u8],
    limit: Option<std::time::Duration>,
) -> Result<std::process::Output, CniError> {
    let mut attempts = 0;
    let mut child = loop {
        let mut command = Command::new(&exe.program);
        command.arg0(&exe.name).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.envs(env.iter().copied());
        match command.spawn() {
            Ok(child) => break child,
            // The binary is being replaced: wait for the writer, as libcni does.
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(CniError::io(format!("failed to run plugin {}", exe.program.display()), e)),
        }
    };
    let writer = child.stdin.take().map(|mut pipe| {
        let data = stdin.to_vec();
        std::thread::spawn(move || {
            // A plugin may exit without reading stdin (VERSION): ignore EPIPE.
            let _ = pipe.write_all(&data);
        })
    });
    let output = match limit {
        None => child.wait_with_output(),
        Some(limit) => wait_within(child, limit),
    }
    .map_err(|e| CniError::io(format!("failed to wait for plugin {}", exe.name), e))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(output)
}

/// Waits for `child` at most `limit`, reading its output meanwhile; kills
/// it (a TimedOut error) when it is still running then. Also the bound on
/// the tools plugins and cnictl run (iptables-save, nft, journalctl).
///
/// One thread and no sleeping: `poll` on the child's stdout and stderr and
/// on a pidfd of the child, so a tool that ends in 2 ms is seen in 2 ms (a
/// plugin's ADD runs iptables-restore on its critical path).
pub fn wait_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    let deadline = std::time::Instant::now() + limit;
    // SAFETY: pidfd_open takes a pid and flags and returns a new file
    // descriptor (or -1); the child is ours and not yet reaped, so its pid
    // names it.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    let pidfd = if raw >= 0 {
        // SAFETY: a descriptor pidfd_open just returned, owned by nothing else.
        Some(unsafe { OwnedFd::from_raw_fd(raw as i32) })
    } else {
        None
    };
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut exited = false;
    loop {
        if stdout.is_none() && stderr.is_none() && exited {
            break;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() && exited {
            // Gone, but something it started still holds a pipe: what it said is enough.
            break;
        }
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s, killed", limit.as_secs()),
            ));
        }
        let mut fds = Vec::with_capacity(3);
        let watched: [Option<i32>; 3] = [
            stdout.as_ref().map(|p| p.as_raw_fd()),
            stderr.as_ref().map(|p| p.as_raw_fd()),
            pidfd.as_ref().filter(|_| !exited).map(|fd| fd.as_raw_fd()),
        ];
        for fd in watched.iter().flatten() {
            fds.push(libc::pollfd { fd: *fd, events: libc::POLLIN, revents: 0 });
        }
        if pidfd.is_none() && !exited {
            // No pidfd (a kernel before 5.3): look again every 10 ms.
            if child.try_wait()?.is_some() {
                exited = true;
                continue;
            }
        }
        let wait_ms =
            if pidfd.is_none() && !exited { 10 } else { left.as_millis().min(i32::MAX as u128) as i32 };
        // SAFETY: `fds` is a live array of `fds.len()` pollfd structs.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms.max(1)) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for entry in fds.iter().filter(|f| f.revents != 0) {
            let mut chunk = [0u8; 8192];
            if stdout.as_ref().is_some_and(|p| p.as_raw_fd() == entry.fd) {
                match stdout.as_mut().map(|p| p.read(&mut chunk)) {
                    Some(Ok(0)) | Some(Err(_)) | None => stdout = None,
                    Some(Ok(n)) => out.extend_from_slice(&chunk[..n]),
                }
            } else if stderr.as_ref().is_some_and(|p| p.as_raw_fd() == entry.fd) {
                match stderr.as_mut().map(|p| p.read(&mut chunk)) {
                    Some(Ok(0)) | Some(Err(_)) | None => stderr = None,
                    Some(Ok(n)) => err.extend_from_slice(&chunk[..n]),
                }
            } else {
                exited = true;
            }
        }
    }
    let status = child.wait()?;
    Ok(std::process::Output { status, stdout: out, stderr: err })
}

/// A plugin's stdout on success; on failure, the error object it printed.
pub fn plugin_outcome(success: bool, stdout: Vec<u8>, name: &str) -> Result<Vec<u8>, CniError> {
    if success {
        return Ok(stdout);
    }
    match plugin_error_object(&stdout) {
        Some(err) => Err(err),
        None => Err(CniError::internal(format!(
            "plugin {name} failed: {}",
            String::from_utf8_lossy(&stdout).trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::relay_stderr;

    #[test]
    fn a_child_is_read_whole_and_seen_as_soon_as_it_ends() {
        use std::process::{Command, Stdio};
        // More than a pipe holds on stdout, and something on stderr.
        let child = Command::new("sh")
            .args(["-c", "head -c 300000 /dev/zero; echo said >&2; exit 3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs");
        let started = std::time::Instant::now();
        let output = super::wait_within(child, std::time::Duration::from_secs(30)).expect("it ends");
        assert_eq!(output.stdout.len(), 300_000);
        assert_eq!(output.stderr, b"said\n");
        assert_eq!(output.status.code(), Some(3));
        // No polling interval between its end and ours (a 10 ms sleep loop
        // cost every ADD that ran iptables-restore up to 10 ms).
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        let quick =
            Command::new("true").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("true runs");
        let started = std::time::Instant::now();
        super::wait_within(quick, std::time::Duration::from_secs(30)).expect("it ends");
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    }

    #[test]
    fn stderr_is_relayed_with_the_type_once_per_line() {
        let mut out = Vec::new();
        relay_stderr("portmap", b"first\n\nportmap: named already\r\nlast", &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "portmap: first\nportmap: named already\nportmap: last\n");
        let mut none = Vec::new();
        relay_stderr("portmap", b"", &mut none);
        assert!(none.is_empty());
    }
}
