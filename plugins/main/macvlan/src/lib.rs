//! `macvlan`: the container interface is a macvlan of a host interface
//! (`master`, by default the one with the default route), in bridge,
//! private, vepa or passthru mode, with IPAM addresses or none (L2 only).
//! With `linkInContainer` the master is looked for in the container's
//! namespace instead.

mod config;

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::iface::{configure_iface, validate_addresses, validate_routes};
use cni::ipam::{self, IpamLease};
use cni::netlink::{ChildKind, Link, LinkKind, Netlink};
use cni::netns::Netns;
use cni::result::Interface;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::sublink::{self, Child};
use cni::veth::undo_in;
use cni::{sysctl, CniError, CniResult};

use config::Config;

/// The macvlan plugin.
pub struct Macvlan;

/// CHECK of the container interface: a macvlan in the configured mode with the result's MAC.
fn check_interface(link: Option<Link>, expected: &Interface, conf: &Config) -> Result<(), CniError> {
    let link = link.ok_or_else(|| {
        CniError::internal(format!("container Interface name in prevResult: {} not found", expected.name))
    })?;
    let LinkKind::Macvlan(mode) = link.kind.clone() else {
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
    sublink::check_mac(&link, expected)
}

impl Plugin for Macvlan {
    fn name(&self) -> &'static str {
        "macvlan"
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        let netns = Netns::open(&args.netns)?;
        let child = Child {
            master: &conf.master,
            in_container: conf.link_in_container,
            kind: ChildKind::Macvlan { mode: conf.mode, bc_queue_len: conf.bc_queue_len },
            mtu: conf.mtu,
            mac: conf.mac,
        };
        let link =
            sublink::create(args, &netns, &child).map_err(|e| e.context("failed to create macvlan"))?;
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
        if !net.ipam_type().is_empty() {
            ipam::del(net.ipam_type(), args)?;
        }
        sublink::delete(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let netns = Netns::open(&args.netns)?;
        if !conf.ipam_type().is_empty() {
            ipam::check(conf.ipam_type(), args)?;
        }
        let result =
            conf.net.prev_result()?.ok_or_else(|| CniError::internal("required prevResult missing"))?;
        let expected = sublink::expected_interface(&result, args)?;
        netns.run(|| {
            let nl = Netlink::open()?;
            check_interface(nl.link_by_name(&expected.name)?, &expected, &conf)?;
            validate_addresses(&nl, &args.ifname, &result)?;
            validate_routes(&nl, &result)
        })
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        match net.ipam_type() {
            "" => Ok(()),
            ipam_type => ipam::gc(ipam_type, args),
        }
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        match net.ipam_type() {
            "" => Ok(()),
            ipam_type => ipam::status(ipam_type, args),
        }
    }
}
