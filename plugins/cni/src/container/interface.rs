//! Container interfaces that are children of a host link: macvlan, ipvlan
//! and 802.1q VLANs. They share how the parent (the "master") is found,
//! how the child is made (under a temporary name, since the name the
//! container wants may be taken where the master lives, then moved and
//! renamed), how DEL removes it, and how CHECK finds it in the result.
//! The DEL and CHECK helpers also serve dummy, whose interface is made in
//! the container directly.

use std::os::fd::AsRawFd;

use crate::checked::LinkName;
use crate::env::CmdArgs;
use crate::error::CniError;
use crate::netlink::{ChildKind, ChildSpec, Link, Netlink};
use crate::netns::{self, Netns};
use crate::result::{CniResult, Interface};
use crate::rollback::Rollback;
use crate::veth::random_veth_name;

/// Runs `work` with a netlink session where the master lives: the
/// container's namespace with `linkInContainer`, else this one.
pub fn with_master_ns<T: Send>(
    args: &CmdArgs,
    in_container: bool,
    work: impl FnOnce(&Netlink) -> Result<T, CniError> + Send,
) -> Result<T, CniError> {
    if in_container {
        Netns::open(&args.netns)?.with_netlink(work)
    } else {
        work(&Netlink::open()?)
    }
}

/// The interface of the first default route of the main table (IPv4, then IPv6).
pub fn default_route_interface(nl: &Netlink) -> Result<String, CniError> {
    for ipv6 in [false, true] {
        for route in nl.routes(ipv6)? {
            if route.dst.prefix() == 0 && route.table == Some(crate::netlink::MAIN_TABLE) && route.oif != 0 {
                if let Some(link) = nl.link_by_index(route.oif)? {
                    return Ok(link.name);
                }
            }
        }
    }
    Err(CniError::config("no default route interface found (set \"master\")"))
}

/// Resolves the master (the default route's interface when `master` is
/// empty), makes sure it exists, and checks `mtu` against its MTU as the
/// reference does; returns the master's name and the MTU to set.
pub fn checked_master(
    args: &CmdArgs,
    in_container: bool,
    master: &str,
    mtu: i64,
) -> Result<(String, u32), CniError> {
    LinkName::optional("master", master)?;
    let (master, master_mtu) = with_master_ns(args, in_container, |nl| {
        let master = if master.is_empty() { default_route_interface(nl)? } else { master.to_string() };
        let link = nl.link_by_name(&master)?.ok_or_else(|| {
            CniError::config(format!("failed to lookup master {master:?}: no such interface"))
        })?;
        Ok((master, link.mtu))
    })?;
    match u32::try_from(mtu) {
        Ok(mtu) if mtu <= master_mtu => Ok((master, mtu)),
        _ => Err(CniError::config(format!("invalid MTU {mtu}, must be [0, master MTU({master_mtu})]"))),
    }
}

/// The child to make.
pub struct Child<'a> {
    /// The parent's name.
    pub master: &'a str,
    /// The parent lives in the container's namespace.
    pub in_container: bool,
    /// What kind of child.
    pub kind: ChildKind,
    /// MTU, 0 for the parent's.
    pub mtu: u32,
    /// A fixed MAC.
    pub mac: Option<[u8; 6]>,
}

/// Makes the child in the container's namespace as `args.ifname`; returns
/// it as the container sees it, with the ADD's rollback holding its
/// deletion (run at once if the rename fails).
pub fn create<'a>(args: &CmdArgs, netns: &'a Netns, child: &Child) -> Result<(Link, Rollback<'a>), CniError> {
    let container_ns = std::fs::File::open(&args.netns)
        .map_err(|e| CniError::internal(format!("failed to open netns {:?}: {e}", args.netns)))?;
    let temp = random_veth_name()?;
    with_master_ns(args, child.in_container, |nl| {
        let parent = nl
            .link_by_name(child.master)?
            .ok_or_else(|| CniError::internal(format!("failed to lookup master {:?}", child.master)))?;
        let spec = ChildSpec {
            name: &temp,
            parent: parent.index,
            kind: child.kind,
            mtu: child.mtu,
            mac: child.mac,
            netns: container_ns.as_raw_fd(),
        };
        if nl.add_child(&spec)? {
            Ok(())
        } else {
            Err(CniError::internal(format!("{temp} exists")))
        }
    })?;
    let made = netns.with_netlink(|nl| {
        nl.link_by_name(&temp)?.ok_or_else(|| CniError::internal("link vanished after creation"))
    })?;
    let rollback = undo_link(netns, &made);
    let ifname = args.ifname.as_str();
    let link = netns.with_netlink(|nl| {
        nl.rename_link(made.index, ifname)
            .map_err(|e| e.context(format!("failed to rename link to {ifname:?}")))?;
        nl.link_by_index(made.index)?
            .ok_or_else(|| CniError::internal(format!("failed to refetch {ifname:?}")))
    })?;
    Ok((link, rollback))
}

