//! Network configuration as plugins receive it on stdin.
//!
//! Each plugin declares its own netconf struct; `parse` decodes it with
//! Go's key rules (`gojson`: case-insensitive keys, the later duplicate
//! wins) and, on a wrong type, names the key at fault
//! (`ipam.ranges[0][0].subnet`). Unknown keys are ignored, as the spec
//! requires.
//!
//! DEL is different ("DEL always cleans"): it must not fail over settings
//! only ADD uses, so each plugin's DEL reads just the keys it needs through
//! [`parse_lenient`], with every field marked [`lenient`]: a key of the
//! wrong type counts as absent. [`DelConf`] holds the keys every DEL may
//! need (name, IPAM type, prevResult).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{CniError, ErrorCode};
use crate::gojson::{self, GoValue, Node};
use crate::result::{null_as_empty, CniResult, Dns};

/// The keys every netconf may carry, whatever its plugin.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetConf {
    /// Spec version of this config.
    #[serde(rename = "cniVersion", default, deserialize_with = "null_as_empty")]
    pub cni_version: String,
    /// Network name.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
    /// Plugin type.
    #[serde(rename = "type", default, deserialize_with = "null_as_empty")]
    pub plugin_type: String,
    /// Capabilities this plugin declares.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub capabilities: BTreeMap<String, bool>,
    /// The IPAM section, passed through to the IPAM plugin.
    #[serde(default)]
    pub ipam: Option<serde_json::Value>,
    /// DNS settings.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub dns: Dns,
    /// The previous plugin's result, in a chain.
    #[serde(rename = "prevResult", default)]
    pub prev_result: Option<serde_json::Value>,
    /// Values the runtime filled in for declared capabilities.
    #[serde(rename = "runtimeConfig", default)]
    pub runtime_config: Option<serde_json::Value>,
    /// Free-form arguments from the runtime.
    #[serde(default)]
    pub args: Option<serde_json::Value>,
    /// GC: the attachments that are still valid.
    #[serde(rename = "cni.dev/valid-attachments", default, deserialize_with = "null_as_empty")]
    pub valid_attachments: Vec<Attachment>,
}

/// An attachment named in a GC request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
pub struct Attachment {
    /// The container ID.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// The interface name inside the container.
    pub ifname: String,
}

impl NetConf {
    /// The IPAM plugin's type; empty when there is no IPAM section.
    pub fn ipam_type(&self) -> &str {
        self.ipam.as_ref().and_then(|i| gojson::get(i, "type")).and_then(|t| t.as_str()).unwrap_or_default()
    }

    /// The previous result converted to canonical form, if one was given.
    pub fn prev_result(&self) -> Result<Option<CniResult>, CniError> {
        match &self.prev_result {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => {
                let version = if self.cni_version.is_empty() { "0.1.0" } else { &self.cni_version };
                CniResult::from_json(value, version)
                    .map(Some)
                    .map_err(|e| e.context("failed to parse prevResult"))
            }
        }
    }

    /// The previous result a chained plugin needs. Its absence is a
    /// config error (7) for every plugin, worded `missing` (each keeps the
    /// reference's words, which runtimes show).
    pub fn chained_result(&self, missing: &str) -> Result<CniResult, CniError> {
        self.prev_result()?.ok_or_else(|| CniError::config(missing))
    }
}

/// Decodes stdin into a plugin's netconf type; errors name the key.
pub fn parse<T: DeserializeOwned>(stdin: &[u8]) -> Result<T, CniError> {
    let node: Node = serde_json::from_slice(stdin)
        .map_err(|e| CniError::new(ErrorCode::Decoding, format!("failed to parse network config: {e}")))?;
    serde_path_to_error::deserialize(GoValue(&node)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = if path == "." || path.is_empty() {
            format!("failed to parse network config: {inner}")
        } else {
            format!("failed to parse network config: key {path:?}: {inner}")
        };
        CniError::new(ErrorCode::Decoding, msg)
    })
}

/// Decodes a JSON value (a section of the netconf) into a type; errors
/// name the key below `prefix`.
pub fn parse_value<T: DeserializeOwned>(value: &serde_json::Value, prefix: &str) -> Result<T, CniError> {
    serde_path_to_error::deserialize(GoValue(&Node::from(value))).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let key = if path == "." { prefix.to_string() } else { format!("{prefix}.{path}") };
        CniError::new(ErrorCode::Decoding, format!("failed to parse network config: key {key:?}: {inner}"))
    })
}

/// A field decoder for DEL-side netconf types: the value as the field's
/// type (with Go's key rules), or the type's default when it is not one
/// (`"mtu": "1500"`, `"ipMasq": "yes"`, `null`). Use with
/// `#[serde(default, deserialize_with = "lenient")]`.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + DeserializeOwned,
{
    let node = Node::deserialize(deserializer)?;
    Ok(T::deserialize(GoValue(&node)).unwrap_or_default())
}

