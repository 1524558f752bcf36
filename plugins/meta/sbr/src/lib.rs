//! `sbr`: a chained plugin for source-based routing in the container. For
//! each address of the interface (from the previous result) it adds a rule
//! `from ADDRESS lookup TABLE` and moves the interface's routes (with a
//! default route via the address's gateway) from the main table into
//! TABLE, the first from 100 that no rule or route uses. With `table`
//! given, only the rules are added, pointing at it. DEL removes the rules
//! of the interface's addresses; its routes go with the interface.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use cni::conf::{lenient, parse, parse_lenient, DelConf, NetConf};
use cni::env::CmdArgs;
use cni::netlink::{Netlink, RouteSpec};
use cni::netns::{self, Netns};
use cni::result::IpConfig;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The first table sbr considers.
const FIRST_TABLE: u32 = 100;
/// The main routing table.
const MAIN_TABLE: u32 = 254;

/// The sbr plugin.
pub struct Sbr;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &["table", "gateways", "addSourceHints"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct SbrConf {
    table: Option<u32>,
}

/// What DEL reads besides the common DEL keys, leniently.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SbrDelConf {
    #[serde(deserialize_with = "lenient")]
    table: Option<u32>,
}

/// The previous result's addresses on `ifname` (or on no interface in particular).
fn addresses_of(result: &CniResult, ifname: &str) -> Result<Vec<IpConfig>, CniError> {
    if result.ips.is_empty() {
        return Err(CniError::internal(format!("No IP addresses supplied on interface: {ifname}")));
    }
    Ok(result
        .ips
        .iter()
        .filter(|ip| match ip.interface.and_then(|i| result.interfaces.get(i)) {
            Some(iface) => iface.name == ifname,
            None => true,
        })
        .cloned()
        .collect())
}

/// Runs `work` in the container with its netns file locked, so that two
/// sbr calls for one container do not pick the same table.
fn locked<T: Send>(path: &str, work: impl FnOnce() -> Result<T, CniError> + Send) -> Result<T, CniError> {
    let netns = Netns::open(path)?;
    let file =
        std::fs::File::open(path).map_err(|e| CniError::internal(format!("failed to lock {path}: {e}")))?;
    // SAFETY: flock on a descriptor we own; released when `file` closes.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(CniError::internal(format!(
            "failed to lock {path}: {}",
            std::io::Error::last_os_error()
        )));
    }
    netns.run(work)
}

/// Deletes the rule `from SOURCE lookup TABLE` (the undo of `add_source_rule`).
fn delete_source_rule(nl: &Netlink, source: IpAddr, table: u32) -> Result<(), CniError> {
    for rule in nl.rules(source.is_ipv6())? {
        if rule.source == Some(source) && rule.table == table {
            nl.del_rule(&rule)?;
        }
    }
    Ok(())
}

/// Adds the rule for `address`, its removal registered on `rollback`.
fn add_source_rule<'a>(
    nl: &'a Netlink,
    address: IpAddr,
    table: u32,
    rollback: &mut Rollback<'a>,
) -> Result<(), CniError> {
    nl.add_source_rule(address, table)?;
    rollback.push(format!("delete the rule from {address} lookup {table}"), move || {
        delete_source_rule(nl, address, table)
    });
    Ok(())
}

