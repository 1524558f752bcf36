//! `static` IPAM: hands out the addresses the config (or the runtime) names.
//!
//! Addresses come from `ipam.addresses`, replaced by `args.cni.ips` or
//! `runtimeConfig.ips` when given, plus `CNI_ARGS` `IP=` and `GATEWAY=`.
//! Nothing is stored, so DEL and GC have nothing to free.

use std::net::IpAddr;

use cni::args::CniArgs;
use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::result::{null_as_empty, Dns, IpConfig, Route};
use cni::skel::Plugin;
use cni::{version, CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The static IPAM plugin.
pub struct Static;
/// Every key this IPAM plugin reads from its `ipam` object besides `type`
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[
    "routes",
    "routes.dst",
    "routes.gw",
    "routes.mtu",
    "routes.advmss",
    "routes.priority",
    "routes.table",
    "routes.scope",
    "addresses",
    "addresses.address",
    "addresses.gateway",
    "addresses.version",
    "dns",
    "dns.nameservers",
    "dns.domain",
    "dns.search",
    "dns.options",
    "name",
    "runtimeConfig.ips",
];

#[derive(Deserialize)]
struct Conf {
    #[serde(rename = "cniVersion", default, deserialize_with = "null_as_empty")]
    cni_version: String,
    ipam: Option<IpamConf>,
    #[serde(rename = "runtimeConfig", default)]
    runtime_config: Option<IpsHolder>,
    #[serde(default)]
    args: Option<ArgsHolder>,
}

#[derive(Deserialize)]
struct IpamConf {
    #[serde(default, deserialize_with = "null_as_empty")]
    routes: Vec<Route>,
    #[serde(default, deserialize_with = "null_as_empty")]
    addresses: Vec<AddressConf>,
    #[serde(default, deserialize_with = "null_as_empty")]
    dns: Dns,
}

#[derive(Deserialize)]
struct AddressConf {
    address: String,
    #[serde(default)]
    gateway: Option<IpAddr>,
}

#[derive(Deserialize, Default)]
struct IpsHolder {
    #[serde(default, deserialize_with = "null_as_empty")]
    ips: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ArgsHolder {
    #[serde(default)]
    cni: Option<IpsHolder>,
}

fn parse_cidr(text: &str, what: &str) -> Result<IpNetwork, CniError> {
    let text = text.trim();
    if !text.contains('/') {
        return Err(CniError::config(format!(
            "the {what} field is expected to be in CIDR notation, got: '{text}'"
        )));
    }
    text.parse().map_err(|_| {
        CniError::config(format!("the {what} field is expected to be in CIDR notation, got: '{text}'"))
    })
}

/// The addresses to hand out, in order, with their gateways.
fn load(args: &CmdArgs) -> Result<(Vec<IpConfig>, IpamConf), CniError> {
    let conf: Conf = parse(&args.stdin)?;
    let mut ipam = conf.ipam.ok_or_else(|| CniError::config("IPAM config missing 'ipam' key"))?;
    let mut ips = Vec::new();
    for (i, a) in ipam.addresses.iter().enumerate() {
        let address = parse_cidr(&a.address, "'address'")
            .map_err(|e| e.context(key_label(&format!("ipam.addresses[{i}].address"))))?;
        ips.push(IpConfig { interface: None, address, gateway: a.gateway });
    }
    let env = CniArgs::parse(&args.args, &["IP", "GATEWAY"])?;
    if let Some(list) = env.get("IP") {
        for item in list.split(',') {
            ips.push(IpConfig { interface: None, address: parse_cidr(item, "'ip'")?, gateway: None });
        }
    }
    if let Some(list) = env.get("GATEWAY") {
        for item in list.split(',') {
            let gw: IpAddr = item
                .trim()
                .parse()
                .map_err(|_| CniError::config(format!("invalid gateway address: {item}")))?;
            for ip in ips.iter_mut().filter(|ip| ip.address.contains(gw)) {
                ip.gateway = Some(gw);
            }
        }
    }
    let from_args = conf.args.unwrap_or_default().cni.unwrap_or_default().ips;
    let from_runtime = conf.runtime_config.unwrap_or_default().ips;
    for list in [from_args, from_runtime] {
        if !list.is_empty() {
            ips = list
                .iter()
                .map(|s| {
                    Ok(IpConfig { interface: None, address: parse_cidr(s, "'ips' entry")?, gateway: None })
                })
                .collect::<Result<_, CniError>>()?;
        }
    }
    let v4 = ips.iter().filter(|ip| ip.address.is_ipv4()).count();
    if (v4 > 1 || ips.len() - v4 > 1) && !version::at_least(&conf.cni_version, "0.3.0").unwrap_or(false) {
        return Err(CniError::config(format!(
            "CNI version {} does not support more than 1 address per family",
            conf.cni_version
        )));
    }
    ipam.addresses.clear();
    Ok((ips, ipam))
}

/// What an ADD with this netconf (`stdin`, as the runtime sends it) and
/// `CNI_ARGS` would hand out, by ADD's own parsing and without acting:
/// the addresses in order with their gateways, the routes, the DNS.
/// cnictl's plan (`explain`, `add --dry-run`) reads it.
pub fn planned(stdin: &[u8], cni_args: &str) -> Result<(Vec<IpConfig>, Vec<Route>, Dns), CniError> {
    let args = CmdArgs {
        command: cni::env::Command::Add,
        container_id: String::new(),
        netns: String::new(),
        ifname: String::new(),
        args: cni_args.to_string(),
        path: String::new(),
        stdin: stdin.to_vec(),
        config_version: String::new(),
    };
    let (ips, ipam) = load(&args)?;
    Ok((ips, ipam.routes, ipam.dns))
}

impl Plugin for Static {
    fn name(&self) -> &'static str {
        "static"
    }

    /// An IPAM plugin runs inside its main plugin's ADD or DEL, which
    /// holds the attachment's lock.
    fn serializes_attachment(&self) -> bool {
        false
    }

    /// ADD's config checks: the addresses, CNI_ARGS and version limits.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        load(args).map(|_| ())
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let (ips, ipam) = load(args)?;
        Ok(CniResult { interfaces: Vec::new(), ips, routes: ipam.routes, dns: ipam.dns })
    }

    fn del(&self, _args: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (ips, _) = load(args)?;
        let conf: NetConf = parse(&args.stdin)?;
        let prev = conf.chained_result("Required prevResult missing")?;
        for want in &ips {
            let Some(have) = prev.ips.iter().find(|p| p.address.ip() == want.address.ip()) else {
                return Err(CniError::internal(format!(
                    "static: address {} is missing from the result on interface {}",
                    want.address.ip(),
                    args.ifname
                )));
            };
            if want.gateway.is_some() && want.gateway != have.gateway {
                return Err(CniError::internal(format!(
                    "static: Failed to match addr {} on interface {}",
                    want.address.ip(),
                    args.ifname
                )));
            }
        }
        Ok(())
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
            ("runtimeConfig", struct_fields::<IpsHolder>()),
            ("", struct_fields::<IpamConf>()),
            ("routes", struct_fields::<cni::result::Route>()),
            ("addresses", struct_fields::<AddressConf>()),
            ("dns", struct_fields::<cni::result::Dns>()),
        ];
        assert_eq!(
            check_against_parser(
                KEYS,
                &cni::known_keys::ipam_common(),
                &parsed,
                &["name", "addresses.version"]
            ),
            Ok(())
        );
    }
}
