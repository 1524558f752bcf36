//! `macvlan`: the container interface is a macvlan of a host interface
//! (`master`, by default the one with the default route), in bridge,
//! private, vepa or passthru mode, with IPAM addresses or none (L2 only).
//! With `linkInContainer` the master is looked for in the container's
//! namespace instead.

mod config;

use std::os::fd::AsRawFd;

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::iface::{configure_iface, validate_addresses, validate_routes};
use cni::ipam::{self, IpamLease};
use cni::netlink::{Link, LinkKind, MacvlanSpec, Netlink};
use cni::netns::{self, Netns};
use cni::result::Interface;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::veth::{random_veth_name, undo_in};
use cni::{sysctl, CniError, CniResult};

use config::Config;

/// The macvlan plugin.
pub struct Macvlan;

fn ipam_type(net: &NetConf) -> &str {
    net.ipam.as_ref().and_then(|i| i.get("type")).and_then(|t| t.as_str()).unwrap_or_default()
}

/// Creates the macvlan under a temporary name (a name the container wants
/// may be taken on the host), moves it into the container and renames it.
fn create(conf: &Config, args: &CmdArgs, netns: &Netns) -> Result<Link, CniError> {
    let container_ns = std::fs::File::open(&args.netns)
        .map_err(|e| CniError::internal(format!("failed to open netns {:?}: {e}", args.netns)))?;
    let temp = random_veth_name()?;
    let master = conf.master.clone();
    config::with_master_ns(args, conf.link_in_container, |nl| {
        let parent = nl
            .link_by_name(&master)?
            .ok_or_else(|| CniError::internal(format!("failed to lookup master {master:?}")))?;
        let spec = MacvlanSpec {
            name: &temp,
            parent: parent.index,
            mode: conf.mode,
            mtu: conf.mtu,
            mac: conf.mac,
            bc_queue_len: conf.bc_queue_len,
            netns: container_ns.as_raw_fd(),
        };
        if nl.add_macvlan(&spec)? {
            Ok(())
        } else {
            Err(CniError::internal(format!("failed to create macvlan: {temp} exists")))
        }
    })
    .map_err(|e| e.context("failed to create macvlan"))?;
    let ifname = args.ifname.clone();
    netns.run(move || {
        let nl = Netlink::open()?;
        let link =
            nl.link_by_name(&temp)?.ok_or_else(|| CniError::internal("macvlan vanished after creation"))?;
        if let Err(e) = nl.rename_link(link.index, &ifname) {
            let _ = nl.delete_link(link.index);
            return Err(e.context(format!("failed to rename macvlan to {ifname:?}")));
        }
        nl.link_by_index(link.index)?
            .ok_or_else(|| CniError::internal(format!("failed to refetch macvlan {ifname:?}")))
    })
}

/// CHECK of the container interface: a macvlan in the configured mode with the result's MAC.
fn check_interface(link: Option<Link>, expected: &Interface, conf: &Config) -> Result<(), CniError> {
    let link = link.ok_or_else(|| {
        CniError::internal(format!("container Interface name in prevResult: {} not found", expected.name))
    })?;
    let LinkKind::Macvlan(mode) = link.kind else {
        return Err(CniError::internal(format!(
            "error: Container interface {} not of type macvlan",
            link.name
        )));
    };
    if mode != conf.mode {
        return Err(CniError::internal(format!(
            "container macvlan mode {} does not match expected value: {}",
            config::mode_name(mode),
            conf.mode_name
        )));
    }
    if let Some(mac) = expected.mac.as_deref().filter(|m| !m.is_empty()) {
        if Some(mac.to_lowercase()) != link.mac {
            return Err(CniError::internal(format!(
                "interface {} Mac {mac} doesn't match container Mac: {}",
                expected.name,
                link.mac.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

impl Plugin for Macvlan {
    fn name(&self) -> &'static str {
        "macvlan"
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        let netns = Netns::open(&args.netns)?;
        let link = create(&conf, args, &netns)?;
        let mut rollback = Rollback::new();
        let (netns_ref, index) = (&netns, link.index);
        rollback.push(move || undo_in(netns_ref, index));
        let interface = Interface {
            name: args.ifname.clone(),
            mac: link.mac.clone(),
            sandbox: Some(args.netns.clone()),
            ..Interface::default()
        };
        let ifname = args.ifname.as_str();
        let mut result = CniResult { interfaces: vec![interface], ..CniResult::default() };
        let lease = if conf.ipam_type().is_empty() {
            // L2 only: the interface just comes up.
            netns.run(|| Netlink::open()?.set_link_up(index, true))?;
            None
        } else {
            let (ipam_result, lease) = IpamLease::acquire(conf.ipam_type(), args)?;
            if ipam_result.ips.is_empty() {
                return Err(CniError::internal("IPAM plugin returned missing IP config"));
            }
            result.ips = ipam_result.ips;
            result.routes = ipam_result.routes;
            for ip in &mut result.ips {
                ip.interface = Some(0);
            }
            netns.run(|| {
                // Announce the address at once, as the reference does (best effort).
                let _ = sysctl::write(&format!("net/ipv4/conf/{ifname}/arp_notify"), "1");
                let _ = sysctl::write(&format!("net/ipv6/conf/{ifname}/ndisc_notify"), "1");
                configure_iface(&Netlink::open()?, ifname, &result).map(|_| ())
            })?;
            Some(lease)
        };
        result.dns = conf.net.dns.clone();
        rollback.commit();
        if let Some(lease) = lease {
            lease.keep();
        }
        Ok(result)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        if !ipam_type(&net).is_empty() {
            ipam::del(ipam_type(&net), args)?;
        }
        if args.netns.is_empty() || !netns::exists(&args.netns) {
            return Ok(());
        }
        let ifname = args.ifname.clone();
        Netns::open(&args.netns)?.run(move || {
            let nl = Netlink::open()?;
            match nl.link_by_name(&ifname)? {
                Some(link) => nl.delete_link(link.index),
                None => Ok(()),
            }
        })
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let netns = Netns::open(&args.netns)?;
        if !conf.ipam_type().is_empty() {
            ipam::check(conf.ipam_type(), args)?;
        }
        let result =
            conf.net.prev_result()?.ok_or_else(|| CniError::internal("required prevResult missing"))?;
        let expected = result
            .interfaces
            .iter()
            .find(|i| i.name == args.ifname && i.sandbox.as_deref() == Some(args.netns.as_str()))
            .cloned()
            .ok_or_else(|| {
                CniError::internal(format!(
                    "sandbox in prevResult doesn't match configured netns: {}",
                    args.netns
                ))
            })?;
        netns.run(|| {
            let nl = Netlink::open()?;
            check_interface(nl.link_by_name(&expected.name)?, &expected, &conf)?;
            validate_addresses(&nl, &args.ifname, &result)?;
            validate_routes(&nl, &result)
        })
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        match ipam_type(&net) {
            "" => Ok(()),
            ipam_type => ipam::gc(ipam_type, args),
        }
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        match ipam_type(&net) {
            "" => Ok(()),
            ipam_type => ipam::status(ipam_type, args),
        }
    }
}
