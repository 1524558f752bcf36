//! The bridge netconf: its keys, their defaults, and their checks.

use std::collections::BTreeSet;

use cni::args::{cni_args_mac, requested_mac};
use cni::checked::LinkName;
use cni::conf::{lenient, parse, parse_lenient, DelConf, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::result::null_as_empty;
use cni::CniError;
use serde::Deserialize;

/// The bridge name when `bridge` is not set.
pub const DEFAULT_BRIDGE: &str = "cni0";

/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[
    "bridge",
    "isGateway",
    "isDefaultGateway",
    "forceAddress",
    "ipMasq",
    "ipMasqBackend",
    "mtu",
    "hairpinMode",
    "promiscMode",
    "vlan",
    "vlanTrunk",
    "vlanTrunk.minID",
    "vlanTrunk.maxID",
    "vlanTrunk.id",
    "preserveDefaultVlan",
    "macspoofchk",
    "enabledad",
    "disableContainerInterface",
    "portIsolation",
    "runtimeConfig.mac",
];

/// The bridge plugin's own keys (the common ones are in `NetConf`).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BridgeConf {
    #[serde(rename = "bridge", deserialize_with = "null_as_empty")]
    pub bridge: String,
    #[serde(rename = "isGateway", deserialize_with = "null_as_empty")]
    pub is_gateway: bool,
    #[serde(rename = "isDefaultGateway", deserialize_with = "null_as_empty")]
    pub is_default_gateway: bool,
    #[serde(rename = "forceAddress", deserialize_with = "null_as_empty")]
    pub force_address: bool,
    #[serde(rename = "ipMasq", deserialize_with = "null_as_empty")]
    pub ip_masq: bool,
    #[serde(rename = "ipMasqBackend")]
    pub ip_masq_backend: Option<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub mtu: u32,
    #[serde(rename = "hairpinMode", deserialize_with = "null_as_empty")]
    pub hairpin_mode: bool,
    #[serde(rename = "promiscMode", deserialize_with = "null_as_empty")]
    pub promisc_mode: bool,
    #[serde(deserialize_with = "null_as_empty")]
    pub vlan: i64,
    #[serde(rename = "vlanTrunk")]
    pub vlan_trunk: Option<Vec<VlanTrunk>>,
    #[serde(rename = "preserveDefaultVlan", deserialize_with = "null_as_empty")]
    pub preserve_default_vlan: bool,
    #[serde(rename = "macspoofchk", deserialize_with = "null_as_empty")]
    pub mac_spoof_check: bool,
    #[serde(rename = "enabledad", deserialize_with = "null_as_empty")]
    pub enable_dad: bool,
    #[serde(rename = "disableContainerInterface", deserialize_with = "null_as_empty")]
    pub disable_container_interface: bool,
    #[serde(rename = "portIsolation", deserialize_with = "null_as_empty")]
    pub port_isolation: bool,
    #[serde(deserialize_with = "null_as_empty")]
    args: MacHolder,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: MacArg,
}

/// One `vlanTrunk` entry: a range or a single ID.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VlanTrunk {
    #[serde(rename = "minID")]
    min_id: Option<i64>,
    #[serde(rename = "maxID")]
    max_id: Option<i64>,
    id: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MacHolder {
    #[serde(deserialize_with = "null_as_empty")]
    cni: MacArg,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MacArg {
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
}

/// Everything an ADD, DEL or CHECK needs, checked.
pub struct Config {
    /// Common keys.
    pub net: NetConf,
    /// Bridge keys.
    pub bridge: BridgeConf,
    /// The access VLAN (0: none).
    pub vlan: u16,
    /// Trunk VLANs, sorted and unique.
    pub trunk: Vec<u16>,
    /// The container MAC asked for (CNI_ARGS, args, runtimeConfig: last wins).
    pub mac: Option<[u8; 6]>,
}

impl Config {
    /// The IPAM type, empty for a layer-2 only network.
    pub fn ipam_type(&self) -> &str {
        self.net.ipam_type()
    }
}

/// Parses and checks the netconf and the MAC arguments.
pub fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let mut bridge: BridgeConf = parse(&args.stdin)?;
    if bridge.bridge.is_empty() {
        bridge.bridge = DEFAULT_BRIDGE.to_string();
    }
    LinkName::new("bridge", &bridge.bridge)?;
    if !(0..=4094).contains(&bridge.vlan) {
        return Err(CniError::config(format!(
            "{}: invalid VLAN ID {} (must be between 0 and 4094)",
            key_label("vlan"),
            bridge.vlan
        )));
    }
    let trunk = collect_trunk(bridge.vlan_trunk.as_deref().unwrap_or_default())?;
    let from_args = cni_args_mac(&args.args)?;
    let mac = requested_mac(&[&from_args, &bridge.args.cni.mac, &bridge.runtime_config.mac])?;
    Ok(Config { net, vlan: bridge.vlan as u16, trunk, mac, bridge })
}

/// What an ADD will do, decided and checked before the first change: the
/// netconf, its refused combinations, and the masquerade backend.
pub struct Plan {
    /// The checked netconf.
    pub conf: Config,
    /// ipMasq's backend; `None` without ipMasq.
    pub masquerade: Option<cni::ipmasq::Backend>,
}

impl Plan {
    /// True when IPAM gives the container addresses (else layer 2 only).
    pub fn layer3(&self) -> bool {
        !self.conf.ipam_type().is_empty()
    }
}

