//! The macvlan netconf: the reference's keys (master, mode, mtu, mac,
//! linkInContainer, bcqueuelen), the MAC from CNI_ARGS or runtimeConfig,
//! and the master found and its MTU checked as the reference does.

use cni::args::{cni_args_mac, requested_mac};
use cni::checked::LinkName;
use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::netlink::MacvlanMode;
use cni::result::null_as_empty;
use cni::{interface, CniError};
use serde::Deserialize;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["master", "mode", "mtu", "mac", "linkInContainer", "bcqueuelen", "runtimeConfig.mac"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConf {
    #[serde(deserialize_with = "null_as_empty")]
    master: String,
    #[serde(deserialize_with = "null_as_empty")]
    mode: String,
    #[serde(deserialize_with = "null_as_empty")]
    mtu: i64,
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
    #[serde(rename = "linkInContainer", deserialize_with = "null_as_empty")]
    link_in_container: bool,
    #[serde(deserialize_with = "null_as_empty")]
    bcqueuelen: u32,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: RawRuntimeConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRuntimeConfig {
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
}

/// The checked configuration of one call.
pub struct Config {
    /// Common keys.
    pub net: NetConf,
    /// The parent interface's name.
    pub master: String,
    /// The mode.
    pub mode: MacvlanMode,
    /// MTU, 0 for the master's.
    pub mtu: u32,
    /// A fixed MAC for the container interface.
    pub mac: Option<[u8; 6]>,
    /// The master lives in the container's namespace.
    pub link_in_container: bool,
    /// Broadcast queue length, 0 for the kernel's default.
    pub bc_queue_len: u32,
}

impl Config {
    /// The IPAM plugin's type; empty for an L2-only interface.
    pub fn ipam_type(&self) -> &str {
        self.net.ipam_type()
    }
}

/// The MAC asked for: the `mac` key, CNI_ARGS, runtimeConfig (last wins).
fn mac_of(args: &CmdArgs, raw: &RawConf) -> Result<Option<[u8; 6]>, CniError> {
    let from_args = cni_args_mac(&args.args)?;
    requested_mac(&[&raw.mac, &from_args, &raw.runtime_config.mac])
}

/// The checks of [`load`] that need no host (VALIDATE): the keys, the
/// mode and the MAC, not the master. Returns the common keys.
pub fn check_keys(args: &CmdArgs) -> Result<NetConf, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let raw: RawConf = parse(&args.stdin)?;
    mode_from(&raw.mode)?;
    mac_of(args, &raw)?;
    LinkName::optional("master", &raw.master)?;
    Ok(net)
}

/// The mode the `mode` key names.
pub fn mode_from(text: &str) -> Result<MacvlanMode, CniError> {
    MacvlanMode::parse(text).ok_or_else(|| CniError::config(format!("unknown macvlan mode: {text:?}")))
}

/// Reads and checks the netconf of one call (the master must exist).
pub fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let raw: RawConf = parse(&args.stdin)?;
    let mode = mode_from(&raw.mode)?;
    let in_container = raw.link_in_container;
    let (master, mtu) = interface::checked_master(args, in_container, &raw.master, raw.mtu)?;
    let mac = mac_of(args, &raw)?;
    Ok(Config { net, master, mode, mtu, mac, link_in_container: in_container, bc_queue_len: raw.bcqueuelen })
}

#[cfg(test)]
mod known_keys_tests {
    use super::*;
    use cni::known_keys::{check_against_parser, struct_fields};

    /// KEYS is what the parser reads: a key added to a struct and not to
    /// KEYS (lint would flag it) or the other way round fails here.
    #[test]
    fn known_keys_match_the_parser() {
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("runtimeConfig", struct_fields::<RawRuntimeConfig>()), ("", struct_fields::<RawConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
