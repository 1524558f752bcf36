//! The reservation store, on disk in the reference's format.
//!
//! `<dataDir>/<network>/` holds one file per reserved address, named by
//! the address and containing `<containerID>\r\n<ifname>` (older files
//! hold just the container ID), `last_reserved_ip.<rangeset index>`, and
//! a `lock` file taken with `flock` for every change. The reference takes
//! the same lock on the same file, so both can share a store.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use cni::CniError;
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

fn io_err(what: impl std::fmt::Display, path: &Path, err: std::io::Error) -> CniError {
    CniError::io(format!("{what} {}", path.display()), err)
}

impl Store {
    /// Opens (creating if needed) and locks the store of `network`.
    pub fn open(data_dir: Option<&str>, network: &str) -> Result<Store, CniError> {
        let dir = Path::new(data_dir.filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DATA_DIR)).join(network);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| io_err("failed to create", &dir, e))?;
        let lock_path = dir.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| io_err("failed to open", &lock_path, e))?;
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
        let mut file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err("failed to create", &path, e)),
        };
        let content = format!("{}{LINE_BREAK}{ifname}", container_id.trim());
        if let Err(e) = file.write_all(content.as_bytes()) {
            let _ = fs::remove_file(&path);
            return Err(io_err("failed to write", &path, e));
        }
        let last = self.dir.join(format!("{LAST_RESERVED_PREFIX}{range_id}"));
        if let Err(e) = write_private(&last, ip.to_string().as_bytes()) {
            let _ = fs::remove_file(&path);
            return Err(io_err("failed to write", &last, e));
        }
        Ok(true)
    }

    /// The address last reserved from range set `range_id`.
    pub fn last_reserved(&self, range_id: usize) -> Option<IpAddr> {
        let text = fs::read_to_string(self.dir.join(format!("{LAST_RESERVED_PREFIX}{range_id}"))).ok()?;
        text.trim().parse().ok()
    }

    /// Every reservation in the store.
    pub fn reservations(&self) -> Result<Vec<(IpAddr, Holder)>, CniError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| io_err("failed to read", &self.dir, e))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let Some(ip) = entry.file_name().to_str().and_then(|n| n.parse::<IpAddr>().ok()) else {
                continue;
            };
            if let Some(content) = read_small(&entry.path()) {
                found.push((ip, Holder::parse(&content)));
            }
        }
        Ok(found)
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

    /// Frees every address of an attachment.
    pub fn release(&self, container_id: &str, ifname: &str) -> Result<(), CniError> {
        for ip in self.find(container_id, ifname)? {
            self.release_ip(ip)?;
        }
        Ok(())
    }
}

/// Reads a reservation file with one read (they hold an ID and an
/// interface name): ADD and DEL read every file, so syscalls count.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = fs::File::open(path).ok()?;
    let mut buf = [0u8; 512];
    let mut len = file.read(&mut buf).ok()?;
    if len == buf.len() {
        let mut rest = Vec::from(&buf[..]);
        file.read_to_end(&mut rest).ok()?;
        return String::from_utf8(rest).ok();
    }
    while len > 0 && buf[len - 1] == 0 {
        len -= 1;
    }
    String::from_utf8(buf[..len].to_vec()).ok()
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(data)
}