/// ADD's plan.
pub fn plan(args: &CmdArgs) -> Result<Plan, CniError> {
    let conf = load(args)?;
    check_combinations(&conf)?;
    let b = &conf.bridge;
    let masquerade =
        if b.ip_masq { Some(cni::ipmasq::Backend::choose(b.ip_masq_backend.as_deref())?) } else { None };
    Ok(Plan { conf, masquerade })
}

/// The settings ADD refuses together (shared with VALIDATE).
pub fn check_combinations(conf: &Config) -> Result<(), CniError> {
    let b = &conf.bridge;
    if !conf.ipam_type().is_empty() && b.disable_container_interface {
        return Err(CniError::config("cannot use IPAM when DisableContainerInterface flag is set"));
    }
    if b.hairpin_mode && b.promisc_mode {
        return Err(CniError::config("cannot set hairpin mode and promiscuous mode at the same time"));
    }
    Ok(())
}

/// What bridge's DEL reads, leniently: the common DEL keys and the two
/// switches that say which host-side rules to remove. Nothing else (MTU,
/// VLANs, gateway, bridge name) matters to a DEL, so nothing else can fail it.
pub struct DelConfig {
    /// Name, IPAM, prevResult.
    pub net: DelConf,
    /// Masquerade rules to remove.
    pub ip_masq: bool,
    /// Spoof-check rules to remove.
    pub mac_spoof_check: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DelKeys {
    #[serde(rename = "ipMasq", deserialize_with = "lenient")]
    ip_masq: bool,
    #[serde(rename = "macspoofchk", deserialize_with = "lenient")]
    mac_spoof_check: bool,
}

/// The lenient DEL-side parse.
pub fn load_del(args: &CmdArgs) -> DelConfig {
    let keys: DelKeys = parse_lenient(&args.stdin);
    DelConfig {
        net: DelConf::load(&args.stdin),
        ip_masq: keys.ip_masq,
        mac_spoof_check: keys.mac_spoof_check,
    }
}

fn trunk_id(value: i64, what: &str) -> Result<u16, CniError> {
    if (1..=4094).contains(&value) {
        Ok(value as u16)
    } else {
        Err(CniError::config(format!("incorrect trunk {what} parameter")))
    }
}

/// The reference's `collectVlanTrunk`: ranges and single IDs, 1 to 4094.
/// Errors name the entry at fault (`key "vlanTrunk[1]"`).
fn collect_trunk(entries: &[VlanTrunk]) -> Result<Vec<u16>, CniError> {
    let mut vlans = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        trunk_entry(entry, &mut vlans).map_err(|e| e.context(key_label(&format!("vlanTrunk[{i}]"))))?;
    }
    Ok(vlans.into_iter().collect())
}

/// One `vlanTrunk` entry's VLANs, added to `vlans`.
fn trunk_entry(entry: &VlanTrunk, vlans: &mut BTreeSet<u16>) -> Result<(), CniError> {
    {
        match (entry.min_id, entry.max_id) {
            (Some(min), Some(max)) => {
                let (min, max) = (trunk_id(min, "minID")?, trunk_id(max, "maxID")?);
                if max < min {
                    return Err(CniError::config("minID is greater than maxID in trunk parameter"));
                }
                vlans.extend(min..=max);
            }
            (None, Some(_)) => {
                return Err(CniError::config(
                    "minID and maxID should be configured simultaneously, minID is missing",
                ))
            }
            (Some(_), None) => {
                return Err(CniError::config(
                    "minID and maxID should be configured simultaneously, maxID is missing",
                ))
            }
            (None, None) => {}
        }
        if let Some(id) = entry.id {
            vlans.insert(trunk_id(id, "id")?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(json: &str) -> Result<Vec<u16>, CniError> {
        let entries: Vec<VlanTrunk> = serde_json::from_str(json).unwrap();
        collect_trunk(&entries)
    }

    #[test]
    fn del_reads_its_switches_from_a_netconf_add_refuses() {
        let args = CmdArgs {
            command: cni::env::Command::Del,
            container_id: "c".into(),
            netns: String::new(),
            ifname: "eth0".into(),
            args: "MAC=bogus".into(),
            path: String::new(),
            stdin: br#"{"name": "n", "mtu": "1500", "isGateway": "yes", "vlan": 5000, "ipMasq": true,
                        "macspoofchk": "on", "vlanTrunk": [{"id": 0}], "ipam": {"type": "host-local", "subnet": 1}}"#
                .to_vec(),
            config_version: "1.0.0".into(),
        };
        assert!(load(&args).is_err());
        let conf = load_del(&args);
        assert!(conf.ip_masq);
        assert!(!conf.mac_spoof_check);
        assert_eq!(conf.net.name, "n");
        assert_eq!(conf.net.ipam_type(), "host-local");
    }

    #[test]
    fn trunks_as_the_reference_collects_them() {
        assert_eq!(trunk(r#"[{"minID":10,"maxID":12},{"id":5},{"id":11}]"#).unwrap(), vec![5, 10, 11, 12]);
        assert!(trunk(r#"[{"minID":12,"maxID":10}]"#).unwrap_err().msg.contains("greater"));
        assert!(trunk(r#"[{"maxID":10}]"#).unwrap_err().msg.contains("minID is missing"));
        assert!(trunk(r#"[{"id":4095}]"#).unwrap_err().msg.contains("incorrect trunk id"));
        assert!(trunk(r#"[{"minID":0,"maxID":3}]"#).unwrap_err().msg.contains("minID"));
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
            ("runtimeConfig", struct_fields::<MacArg>()),
            ("", struct_fields::<BridgeConf>()),
            ("vlanTrunk", struct_fields::<VlanTrunk>()),
            ("", struct_fields::<DelKeys>()),
        ];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
