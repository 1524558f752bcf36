//! `portmap`: a chained plugin that forwards host ports to a container
//! (`runtimeConfig.portMappings`), with the reference's nftables table or
//! iptables chains, so either implementation checks and removes the
//! other's rules. With no `backend` key it picks what the reference picks
//! (iptables unless only nftables is usable). DEL removes an attachment's
//! rules from both backends, whatever its netconf says besides the network
//! name.
//! After ADD and DEL, conntrack entries of mapped UDP ports are deleted, so
//! that traffic tracked before the mapping existed follows it, and traffic
//! tracked through it does not keep going to the old address.

mod config;
pub use config::KEYS;
mod ipt;
mod nft;
pub mod plan;

use std::collections::HashSet;
use std::net::IpAddr;

use cni::conf::Attachment;
use cni::env::CmdArgs;
use cni::netfilter::{conntrack, Owner};
use cni::netlink::Netlink;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;

pub use config::{Backend, Config, Mapping};
/// The names an attachment's rules are found by (cnictl's `inspect` and
/// `port` check each mapping against its live rule).
pub use ipt::dnat_chain;
pub use nft::{rule_comment, TABLE as NFT_TABLE};

/// The portmap plugin.
pub struct Portmap;

/// Removes an attachment's mappings from both backends and families. The
/// iptables chain is the container's on the network, shared by its
/// interfaces: with the interface's `addresses` known, only its rules go.
fn unforward(own: &Owner, addresses: &[IpAddr]) -> Result<(), CniError> {
    let nft = match nft::unforward(own) {
        Err(e) if cni::netfilter::nftnl::available() => Err(e),
        _ => Ok(()),
    };
    nft.and(ipt::unforward_interface(own.network, own.container_id, addresses))
}

/// The interface's addresses in a DEL's previous result, read leniently;
/// none when there is no usable result.
fn del_addresses(conf: &cni::conf::DelConf, ifname: &str) -> Vec<IpAddr> {
    let Some(prev) = &conf.prev_result else { return Vec::new() };
    let Ok(result) = CniResult::from_json(prev, &conf.cni_version) else { return Vec::new() };
    let (v4, v6) = config::container_addresses(&result, ifname);
    v4.into_iter().chain(v6).map(|a| a.ip()).collect()
}

fn forward(conf: &Config, containers: &[IpNetwork]) -> Result<(), CniError> {
    match conf.backend {
        Backend::Nftables => nft::forward(conf, containers),
        Backend::Iptables => cni::overlap::per_family(|ipv6| {
            containers.iter().filter(|c| c.is_ipv6() == ipv6).try_for_each(|c| ipt::forward(conf, *c))
        }),
    }
}

/// The host interface that routes to `ip`: the longest matching route of
/// the main table.
fn routing_interface(nl: &Netlink, ip: IpAddr) -> Result<Option<String>, CniError> {
    let best = nl
        .routes(ip.is_ipv6())?
        .into_iter()
        .filter(|r| r.oif != 0 && r.table == Some(254) && r.dst.contains(ip))
        .max_by_key(|r| r.dst.prefix());
    match best {
        Some(route) => Ok(nl.link_by_index(route.oif)?.map(|l| l.name)),
        None => Ok(None),
    }
}

/// Lets 127.0.0.0/8 sources be routed on the interface toward the
/// container, so connections to a mapped port on localhost reach it.
fn enable_localnet_routing(ip: IpAddr) -> Result<(), CniError> {
    let Some(ifname) = routing_interface(&Netlink::open()?, ip)? else { return Ok(()) };
    cni::sysctl::ensure(&format!("net/ipv4/conf/{ifname}/route_localnet"), "1")
        .map_err(|e| e.context("unable to enable route_localnet"))
}

/// Deletes the conntrack entries to mapped UDP ports, which would otherwise
/// keep sending a peer's packets where they went before. As in the
/// reference, failing to is reported on stderr, not an error.
fn forget_udp_connections(conf: &Config, ipv6: bool) {
    let family = if ipv6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    for mapping in conf.mappings.iter().filter(|m| m.protocol == "udp") {
        let port = mapping.host_port;
        if let Err(e) = conntrack::delete_by_destination_port(family, conntrack::PROTO_UDP, port) {
            eprintln!("portmap: failed to delete stale UDP conntrack entries for port {port}: {e}");
        }
    }
}

impl Plugin for Portmap {
    fn name(&self) -> &'static str {
        "portmap"
    }

    /// ADD's config checks (mark bit, backend and its options, mappings).
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        config::load(args).map(|_| ())
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        let result = conf.net.chained_result("must be called as chained plugin")?;
        if conf.mappings.is_empty() {
            return Ok(result);
        }
        let (v4, v6) = config::container_addresses(&result, &args.ifname);
        let containers: Vec<IpNetwork> = v4.into_iter().chain(v6).collect();
        forward(&conf, &containers)?;
        let mut rollback = Rollback::new();
        let own = Owner { network: &conf.net.name, container_id: &args.container_id, ifname: &args.ifname };
        let addresses: Vec<IpAddr> = containers.iter().map(|c| c.ip()).collect();
        rollback.push("remove the port mappings", move || unforward(&own, &addresses));
        for container in &containers {
            forget_udp_connections(&conf, container.is_ipv6());
        }
        if let (Some(v4), true) = (v4, conf.snat) {
            enable_localnet_routing(v4.ip())?;
        }
        rollback.commit();
        Ok(result)
    }

    /// DEL needs only the attachment's identity: whatever the mappings,
    /// backend or options say (or fail to say), the attachment's rules go
    /// from both backends and both families, as ADD of either backend or
    /// the reference left them.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = cni::conf::DelConf::load(&args.stdin);
        let addresses = del_addresses(&conf, &args.ifname);
        let own = Owner { network: &conf.name, container_id: &args.container_id, ifname: &args.ifname };
        let removed = unforward(&own, &addresses);
        // Entries tracked to an unmapped UDP port keep sending a peer's
        // packets to the address it went to (plugins#1190): forget them, as
        // after ADD, when the mappings can be read.
        if let Ok(mapped) = config::load(args) {
            for ipv6 in [false, true] {
                forget_udp_connections(&mapped, ipv6);
            }
        }
        removed
    }

    /// GC: the rules of this network's attachments not in
    /// `cni.dev/valid-attachments` go, from both backends and families.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = cni::conf::DelConf::load(&args.stdin);
        let valid: HashSet<&Attachment> = conf.valid_attachments.iter().collect();
        let nft = match nft::gc(&conf.name, &valid) {
            Err(e) if cni::netfilter::nftnl::available() => Err(e),
            _ => Ok(()),
        };
        let containers: HashSet<&str> = valid.iter().map(|a| a.container_id.as_str()).collect();
        nft.and(ipt::gc(&conf.name, &containers))
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let result = conf.net.chained_result("Required prevResult missing")?;
        if conf.mappings.is_empty() {
            return Ok(());
        }
        let (v4, v6) = config::container_addresses(&result, &args.ifname);
        let check_in = |backend: Backend| {
            v4.into_iter().chain(v6).try_for_each(|container| match backend {
                Backend::Nftables => nft::check(&conf, container),
                Backend::Iptables => ipt::check(&conf, container),
            })
        };
        // The backend chosen now, else the other: an attachment made
        // before an upgrade (ours chose nftables then) or by the reference
        // with another backend named is still whole.
        check_in(conf.backend).or_else(|err| {
            let other = match conf.backend {
                Backend::Nftables => Backend::Iptables,
                Backend::Iptables => Backend::Nftables,
            };
            check_in(other).map_err(|_| err)
        })
    }
}
