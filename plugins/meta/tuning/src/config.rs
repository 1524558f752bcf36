//! tuning's netconf: sysctls and link settings, overridable from
//! `args.cni`, `runtimeConfig.mac` and `CNI_ARGS` `MAC`, as the reference reads them.

use std::collections::{BTreeMap, HashSet};

use cni::args::CniArgs;
use cni::checked::SysctlKey;
use cni::conf::{lenient, parse, parse_lenient, NetConf};
use cni::env::CmdArgs;
use cni::result::null_as_empty;
use cni::CniError;
use serde::Deserialize;

/// Where link settings are saved for DEL to restore.
pub const DEFAULT_DATA_DIR: &str = "/run/cni/tuning";
/// The operator's list of allowed sysctls (one regular expression per line).
pub const ALLOWLIST: &str = "/etc/cni/tuning/allowlist.conf";
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["sysctl", "mac", "promisc", "mtu", "txQLen", "allmulti", "dataDir", "runtimeConfig.mac"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    #[serde(deserialize_with = "null_as_empty")]
    sysctl: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
    promisc: Option<bool>,
    mtu: Option<i64>,
    #[serde(rename = "txQLen")]
    tx_qlen: Option<i64>,
    allmulti: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TuningConf {
    #[serde(rename = "dataDir", deserialize_with = "null_as_empty")]
    data_dir: String,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: MacOnly,
    #[serde(deserialize_with = "null_as_empty")]
    args: ArgsHolder,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MacOnly {
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArgsHolder {
    cni: Option<Settings>,
}

/// What ADD, DEL and CHECK act on.
pub struct Config {
    /// Common keys (name, prevResult...).
    pub net: NetConf,
    /// sysctl key -> value.
    pub sysctl: BTreeMap<SysctlKey, String>,
    /// The MAC to set, if any.
    pub mac: Option<String>,
    /// Turn promiscuous mode on.
    pub promisc: bool,
    /// The MTU to set (0: leave it).
    pub mtu: u32,
    /// The transmit queue length to set.
    pub tx_qlen: Option<u32>,
    /// All-multicast on or off.
    pub allmulti: Option<bool>,
    /// Where to save the settings this ADD changes.
    pub data_dir: String,
}

impl Config {
    /// True when ADD changes a link setting (and so saves the old ones).
    pub fn changes_link(&self) -> bool {
        self.mac.is_some()
            || self.mtu != 0
            || self.promisc
            || self.allmulti.is_some()
            || self.tx_qlen.is_some()
    }
}

/// What DEL reads, leniently: where the saved settings are. Sysctls, MAC,
/// MTU and the rest are ADD's, so no value of theirs can fail a DEL.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DelKeys {
    #[serde(rename = "dataDir", deserialize_with = "lenient")]
    data_dir: String,
}

/// The directory of saved settings for a DEL (the default when unset or not a string).
pub fn del_data_dir(stdin: &[u8]) -> String {
    let keys: DelKeys = parse_lenient(stdin);
    if keys.data_dir.is_empty() {
        DEFAULT_DATA_DIR.to_string()
    } else {
        keys.data_dir
    }
}

fn non_negative(value: Option<i64>, key: &str) -> Result<Option<u32>, CniError> {
    value.map(|v| u32::try_from(v).map_err(|_| CniError::config(format!("invalid {key} {v}")))).transpose()
}

/// Refuses a `sysctl` object that names a key twice (serde would keep the last).
fn reject_duplicate_sysctls(stdin: &[u8]) -> Result<(), CniError> {
    struct Keys(Result<(), String>);
    impl<'de> serde::de::Visitor<'de> for KeysVisitor {
        type Value = Keys;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sysctl object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
            let mut seen = HashSet::new();
            while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                if !seen.insert(key) {
                    return Ok(Keys(Err("duplicated sysctl keys are not allowed".into())));
                }
            }
            Ok(Keys(Ok(())))
        }
        fn visit_unit<E>(self) -> Result<Keys, E> {
            Ok(Keys(Ok(())))
        }
    }
    struct KeysVisitor;
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            d.deserialize_any(KeysVisitor)
        }
    }
    #[derive(Deserialize, Default)]
    struct Holder {
        #[serde(default)]
        sysctl: Option<Keys>,
    }
    let holder: Holder = cni::gojson::from_slice(stdin).unwrap_or_default();
    match holder.sysctl {
        Some(Keys(Err(e))) => Err(CniError::config(e)),
        _ => Ok(()),
    }
}

