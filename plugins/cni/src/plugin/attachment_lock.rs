//! One verb at a time per attachment (network, container ID, interface):
//! two ADDs of one attachment at the same moment each refused what the
//! other had reserved or made, and both failed, leaving neither. Serialized,
//! the first makes the attachment and the second meets it as a repeated ADD
//! does, without touching what the first made.
//!
//! The lock is an flock on `/run/cni/attachments/<hash>`, a file per
//! attachment on tmpfs (gone at reboot, as the attachments). DEL removes the
//! attachment's file while it holds the lock; whoever was waiting on that
//! file finds it unlinked once it has the lock, and locks the path anew.
//! Where the directory cannot be made (a read-only /run), verbs run
//! unserialized, as before: a lock is never a reason to fail a verb.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// Where the lock files are.
pub const LOCK_DIR: &str = "/run/cni/attachments";

/// A held lock on one attachment; released on drop.
pub struct AttachmentLock {
    path: PathBuf,
    _held: Flock<File>,
}

impl AttachmentLock {
    /// Waits for and takes the lock of the attachment; `None` when no lock
    /// file can be made here.
    pub fn acquire(network: &str, container_id: &str, ifname: &str) -> Option<AttachmentLock> {
        acquire_in(Path::new(LOCK_DIR), network, container_id, ifname)
    }

    /// Removes the lock file (the attachment is gone), then releases it.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// [`AttachmentLock::acquire`] with the lock files in `dir`.
pub fn acquire_in(dir: &Path, network: &str, container_id: &str, ifname: &str) -> Option<AttachmentLock> {
    std::fs::create_dir_all(dir).ok()?;
    let name = crate::netfilter::hash_with_prefix(32, "", &format!("{network}\0{container_id}\0{ifname}"));
    let path = dir.join(name);
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .ok()?;
        let held = Flock::lock(file, FlockArg::LockExclusive).ok()?;
        // A DEL may have removed the file while this waited on it.
        let locked = held.metadata().ok()?;
        match std::fs::metadata(&path) {
            Ok(now) if (now.dev(), now.ino()) == (locked.dev(), locked.ino()) => {
                return Some(AttachmentLock { path, _held: held });
            }
            _ => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_a_removed_file_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire_in(dir.path(), "net", "ctr", "eth0").unwrap();
        let waiter = {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let lock = acquire_in(&dir, "net", "ctr", "eth0").unwrap();
                std::fs::read_dir(&dir).unwrap().count() + usize::from(lock.path.exists())
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!waiter.is_finished(), "the second waits for the first");
        first.remove();
        assert_eq!(waiter.join().unwrap(), 2, "it locked a file that is there");
        let other = acquire_in(dir.path(), "net", "ctr", "eth1");
        assert!(other.is_some(), "another interface is another lock");
    }
}
