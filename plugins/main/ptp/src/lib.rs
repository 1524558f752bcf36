//! `ptp`: a routed point-to-point veth pair between container and host.
//!
//! The container end gets the IPAM addresses with the subnet reached through
//! the gateway (a /32 or /128 link route to it, the kernel's prefix route
//! removed); the host end gets the gateway as a /32 or /128 and a host route
//! to each container address. As the reference does, forwarding is enabled
//! and masquerading set up when `ipMasq` is on.

use std::net::IpAddr;

use cni::apply::configure_iface;
use cni::conf::{lenient, parse, parse_lenient, DelConf, NetConf};
use cni::env::CmdArgs;
use cni::ipam;
use cni::ipmasq::{self, Backend, Owner};
use cni::netlink::{LinkKind, Netlink, RouteSpec};
use cni::netns::Netns;
use cni::result::null_as_empty;
use cni::rollback::{Cleanup, Rollback};
use cni::skel::Plugin;
use cni::veth::setup_veth;
use cni::{sysctl, CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// RT_SCOPE_LINK.
const SCOPE_LINK: u8 = 253;
/// RT_SCOPE_HOST.
const SCOPE_HOST: u8 = 254;
/// RT_SCOPE_UNIVERSE.
const SCOPE_UNIVERSE: u8 = 0;

/// The ptp plugin.
pub struct Ptp;

/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &["ipMasq", "ipMasqBackend", "mtu"];

/// ptp's own keys.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PtpConf {
    #[serde(rename = "ipMasq", deserialize_with = "null_as_empty")]
    ip_masq: bool,
    #[serde(rename = "ipMasqBackend")]
    ip_masq_backend: Option<String>,
    #[serde(deserialize_with = "null_as_empty")]
    mtu: u32,
}

/// What ptp's DEL reads besides the common DEL keys, leniently.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PtpDelKeys {
    #[serde(rename = "ipMasq", deserialize_with = "lenient")]
    ip_masq: bool,
}

struct Config {
    net: NetConf,
    ptp: PtpConf,
}

impl Config {
    fn ipam_type(&self) -> &str {
        self.net.ipam_type()
    }
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    Ok(Config { net: parse(&args.stdin)?, ptp: parse(&args.stdin)? })
}

fn host_prefix(ip: IpAddr) -> IpNetwork {
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    IpNetwork::new(ip, bits).unwrap_or_else(|_| IpNetwork::from(ip))
}

fn subnet(address: &IpNetwork) -> IpNetwork {
    IpNetwork::new(address.network(), address.prefix()).unwrap_or(*address)
}

/// Container side: addresses, routes via the gateway, the prefix route removed.
fn configure_container(nl: &Netlink, ifname: &str, result: &CniResult) -> Result<(), CniError> {
    let link = configure_iface(nl, ifname, result)?;
    for ip in &result.ips {
        let gateway = ip.gateway.ok_or_else(|| {
            CniError::internal(format!("ptp needs a gateway for {}; IPAM gave none", ip.address))
        })?;
        nl.del_route(&RouteSpec::new(subnet(&ip.address), link.index))?;
        let mut to_gateway = RouteSpec::new(host_prefix(gateway), link.index);
        to_gateway.scope = Some(SCOPE_LINK);
        to_gateway.src = Some(ip.address.ip());
        nl.add_route(&to_gateway)?;
        let mut via_gateway = RouteSpec::new(subnet(&ip.address), link.index);
        via_gateway.scope = Some(SCOPE_UNIVERSE);
        via_gateway.gw = Some(gateway);
        via_gateway.src = Some(ip.address.ip());
        nl.add_route(&via_gateway)?;
    }
    Ok(())
}

/// Host side: the gateway address on the host end and a route to each container address.
fn configure_host(nl: &Netlink, host_index: u32, result: &CniResult) -> Result<(), CniError> {
    for ip in &result.ips {
        if let Some(gateway) = ip.gateway {
            nl.add_address(host_index, host_prefix(gateway))
                .map_err(|e| e.context("failed to add IP addr to veth"))?;
        }
        let mut route = RouteSpec::new(host_prefix(ip.address.ip()), host_index);
        route.scope = Some(SCOPE_HOST);
        match nl.add_route(&route) {
            Err(e) if !e.is_exists() => return Err(e.context("failed to add route on host").into()),
            _ => {}
        }
    }
    Ok(())
}

