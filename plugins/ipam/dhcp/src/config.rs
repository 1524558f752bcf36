//! The dhcp plugin's netconf, read with Go's key rules as the reference
//! reads it: the network name, `ipam.daemonSocketPath`, `provide`,
//! `request` and `priority`, plus what CHECK and GC get from the runtime.
//!
//! The plugin parses it to refuse bad input before it reaches the daemon;
//! the daemon parses the same bytes again with the same code.

use cni::conf::{parse, Attachment};
use cni::result::null_as_empty;
use cni::{CniError, CniResult};
use serde::Deserialize;

use crate::options::{self, ProvideOption, RequestOption, SentOptions};

/// Where the daemon listens unless the netconf or `-socketpath` says.
pub const DEFAULT_SOCKET_PATH: &str = "/run/cni/dhcp.sock";
/// Every key this IPAM plugin reads from its `ipam` object besides `type`
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[
    "daemonSocketPath",
    "provide",
    "provide.option",
    "provide.value",
    "provide.fromArg",
    "request",
    "request.option",
    "request.skipDefault",
    "priority",
];

#[derive(Deserialize)]
struct Conf {
    #[serde(default, deserialize_with = "null_as_empty")]
    name: String,
    #[serde(rename = "cniVersion", default, deserialize_with = "null_as_empty")]
    cni_version: String,
    #[serde(default)]
    ipam: Option<Ipam>,
    #[serde(rename = "prevResult", default)]
    prev_result: Option<serde_json::Value>,
    #[serde(rename = "cni.dev/valid-attachments", default, deserialize_with = "null_as_empty")]
    valid_attachments: Vec<Attachment>,
}

#[derive(Deserialize, Default)]
struct Ipam {
    #[serde(rename = "daemonSocketPath", default, deserialize_with = "null_as_empty")]
    daemon_socket_path: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    provide: Vec<ProvideOption>,
    #[serde(default, deserialize_with = "null_as_empty")]
    request: Vec<RequestOption>,
    #[serde(default)]
    priority: i64,
}

/// One invocation's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The network name (part of the client identifier).
    pub name: String,
    /// The config's `cniVersion`.
    pub cni_version: String,
    /// The daemon's socket.
    pub socket_path: String,
    /// What the client sends: provided options and the request list.
    pub options: SentOptions,
    /// The metric of every route in the result (0: none).
    pub priority: u32,
    /// CHECK: the previous result.
    pub prev_result: Option<CniResult>,
    /// GC: the attachments that stay.
    pub valid_attachments: Vec<Attachment>,
}

/// Reads the netconf as ADD, CHECK and GC need it: `provide` and
/// `request` must name known options (code 7 naming the key), `priority`
/// must be a route metric.
pub fn load(stdin: &[u8], cni_args: &str) -> Result<Config, CniError> {
    let conf: Conf = parse(stdin)?;
    let ipam = conf.ipam.unwrap_or_default();
    let options = options::prepare(cni_args, &ipam.provide, &ipam.request)
        .map_err(|e| CniError::config(format!("ipam.provide/ipam.request: {e}")))?;
    let priority = u32::try_from(ipam.priority).map_err(|_| {
        CniError::config(format!("ipam.priority: {} is not a route metric (0-4294967295)", ipam.priority))
    })?;
    let prev_result = match conf.prev_result {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => {
            let version = if conf.cni_version.is_empty() { "0.1.0" } else { &conf.cni_version };
            Some(CniResult::from_json(&value, version).map_err(|e| e.context("failed to parse prevResult"))?)
        }
    };
    Ok(Config {
        name: conf.name,
        cni_version: conf.cni_version,
        socket_path: socket_path_of(ipam.daemon_socket_path),
        options,
        priority,
        prev_result,
        valid_attachments: conf.valid_attachments,
    })
}

fn socket_path_of(configured: String) -> String {
    if configured.is_empty() {
        DEFAULT_SOCKET_PATH.to_string()
    } else {
        configured
    }
}

/// What DEL reads: only the socket and the network name, leniently, so a
/// netconf ADD would refuse still lets DEL release the lease.
pub fn load_del(stdin: &[u8]) -> (String, String) {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct DelConf {
        #[serde(deserialize_with = "cni::conf::lenient")]
        name: String,
        #[serde(deserialize_with = "cni::conf::lenient")]
        ipam: DelIpam,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct DelIpam {
        #[serde(rename = "daemonSocketPath", deserialize_with = "cni::conf::lenient")]
        daemon_socket_path: String,
    }
    let conf: DelConf = cni::conf::parse_lenient(stdin);
    (conf.name, socket_path_of(conf.ipam.daemon_socket_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_go_reads_them() {
        let conf = br#"{"cniVersion":"1.0.0","Name":"lan","ipam":{"type":"dhcp","DaemonSocketPath":"/tmp/x.sock",
            "provide":[{"option":"host-name","fromArg":"K8S_POD_NAME"}],"request":[{"skipDefault":true},{"option":"121"}],"Priority":5}}"#;
        let c = load(conf, "K8S_POD_NAME=web").unwrap();
        assert_eq!((c.name.as_str(), c.socket_path.as_str(), c.priority), ("lan", "/tmp/x.sock", 5));
        assert_eq!(c.options.provided, vec![(12, b"web".to_vec())]);
        assert_eq!(c.options.request_list, vec![121]);
    }

    #[test]
    fn defaults_and_refusals() {
        let c = load(br#"{"name":"n","ipam":{"type":"dhcp"}}"#, "").unwrap();
        assert_eq!(c.socket_path, DEFAULT_SOCKET_PATH);
        assert_eq!(c.options.request_list, vec![3, 1, 6, 15, 119]);
        let e = load(br#"{"name":"n","ipam":{"request":[{"option":"bogus"}]}}"#, "").unwrap_err();
        assert_eq!(e.code, 7);
        assert!(e.msg.contains("bogus"), "{}", e.msg);
        assert_eq!(load(br#"{"name":"n","ipam":{"priority":-1}}"#, "").unwrap_err().code, 7);
        assert_eq!(load(br#"{"name":"n","ipam":{"priority":"x"}}"#, "").unwrap_err().code, 6);
        let (name, sock) = load_del(br#"{"name":"n","ipam":{"priority":"x","daemonSocketPath":7}}"#);
        assert_eq!((name.as_str(), sock.as_str()), ("n", DEFAULT_SOCKET_PATH));
    }
}

#[cfg(test)]
mod known_keys_tests {
    use super::*;
    use cni::known_keys::{check_against_parser, struct_fields};

    /// KEYS is what the parser reads: a key added to a struct and not to
    /// KEYS (lint would flag it) or the other way round fails here.
    #[test]
    fn known_keys_match_the_parser() {
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![
            ("", struct_fields::<Ipam>()),
            ("provide", struct_fields::<crate::options::ProvideOption>()),
            ("request", struct_fields::<crate::options::RequestOption>()),
        ];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::ipam_common(), &parsed, &[]), Ok(()));
    }
}
