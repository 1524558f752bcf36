//! Applying a result to the container interface, and checking it is still there.
//!
//! Shared by every main plugin that puts addresses on an interface it made
//! (bridge, ptp, ...): the same steps and order as the reference's
//! `ipam.ConfigureIface`, and CHECK's address and route validation.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;

use crate::env::CmdArgs;
use crate::error::CniError;
use crate::netlink::{Change, DadState, Link, Netlink, RouteSpec};
use crate::result::{CniResult, Interface};
use crate::sysctl;

/// `RT_SCOPE_LINK`: routes of this scope or narrower have no gateway.
const RT_SCOPE_LINK: u8 = 253;

/// How long to wait for IPv6 duplicate address detection to finish.
const DAD_SETTLE: Duration = Duration::from_secs(5);

/// Adds the result's addresses (those whose interface index names `ifname`)
/// and routes to `ifname`, and sets it up. Runs inside the container netns.
/// Returns the link, for callers that go on configuring it.
pub fn configure_iface(nl: &Netlink, ifname: &str, result: &CniResult) -> Result<Link, CniError> {
    let link =
        nl.link_by_name(ifname)?.ok_or_else(|| CniError::internal(format!("failed to lookup {ifname:?}")))?;
    let mut v4_gw = None;
    let mut v6_gw = None;
    let mut ipv6_enabled = false;
    let mut changes = Vec::new();
    for ip in &result.ips {
        let Some(index) = ip.interface else { continue };
        if result.interfaces.get(index).map(|i| i.name.as_str()) != Some(ifname) {
            return Err(CniError::internal(format!(
                "failed to add IP addr {} to {ifname:?}: invalid interface index",
                ip.address
            )));
        }
        if ip.address.is_ipv6() && !ipv6_enabled {
            for name in ["lo", ifname] {
                let key = format!("net/ipv6/conf/{name}/disable_ipv6");
                if sysctl::read(&key).map(|v| v != "0").unwrap_or(false) {
                    sysctl::write(&key, "0")?;
                }
            }
            sysctl::write(&format!("net/ipv6/conf/{ifname}/keep_addr_on_down"), "1")?;
            ipv6_enabled = true;
        }
        changes.push(Change::Address(ip.address));
        match ip.gateway {
            Some(gw @ IpAddr::V4(_)) if v4_gw.is_none() => v4_gw = Some(gw),
            Some(gw @ IpAddr::V6(_)) if v6_gw.is_none() => v6_gw = Some(gw),
            _ => {}
        }
    }
    changes.push(Change::Up);
    let mut routes = Vec::new();
    for route in &result.routes {
        // A route without a gateway takes the family's gateway, as in the
        // reference, unless its scope says it is on the link or host: the
        // kernel refuses a gateway there (ENETUNREACH), which the reference
        // then reports as a failed ADD (dhcp option 121's 0.0.0.0 router).
        let on_link = route.scope.is_some_and(|s| s >= i64::from(RT_SCOPE_LINK));
        let default_gw = if route.dst.is_ipv4() { v4_gw } else { v6_gw };
        let gw = route.gw.or(if on_link { None } else { default_gw });
        routes.push(Change::Route(RouteSpec {
            dst: route.dst,
            gw,
            oif: link.index,
            scope: route.scope.and_then(|s| u8::try_from(s).ok()),
            src: None,
            priority: route.priority,
            table: route.table.and_then(|t| u32::try_from(t).ok()),
        }));
    }
    // One send for the addresses, coming up and the routes; an IPv6
    // gateway's routes wait until duplicate address detection is done.
    if v6_gw.is_some() {
        apply(nl, link.index, ifname, &changes)?;
        settle_addresses(nl, link.index, ifname)?;
        apply(nl, link.index, ifname, &routes)?;
    } else {
        changes.extend(routes);
        apply(nl, link.index, ifname, &changes)?;
    }
    Ok(link)
}

/// Applies a batch of changes to the container end, each refusal worded as
/// the reference words that step's failure.
fn apply(nl: &Netlink, index: u32, ifname: &str, changes: &[Change]) -> Result<(), CniError> {
    let Err(refused) = nl.apply(index, changes) else { return Ok(()) };
    let msg = refused.error.msg();
    Err(match refused.at.and_then(|at| changes.get(at)) {
        Some(Change::Address(address)) => {
            CniError::internal(format!("failed to add IP addr {address} to {ifname:?}: {msg}"))
        }
        Some(Change::Route(route)) => {
            let via = route.gw.map(|gw| format!(" via {gw}")).unwrap_or_default();
            CniError::internal(format!("failed to add route '{}{via} dev {ifname}': {msg}", route.dst))
        }
        Some(Change::Up) | None => refused.error.into(),
    })
}

