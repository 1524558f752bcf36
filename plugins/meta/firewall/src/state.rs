//! Which addresses each attachment's rules are for, kept on the host so
//! that GC can find the rules of attachments that are gone.
//!
//! The rules themselves name only addresses (the reference's layout, which
//! both implementations must keep reading), so nothing in them says whose
//! they are. ADD writes `<dataDir>/<network>/<containerID>_<ifname>` with
//! the addresses, one per line; DEL removes it; GC removes the rules of
//! every file whose attachment is not valid, except addresses a valid
//! attachment holds now. Rules made by the reference have no file and are
//! left alone: GC never removes what it cannot tell is stale.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use cni::conf::Attachment;
use cni::statefile;
use cni::CniError;
use ipnetwork::IpNetwork;

/// Where firewall keeps its files unless the netconf's `dataDir` says.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/firewall";

/// The state of one network.
pub struct Store {
    dir: PathBuf,
}

fn file_name(container_id: &str, ifname: &str) -> String {
    format!("{container_id}_{ifname}")
}

impl Store {
    /// The store of `network` under `data_dir` (empty: the default).
    pub fn new(data_dir: &str, network: &str) -> Store {
        let root = if data_dir.is_empty() { DEFAULT_DATA_DIR } else { data_dir };
        Store { dir: Path::new(root).join(network) }
    }

    fn path(&self, container_id: &str, ifname: &str) -> PathBuf {
        self.dir.join(file_name(container_id, ifname))
    }

    /// Records an attachment's addresses (replacing what was there).
    pub fn save(&self, container_id: &str, ifname: &str, ips: &[IpNetwork]) -> Result<(), CniError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| CniError::io(format!("failed to create {}", self.dir.display()), e))?;
        let text: String = ips.iter().map(|ip| format!("{ip}\n")).collect();
        let path = self.path(container_id, ifname);
        statefile::write(&path, text.as_bytes(), 0o600)
            .map_err(|e| CniError::io(format!("failed to write {}", path.display()), e))
    }

    /// The addresses recorded for an attachment; none when there is no
    /// file. An unreadable file (truncated, a symlink) is reported on
    /// stderr and counts as none.
    pub fn load(&self, container_id: &str, ifname: &str) -> Vec<IpNetwork> {
        read_addresses(&self.path(container_id, ifname))
    }

    /// Forgets an attachment (and any temporary file of a killed write).
    pub fn forget(&self, container_id: &str, ifname: &str) -> Result<(), CniError> {
        let path = self.path(container_id, ifname);
        statefile::remove(&path).map_err(|e| CniError::io(format!("failed to remove {}", path.display()), e))
    }

    /// The recorded attachments that are not valid, with their addresses,
    /// less the addresses a valid attachment has now (a freed address may
    /// already be a new container's).
    pub fn stale(&self, valid: &[Attachment]) -> Vec<(PathBuf, Vec<IpNetwork>)> {
        let keep: HashSet<String> = valid.iter().map(|a| file_name(&a.container_id, &a.ifname)).collect();
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut stale = Vec::new();
        let mut held = HashSet::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let owner = name.strip_prefix(statefile::TEMP_PREFIX).unwrap_or(&name);
            if keep.contains(owner) {
                held.extend(read_addresses(&entry.path()).into_iter().map(|ip| ip.ip()));
            } else {
                stale.push(entry.path());
            }
        }
        stale
            .into_iter()
            .map(|path| {
                let ips = read_addresses(&path).into_iter().filter(|ip| !held.contains(&ip.ip())).collect();
                (path, ips)
            })
            .collect()
    }
}

fn read_addresses(path: &Path) -> Vec<IpNetwork> {
    let text = match statefile::read(path) {
        Ok(Some(data)) => String::from_utf8_lossy(&data).into_owned(),
        Ok(None) => return Vec::new(),
        Err(e) => {
            eprintln!("firewall: ignoring unreadable {}: {e}", path.display());
            return Vec::new();
        }
    };
    text.lines().filter_map(|line| line.trim().parse().ok()).collect()
}
