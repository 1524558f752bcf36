//! The reservation store, on disk in the reference's format.
//!
//! `<dataDir>/<network>/` holds one file per reserved address, named by
//! the address and containing `<containerID>\r\n<ifname>` (older files
//! hold just the container ID), `last_reserved_ip.<rangeset index>`, and
//! a `lock` file taken with `flock` for every change. The reference takes
//! the same lock on the same file, so both can share a store.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use cni::{statefile, CniError};
use nix::fcntl::{Flock, FlockArg};

/// The default data directory of host-local.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";
const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";
const LINE_BREAK: &str = "\r\n";

/// A locked store for one network. The lock is held until drop.
pub struct Store {
    dir: PathBuf,
    _lock: Flock<File>,
}

/// A file of the store, as one listing sees it.
struct Entry {
    /// The address a reservation file is named by; `None` for a temporary file.
    ip: Option<IpAddr>,
    path: PathBuf,
    /// Who the file names; `None` when it names no one.
    holder: Option<Holder>,
}

/// Who holds a reservation, as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Container ID.
    pub container_id: String,
    /// Interface name; `None` for files in the old one-line format.
    pub ifname: Option<String>,
}

impl Holder {
    fn parse(content: &str) -> Holder {
        let content = content.trim();
        match content.split_once(LINE_BREAK) {
            Some((id, ifname)) => {
                Holder { container_id: id.trim().to_string(), ifname: Some(ifname.trim().to_string()) }
            }
            None => Holder { container_id: content.to_string(), ifname: None },
        }
    }

    /// True when this file belongs to the attachment (old files match on ID alone).
    pub fn is(&self, container_id: &str, ifname: &str) -> bool {
        self.container_id == container_id.trim() && self.ifname.as_deref().is_none_or(|i| i == ifname)
    }
}

/// Every address the store of `network` holds a file for, whoever it
/// names (each keeps an ADD from taking the address), read without making
/// or locking anything: STATUS changes nothing and never waits on an ADD.
/// Empty when the network has no store yet.
pub fn taken_addresses(data_dir: Option<&str>, network: &str) -> Result<Vec<IpAddr>, CniError> {
    let dir = store_dir(data_dir, network);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(listing(&dir)?.into_iter().filter_map(|entry| entry.ip).collect())
}

/// A reservation as a read-only listing shows it.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// The address reserved.
    pub address: IpAddr,
    /// Its file.
    pub path: PathBuf,
    /// Who it is for; `None` when the file names no one.
    pub holder: Option<Holder>,
}

/// Every reservation of `network`'s store, read without making or locking
/// anything (for cnictl's GC plan and doctor); empty when there is no store.
pub fn reservations(data_dir: Option<&str>, network: &str) -> Result<Vec<Reservation>, CniError> {
    let dir = store_dir(data_dir, network);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let found = listing(&dir)?.into_iter();
    Ok(found.filter_map(|e| Some(Reservation { address: e.ip?, path: e.path, holder: e.holder })).collect())
}

/// One pass over a store's directory (see [`Store::listing`]).
fn listing(dir: &Path) -> Result<Vec<Entry>, CniError> {
    let entries = fs::read_dir(dir).map_err(|e| io_err("failed to read", dir, e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if statefile::is_temp_name(name) {
            found.push(Entry { ip: None, path: entry.path(), holder: None });
        } else if let Ok(ip) = name.parse::<IpAddr>() {
            let holder = read_small(&entry.path())
                .map(|content| Holder::parse(&content))
                .filter(|h| !h.container_id.is_empty());
            found.push(Entry { ip: Some(ip), path: entry.path(), holder });
        }
    }
    Ok(found)
}

/// The address last reserved from range set `range_id` of `network`'s
/// store, read without making or locking anything (cnictl's plan of an
/// ADD starts its search where the ADD would).
pub fn last_reserved(data_dir: Option<&str>, network: &str, range_id: usize) -> Option<IpAddr> {
    read_last_reserved(&store_dir(data_dir, network), range_id)
}

/// The `last_reserved_ip.<range_id>` hint of the store in `dir`.
fn read_last_reserved(dir: &Path, range_id: usize) -> Option<IpAddr> {
    let data = statefile::read(&dir.join(format!("{LAST_RESERVED_PREFIX}{range_id}"))).ok()??;
    String::from_utf8(data).ok()?.trim().parse().ok()
}

/// `<dataDir>/<network>`, with the default data directory when none is set.
pub fn store_dir(data_dir: Option<&str>, network: &str) -> PathBuf {
    Path::new(data_dir.filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DATA_DIR)).join(network)
}

fn io_err(what: impl std::fmt::Display, path: &Path, err: std::io::Error) -> CniError {
    CniError::io(format!("{what} {}", path.display()), err)
}

