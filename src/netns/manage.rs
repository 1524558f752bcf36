//! Named network namespaces, made and removed as iproute2's `ip netns` does.
//!
//! A named netns is a bind mount of a namespace file onto
//! `/var/run/netns/<name>`; the directory is a shared mount point so that
//! mounts made in it propagate to other mount namespaces. Done natively:
//! no `ip` binary is needed.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use super::NETNS_RUN_DIR;

/// The path of a named namespace.
pub fn named_path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// Checks a namespace name as iproute2 does: no `/`, not `.` or `..`, not empty.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.len() > 255 {
        bail!("invalid netns name {name:?}: it must be a single file name");
    }
    Ok(())
}

/// Makes `/var/run/netns` exist and be a shared mount point, as iproute2 does.
fn prepare_run_dir() -> Result<()> {
    let dir = Path::new(NETNS_RUN_DIR);
    fs::create_dir_all(dir).wrap_err_with(|| format!("failed to create {NETNS_RUN_DIR}"))?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    match mount(None::<&str>, dir, None::<&str>, shared, None::<&str>) {
        Ok(()) => return Ok(()),
        Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(eyre!(e)).wrap_err_with(|| format!("failed to make {NETNS_RUN_DIR} shared")),
    }
    // Not a mount point yet: bind it onto itself, then share it.
    mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .wrap_err_with(|| format!("failed to bind-mount {NETNS_RUN_DIR}"))?;
    mount(None::<&str>, dir, None::<&str>, shared, None::<&str>)
        .wrap_err_with(|| format!("failed to make {NETNS_RUN_DIR} shared"))
}

/// Creates a new, empty network namespace named `name` and returns its path.
pub fn create(name: &str) -> Result<PathBuf> {
    validate_name(name)?;
    prepare_run_dir()?;
    let path = named_path(name);
    OpenOptions::new().write(true).create_new(true).mode(0o0).open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            eyre!("netns {name:?} already exists ({})", path.display())
        } else {
            color_eyre::eyre::Report::new(e).wrap_err(format!("failed to create {}", path.display()))
        }
    })?;
    // A thread of its own unshares its netns and pins it with a bind mount;
    // the thread ends and nothing else here ever changes namespace.
    let target = path.clone();
    let pinned = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET).wrap_err("failed to create a network namespace")?;
        mount(Some("/proc/thread-self/ns/net"), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .wrap_err_with(|| format!("failed to bind-mount the new netns onto {}", target.display()))
    })
    .join()
    .unwrap_or_else(|_| Err(eyre!("netns creation thread panicked")));
    if let Err(e) = pinned {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Removes a named namespace: unmounts and deletes its file.
pub fn delete(name: &str) -> Result<()> {
    validate_name(name)?;
    let path = named_path(name);
    if !path.exists() {
        bail!("netns {name:?} does not exist ({})", path.display());
    }
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(eyre!(e)).wrap_err_with(|| format!("failed to unmount {}", path.display())),
    }
    fs::remove_file(&path).wrap_err_with(|| format!("failed to remove {}", path.display()))
}

/// The names of the namespaces under `/var/run/netns`, sorted: files there
/// that are not namespaces (left by a failed `ip netns add`, or put there
/// by hand) are not listed.
pub fn list() -> Result<Vec<String>> {
    let entries = match fs::read_dir(NETNS_RUN_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).wrap_err_with(|| format!("failed to read {NETNS_RUN_DIR}")),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| is_namespace_file(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Whether `path` is a namespace file: one of the nsfs filesystem (a bind
/// mount of one, as `ip netns add` makes, or `/proc/PID/ns/*`).
pub fn is_namespace_file(path: &Path) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}

/// The `ioctl` that says which kind of namespace an nsfs file is
/// (`NS_GET_NSTYPE`, `_IO(0xb7, 0x3)`): a `CLONE_NEW*` flag.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Opens a network namespace file for `setns`; a file that is not one is
/// said to be that, not left for `setns` to refuse with EINVAL (which
/// would read as a failure of whatever was to run inside).
pub fn open_netns(path: &Path) -> Result<File> {
    let file = open(path)?;
    let nsfs = nix::sys::statfs::fstatfs(&file)
        .wrap_err_with(|| format!("failed to inspect {}", path.display()))?
        .filesystem_type()
        == nix::sys::statfs::NSFS_MAGIC;
    if !nsfs {
        bail!("{} is not a network namespace (it is not a namespace file)", path.display());
    }
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the descriptor.
    let kind = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&file), NS_GET_NSTYPE as _) };
    // A kernel before 4.11 does not know the ioctl; setns still checks.
    if kind >= 0 && kind != libc::CLONE_NEWNET {
        bail!("{} is a namespace, but not a network namespace", path.display());
    }
    Ok(file)
}

/// Sets `lo` up inside a namespace, as `priv-net-run.sh` did before running anything.
pub fn loopback_up(path: &Path) -> Result<()> {
    let netns = cni::netns::Netns::open(&path.display().to_string()).map_err(|e| eyre!(e.msg))?;
    netns
        .with_netlink(|nl| match nl.link_by_name("lo")? {
            Some(lo) => Ok(nl.set_link_up(lo.index, true)?),
            None => Ok(()),
        })
        .map_err(|e| eyre!(e.msg))
        .wrap_err_with(|| format!("failed to set lo up in {}", path.display()))
}

/// A namespace made for one `cnictl run`: deleted when dropped.
pub struct TempNetns {
    name: String,
    path: PathBuf,
}

impl TempNetns {
    /// Creates `name` with `lo` up.
    pub fn create(name: &str) -> Result<TempNetns> {
        let path = create(name)?;
        let netns = TempNetns { name: name.to_string(), path };
        loopback_up(&netns.path)?;
        Ok(netns)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempNetns {
    fn drop(&mut self) {
        if let Err(e) = delete(&self.name) {
            say!("cnictl: warning: {e:#}");
        }
    }
}

/// Opens a namespace file for `setns`.
pub fn open(path: &Path) -> Result<File> {
    File::open(path).wrap_err_with(|| format!("failed to open netns {}", path.display()))
}