/// Rules, default routes and the interface's routes moved into a table per
/// address; each change's undo registered on `rollback`.
fn route_by_source<'a>(
    nl: &'a Netlink,
    ifname: &str,
    addresses: &[IpConfig],
    rollback: &mut Rollback<'a>,
) -> Result<(), CniError> {
    let link = nl
        .link_by_name(ifname)?
        .ok_or_else(|| CniError::internal(format!("Cannot find network interface {ifname}")))?;
    // One dump of rules and of routes per family: the tables in use, and
    // the interface's routes in the main table.
    let mut used = BTreeSet::new();
    let mut link_routes = Vec::new();
    for ipv6 in [false, true] {
        used.extend(nl.rules(ipv6)?.iter().map(|r| r.table));
        for route in nl.routes(ipv6)? {
            used.extend(route.table);
            if route.oif == link.index && route.table == Some(MAIN_TABLE) {
                link_routes.push(route);
            }
        }
    }
    let mut table = FIRST_TABLE;
    for address in addresses {
        while used.contains(&table) {
            table += 1;
        }
        used.insert(table);
        add_source_rule(nl, address.address.ip(), table, rollback)?;
        if let Some(gateway) = address.gateway {
            let any = IpNetwork::new(
                if gateway.is_ipv4() { IpAddr::from([0u8; 4]) } else { IpAddr::from([0u16; 8]) },
                0,
            )
            .map_err(|e| CniError::internal(e.to_string()))?;
            let mut default = RouteSpec::new(any, link.index);
            default.gw = Some(gateway);
            default.table = Some(table);
            nl.add_route(&default)
                .map_err(|e| e.context(format!("Failed to add default route to {gateway}")))?;
            rollback.push(format!("delete the default route of table {table}"), move || {
                Ok(nl.del_route(&default)?)
            });
        }
        // The interface's routes that belong to this address, or to none.
        let subnet = address.address;
        for route in &link_routes {
            let mine =
                route.src.is_some_and(|s| subnet.contains(s)) || route.gw.is_some_and(|g| subnet.contains(g));
            if mine || (route.src.is_none() && route.gw.is_none()) {
                let mut copy = route.clone();
                copy.table = Some(table);
                nl.replace_route(&copy).map_err(|e| e.context("Failed to readd route"))?;
                rollback.push(format!("delete {copy} from table {table}"), move || Ok(nl.del_route(&copy)?));
            }
        }
    }
    for route in link_routes {
        nl.del_route(&route).map_err(|e| e.context("Failed to delete route"))?;
        rollback.push(format!("put {route} back in the main table"), move || Ok(nl.replace_route(&route)?));
    }
    Ok(())
}

impl Plugin for Sbr {
    fn name(&self) -> &'static str {
        "sbr"
    }

    /// The keys ADD reads (the common ones and the table).
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let _: NetConf = parse(&args.stdin)?;
        let _: SbrConf = parse(&args.stdin)?;
        Ok(())
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let net: NetConf = parse(&args.stdin)?;
        let conf: SbrConf = parse(&args.stdin)?;
        let result = net.chained_result("This plugin must be called as chained plugin")?;
        let addresses = addresses_of(&result, &args.ifname)?;
        let ifname = args.ifname.as_str();
        locked(&args.netns, || {
            let nl = Netlink::open()?;
            // Made and committed on this thread, inside the netns.
            let mut rollback = Rollback::new();
            match conf.table {
                Some(table) => {
                    for address in &addresses {
                        add_source_rule(&nl, address.address.ip(), table, &mut rollback)?;
                    }
                }
                None => route_by_source(&nl, ifname, &addresses, &mut rollback)?,
            }
            rollback.commit();
            Ok(())
        })?;
        Ok(result)
    }

    /// DEL always cleans: only `table` is read (leniently). The rules live
    /// in the netns, so with it empty or gone there is nothing left; with
    /// the interface gone, the prevResult's addresses say whose rules to remove.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf: SbrDelConf = parse_lenient(&args.stdin);
        if netns::for_del(&args.netns)?.is_none() {
            return Ok(());
        }
        let ifname = args.ifname.clone();
        let prev: Vec<IpAddr> = DelConf::load(&args.stdin).prev_addresses().iter().map(|a| a.ip()).collect();
        locked(&args.netns, move || {
            let nl = Netlink::open()?;
            let addresses: Vec<IpAddr> = match nl.link_by_name(&ifname)? {
                Some(link) => nl.addresses(link.index)?.iter().map(|a| a.ip()).collect(),
                None => prev,
            };
            if addresses.is_empty() {
                return Ok(());
            }
            let mut last = Ok(());
            for ipv6 in [false, true] {
                for rule in nl.rules(ipv6)? {
                    let ours = rule.source.is_some_and(|s| addresses.contains(&s));
                    if ours && conf.table.is_none_or(|t| t == rule.table) {
                        if let Err(e) = nl.del_rule(&rule) {
                            last = Err(e.context("Failed to delete rule").into());
                        }
                    }
                }
            }
            last
        })
    }

    fn check(&self, _args: &CmdArgs) -> Result<(), CniError> {
        // As the reference: nothing is checked.
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
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("", struct_fields::<SbrConf>()), ("", struct_fields::<SbrDelConf>())];
        assert_eq!(
            check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &["gateways", "addSourceHints"]),
            Ok(())
        );
    }
}