impl Store {
    /// Opens (creating if needed) and locks the store of `network`.
    pub fn open(data_dir: Option<&str>, network: &str) -> Result<Store, CniError> {
        let dir = store_dir(data_dir, network);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| io_err("failed to create", &dir, e))?;
        let lock_path = dir.join("lock");
        let file = open_lock(&lock_path).map_err(|e| io_err("failed to open", &lock_path, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| CniError::io(format!("failed to lock {}", lock_path.display()), e))?;
        Ok(Store { dir, _lock: lock })
    }

    /// Reserves `ip` for the attachment; false when it is taken.
    pub fn reserve(
        &self,
        container_id: &str,
        ifname: &str,
        ip: IpAddr,
        range_id: usize,
    ) -> Result<bool, CniError> {
        let path = self.dir.join(ip.to_string());
        let content = format!("{}{LINE_BREAK}{ifname}", container_id.trim());
        match statefile::create_new(&path, content.as_bytes(), 0o600) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(io_err("failed to create", &path, e)),
        }
        let last = self.dir.join(format!("{LAST_RESERVED_PREFIX}{range_id}"));
        // Only a hint of where the next search starts: written in place.
        if let Err(e) = statefile::write_hint(&last, ip.to_string().as_bytes(), 0o600) {
            let _ = fs::remove_file(&path);
            return Err(io_err("failed to write", &last, e));
        }
        Ok(true)
    }

    /// The address last reserved from range set `range_id`.
    pub fn last_reserved(&self, range_id: usize) -> Option<IpAddr> {
        read_last_reserved(&self.dir, range_id)
    }

    /// Every reservation in the store whose file names its holder.
    pub fn reservations(&self) -> Result<Vec<(IpAddr, Holder)>, CniError> {
        Ok(self.listing()?.into_iter().filter_map(|entry| Some((entry.ip?, entry.holder?))).collect())
    }

    /// One pass over the store: every address-named file with its holder
    /// (`None` when the file names none: empty, unreadable, not a regular
    /// file), and every temporary file (`ip` is `None`).
    fn listing(&self) -> Result<Vec<Entry>, CniError> {
        listing(&self.dir)
    }

    /// Removes, and reports on stderr, what a writer killed half way (or
    /// someone else) left in the store: address files that name no holder
    /// and temporary files; returns the reservations that remain. The
    /// store is locked, so no write is under way: every reference or
    /// cnictl writer holds the same lock while it writes.
    pub fn sweep_debris(&self) -> Result<Vec<(IpAddr, Holder)>, CniError> {
        let mut kept = Vec::new();
        for entry in self.listing()? {
            match (entry.ip, entry.holder) {
                (Some(ip), Some(holder)) => kept.push((ip, holder)),
                (Some(_), None) => {
                    eprintln!(
                        "host-local: removing {}: it names no container (truncated or not ours)",
                        entry.path.display()
                    );
                    statefile::remove(&entry.path).map_err(|e| io_err("failed to remove", &entry.path, e))?;
                }
                (None, _) => {
                    eprintln!("host-local: removing {}: left by an interrupted write", entry.path.display());
                    let _ = fs::remove_file(&entry.path);
                }
            }
        }
        Ok(kept)
    }

    /// The addresses held by an attachment.
    pub fn find(&self, container_id: &str, ifname: &str) -> Result<Vec<IpAddr>, CniError> {
        Ok(self
            .reservations()?
            .into_iter()
            .filter(|(_, h)| h.is(container_id, ifname))
            .map(|(ip, _)| ip)
            .collect())
    }

    /// Frees one address.
    pub fn release_ip(&self, ip: IpAddr) -> Result<(), CniError> {
        let path = self.dir.join(ip.to_string());
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err("failed to remove", &path, e)),
            _ => Ok(()),
        }
    }

    /// Frees every address of an attachment, and sweeps the store's debris.
    pub fn release(&self, container_id: &str, ifname: &str) -> Result<(), CniError> {
        for (ip, holder) in self.sweep_debris()? {
            if holder.is(container_id, ifname) {
                self.release_ip(ip)?;
            }
        }
        Ok(())
    }
}

/// Reads a reservation file (they hold an ID and an interface name),
/// never through a symlink; `None` when it is not readable text.
fn read_small(path: &Path) -> Option<String> {
    let data = statefile::read(path).ok()??;
    let text = String::from_utf8(data).ok()?;
    Some(text.trim_end_matches('\0').to_string())
}

/// Opens the lock file without following a symlink. One planted under its
/// name is removed (its target is untouched) and a real lock file made,
/// so DEL keeps working in a store someone tampered with.
fn open_lock(path: &Path) -> std::io::Result<File> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .mode(0o600)
            .open(path)
    };
    match open() {
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            eprintln!("host-local: {} is a symbolic link: replacing it with a lock file", path.display());
            fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}