/// DEL of a plugin that made the container interface (macvlan, ipvlan,
/// vlan, dummy, tap): the IPAM plugin's DEL when the netconf names one, and
/// the interface removed. Both run whatever the other does, and nothing
/// but the IPAM type is read from the netconf (leniently), so a netconf ADD
/// would reject, a gone master or a gone netns still frees everything.
pub fn del(args: &CmdArgs) -> Result<(), CniError> {
    let mut cleanup = crate::rollback::Cleanup::new();
    let ipam_type = crate::conf::DelConf::load(&args.stdin).ipam_type().to_string();
    let (released, removed) = crate::ipam::del_beside(&ipam_type, args, || delete(args));
    cleanup.step(released);
    cleanup.step(removed);
    cleanup.finish()
}

/// DEL: removes `args.ifname` from the container; a missing namespace or link is no error.
pub fn delete(args: &CmdArgs) -> Result<(), CniError> {
    let Some(netns) = netns::for_del(&args.netns)? else { return Ok(()) };
    let ifname = args.ifname.clone();
    netns.with_netlink(move |nl| match nl.link_by_name(&ifname)? {
        Some(link) => Ok(nl.delete_link(link.index)?),
        None => Ok(()),
    })
}

/// The result's entry for the container interface `link`.
pub fn interface_of(args: &CmdArgs, link: &Link) -> Interface {
    Interface {
        name: args.ifname.clone(),
        mac: link.mac.clone(),
        sandbox: Some(args.netns.clone()),
        ..Interface::default()
    }
}

/// IPAM ADD for a plugin that owns the container interface; an answer
/// without addresses is an error (`rollback` then releases it).
pub fn acquire<'a>(
    ipam_type: &'a str,
    args: &'a CmdArgs,
    rollback: &mut Rollback<'a>,
) -> Result<CniResult, CniError> {
    let result = crate::ipam::acquire(ipam_type, args, rollback)?;
    if result.ips.is_empty() {
        return Err(CniError::internal("IPAM plugin returned missing IP config"));
    }
    Ok(result)
}

/// Puts the result's addresses (all on interface 0, the container's) and
/// routes on `args.ifname`. With `announce`, the interface first sends
/// gratuitous ARP and unsolicited neighbour advertisements for new
/// addresses, as the reference's macvlan and ipvlan do (best effort).
pub fn apply(args: &CmdArgs, netns: &Netns, result: &mut CniResult, announce: bool) -> Result<(), CniError> {
    for ip in &mut result.ips {
        ip.interface = Some(0);
    }
    let ifname = args.ifname.as_str();
    let result = &*result;
    netns.run(|| {
        if announce {
            let _ = crate::sysctl::write(&format!("net/ipv4/conf/{ifname}/arp_notify"), "1");
            let _ = crate::sysctl::write(&format!("net/ipv6/conf/{ifname}/ndisc_notify"), "1");
        }
        crate::apply::configure_iface(&Netlink::open()?, ifname, result).map(|_| ())
    })
}

/// The undo steps of an ADD that made the container interface `link` in
/// `netns`: deleting it again.
pub fn undo_link<'a>(netns: &'a Netns, link: &Link) -> Rollback<'a> {
    let mut rollback = Rollback::new();
    let index = link.index;
    rollback.push(format!("delete the new container interface {}", link.name), move || {
        crate::veth::undo_in(netns, index)
    });
    rollback
}

/// The end of an ADD for a plugin that made the container interface
/// `link`: when the netconf names an IPAM plugin, its addresses go on the
/// interface (none: L2 only); then the DNS settings, and the ADD commits.
/// On failure `rollback` undoes everything, the IPAM release included.
pub fn finish<'a>(
    args: &'a CmdArgs,
    netns: &Netns,
    link: &Link,
    net: &'a crate::conf::NetConf,
    announce: bool,
    mut rollback: Rollback<'a>,
) -> Result<CniResult, CniError> {
    let mut result = CniResult { interfaces: vec![interface_of(args, link)], ..CniResult::default() };
    match net.ipam_type() {
        "" => {}
        ipam_type => {
            let ipam_result = acquire(ipam_type, args, &mut rollback)?;
            result.ips = ipam_result.ips;
            result.routes = ipam_result.routes;
            apply(args, netns, &mut result, announce)?;
        }
    }
    result.dns = net.dns.clone();
    rollback.commit();
    Ok(result)
}

/// CHECK of the container interface: it exists, passes `kind` (the
/// plugin's own checks of its kind and settings), has the result's MAC,
/// and holds the result's addresses and routes.
pub fn check_container(
    args: &CmdArgs,
    netns: &Netns,
    result: &CniResult,
    kind: impl Fn(&Link) -> Result<(), CniError> + Send + Sync,
) -> Result<(), CniError> {
    let expected = crate::apply::container_interface(result, args)?;
    netns.with_netlink(|nl| {
        let link = nl.link_by_name(&expected.name)?.ok_or_else(|| {
            CniError::internal(format!("Container Interface name in prevResult: {} not found", expected.name))
        })?;
        kind(&link)?;
        crate::apply::check_mac(&expected, &link)?;
        crate::apply::validate_addresses(nl, &args.ifname, result)?;
        crate::apply::validate_routes(nl, result)
    })
}
