//! host-local's configuration: range sets, routes, data dir, and the
//! addresses a runtime may request.
//!
//! Range sets come from `runtimeConfig.ipRanges`, then the legacy inline
//! `subnet`/`rangeStart`/`rangeEnd`/`gateway`, then `ranges`, as in the
//! reference. Requested addresses come from `CNI_ARGS` `IP=`,
//! `args.cni.ips` and `runtimeConfig.ips`.

use std::net::IpAddr;

use cni::args::CniArgs;
use cni::conf::{lenient, parse, parse_lenient, Attachment};
use cni::result::{null_as_empty, Route};
use cni::{version, CniError};
use serde::Deserialize;

use cni::jsonpos::key_label;

use crate::range::{canonical, Range, RangeConf, RangeSet};
/// Every key this IPAM plugin reads from its `ipam` object besides `type`
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[
    "subnet",
    "rangeStart",
    "rangeEnd",
    "gateway",
    "ranges",
    "ranges.subnet",
    "ranges.rangeStart",
    "ranges.rangeEnd",
    "ranges.gateway",
    "routes",
    "routes.dst",
    "routes.gw",
    "routes.mtu",
    "routes.advmss",
    "routes.priority",
    "routes.table",
    "routes.scope",
    "dataDir",
    "resolvConf",
    "name",
    "runtimeConfig.ipRanges",
    "runtimeConfig.ips",
];

#[derive(Deserialize)]
struct Conf {
    #[serde(default, deserialize_with = "null_as_empty")]
    name: String,
    #[serde(rename = "cniVersion", default, deserialize_with = "null_as_empty")]
    cni_version: String,
    ipam: Option<IpamConf>,
    #[serde(rename = "runtimeConfig", default)]
    runtime_config: Option<RuntimeConf>,
    #[serde(default)]
    args: Option<Args>,
    #[serde(rename = "cni.dev/valid-attachments", default, deserialize_with = "null_as_empty")]
    valid_attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct IpamConf {
    #[serde(default)]
    subnet: Option<ipnetwork::IpNetwork>,
    #[serde(rename = "rangeStart", default)]
    range_start: Option<IpAddr>,
    #[serde(rename = "rangeEnd", default)]
    range_end: Option<IpAddr>,
    #[serde(default)]
    gateway: Option<IpAddr>,
    #[serde(default, deserialize_with = "null_as_empty")]
    ranges: Vec<Vec<RangeConf>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    routes: Vec<Route>,
    #[serde(rename = "dataDir", default)]
    data_dir: Option<String>,
    #[serde(rename = "resolvConf", default)]
    resolv_conf: Option<String>,
}

#[derive(Deserialize, Default)]
struct RuntimeConf {
    #[serde(rename = "ipRanges", default, deserialize_with = "null_as_empty")]
    ip_ranges: Vec<Vec<RangeConf>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    ips: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Args {
    #[serde(default)]
    cni: Option<CniIps>,
}

#[derive(Deserialize, Default)]
struct CniIps {
    #[serde(default, deserialize_with = "null_as_empty")]
    ips: Vec<String>,
}

/// The resolved configuration of one invocation.
pub struct Config {
    /// The network name, which names the store directory.
    pub name: String,
    /// Range sets; one address is taken from each.
    pub range_sets: Vec<RangeSet>,
    /// Routes to report.
    pub routes: Vec<Route>,
    /// Store location (default `/var/lib/cni/networks`).
    pub data_dir: Option<String>,
    /// A resolv.conf to report DNS settings from.
    pub resolv_conf: Option<String>,
    /// Specific addresses asked for.
    pub requested: Vec<IpAddr>,
    /// GC: the attachments whose addresses stay.
    pub valid_attachments: Vec<Attachment>,
}

/// What DEL reads, leniently: the network name and the store's location.
/// Ranges, routes and requested addresses are ADD's; a DEL frees the
/// attachment's reservations whatever they say.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DelConfig {
    /// The network name, which names the store directory.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    #[serde(deserialize_with = "lenient")]
    ipam: DelIpam,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DelIpam {
    #[serde(rename = "dataDir", deserialize_with = "lenient")]
    data_dir: String,
}

impl DelConfig {
    /// The store location (None: the default).
    pub fn data_dir(&self) -> Option<&str> {
        Some(self.ipam.data_dir.as_str()).filter(|d| !d.is_empty())
    }
}

/// The lenient DEL-side parse of stdin.
pub fn load_del(stdin: &[u8]) -> DelConfig {
    parse_lenient(stdin)
}

/// Parses an IP given either bare or in CIDR form.
fn parse_requested(text: &str) -> Result<IpAddr, CniError> {
    let bare = text.split('/').next().unwrap_or_default().trim();
    bare.parse::<IpAddr>()
        .map(canonical)
        .map_err(|_| CniError::config(format!("invalid IP address {text:?}")))
}

/// Where a range set was configured, so that its errors name the key.
enum Place {
    /// An element of a list of range sets (`ipam.ranges[k]`).
    Set(&'static str, usize),
    /// The legacy inline `ipam.subnet`, `ipam.rangeStart`, ...
    Inline,
}

impl Place {
    /// The key of the set itself.
    fn set(&self) -> String {
        match self {
            Place::Set(list, k) => format!("{list}[{k}]"),
            Place::Inline => "ipam.subnet".to_string(),
        }
    }

