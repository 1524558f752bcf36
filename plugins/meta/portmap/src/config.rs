//! The portmap netconf: the reference's keys, checked, with the container
//! addresses picked out of the previous result as the reference does.

use std::net::IpAddr;

use cni::checked::{ChainName, NftExpr, RestoreWords};
use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::result::null_as_empty;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// Kubernetes uses mark bits 14 and 15, Calico 20-31; the reference picks 13.
const DEFAULT_MARK_BIT: i64 = 13;

/// Which netfilter interface holds the rules: table `cni_hostport` (ip and
/// ip6) with nftables, the CNI-HOSTPORT-* and CNI-DN-* chains of `nat` with
/// iptables. The choice ipMasq shares.
pub use cni::netfilter::Backend;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[
    "backend",
    "snat",
    "conditionsV4",
    "conditionsV6",
    "masqAll",
    "markMasqBit",
    "externalSetMarkChain",
    "runtimeConfig.portMappings",
];

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConf {
    backend: Option<String>,
    snat: Option<bool>,
    #[serde(rename = "conditionsV4")]
    conditions_v4: Option<Vec<String>>,
    #[serde(rename = "conditionsV6")]
    conditions_v6: Option<Vec<String>>,
    #[serde(rename = "masqAll")]
    masq_all: Option<bool>,
    #[serde(rename = "markMasqBit")]
    mark_masq_bit: Option<i64>,
    #[serde(rename = "externalSetMarkChain")]
    external_set_mark_chain: Option<String>,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: RawRuntimeConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRuntimeConfig {
    #[serde(rename = "portMappings", deserialize_with = "null_as_empty")]
    port_mappings: Vec<RawMapping>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMapping {
    #[serde(rename = "hostPort")]
    host_port: i64,
    #[serde(rename = "containerPort")]
    container_port: i64,
    #[serde(deserialize_with = "null_as_empty")]
    protocol: String,
    #[serde(rename = "hostIP", deserialize_with = "null_as_empty")]
    host_ip: String,
}

/// One port mapping of `runtimeConfig.portMappings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The port on the host.
    pub host_port: u16,
    /// The port in the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Only traffic to this host address, when given.
    pub host_ip: Option<IpAddr>,
}

impl Mapping {
    /// Whether the mapping applies to an address family: not when its
    /// host address is of the other family.
    pub fn applies_to(&self, ipv6: bool) -> bool {
        self.host_ip.is_none_or(|ip| ip.is_ipv6() == ipv6)
    }

    /// The host address traffic must go to, if any (an unspecified one matches all).
    pub fn destination(&self) -> Option<IpAddr> {
        self.host_ip.filter(|ip| !ip.is_unspecified())
    }

    /// The IP protocol number.
    pub fn protocol_number(&self) -> u8 {
        match self.protocol.as_str() {
            "udp" => 17,
            "sctp" => 132,
            _ => 6,
        }
    }
}

/// The checked configuration of one call.
pub struct Config {
    /// Common keys, prevResult included.
    pub net: NetConf,
    /// Where the rules go.
    pub backend: Backend,
    /// Masquerade hairpin and localhost traffic to mapped ports.
    pub snat: bool,
    /// Extra matches for the entry rules (IPv4, IPv6), checked for the
    /// backend whose syntax they are in.
    pub conditions: [Conditions; 2],
    /// Masquerade traffic to mapped ports from any source, not only hairpin.
    pub masq_all: bool,
    /// The mark bit that asks for masquerading (iptables).
    pub mark_bit: u32,
    /// An iptables chain of the runtime's that sets the mark instead of ours.
    pub external_set_mark_chain: Option<ChainName>,
    /// The mappings.
    pub mappings: Vec<Mapping>,
    /// The container, whose ID names and comments its rules.
    pub container_id: String,
    /// The container's interface: with the network, what tells one
    /// attachment's nftables rules from the container's others.
    pub ifname: String,
}

/// `conditionsV4` or `conditionsV6` as the chosen backend will write them.
pub enum Conditions {
    /// None given: the plain entry rules.
    None,
    /// iptables arguments for `iptables-restore` input.
    Iptables(RestoreWords),
    /// nft matches for an `nft -f` script.
    Nft(NftExpr),
}

impl Conditions {
    fn new(backend: Backend, key: &str, words: Option<Vec<String>>) -> Result<Conditions, CniError> {
        let words = words.unwrap_or_default();
        if words.is_empty() {
            return Ok(Conditions::None);
        }
        Ok(match backend {
            Backend::Iptables => Conditions::Iptables(RestoreWords::new(key, &words)?),
            Backend::Nftables => Conditions::Nft(NftExpr::new(key, &words)?),
        })
    }
}

impl Config {
    fn conditions_of(&self, ipv6: bool) -> &Conditions {
        &self.conditions[usize::from(ipv6)]
    }

    /// The family's entry conditions for the iptables backend, if any.
    pub fn ipt_conditions(&self, ipv6: bool) -> Option<&RestoreWords> {
        match self.conditions_of(ipv6) {
            Conditions::Iptables(words) => Some(words),
            _ => None,
        }
    }

    /// The family's entry conditions for the nftables backend, if any.
    pub fn nft_conditions(&self, ipv6: bool) -> Option<&NftExpr> {
        match self.conditions_of(ipv6) {
            Conditions::Nft(expr) => Some(expr),
            _ => None,
        }
    }
}

/// Which backend a condition list is written for, if it says: iptables
/// conditions start with `-` or `!`, nftables ones never do.
fn backend_of_conditions(conditions: &Option<Vec<String>>) -> Option<Backend> {
    let first = conditions.as_ref()?.first()?;
    match first.chars().next()? {
        '-' | '!' => Some(Backend::Iptables),
        _ => Some(Backend::Nftables),
    }
}

fn choose_backend(raw: &RawConf) -> Result<Backend, CniError> {
    let mut wants: Vec<(Backend, &str)> = Vec::new();
    if raw.external_set_mark_chain.is_some() {
        wants.push((Backend::Iptables, "externalSetMarkChain"));
    }
    for (conditions, key) in [(&raw.conditions_v4, "conditionsV4"), (&raw.conditions_v6, "conditionsV6")] {
        if let Some(backend) = backend_of_conditions(conditions) {
            wants.push((backend, key));
        }
    }
    let backend = match raw.backend.as_deref() {
        Some(named) => Backend::parse(named).ok_or_else(|| {
            CniError::config(format!(
                "unrecognized backend {named:?} (backend must be \"nftables\" or \"iptables\")"
            ))
        })?,
        // Options of one backend pick it; else the reference's choice
        // (iptables unless only nftables is usable), so that a node rolled
        // back to the reference finds the rules where it looks.
        None => match wants.first() {
            Some((backend, _)) => *backend,
            None => Backend::reference_default(),
        },
    };
    let wrong: Vec<&str> = wants.iter().filter(|(b, _)| *b != backend).map(|(_, key)| *key).collect();
    if !wrong.is_empty() {
        let (name, other) = match backend {
            Backend::Nftables => ("nftables", "iptables"),
            Backend::Iptables => ("iptables", "nftables"),
        };
        return Err(CniError::config(format!(
            "{name} backend was requested but configuration contains {other}-specific options [{}]",
            wrong.join(" ")
        )));
    }
    Ok(backend)
}

fn mapping(raw: &RawMapping, at: usize) -> Result<Mapping, CniError> {
    let key = format!("runtimeConfig.portMappings[{at}]");
    let port = |value: i64, what: &str| {
        u16::try_from(value).ok().filter(|p| *p > 0).ok_or_else(|| {
            CniError::config(format!("Invalid {what} port number: {value} ({key}: must be 1-65535)"))
        })
    };
    let protocol = raw.protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(CniError::config(format!(
            "invalid protocol {:?} in {key} (must be tcp, udp or sctp)",
            raw.protocol
        )));
    }
    let host_ip =
        match raw.host_ip.as_str() {
            "" => None,
            text => Some(text.parse::<IpAddr>().map_err(|_| {
                CniError::config(format!("invalid hostIP {text:?} in {key}: not an IP address"))
            })?),
        };
    Ok(Mapping {
        host_port: port(raw.host_port, "host")?,
        container_port: port(raw.container_port, "container")?,
        protocol,
        host_ip,
    })
}

