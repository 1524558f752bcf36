//! The libcni result cache: `<cacheDir>/results/<net>-<containerID>-<ifname>`.
//!
//! Same file names, permissions (dir 0700, files 0600) and `cniCacheV1`
//! JSON as libcni, with the conflist bytes base64-encoded in `config` as
//! Go encodes a byte slice, so attachments made by cnictl can be deleted
//! by cnitool or a libcni runtime, and the reverse.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

    /// Reads an attachment's entry; `None` if there is none or it is not
    /// a `cniCacheV1` entry.
    pub fn load(&self, network: &str, container_id: &str, ifname: &str) -> Option<CachedAttachment> {
        self.read(network, container_id, ifname).ok()?
    }

    /// An attachment's entry, `Ok(None)` when there is none, or why it
    /// exists but cannot be used (truncated by a kill, not JSON, a
    /// symlink, another kind), naming the file: DEL reports that on
    /// stderr before it removes the file.
    pub fn read(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> std::result::Result<Option<CachedAttachment>, String> {
        let path = self.path(network, container_id, ifname);
        read_entry(&path).map_err(|why| format!("{}: {why}", path.display()))
    }

    /// Removes an attachment's entry (missing is fine).
    pub fn remove(&self, network: &str, container_id: &str, ifname: &str) {
        let _ = cni::statefile::remove(&self.path(network, container_id, ifname));
    }

    /// Every valid entry, sorted by file name.
    pub fn list(&self) -> Vec<CachedAttachment> {
        self.entries().into_iter().map(|(entry, _)| entry).collect()
    }

    /// Every valid entry with the time its file was written, sorted by file name.
    pub fn entries(&self) -> Vec<(CachedAttachment, Option<std::time::SystemTime>)> {
        let Ok(entries) = std::fs::read_dir(self.results_dir()) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| Some((read_entry(p).ok()??, p.metadata().and_then(|m| m.modified()).ok())))
            .filter(|(e, _)| !e.ifname.is_empty() && !e.network.is_empty())
            .collect()
    }
}

/// An entry as read back: `Ok(None)` when there is none, `Err` with the
/// reason when the file is there but is not a `cniCacheV1` entry.
fn read_entry(path: &Path) -> std::result::Result<Option<CachedAttachment>, String> {
    let Some(data) = cni::statefile::read(path).map_err(|e| e.to_string())? else { return Ok(None) };
    let entry: CachedAttachment =
        cni::gojson::from_slice(&data).map_err(|e| format!("not a cache entry: {e}"))?;
    if entry.kind != KIND {
        return Err(format!("kind {:?}, not {KIND}", entry.kind));
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
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["config"], "e30=");
        assert_eq!(v["cniArgs"], serde_json::json!([["A", "1"]]));
        assert!(v.get("netns").is_none());
    }
}