    /// The key of `field` of range `j` of the set.
    fn key(&self, j: usize, field: &str) -> String {
        match self {
            Place::Set(list, k) => format!("{list}[{k}][{j}].{field}"),
            Place::Inline => format!("ipam.{field}"),
        }
    }
}

/// The range key an error of `Range::from_conf` is about.
fn field_of(msg: &str) -> &'static str {
    if msg.starts_with("RangeStart") {
        "rangeStart"
    } else if msg.starts_with("RangeEnd") {
        "rangeEnd"
    } else if msg.starts_with("gateway") {
        "gateway"
    } else {
        "subnet"
    }
}

/// Loads the configuration from stdin and `CNI_ARGS`.
pub fn load(stdin: &[u8], cni_args: &str) -> Result<Config, CniError> {
    let conf: Conf = parse(stdin)?;
    let ipam = conf.ipam.ok_or_else(|| CniError::config("IPAM config missing 'ipam' key"))?;
    let runtime = conf.runtime_config.unwrap_or_default();

    let mut requested = Vec::new();
    if let Some(ip) = CniArgs::parse(cni_args, &["IP"])?.get("IP") {
        requested.push(parse_requested(ip)?);
    }
    for ip in conf.args.unwrap_or_default().cni.unwrap_or_default().ips.iter().chain(&runtime.ips) {
        requested.push(parse_requested(ip)?);
    }

    let mut places: Vec<Place> =
        (0..runtime.ip_ranges.len()).map(|k| Place::Set("runtimeConfig.ipRanges", k)).collect();
    let mut confs: Vec<Vec<RangeConf>> = runtime.ip_ranges;
    if let Some(subnet) = ipam.subnet {
        places.push(Place::Inline);
        confs.push(vec![RangeConf {
            subnet,
            range_start: ipam.range_start,
            range_end: ipam.range_end,
            gateway: ipam.gateway,
        }]);
    }
    places.extend((0..ipam.ranges.len()).map(|k| Place::Set("ipam.ranges", k)));
    confs.extend(ipam.ranges);
    if confs.is_empty() {
        return Err(CniError::config(format!("{}: no IP ranges specified", key_label("ipam.ranges"))));
    }
    let mut range_sets = Vec::with_capacity(confs.len());
    for (i, (set, place)) in confs.iter().zip(&places).enumerate() {
        let keyed =
            |e: CniError, key: String| e.context(format!("invalid range set {i}: {}", key_label(&key)));
        for (j, range) in set.iter().enumerate() {
            Range::from_conf(range).map_err(|e| {
                let field = field_of(&e.msg);
                keyed(e, place.key(j, field))
            })?;
        }
        range_sets.push(RangeSet::from_conf(set).map_err(|e| keyed(e, place.set()))?);
    }
    let v4 = range_sets.iter().filter(|s| s.is_ipv4()).count();
    if (v4 > 1 || range_sets.len() - v4 > 1)
        && !version::at_least(&conf.cni_version, "0.3.0").unwrap_or(false)
    {
        return Err(CniError::config(format!(
            "CNI version {} does not support more than 1 address per family",
            conf.cni_version
        )));
    }
    for (i, a) in range_sets.iter().enumerate() {
        for (j, b) in range_sets.iter().enumerate().skip(i + 1) {
            if a.overlaps(b) {
                let key = key_label(&places[j].set());
                return Err(CniError::config(format!("{key}: range set {i} overlaps with {j}")));
            }
        }
    }
    Ok(Config {
        name: conf.name,
        range_sets,
        routes: ipam.routes,
        data_dir: ipam.data_dir,
        resolv_conf: ipam.resolv_conf,
        requested,
        valid_attachments: conf.valid_attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn del_finds_the_store_in_a_netconf_add_refuses() {
        let stdin = br#"{"cniVersion": "1.0.0", "name": "net1", "runtimeConfig": {"ips": 5},
            "ipam": {"type": "host-local", "subnet": "bogus", "ranges": "x", "dataDir": "/tmp/store"}}"#;
        assert!(load(stdin, "IP=bogus").is_err());
        let conf = load_del(stdin);
        assert_eq!(conf.name, "net1");
        assert_eq!(conf.data_dir(), Some("/tmp/store"));
        assert_eq!(load_del(br#"{"name": "n", "ipam": {"dataDir": 7}}"#).data_dir(), None);
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
            ("runtimeConfig", struct_fields::<RuntimeConf>()),
            ("", struct_fields::<IpamConf>()),
            ("ranges", struct_fields::<crate::range::RangeConf>()),
            ("routes", struct_fields::<cni::result::Route>()),
            ("", struct_fields::<DelIpam>()),
        ];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::ipam_common(), &parsed, &["name"]), Ok(()));
    }
}