/// Decodes stdin into a DEL-side netconf type whose fields are all
/// [`lenient`]; never fails (input that is not even an object gives the
/// default), so DEL goes on with whatever the netconf still says.
pub fn parse_lenient<T: DeserializeOwned + Default>(stdin: &[u8]) -> T {
    match serde_json::from_slice::<Node>(stdin) {
        // Only an object: serde would fill a struct from an array by position.
        Ok(node @ Node::Object(_)) => T::deserialize(GoValue(&node)).unwrap_or_default(),
        _ => T::default(),
    }
}

/// The keys every DEL may need beyond the attachment's identity, parsed
/// leniently: the network name (rules, stores and devices are named by
/// it), the IPAM section to pass on, and the previous result (the
/// addresses, when the interface is gone).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DelConf {
    /// Spec version of this config.
    #[serde(rename = "cniVersion", deserialize_with = "lenient")]
    pub cni_version: String,
    /// Network name.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    /// The IPAM section.
    #[serde(deserialize_with = "lenient")]
    pub ipam: Option<serde_json::Value>,
    /// The previous plugin's result (the cached result on a runtime's DEL).
    #[serde(rename = "prevResult", deserialize_with = "lenient")]
    pub prev_result: Option<serde_json::Value>,
    /// GC: the attachments that are still valid (GC is a cleanup too, and
    /// reads its netconf as leniently as DEL).
    #[serde(rename = "cni.dev/valid-attachments", deserialize_with = "lenient")]
    pub valid_attachments: Vec<Attachment>,
}

impl DelConf {
    /// The lenient parse of a DEL's stdin.
    pub fn load(stdin: &[u8]) -> DelConf {
        parse_lenient(stdin)
    }

    /// The IPAM plugin's type; empty when there is none (or it is not a string).
    pub fn ipam_type(&self) -> &str {
        self.ipam.as_ref().and_then(|i| gojson::get(i, "type")).and_then(|t| t.as_str()).unwrap_or_default()
    }

    /// The previous result in canonical form; `None` when absent or unreadable.
    pub fn prev_result(&self) -> Option<CniResult> {
        let value = self.prev_result.as_ref()?;
        let version = if self.cni_version.is_empty() { "0.1.0" } else { &self.cni_version };
        CniResult::from_json(value, version).ok()
    }

    /// The previous result's addresses (empty when there is none).
    pub fn prev_addresses(&self) -> Vec<ipnetwork::IpNetwork> {
        self.prev_result().map(|r| r.ips.iter().map(|ip| ip.address).collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        mtu: Option<u32>,
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse::<Sample>(br#"{"mtu": "big"}"#).unwrap_err();
        assert_eq!(err.code, 6);
        assert!(err.msg.contains("\"mtu\""), "{}", err.msg);
        assert!(parse::<Sample>(br#"{"mtu": 1400, "other": 1}"#).is_ok());
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct DelSample {
        #[serde(deserialize_with = "lenient")]
        mtu: Option<u32>,
        #[serde(rename = "ipMasq", deserialize_with = "lenient")]
        ip_masq: bool,
        #[serde(deserialize_with = "lenient")]
        inner: Inner,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Inner {
        #[serde(rename = "dataDir", deserialize_with = "lenient")]
        data_dir: String,
    }

    #[test]
    fn lenient_keys_of_the_wrong_type_count_as_absent() {
        let conf: DelSample =
            parse_lenient(br#"{"mtu": "1500", "IPMASQ": true, "inner": {"datadir": "/x"}}"#);
        assert_eq!(conf.mtu, None);
        assert!(conf.ip_masq, "Go's case-insensitive keys still apply");
        assert_eq!(conf.inner.data_dir, "/x");
        let conf: DelSample = parse_lenient(br#"{"mtu": 1400, "ipMasq": "yes", "inner": 5}"#);
        assert_eq!(conf.mtu, Some(1400));
        assert!(!conf.ip_masq);
        assert_eq!(conf.inner.data_dir, "");
        let conf: DelSample = parse_lenient(b"[1, 2]");
        assert_eq!(conf.mtu, None);
    }

    #[test]
    fn del_conf_reads_what_del_needs_from_a_bad_netconf() {
        let conf = DelConf::load(
            br#"{"cniVersion": "1.0.0", "name": "n", "dns": 5, "capabilities": [], "mtu": "x",
                 "ipam": {"type": "host-local", "subnet": "bogus"},
                 "prevResult": {"cniVersion": "1.0.0", "ips": [{"address": "10.1.2.3/24"}]}}"#,
        );
        assert_eq!(conf.name, "n");
        assert_eq!(conf.ipam_type(), "host-local");
        assert_eq!(conf.prev_addresses(), vec!["10.1.2.3/24".parse::<ipnetwork::IpNetwork>().unwrap()]);
        let conf = DelConf::load(br#"{"name": 5, "ipam": {"type": 1}, "prevResult": "x"}"#);
        assert_eq!(conf.name, "");
        assert_eq!(conf.ipam_type(), "");
        assert!(conf.prev_result().is_none());
    }

    #[test]
    fn common_keys_tolerate_null() {
        let conf: NetConf =
            parse(br#"{"cniVersion": "1.0.0", "name": "n", "type": "t", "dns": null, "capabilities": null}"#)
                .unwrap();
        assert_eq!(conf.name, "n");
        assert!(conf.dns.is_empty());
    }
}
