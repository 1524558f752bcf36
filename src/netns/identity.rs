//! A network namespace known by what it is, not by the path it was named
//! by: the nsfs device and inode, as the reference's `ns.CheckNetNS` tells
//! namespaces apart, and the namespace's cookie (SO_NETNS_COOKIE, Linux
//! 5.14+): inode numbers are given again to new namespaces as soon as old
//! ones are freed, cookies never are.
//!
//! A path can stop leading to its namespace while the namespace lives on
//! (`/proc/PID/ns/net` after the process exits, with a bind mount holding
//! the namespace), or start leading to another one (a reused PID, a name
//! made again). ADD records the identity with the attachment, so DEL and
//! CHECK find the right namespace or refuse a path that now means another,
//! and GC knows which namespaces are alive.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manage::is_namespace_file;
use super::NETNS_RUN_DIR;

/// A namespace's identity: nsfs device and inode, and its cookie where the
/// kernel gives one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NetnsId {
    /// The nsfs device.
    pub dev: u64,
    /// The namespace's inode.
    pub ino: u64,
    /// The namespace's cookie, unique for the life of the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<u64>,
}

impl NetnsId {
    /// The identity of the namespace at `path`; `None` when the path is
    /// gone or is not a namespace file (an unmounted bind mount leaves an
    /// empty plain file behind).
    pub fn of(path: &Path) -> Option<NetnsId> {
        if !is_namespace_file(path) {
            return None;
        }
        let meta = std::fs::metadata(path).ok()?;
        Some(NetnsId { dev: meta.dev(), ino: meta.ino(), cookie: cookie(path) })
    }

    /// The same namespace: device and inode equal, and the cookies too
    /// when both are known (an identity recorded without one matches on
    /// the inode alone, as the reference compares).
    pub fn same(&self, other: &NetnsId) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
            && (self.cookie.is_none() || other.cookie.is_none() || self.cookie == other.cookie)
    }
}

/// SO_NETNS_COOKIE (include/uapi/asm-generic/socket.h).
const SO_NETNS_COOKIE: libc::c_int = 71;

/// The cookie of the namespace at `path`, read from a socket made in it on
/// a thread that enters it; `None` without the privilege or the kernel.
fn cookie(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    std::thread::spawn(move || {
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
        // SAFETY: plain socket(2); the descriptor is owned and closed below.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just opened and is not used elsewhere.
        let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let mut value: u64 = 0;
        let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for the kernel to write.
        let done = unsafe {
            libc::getsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                libc::SOL_SOCKET,
                SO_NETNS_COOKIE,
                (&mut value as *mut u64).cast(),
                &mut len,
            )
        };
        (done == 0).then_some(value)
    })
    .join()
    .ok()
    .flatten()
}

/// Every network namespace this host can name (device and inode; the
/// cookie is left to [`find_live`]): the bind mounts under
/// /var/run/netns and those of running processes (`/proc/PID/ns/net`),
/// each once, by a named path when it has one.
pub fn live_namespaces() -> Vec<(NetnsId, PathBuf)> {
    let named = std::fs::read_dir(NETNS_RUN_DIR).into_iter().flatten().flatten().map(|e| e.path());
    let processes = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .map(|e| e.path().join("ns/net"));
    // Device and inode (a stat each); the cookie, which takes entering the
    // namespace, only where a recorded identity needs it ([`find_live`]).
    let mut seen: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    for path in named.chain(processes) {
        if !is_namespace_file(&path) {
            continue;
        }
        if let Ok(meta) = std::fs::metadata(&path) {
            seen.entry((meta.dev(), meta.ino())).or_insert(path);
        }
    }
    seen.into_iter().map(|((dev, ino), path)| (NetnsId { dev, ino, cookie: None }, path)).collect()
}

/// Where `recorded` lives among `live` ([`live_namespaces`]), if anywhere:
/// the namespace with its device and inode, and, when `recorded` has a
/// cookie, that cookie too (read now, for that one namespace only).
pub fn find_live<'a>(live: &'a [(NetnsId, PathBuf)], recorded: &NetnsId) -> Option<&'a PathBuf> {
    live.iter()
        .filter(|(id, _)| (id.dev, id.ino) == (recorded.dev, recorded.ino))
        // Without a recorded cookie the inode decides: no namespace is entered.
        .find(|(id, path)| {
            recorded.cookie.is_none() || NetnsId { cookie: cookie(path), ..*id }.same(recorded)
        })
        .map(|(_, path)| path)
}

/// Where a recorded namespace is now, for DEL and CHECK of its attachment.
#[derive(Debug, PartialEq, Eq)]
pub enum Whereabouts {
    /// The path given still leads to it.
    AtPath,
    /// The path given no longer leads to it, but it lives on at another path.
    MovedTo(PathBuf),
    /// It is gone, and the path given now leads to another namespace.
    Replaced,
    /// It is gone, and so is the path: nothing of the attachment lives in a namespace.
    Gone,
}

/// Finds the namespace `recorded` that an attachment was made in, given
/// the path it was named by then.
pub fn locate(recorded: NetnsId, path: &Path) -> Whereabouts {
    let now = NetnsId::of(path);
    if now.is_some_and(|now| now.same(&recorded)) {
        return Whereabouts::AtPath;
    }
    match find_live(&live_namespaces(), &recorded) {
        Some(elsewhere) => Whereabouts::MovedTo(elsewhere.clone()),
        None if now.is_some() => Whereabouts::Replaced,
        None => Whereabouts::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_namespace_with_an_old_inode_is_another() {
        let old = NetnsId { dev: 4, ino: 4026532000, cookie: Some(7) };
        assert!(old.same(&NetnsId { cookie: Some(7), ..old }));
        assert!(!old.same(&NetnsId { cookie: Some(9), ..old }), "the inode was given again");
        assert!(old.same(&NetnsId { cookie: None, ..old }), "recorded without a cookie: the inode decides");
        assert!(!old.same(&NetnsId { ino: 1, ..old }));
    }

    #[test]
    fn our_own_namespace_has_a_cookie_as_root() {
        let me = NetnsId::of(Path::new("/proc/self/ns/net")).expect("a namespace");
        if nix::unistd::geteuid().is_root() {
            assert!(me.cookie.is_some(), "{me:?}");
        }
    }

    #[test]
    fn a_plain_file_is_no_namespace() {
        let dir = std::env::temp_dir();
        assert_eq!(NetnsId::of(&dir), None);
        assert_eq!(NetnsId::of(Path::new("/nonexistent/ns")), None);
    }
}