/// Reads and checks the netconf of one call.
pub fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let raw: RawConf = parse(&args.stdin)?;
    if raw.mark_masq_bit.is_some() && raw.external_set_mark_chain.is_some() {
        return Err(CniError::config("Cannot specify externalSetMarkChain and markMasqBit"));
    }
    let mark_bit = raw.mark_masq_bit.unwrap_or(DEFAULT_MARK_BIT);
    if !(0..=31).contains(&mark_bit) {
        return Err(CniError::config(format!(
            "{}: MasqMarkBit must be between 0 and 31",
            key_label("markMasqBit")
        )));
    }
    let backend = choose_backend(&raw)?;
    let mappings = raw.runtime_config.port_mappings.iter().enumerate().map(|(i, m)| mapping(m, i));
    Ok(Config {
        net,
        backend,
        snat: raw.snat.unwrap_or(true),
        conditions: [
            Conditions::new(backend, "conditionsV4", raw.conditions_v4)?,
            Conditions::new(backend, "conditionsV6", raw.conditions_v6)?,
        ],
        masq_all: raw.masq_all.unwrap_or(false),
        mark_bit: mark_bit as u32,
        external_set_mark_chain: match raw.external_set_mark_chain.as_deref() {
            Some(chain) => Some(ChainName::new("externalSetMarkChain", chain)?),
            None => None,
        },
        mappings: mappings.collect::<Result<_, _>>()?,
        container_id: args.container_id.clone(),
        ifname: args.ifname.clone(),
    })
}

/// The container's addresses, at most one per family: the first address
/// of each family that is not on another interface or a host-side one.
pub fn container_addresses(result: &CniResult, ifname: &str) -> (Option<IpNetwork>, Option<IpNetwork>) {
    let (mut v4, mut v6) = (None, None);
    for ip in &result.ips {
        let slot = if ip.address.is_ipv4() { &mut v4 } else { &mut v6 };
        if slot.is_some() {
            continue;
        }
        if let Some(iface) = ip.interface.and_then(|i| result.interfaces.get(i)) {
            if iface.name != ifname || iface.sandbox.as_deref().unwrap_or_default().is_empty() {
                continue;
            }
        }
        *slot = Some(ip.address);
    }
    (v4, v6)
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
