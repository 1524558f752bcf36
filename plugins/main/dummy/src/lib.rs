//! `dummy`: a dummy interface in the container holding the IPAM addresses
//! (an address the container owns without any link to the outside).

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::iface::{configure_iface, validate_addresses};
use cni::ipam::{self, IpamLease};
use cni::netlink::{LinkKind, Netlink};
use cni::netns::Netns;
use cni::result::Interface;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::veth::undo_in;
use cni::{sublink, CniError, CniResult};

/// The dummy plugin.
pub struct Dummy;

impl Plugin for Dummy {
    fn name(&self) -> &'static str {
        "dummy"
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let net: NetConf = parse(&args.stdin)?;
        if net.ipam_type().is_empty() {
            return Err(CniError::config("dummy interface requires an IPAM configuration"));
        }
        let netns = Netns::open(&args.netns)?;
        let ifname = args.ifname.clone();
        let link = netns.run(move || {
            let nl = Netlink::open()?;
            if !nl.add_dummy(&ifname)? {
                return Err(CniError::internal(format!("failed to create dummy: {ifname:?} exists")));
            }
            nl.link_by_name(&ifname)?
                .ok_or_else(|| CniError::internal(format!("failed to fetch dummy {ifname:?}")))
        })?;
        let mut rollback = Rollback::new();
        let (netns_ref, index) = (&netns, link.index);
        rollback.push(move || undo_in(netns_ref, index));
        let (mut result, lease) = IpamLease::acquire(net.ipam_type(), args)?;
        if result.ips.is_empty() {
            return Err(CniError::internal("IPAM plugin returned missing IP config"));
        }
        for ip in &mut result.ips {
            ip.interface = Some(0);
        }
        result.interfaces = vec![Interface {
            name: args.ifname.clone(),
            mac: link.mac.clone(),
            sandbox: Some(args.netns.clone()),
            ..Interface::default()
        }];
        let ifname = args.ifname.as_str();
        netns.run(|| configure_iface(&Netlink::open()?, ifname, &result).map(|_| ()))?;
        rollback.commit();
        lease.keep();
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
        let net: NetConf = parse(&args.stdin)?;
        let netns = Netns::open(&args.netns)?;
        ipam::check(net.ipam_type(), args)?;
        let result =
            net.prev_result()?.ok_or_else(|| CniError::internal("dummy: Required prevResult missing"))?;
        let expected = sublink::expected_interface(&result, args)?;
        netns.run(|| {
            let nl = Netlink::open()?;
            let link = nl.link_by_name(&expected.name)?.ok_or_else(|| {
                CniError::internal(format!(
                    "Container Interface name in prevResult: {} not found",
                    expected.name
                ))
            })?;
            if link.kind != LinkKind::Other("dummy".into()) {
                return Err(CniError::internal(format!(
                    "Error: Container interface {} not of type dummy",
                    link.name
                )));
            }
            sublink::check_mac(&link, &expected)?;
            if !link.up {
                return Err(CniError::internal(format!("Interface {} is down", link.name)));
            }
            validate_addresses(&nl, &args.ifname, &result)
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
        ipam::status(net.ipam_type(), args)
    }
}