/// Waits until no IPv6 address on the link is tentative (DAD done), as the
/// reference's `SettleAddresses`: an address whose DAD failed is an error,
/// and so is one still tentative after the wait, unless the link is not
/// operationally up (no carrier, as a tap no VMM has opened yet): DAD does
/// not run there, and since v1.9.0 the reference lets that ADD succeed.
fn settle_addresses(nl: &Netlink, index: u32, ifname: &str) -> Result<(), CniError> {
    let failed =
        |why: String| CniError::internal(format!("failed to settle addresses for {ifname:?}: {why}"));
    let deadline = Instant::now() + DAD_SETTLE;
    loop {
        match nl.dad_state(index)? {
            DadState::Done => return Ok(()),
            DadState::Failed(address) => {
                let address = address.map(|a| a.to_string()).unwrap_or_default();
                return Err(failed(format!("link {ifname} has address {address} in DADFAILED state")));
            }
            DadState::Tentative if Instant::now() > deadline => {
                if nl.link_by_index(index)?.is_some_and(|link| link.oper_up) {
                    return Err(failed(format!(
                        "link {ifname} still has tentative addresses after {} seconds",
                        DAD_SETTLE.as_secs()
                    )));
                }
                return Ok(());
            }
            DadState::Tentative => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// CHECK: the prevResult's interface for `CNI_IFNAME` in `CNI_NETNS`; an
/// error when the result puts no such interface in that sandbox.
pub fn container_interface(result: &CniResult, args: &CmdArgs) -> Result<Interface, CniError> {
    let in_sandbox =
        |i: &&Interface| i.name == args.ifname && i.sandbox.as_deref() == Some(args.netns.as_str());
    result.interfaces.iter().find(in_sandbox).cloned().ok_or_else(|| {
        let sandbox =
            result.interfaces.iter().find(|i| i.name == args.ifname).and_then(|i| i.sandbox.clone());
        CniError::internal(format!(
            "Sandbox in prevResult {} doesn't match configured netns: {}",
            sandbox.unwrap_or_default(),
            args.netns
        ))
    })
}

/// CHECK: the MAC the result gives for an interface, if any, is the link's
/// (the one comparison every plugin's CHECK uses).
pub fn check_mac(expected: &Interface, link: &Link) -> Result<(), CniError> {
    match expected.mac.as_deref().filter(|m| !m.is_empty()) {
        Some(mac) if Some(mac.to_lowercase()) != link.mac => Err(CniError::internal(format!(
            "interface {} Mac {mac} doesn't match the link's: {}",
            expected.name,
            link.mac.clone().unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}

/// CHECK: every address of the result that belongs to `ifname` is on it.
pub fn validate_addresses(nl: &Netlink, ifname: &str, result: &CniResult) -> Result<(), CniError> {
    let link = nl
        .link_by_name(ifname)?
        .ok_or_else(|| CniError::internal(format!("Interface {ifname} not found")))?;
    let present = nl.addresses(link.index)?;
    for ip in &result.ips {
        let belongs = ip.interface.and_then(|i| result.interfaces.get(i)).map(|i| i.name == ifname);
        if belongs == Some(false) {
            continue;
        }
        if !present.contains(&ip.address) {
            return Err(CniError::internal(format!(
                "Failed to match addr {} on interface {ifname}",
                ip.address
            )));
        }
    }
    Ok(())
}

/// CHECK: every route of the result exists (destination and gateway).
pub fn validate_routes(nl: &Netlink, result: &CniResult) -> Result<(), CniError> {
    let mut tables: [Option<Vec<RouteSpec>>; 2] = [None, None];
    for route in &result.routes {
        let family = usize::from(route.dst.is_ipv6());
        if tables[family].is_none() {
            tables[family] = Some(nl.routes(route.dst.is_ipv6())?);
        }
        let present = tables[family].as_deref().unwrap_or_default();
        let found = present
            .iter()
            .any(|r| same_network(r.dst, route.dst) && (route.gw.is_none() || r.gw == route.gw));
        if !found {
            return Err(CniError::internal(format!(
                "Expected Route {} not found in routing table",
                route.dst
            )));
        }
    }
    Ok(())
}

fn same_network(a: IpNetwork, b: IpNetwork) -> bool {
    a.prefix() == b.prefix() && a.network() == b.network()
}

/// Go's `IP.IsGlobalUnicast`: what DEL reports as the attachment's addresses.
pub fn is_global_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}
