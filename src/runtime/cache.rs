//! The libcni result cache: `<cacheDir>/results/<net>-<containerID>-<ifname>`.
//!
//! Same file names, permissions (dir 0700, files 0600) and `cniCacheV1`
//! JSON as libcni, with the conflist bytes base64-encoded in `config` as
//! Go encodes a byte slice, so attachments made by cnictl can be deleted
//! by cnitool or a libcni runtime, and the reverse. One field is ours:
//! `netnsIdentity`, the namespace the attachment was made in (libcni
//! ignores fields it does not know).
//!
//! An entry that cannot be read is never dropped in silence: listings
//! carry it (its file name still says network, container and interface),
//! so GC keeps what it may belong to and the views show it.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use cni::conf::Attachment;
use color_eyre::eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::netns::identity::NetnsId;
use crate::report::io_needing_root;

const KIND: &str = "cniCacheV1";

/// One cached attachment, field for field as libcni writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedAttachment {
    /// Always `cniCacheV1`.
    pub kind: String,
    /// Container ID.
    #[serde(rename = "containerId")]
    pub container_id: String,
    /// The network's conflist bytes, base64 in JSON.
    #[serde(with = "base64_bytes")]
    pub config: Vec<u8>,
    /// Interface name in the container.
    #[serde(rename = "ifName")]
    pub ifname: String,
    /// Network name.
    #[serde(rename = "networkName")]
    pub network: String,
    /// Netns path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub netns: String,
    /// `CNI_ARGS` pairs.
    #[serde(rename = "cniArgs", default, skip_serializing_if = "Option::is_none")]
    pub cni_args: Option<Vec<(String, String)>>,
    /// Capability arguments.
    #[serde(rename = "capabilityArgs", default, skip_serializing_if = "Option::is_none")]
    pub capability_args: Option<Map<String, Value>>,
    /// The chain's final result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The namespace `netns` led to at ADD (ours; libcni writes none).
    #[serde(rename = "netnsIdentity", default, skip_serializing_if = "Option::is_none")]
    pub netns_identity: Option<NetnsId>,
}

impl CachedAttachment {
    /// The attachment's namespace path: the entry's, or for entries of
    /// libcni before 1.2 (podman 4.3), which have none, the sandbox the
    /// cached result gives its interfaces.
    pub fn netns_path(&self) -> String {
        if !self.netns.is_empty() {
            return self.netns.clone();
        }
        let interfaces = self.result.as_ref().and_then(|r| r.get("interfaces")).and_then(Value::as_array);
        interfaces
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("sandbox").and_then(Value::as_str))
            .find(|sandbox| !sandbox.is_empty())
            .unwrap_or_default()
            .to_string()
    }

    /// Network, container and interface.
    pub fn attachment(&self) -> Attachment {
        Attachment { container_id: self.container_id.clone(), ifname: self.ifname.clone() }
    }
}

/// A file of the results directory that is not a usable entry.
#[derive(Debug, Clone)]
pub struct UnreadableEntry {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be used.
    pub why: String,
}

impl UnreadableEntry {
    /// The file name, `<network>-<containerID>-<ifname>`.
    pub fn file_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Every (container ID, ifname) the file name can mean for `network`
    /// (both may hold `-`, so each split is a candidate): what GC keeps
    /// when it cannot read the entry. Empty when the name is not of it.
    pub fn candidates(&self, network: &str) -> Vec<Attachment> {
        let name = self.file_name();
        let Some(rest) = name.strip_prefix(&format!("{network}-")) else { return Vec::new() };
        rest.match_indices('-')
            .map(|(at, _)| (&rest[..at], &rest[at + 1..]))
            .filter(|(id, ifname)| !id.is_empty() && !ifname.is_empty())
            .map(|(id, ifname)| Attachment { container_id: id.to_string(), ifname: ifname.to_string() })
            .collect()
    }
}

/// A cached entry that exists but cannot be used.
#[derive(Debug)]
pub enum EntryError {
    /// Reading it needs root (the cache is root's, 0700/0600).
    NeedsRoot(color_eyre::eyre::Report),
    /// Truncated, not JSON, a symlink, another kind: the reason, naming the file.
    Broken(String),
}

/// What the results directory holds.
#[derive(Debug, Default)]
pub struct Listing {
    /// Entries read, with the time each file was written, sorted by file name.
    pub readable: Vec<(CachedAttachment, Option<std::time::SystemTime>)>,
    /// Files that are there but cannot be used.
    pub unreadable: Vec<UnreadableEntry>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The cache in one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache rooted at `dir` (its `results/` subdirectory holds the files).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    fn results_dir(&self) -> PathBuf {
        self.dir.join("results")
    }

    /// The file of one attachment.
    pub fn path(&self, network: &str, container_id: &str, ifname: &str) -> PathBuf {
        self.results_dir().join(format!("{network}-{container_id}-{ifname}"))
    }

    /// Writes an attachment's entry.
    pub fn store(&self, entry: &CachedAttachment) -> Result<()> {
        let path = self.path(&entry.network, &entry.container_id, &entry.ifname);
        let dir = self.results_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .wrap_err_with(|| format!("failed to create cache dir {}", dir.display()))?;
        let data = serde_json::to_vec(entry)?;
        cni::statefile::write(&path, &data, 0o600)
            .wrap_err_with(|| format!("failed to write cache file {}", path.display()))
    }

    /// Reads an attachment's entry; `None` if there is none or it cannot be used.
    pub fn load(&self, network: &str, container_id: &str, ifname: &str) -> Option<CachedAttachment> {
        self.read(network, container_id, ifname).ok()?
    }

