//! Network configuration as plugins receive it on stdin.
//!
//! Each plugin declares its own netconf struct; `parse` decodes it with
//! Go's key rules (`gojson`: case-insensitive keys, the later duplicate
//! wins) and, on a wrong type, names the key at fault
//! (`ipam.ranges[0][0].subnet`). Unknown keys are ignored, as the spec
//! requires.

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

    #[test]
    fn common_keys_tolerate_null() {
        let conf: NetConf =
            parse(br#"{"cniVersion": "1.0.0", "name": "n", "type": "t", "dns": null, "capabilities": null}"#)
                .unwrap();
        assert_eq!(conf.name, "n");
        assert!(conf.dns.is_empty());
    }
}