impl Plugin for Ptp {
    fn name(&self) -> &'static str {
        "ptp"
    }

    /// ADD's config checks and the IPAM section's (ptp needs IPAM).
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        if conf.ptp.ip_masq {
            if let Some(named) = conf.ptp.ip_masq_backend.as_deref() {
                Backend::choose(Some(named))?;
            }
        }
        cni::skel::validate_ipam(conf.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let backend =
            if conf.ptp.ip_masq { Some(Backend::choose(conf.ptp.ip_masq_backend.as_deref())?) } else { None };
        let netns = Netns::open(&args.netns)?;
        let ipam_type = conf.ipam_type().to_string();
        let mut rollback = Rollback::new();
        let mut result = cni::interface::acquire(&ipam_type, args, &mut rollback)?;
        let ipv4 = result.ips.iter().any(|ip| ip.address.is_ipv4());
        let ipv6 = result.ips.iter().any(|ip| ip.address.is_ipv6());
        sysctl::enable_forwarding(ipv4, ipv6).map_err(|e| e.context("Could not enable IP forwarding"))?;

        let nl = Netlink::open()?;
        let pair = setup_veth(&nl, &netns, &args.ifname, conf.ptp.mtu, None, &mut rollback)?;
        result.interfaces = pair.interfaces(&args.netns).to_vec();
        for ip in &mut result.ips {
            ip.interface = Some(1);
        }
        let ifname = args.ifname.as_str();
        netns.with_netlink(|nl| configure_container(nl, ifname, &result))?;
        configure_host(&nl, pair.host.index, &result)?;
        if let Some(backend) = backend {
            let addresses: Vec<IpNetwork> = result.ips.iter().map(|ip| ip.address).collect();
            let owner =
                Owner { network: &conf.net.name, ifname: &args.ifname, container_id: &args.container_id };
            ipmasq::setup(backend, &addresses, &owner)?;
        }
        if !conf.net.dns.is_empty() {
            result.dns = conf.net.dns.clone();
        }
        rollback.commit();
        Ok(result)
    }

    /// DEL always cleans: the lenient DEL keys only; the addresses go back
    /// to IPAM and the masquerade rules (host side) go also when the netns
    /// is empty or gone, each step whatever the others do.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = DelConf::load(&args.stdin);
        let keys: PtpDelKeys = parse_lenient(&args.stdin);
        let ipam_type = net.ipam_type();
        let ifname = args.ifname.as_str();
        let owner = Owner { network: &net.name, ifname, container_id: &args.container_id };
        // As in bridge: nftables rules and the link go away side by side.
        let netfilter = || if keys.ip_masq { ipmasq::teardown_nftables(&owner) } else { Ok(()) };
        let rest = || -> Result<(), CniError> {
            let mut cleanup = Cleanup::new();
            let mut addresses = cni::veth::delete_with_release(ipam_type, args, &mut cleanup);
            if keys.ip_masq {
                if addresses.is_empty() {
                    addresses = net.prev_addresses();
                }
                cleanup.step(ipmasq::teardown_iptables(&addresses, &owner));
            }
            cleanup.finish()
        };
        cni::overlap::both(netfilter, rest)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let netns = Netns::open(&args.netns)?;
        ipam::check(conf.ipam_type(), args)?;
        let result = conf.net.chained_result("ptp: Required prevResult missing")?;
        cni::interface::check_container(args, &netns, &result, |link| {
            if link.kind != LinkKind::Veth {
                return Err(CniError::internal(format!(
                    "Error: Container interface {} not of type veth/p2p",
                    link.name
                )));
            }
            Ok(())
        })
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        ipam::gc(conf.ipam_type(), args)?;
        if conf.ptp.ip_masq {
            ipmasq::gc(&conf.net.name, &conf.net.valid_attachments)?;
        }
        Ok(())
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        ipam::status(conf.ipam_type(), args)
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
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("", struct_fields::<PtpConf>()), ("", struct_fields::<PtpDelKeys>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
