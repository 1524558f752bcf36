//! The daemon's socket, pidfile and exit: a socket systemd passed
//! (`LISTEN_FDS=1`, the reference's socket activation), else one bound at
//! the socket path; SIGINT and SIGTERM remove what the daemon made and end
//! it.

use std::fs;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

/// The socket the daemon serves and whether it made the file itself.
pub struct Listening {
    /// The listener.
    pub listener: UnixListener,
    /// The socket file to remove on exit (none when systemd made it).
    pub made: Option<PathBuf>,
}

/// The sockets systemd passed to this process: `LISTEN_PID` must be ours.
fn activated() -> Result<Option<UnixListener>, String> {
    let Some(count) = std::env::var("LISTEN_FDS").ok() else { return Ok(None) };
    let for_us =
        std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    if !for_us {
        return Ok(None);
    }
    match count.parse::<u32>() {
        Ok(0) => Ok(None),
        // SAFETY: systemd passed descriptor 3 to this process for it to own.
        Ok(1) => Ok(Some(unsafe { UnixListener::from_raw_fd(LISTEN_FDS_START) })),
        Ok(n) => Err(format!("Too many ({n}) file descriptors passed")),
        Err(_) => Err(format!("LISTEN_FDS={count:?} is not a number")),
    }
}

/// Binds `path`, replacing a stale socket file (nothing answers on it) and
/// refusing when a daemon already listens there or the path is not a socket.
fn bind(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(format!("a dhcp daemon already listens on {shown}"));
            }
            fs::remove_file(path).map_err(|e| format!("failed to remove the stale socket {shown}: {e}"))?;
        }
        Ok(_) => return Err(format!("{shown} exists and is not a socket")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{shown}: {e}")),
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("failed to listen on {shown}: {e}"))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("failed to set the mode of {shown}: {e}"))?;
    Ok(listener)
}

/// The daemon's socket: systemd's, else bound at `path`.
pub fn listen(path: &Path) -> Result<Listening, String> {
    if let Some(listener) = activated()? {
        return Ok(Listening { listener, made: None });
    }
    Ok(Listening { listener: bind(path)?, made: Some(path.to_path_buf()) })
}

/// Writes the pidfile.
pub fn write_pidfile(path: &Path) -> Result<(), String> {
    fs::write(path, std::process::id().to_string())
        .map_err(|e| format!("Error writing pidfile {:?}: {e}", path.display()))
}

/// Blocks SIGINT and SIGTERM in this thread, and so in every thread made
/// after, then waits for one on a thread of its own; `on_exit` runs there
/// before the process exits with status 0.
pub fn exit_on_signal(on_exit: impl FnOnce() + Send + 'static) -> Result<(), String> {
    // SAFETY: sigset_t is plain data, initialized by sigemptyset before use;
    // pthread_sigmask only reads it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(format!("pthread_sigmask: {}", io::Error::from_raw_os_error(rc)));
        }
        set
    };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: `set` is an initialized signal set; sigwait writes one int.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            on_exit();
            std::process::exit(0);
        })
        .map(drop)
        .map_err(|e| format!("failed to start the signal thread: {e}"))
}