/// Parses the netconf and applies the overrides in the reference's order.
pub fn load(args: &CmdArgs) -> Result<Config, CniError> {
    reject_duplicate_sysctls(&args.stdin)?;
    let net: NetConf = parse(&args.stdin)?;
    let conf: TuningConf = parse(&args.stdin)?;
    // The top-level settings are read on their own: a flattened field
    // would make serde read the whole object as a map, past gojson's key
    // folding ("MTU", "DataDir" would be ignored, as Go would not).
    let mut s: Settings = parse(&args.stdin)?;
    if let Some(mac) = CniArgs::parse(&args.args, &["MAC"])?.get("MAC").filter(|m| !m.is_empty()) {
        s.mac = mac.to_string();
    }
    if !conf.runtime_config.mac.is_empty() {
        s.mac = conf.runtime_config.mac;
    }
    if let Some(over) = conf.args.cni {
        s.sysctl.extend(over.sysctl);
        if !over.mac.is_empty() {
            s.mac = over.mac;
        }
        s.promisc = over.promisc.or(s.promisc);
        s.mtu = over.mtu.or(s.mtu);
        s.allmulti = over.allmulti.or(s.allmulti);
        s.tx_qlen = over.tx_qlen.or(s.tx_qlen);
    }
    if !s.mac.is_empty() && cni::netlink::parse_mac(&s.mac).is_none() {
        return Err(CniError::config(format!("invalid args {} for MAC addr", s.mac)));
    }
    let sysctl = s.sysctl.into_iter().map(|(k, v)| Ok((SysctlKey::new("sysctl", &k)?, v)));
    Ok(Config {
        net,
        sysctl: sysctl.collect::<Result<_, CniError>>()?,
        mac: Some(s.mac).filter(|m| !m.is_empty()),
        promisc: s.promisc.unwrap_or(false),
        mtu: non_negative(s.mtu, "mtu")?.unwrap_or(0),
        tx_qlen: non_negative(s.tx_qlen, "txQLen")?,
        allmulti: s.allmulti,
        data_dir: if conf.data_dir.is_empty() { DEFAULT_DATA_DIR.to_string() } else { conf.data_dir },
    })
}

/// Checks the sysctls against the allowlist file, when there is one.
pub fn check_allowlist(sysctl: &BTreeMap<SysctlKey, String>, allowlist: &str) -> Result<(), CniError> {
    let Ok(text) = std::fs::read_to_string(allowlist) else { return Ok(()) };
    let patterns: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let compiled: Vec<regex_lite::Regex> = patterns
        .iter()
        .map(|p| {
            regex_lite::Regex::new(p)
                .map_err(|e| CniError::config(format!("bad pattern {p:?} in {allowlist}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    for key in sysctl.keys() {
        if !compiled.iter().any(|r| r.is_match(key.as_str())) {
            return Err(CniError::config(format!(
                "Sysctl {key} is not allowed. Only the following sysctls are allowed: [{}]",
                patterns.join(" ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn del_reads_the_data_dir_from_a_netconf_add_refuses() {
        let stdin =
            br#"{"name": "n", "mtu": "1500", "mac": "zz", "sysctl": {"kernel.x": 1}, "dataDir": "/d"}"#;
        assert_eq!(del_data_dir(stdin), "/d");
        assert_eq!(del_data_dir(br#"{"dataDir": 5}"#), DEFAULT_DATA_DIR);
    }

    #[test]
    fn keys_fold_as_go_folds_them() {
        let args = CmdArgs {
            command: cni::env::Command::Add,
            container_id: "c".into(),
            netns: String::new(),
            ifname: "eth0".into(),
            args: String::new(),
            path: String::new(),
            stdin: br#"{"name": "n", "MTU": 1400, "Promisc": true, "DataDir": "/d"}"#.to_vec(),
            config_version: "1.0.0".into(),
        };
        let conf = load(&args).unwrap();
        assert_eq!((conf.mtu, conf.promisc, conf.data_dir.as_str()), (1400, true, "/d"));
        assert_eq!(del_data_dir(&args.stdin), "/d", "DEL looks where ADD saved");
    }

    #[test]
    fn duplicate_sysctls_are_refused() {
        let dup = br#"{"sysctl": {"net.core.somaxconn": "1", "net.core.somaxconn": "2"}}"#;
        assert!(reject_duplicate_sysctls(dup).is_err());
        assert!(reject_duplicate_sysctls(br#"{"sysctl": {"a": "1", "b": "2"}}"#).is_ok());
        assert!(reject_duplicate_sysctls(br#"{"sysctl": null}"#).is_ok());
    }
}

#[cfg(test)]
mod allowlist_tests {
    use super::*;

    #[test]
    fn allowlist_patterns_are_regular_expressions() {
        let dir = std::env::temp_dir().join(format!("tuning-allow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("allowlist.conf");
        std::fs::write(&file, "^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]*$\n\n  ^net\\.core\\.somaxconn$ \n")
            .unwrap();
        let list = |keys: &[&str]| {
            keys.iter().map(|k| (SysctlKey::new("sysctl", k).unwrap(), "1".to_string())).collect()
        };
        let path = file.to_str().unwrap();
        assert!(
            check_allowlist(&list(&["net.core.somaxconn", "net.ipv4.conf.IFNAME.arp_filter"]), path).is_ok()
        );
        let err = check_allowlist(&list(&["net.ipv4.ip_forward"]), path).unwrap_err();
        assert!(err.msg.contains("net.ipv4.ip_forward is not allowed"), "{}", err.msg);
        assert!(check_allowlist(&list(&["net.anything"]), "/nonexistent/allowlist.conf").is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
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
            ("runtimeConfig", struct_fields::<MacOnly>()),
            ("", struct_fields::<Settings>()),
            ("", struct_fields::<TuningConf>()),
            ("", struct_fields::<DelKeys>()),
        ];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
