//! The daemon's leases on disk, one file per attachment, so a daemon that
//! restarts (or is killed) renews and releases what it held before: the
//! reference kept leases only in memory (plugins#235, #767).
//!
//! A file is `<dir>/<key>`, where the key is the attachment's client
//! identifier text (`<containerID>/<netName>/<ifName>`) with every byte
//! outside `[A-Za-z0-9._-]` written `%XX` (and cut, with a hash of the
//! whole, when that is too long for a file name). It holds a JSON
//! [`LeaseRecord`], written atomically with `cni::statefile`.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lease::Lease;
use crate::options::SentOptions;

/// Where leases are kept unless `-leasedir` says.
pub const DEFAULT_LEASE_DIR: &str = "/var/lib/cni/dhcp";

/// The longest file name a key becomes before it is cut and hashed.
const NAME_MAX: usize = 200;

/// One attachment's lease and what is needed to keep it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseRecord {
    /// The network name.
    pub network: String,
    /// The container ID.
    pub container_id: String,
    /// The interface in the container.
    pub ifname: String,
    /// The netns path as the runtime gave it (without `-hostprefix`).
    pub netns: String,
    /// The interface's MAC when the lease was taken: a link of the same
    /// name with another MAC is another interface.
    pub mac: String,
    /// What the client sends (provided options, the request list), kept
    /// so renewals send what ADD sent.
    pub options: SentOptions,
    /// The lease.
    pub lease: Lease,
}

impl LeaseRecord {
    /// The attachment's key: the reference's client id text.
    pub fn key(&self) -> String {
        key(&self.container_id, &self.network, &self.ifname)
    }
}

/// An attachment's key (see the module doc).
pub fn key(container_id: &str, network: &str, ifname: &str) -> String {
    format!("{container_id}/{network}/{ifname}")
}

/// 64-bit FNV-1a: a stable, dependency-free hash for cut file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The file name of a key.
pub fn file_name(key: &str) -> String {
    let mut name = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.starts_with('.') {
        name.replace_range(..1, "%2E");
    }
    if name.len() > NAME_MAX {
        let mut cut = NAME_MAX - 17;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{:016x}", &name[..cut], fnv1a(key.as_bytes()));
    }
    name
}

/// The lease directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store at `dir`, made (0700) when missing.
    pub fn open(dir: &Path) -> io::Result<Store> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    /// Where the store is.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a key.
    pub fn path(&self, key: &str) -> PathBuf {
        Store::path_in(&self.dir, key)
    }

    /// The file of a key in the store at `dir` (which is not made).
    pub fn path_in(dir: &Path, key: &str) -> PathBuf {
        dir.join(file_name(key))
    }

    /// Writes (or replaces) a record.
    pub fn save(&self, record: &LeaseRecord) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        cni::statefile::write(&self.path(&record.key()), &text, 0o600)
    }

    /// Removes a key's record; a missing one is no error.
    pub fn remove(&self, key: &str) -> io::Result<()> {
        cni::statefile::remove(&self.path(key))
    }

    /// Every record, and the names of files that are not one (unreadable,
    /// not JSON, or under a name that is not its key's), which the caller
    /// reports and removes. Temporary files of interrupted writes are
    /// removed here.
    pub fn load_all(&self) -> io::Result<(Vec<LeaseRecord>, Vec<PathBuf>)> {
        let mut records = Vec::new();
        let mut bad = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if cni::statefile::is_temp_name(&name) {
                cni::statefile::remove(&path)?;
                continue;
            }
            let parsed = cni::statefile::read(&path)
                .ok()
                .flatten()
                .and_then(|bytes| serde_json::from_slice::<LeaseRecord>(&bytes).ok());
            match parsed {
                Some(record) if file_name(&record.key()) == name => records.push(record),
                _ => bad.push(path),
            }
        }
        records.sort_by_key(LeaseRecord::key);
        Ok((records, bad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cid: &str) -> LeaseRecord {
        LeaseRecord {
            network: "lan".into(),
            container_id: cid.into(),
            ifname: "eth0".into(),
            netns: "/var/run/netns/x".into(),
            mac: "02:00:00:00:00:01".into(),
            options: SentOptions { provided: vec![(12, b"web".to_vec())], request_list: vec![3, 1] },
            lease: Lease::for_tests(120, 5),
        }
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("abc/lan/eth0"), "abc%2Flan%2Feth0");
        assert_eq!(file_name("../x/y"), "%2E.%2Fx%2Fy");
        let long = file_name(&format!("{}/lan/eth0", "c".repeat(300)));
        assert!(long.len() <= NAME_MAX, "{}", long.len());
        assert_ne!(long, file_name(&format!("{}/lan/eth1", "c".repeat(300))));
    }

    #[test]
    fn records_round_trip_and_debris_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("leases")).unwrap();
        store.save(&record("a")).unwrap();
        store.save(&record("b")).unwrap();
        fs::write(store.dir().join("junk"), b"{").unwrap();
        fs::write(store.dir().join(cni::statefile::temp_path(Path::new("x")).file_name().unwrap()), b"")
            .unwrap();
        let (records, bad) = store.load_all().unwrap();
        assert_eq!(records, vec![record("a"), record("b")]);
        assert_eq!(bad, vec![store.dir().join("junk")]);
        store.remove("a/lan/eth0").unwrap();
        store.remove("a/lan/eth0").unwrap();
        assert_eq!(store.load_all().unwrap().0, vec![record("b")]);
        assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 2, "temporary file swept");
    }
}
