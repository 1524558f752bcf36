//! CHECK for bridge: the bridge, the container veth, its host peer on the
//! bridge, and the cached result's addresses and routes are all still there.

use cni::apply::{check_mac, container_interface, validate_addresses, validate_routes};
use cni::env::CmdArgs;
use cni::ipam;
use cni::netlink::{LinkKind, Netlink};
use cni::netns::Netns;
use cni::{CniError, CniResult};

use crate::config;

/// Runs CHECK against the prevResult.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = config::load(args)?;
    let netns = Netns::open(&args.netns)?;
    if !conf.ipam_type().is_empty() {
        ipam::check(conf.ipam_type(), args)?;
    }
    let result: CniResult = conf.net.chained_result("Required prevResult missing")?;
    let bridge_name = &conf.bridge.bridge;
    let bridge_iface = result.interfaces.iter().find(|i| &i.name == bridge_name).cloned().unwrap_or_default();

    let nl = Netlink::open()?;
    if bridge_iface.name.is_empty() {
        return Err(CniError::internal("Interface name missing "));
    }
    let bridge = nl
        .link_by_name(&bridge_iface.name)?
        .ok_or_else(|| CniError::internal(format!("Interface name {} not found", bridge_iface.name)))?;
    if bridge.kind != LinkKind::Bridge {
        return Err(CniError::internal(format!(
            "Interface {} does not have link type of bridge",
            bridge.name
        )));
    }
    check_mac(&bridge_iface, &bridge)?;
    if bridge.promisc != conf.bridge.promisc_mode {
        return Err(CniError::internal(format!(
            "Bridge interface {} configured Promisc Mode {} doesn't match current state: {}",
            bridge.name, conf.bridge.promisc_mode, bridge.promisc
        )));
    }
    let container_iface = container_interface(&result, args)?;
    let ifname = args.ifname.as_str();
    let container = netns.with_netlink(|nl| {
        let link = nl
            .link_by_name(ifname)?
            .ok_or_else(|| CniError::internal(format!("Interface name {ifname} not found")))?;
        if link.kind != LinkKind::Veth {
            return Err(CniError::internal(format!("Error: Container interface {ifname} not of type veth")));
        }
        check_mac(&container_iface, &link)?;
        Ok(link)
    })?;

    let mut veth_found = false;
    for iface in result.interfaces.iter().filter(|i| i.name != bridge.name && i.name != ifname) {
        let Some(link) = nl.link_by_name(&iface.name)? else {
            return Err(CniError::internal(format!("Interface name {} not found", iface.name)));
        };
        if link.kind != LinkKind::Veth {
            continue;
        }
        let paired = container.peer_index == Some(link.index) && link.peer_index == Some(container.index);
        if paired && link.master == Some(bridge.index) {
            check_mac(iface, &link)?;
            veth_found = true;
            break;
        }
    }
    if !veth_found {
        return Err(CniError::internal(format!("CNI veth created for bridge {bridge_name} was not found")));
    }
    netns.with_netlink(|nl| {
        validate_addresses(nl, ifname, &result)?;
        validate_routes(nl, &result)
    })
}