    /// An attachment's entry, `Ok(None)` when there is none, or why it
    /// exists but cannot be used: DEL reports a broken one on stderr before
    /// it removes the file, and every verb stops on one it may not read.
    pub fn read(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> std::result::Result<Option<CachedAttachment>, EntryError> {
        let path = self.path(network, container_id, ifname);
        read_entry(&path)
    }

    /// Removes an attachment's entry (missing is fine).
    pub fn remove(&self, network: &str, container_id: &str, ifname: &str) {
        let _ = cni::statefile::remove(&self.path(network, container_id, ifname));
    }

    /// Every usable entry, sorted by file name; entries that cannot be
    /// read are left out: for callers that only look (the network a name
    /// means). What decides or shows uses [`Cache::listing`].
    pub fn list(&self) -> Vec<CachedAttachment> {
        self.listing().map(|l| l.readable.into_iter().map(|(entry, _)| entry).collect()).unwrap_or_default()
    }

    /// Every file of the results directory, read or not; an error (a
    /// [`crate::report::NeedsRoot`] one for EACCES) when the directory is
    /// there but cannot be listed. A missing directory is an empty cache.
    pub fn listing(&self) -> Result<Listing> {
        let dir = self.results_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => return Err(io_needing_root("reading the result cache", &dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| !p.is_dir()).collect();
        paths.sort();
        let mut listing = Listing::default();
        for path in paths {
            match read_entry(&path) {
                Ok(Some(entry)) if !entry.ifname.is_empty() && !entry.network.is_empty() => {
                    let written = path.metadata().and_then(|m| m.modified()).ok();
                    listing.readable.push((entry, written));
                }
                Ok(Some(_)) => listing.unreadable.push(UnreadableEntry {
                    path: path.clone(),
                    why: "names no network or interface".into(),
                }),
                Ok(None) => {}
                Err(EntryError::NeedsRoot(report)) => return Err(report),
                Err(EntryError::Broken(why)) => listing.unreadable.push(UnreadableEntry { path, why }),
            }
        }
        Ok(listing)
    }
}

/// An entry as read back: `Ok(None)` when there is none, `Err` with the
/// reason when the file is there but is not a `cniCacheV1` entry.
fn read_entry(path: &Path) -> std::result::Result<Option<CachedAttachment>, EntryError> {
    let broken = |why: String| EntryError::Broken(format!("{}: {why}", path.display()));
    let data = match cni::statefile::read(path) {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(EntryError::NeedsRoot(io_needing_root("reading the result cache", path, e)))
        }
        Err(e) => return Err(broken(e.to_string())),
    };
    let entry: CachedAttachment =
        cni::gojson::from_slice(&data).map_err(|e| broken(format!("not a cache entry: {e}")))?;
    if entry.kind != KIND {
        return Err(broken(format!("kind {:?}, not {KIND}", entry.kind)));
    }
    Ok(Some(entry))
}

/// A new entry for an attachment.
pub fn entry(
    list_bytes: &[u8],
    rt: &super::RuntimeConf,
    network: &str,
    result: Option<Value>,
) -> CachedAttachment {
    CachedAttachment {
        kind: KIND.to_string(),
        container_id: rt.container_id.clone(),
        config: list_bytes.to_vec(),
        ifname: rt.ifname.clone(),
        network: network.to_string(),
        netns: rt.netns.clone(),
        cni_args: (!rt.args.is_empty()).then(|| rt.args.clone()),
        capability_args: (!rt.capability_args.is_empty()).then(|| rt.capability_args.clone()),
        result,
        netns_identity: NetnsId::of(Path::new(&rt.netns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_base64_like_go() {
        let e = CachedAttachment {
            kind: KIND.into(),
            container_id: "c".into(),
            config: b"{}".to_vec(),
            ifname: "eth0".into(),
            network: "n".into(),
            netns: String::new(),
            cni_args: Some(vec![("A".into(), "1".into())]),
            capability_args: None,
            result: None,
            netns_identity: None,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["config"], "e30=");
        assert_eq!(v["cniArgs"], serde_json::json!([["A", "1"]]));
        assert!(v.get("netns").is_none());
        assert!(v.get("netnsIdentity").is_none(), "nothing of ours unless known");
    }

    #[test]
    fn an_unreadable_entry_stands_for_every_attachment_its_name_can_mean() {
        let entry = UnreadableEntry { path: "/c/results/my-net-cnitool-ab-eth-0".into(), why: String::new() };
        let ids: Vec<(String, String)> =
            entry.candidates("my-net").into_iter().map(|a| (a.container_id, a.ifname)).collect();
        assert_eq!(
            ids,
            [
                ("cnitool".to_string(), "ab-eth-0".to_string()),
                ("cnitool-ab".into(), "eth-0".into()),
                ("cnitool-ab-eth".into(), "0".into())
            ]
        );
        assert!(entry.candidates("other").is_empty());
    }

    #[test]
    fn podman_4_3_entries_give_their_namespace_through_the_result() {
        let raw = serde_json::json!({"kind": KIND, "containerId": "c", "config": "e30=", "ifName": "eth0",
            "networkName": "podman", "result": {"interfaces": [{"name": "veth1"}, {"name": "eth0", "sandbox": "/run/netns/netns-1"}]}});
        let entry: CachedAttachment = serde_json::from_value(raw).unwrap();
        assert_eq!(entry.netns_path(), "/run/netns/netns-1");
    }
}
