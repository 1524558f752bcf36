//! `portmap`: a chained plugin that forwards host ports to a container
//! (`runtimeConfig.portMappings`), with the reference's nftables table or
//! iptables chains, so either implementation checks and removes the
//! other's rules. DEL removes an attachment's rules from both backends.
//!
//! Not done: deleting stale UDP conntrack entries of mapped ports after
//! ADD (the reference does it and ignores failures).

mod config;
mod ipt;
mod nft;

use std::net::IpAddr;

use cni::env::CmdArgs;
use cni::netlink::Netlink;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;

pub use config::{Backend, Config};

/// The portmap plugin.
pub struct Portmap;

fn forward(conf: &Config, containers: &[IpNetwork]) -> Result<(), CniError> {
    match conf.backend {
        Backend::Nftables => nft::forward(conf, containers),
        Backend::Iptables => containers.iter().try_for_each(|c| ipt::forward(conf, *c)),
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

impl Plugin for Portmap {
    fn name(&self) -> &'static str {
        "portmap"
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        let result =
            conf.net.prev_result()?.ok_or_else(|| CniError::config("must be called as chained plugin"))?;
        if conf.mappings.is_empty() {
            return Ok(result);
        }
        let (v4, v6) = config::container_addresses(&result, &args.ifname);
        let containers: Vec<IpNetwork> = v4.into_iter().chain(v6).collect();
        forward(&conf, &containers)?;
        if let (Some(v4), true) = (v4, conf.snat) {
            enable_localnet_routing(v4.ip())?;
        }
        Ok(result)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        if conf.mappings.is_empty() {
            return Ok(());
        }
        // Whichever backend ADD used (or the reference did), and both families.
        let nft = match nft::unforward(&conf.container_id) {
            Err(e) if cni::netfilter::nftnl::available() => Err(e),
            _ => Ok(()),
        };
        nft.and(ipt::unforward(&conf.net.name, &conf.container_id))
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let result =
            conf.net.prev_result()?.ok_or_else(|| CniError::internal("Required prevResult missing"))?;
        if conf.mappings.is_empty() {
            return Ok(());
        }
        let (v4, v6) = config::container_addresses(&result, &args.ifname);
        for container in v4.into_iter().chain(v6) {
            match conf.backend {
                Backend::Nftables => nft::check(&conf, container)?,
                Backend::Iptables => ipt::check(&conf, container)?,
            }
        }
        Ok(())
    }
}
