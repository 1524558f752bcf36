//! Running code inside a network namespace.
//!
//! `setns` changes only the calling thread: work for another namespace
//! enters it on the calling thread, does the work (opening its netlink
//! socket there) and returns to the thread's own namespace, as the
//! reference's `ns.Do` does on a locked OS thread. Other threads of the
//! process (IPAM beside the link) stay where they are.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use crate::error::{CniError, ErrorCode};

/// `statfs` magic of nsfs, where `/proc/<pid>/ns/net` bind mounts live.
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// `statfs` magic of procfs, for `/proc/<pid>/ns/net` itself.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Opens `path` and says whether it is a netns (nsfs or procfs). A
/// missing path is code 3, any other failure code 4.
fn open_file(path: &str) -> Result<(File, bool), CniError> {
    let file = File::open(path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorCode::UnknownContainer
        } else {
            ErrorCode::InvalidEnvironment
        };
        CniError::new(code, format!("failed to open netns {path:?}: {e}"))
    })?;
    let stat = nix::sys::statfs::fstatfs(&file).map_err(|e| {
        CniError::new(ErrorCode::InvalidEnvironment, format!("failed to stat netns {path:?}: {e}"))
    })?;
    let magic = stat.filesystem_type().0 as i64;
    Ok((file, magic == NSFS_MAGIC || magic == PROC_SUPER_MAGIC))
}

/// An opened network namespace handle.
pub struct Netns {
    file: File,
    path: String,
}

impl Netns {
    /// Opens and checks a netns path. A missing path is code 3 (the
    /// container is gone); a path that is no netns is code 4.
    pub fn open(path: &str) -> Result<Netns, CniError> {
        let (file, is_netns) = open_file(path)?;
        if !is_netns {
            return Err(CniError::new(
                ErrorCode::InvalidEnvironment,
                format!("{path:?} is not a network namespace"),
            ));
        }
        Ok(Netns { file, path: path.to_string() })
    }

    /// The namespace of the calling thread.
    pub fn current() -> Result<Netns, CniError> {
        Netns::open("/proc/thread-self/ns/net")
    }

    /// A new, empty namespace that lives as long as the handle: a place to
    /// rename a device in where no name can clash (dropping it destroys
    /// virtual devices left inside and returns physical ones to the
    /// initial namespace).
    pub fn temporary() -> Result<Netns, CniError> {
        std::thread::spawn(|| {
            nix::sched::unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| CniError::internal(format!("failed to create a temporary netns: {e}")))?;
            let file = File::open("/proc/thread-self/ns/net")
                .map_err(|e| CniError::internal(format!("failed to open the temporary netns: {e}")))?;
            Ok(Netns { file, path: "(temporary netns)".to_string() })
        })
        .join()
        .unwrap_or_else(|_| Err(CniError::internal("creating a temporary netns panicked")))
    }

    /// The namespace's file descriptor, for moving links into it.
    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.file)
    }

    /// The path it was opened from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs `work` inside this namespace on the calling thread, which is
    /// back in its own namespace when this returns (or unwinds). No thread
    /// is started: a plugin enters the container's namespace once or twice
    /// per call, and a thread each time cost its start, its stack's page
    /// faults and its exit. If the way back fails the thread would go on
    /// in the container's namespace, so the process aborts instead.
    pub fn run<T, F>(&self, work: F) -> Result<T, CniError>
    where
        F: FnOnce() -> Result<T, CniError>,
    {
        /// Returns the thread to its namespace when dropped.
        struct Back(File);
        impl Drop for Back {
            fn drop(&mut self) {
                if setns(self.0.as_fd(), CloneFlags::CLONE_NEWNET).is_err() {
                    // Nothing may run in the wrong namespace.
                    std::process::abort();
                }
            }
        }
        let home = File::open("/proc/thread-self/ns/net")
            .map_err(|e| CniError::internal(format!("failed to open the current netns: {e}")))?;
        setns(self.file.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|e| CniError::internal(format!("failed to enter netns {:?}: {e}", self.path)))?;
        let _back = Back(home);
        work()
    }

    /// Runs `work` inside this namespace on a fresh thread, for work that
    /// changes the thread itself (tap's exec label) and must not leave
    /// that change on the caller's thread.
    pub fn run_on_own_thread<T, F>(&self, work: F) -> Result<T, CniError>
    where
        T: Send,
        F: FnOnce() -> Result<T, CniError> + Send,
    {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| self.run(work));
            handle.join().unwrap_or_else(|_| {
                Err(CniError::internal(format!("work inside netns {:?} panicked", self.path)))
            })
        })
    }

    /// Runs `work` inside this namespace with a netlink session opened there.
    pub fn with_netlink<T, F>(&self, work: F) -> Result<T, CniError>
    where
        F: FnOnce(&crate::netlink::Netlink) -> Result<T, CniError>,
    {
        self.run(|| work(&crate::netlink::Netlink::open()?))
    }
}

/// True when `path` is the network namespace of the calling thread (same
/// nsfs device and inode, as the reference's `ns.CheckNetNS` compares
/// them). A path that cannot be read is not: ADD then fails on it as
/// usual, and DEL goes on without a netns.
pub fn is_current(path: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), std::fs::metadata("/proc/thread-self/ns/net")) {
        (Ok(target), Ok(own)) => (target.dev(), target.ino()) == (own.dev(), own.ino()),
        _ => false,
    }
}

/// True when `path` exists (a DEL on a vanished netns is no error).
pub fn exists(path: &str) -> bool {
    !path.is_empty() && Path::new(path).exists()
}

/// DEL's view of `CNI_NETNS`: the namespace while it is there; `None` when
/// the path is empty (runtimes send that after a reboot), gone, or no
/// longer a netns (an unmounted bind mount leaves a plain file): nothing of
/// the attachment lives there any more, and DEL goes on with what lives
/// outside. Other failures to open it are errors.
pub fn for_del(path: &str) -> Result<Option<Netns>, CniError> {
    if path.is_empty() {
        return Ok(None);
    }
    match open_file(path) {
        Ok((file, true)) => Ok(Some(Netns { file, path: path.to_string() })),
        Ok((_, false)) => Ok(None),
        Err(e) if e.code == ErrorCode::UnknownContainer as u32 => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn del_sees_empty_gone_and_non_netns_paths_as_nothing_left() {
        assert!(for_del("").unwrap().is_none());
        assert!(for_del("/nonexistent/netns/x").unwrap().is_none());
        // What an unmounted bind mount leaves behind: a plain file.
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(for_del(file.path().to_str().unwrap()).unwrap().is_none());
        assert!(Netns::open(file.path().to_str().unwrap()).is_err(), "ADD and CHECK still refuse it");
        assert!(for_del("/proc/self/ns/net").unwrap().is_some());
    }

    #[test]
    fn the_own_namespace_is_known_by_identity_not_by_path() {
        assert!(is_current("/proc/self/ns/net"));
        assert!(is_current("/proc/thread-self/ns/net"));
        assert!(!is_current("/nonexistent/netns/x"));
        assert!(!is_current(""));
        // Making a namespace needs root; the unit tests may run without.
        if let Ok(other) = Netns::temporary() {
            assert!(!is_current(&format!("/proc/self/fd/{}", other.fd())));
        }
    }
}
