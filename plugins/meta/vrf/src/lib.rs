//! `vrf`: a chained plugin that enslaves the container interface to a VRF
//! (`vrfname`), made when missing with `table` or the first table no other
//! VRF uses. The interface's gateway routes move into the VRF's table, and
//! global IPv6 addresses the kernel drops on enslaving are added again. DEL
//! releases the interface and removes the VRF when it was the last one.

use std::time::Duration;

use cni::checked::LinkName;
use cni::conf::{lenient, parse, parse_lenient, NetConf};
use cni::env::CmdArgs;
use cni::netlink::{Link, LinkKind, Netlink};
use cni::netns::{self, Netns};
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The main routing table.
const MAIN_TABLE: u32 = 254;
/// RT_SCOPE_UNIVERSE: routes that are neither local nor connected.
const SCOPE_UNIVERSE: u8 = 0;

/// The vrf plugin.
pub struct Vrf;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &["vrfname", "table"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct VrfConf {
    vrfname: Option<String>,
    table: Option<u32>,
}

/// What DEL reads, leniently.
#[derive(Deserialize, Default)]
#[serde(default)]
struct VrfDelConf {
    #[serde(deserialize_with = "lenient")]
    vrfname: Option<String>,
}

struct Config {
    net: NetConf,
    name: String,
    table: u32,
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let conf: VrfConf = parse(&args.stdin)?;
    let name = conf
        .vrfname
        .filter(|n| !n.is_empty())
        .ok_or_else(|| CniError::config("configuration is expected to have a valid vrf name"))?;
    LinkName::new("vrfname", &name)?;
    Ok(Config { net, name, table: conf.table.unwrap_or(0) })
}

fn vrf_table(link: &Link) -> Option<u32> {
    match link.kind {
        LinkKind::Vrf(table) => Some(table),
        _ => None,
    }
}

/// The VRF `name`, made (up) when missing; deleting one made here is
/// registered on `rollback`.
fn ensure_vrf<'a>(
    nl: &'a Netlink,
    conf: &Config,
    rollback: &mut Rollback<'a>,
) -> Result<(Link, u32), CniError> {
    if let Some(link) = nl.link_by_name(&conf.name)? {
        let table = vrf_table(&link)
            .ok_or_else(|| CniError::internal(format!("Netlink {} is not a VRF", conf.name)))?;
        if conf.table != 0 && table != conf.table {
            return Err(CniError::internal(format!(
                "VRF {} already exist with different routing table {table}",
                conf.name
            )));
        }
        return Ok((link, table));
    }
    let table = if conf.table != 0 {
        conf.table
    } else {
        let taken: Vec<u32> = nl.links()?.iter().filter_map(vrf_table).collect();
        (1..u32::MAX)
            .find(|t| !taken.contains(t))
            .ok_or_else(|| CniError::internal("no free routing table id"))?
    };
    nl.add_vrf(&conf.name, table)?;
    let link =
        nl.link_by_name(&conf.name)?.ok_or_else(|| CniError::internal("the VRF vanished after creation"))?;
    let index = link.index;
    rollback.push(format!("delete the new VRF {}", conf.name), move || Ok(nl.delete_link(index)?));
    Ok((link, table))
}

fn global_v6(nl: &Netlink, index: u32) -> Result<Vec<IpNetwork>, CniError> {
    Ok(nl
        .addresses(index)?
        .into_iter()
        .filter(|a| a.is_ipv6() && cni::apply::is_global_unicast(a.ip()))
        .collect())
}

/// Enslaves `ifname` to the VRF, keeping its global IPv6 addresses and its
/// gateway routes; taking it out again is registered on `rollback`.
fn add_interface<'a>(
    nl: &'a Netlink,
    vrf: &Link,
    table: u32,
    ifname: &str,
    rollback: &mut Rollback<'a>,
) -> Result<(), CniError> {
    let link = nl
        .link_by_name(ifname)?
        .ok_or_else(|| CniError::internal(format!("could not get link by name {ifname}")))?;
    if let Some(master) = link.master.filter(|m| *m != 0) {
        let name = nl.link_by_index(master)?.map(|l| l.name).unwrap_or_default();
        return Err(CniError::internal(format!("interface {ifname} has already a master set: {name}")));
    }
    let before = global_v6(nl, link.index)?;
    let mut saved = Vec::new();
    for ipv6 in [false, true] {
        saved.extend(nl.routes(ipv6)?.into_iter().filter(|r| {
            r.oif == link.index && r.table == Some(MAIN_TABLE) && r.scope == Some(SCOPE_UNIVERSE)
        }));
    }
    nl.set_master(link.index, vrf.index)
        .map_err(|e| e.context(format!("could not set vrf {} as master of {ifname}", vrf.name)))?;
    let index = link.index;
    rollback.push(format!("take {ifname} out of VRF {}", vrf.name), move || Ok(nl.set_master(index, 0)?));
    // IPv6 addresses survive only with keep_addr_on_down: put back what went.
    let after = global_v6(nl, link.index)?;
    for address in before.iter().filter(|a| !after.contains(a)) {
        nl.add_address(link.index, *address).map_err(|e| {
            e.context(format!("could not restore address {address} to {ifname} @ {}", vrf.name))
        })?;
        wait_for_local_route(nl, link.index, table, address)?;
    }
    for route in saved {
        let mut moved = route.clone();
        moved.table = Some(table);
        nl.replace_route(&moved).map_err(|e| e.context(format!("could not add route {route}")))?;
    }
    Ok(())
}

/// Waits (up to about 2.5 s) until the kernel has the VRF table's route to a restored address.
fn wait_for_local_route(nl: &Netlink, index: u32, table: u32, address: &IpNetwork) -> Result<(), CniError> {
    let host = IpNetwork::new(address.ip(), 128).map_err(|e| CniError::internal(e.to_string()))?;
    for attempt in 0..=8u32 {
        let present =
            nl.routes(true)?.iter().any(|r| r.table == Some(table) && r.oif == index && r.dst == host);
        if present {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10 << attempt));
    }
    Err(CniError::internal(format!("failed getting local/host addresses in table {table} with dst {host}")))
}

impl Plugin for Vrf {
    fn name(&self) -> &'static str {
        "vrf"
    }

    /// ADD's config checks: the VRF name and table.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        load(args).map(|_| ())
    }

    fn versions(&self) -> &'static [&'static str] {
        &["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let result = conf.net.chained_result("missing prevResult from earlier plugin")?;
        let ifname = args.ifname.as_str();
        Netns::open(&args.netns)?.with_netlink(|nl| {
            // Made and committed on this thread, inside the netns.
            let mut rollback = Rollback::new();
            let (vrf, table) = ensure_vrf(nl, &conf, &mut rollback)?;
            add_interface(nl, &vrf, table, ifname, &mut rollback)?;
            rollback.commit();
            Ok(())
        })?;
        Ok(result)
    }

    /// DEL always cleans: only `vrfname` is read (leniently; when it is
    /// unusable, the interface's master, if a VRF, is the one). Everything
    /// lives in the netns, so with it empty or gone nothing is left. A link
    /// of that name that is no VRF is left alone.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf: VrfDelConf = parse_lenient(&args.stdin);
        let Some(netns) = netns::for_del(&args.netns)? else { return Ok(()) };
        let ifname = args.ifname.as_str();
        netns.with_netlink(|nl| {
            let link = nl.link_by_name(ifname)?;
            let vrf = match conf.vrfname.as_deref().filter(|n| !n.is_empty()) {
                Some(name) => nl.link_by_name(name)?,
                None => match link.as_ref().and_then(|l| l.master) {
                    Some(master) => nl.link_by_index(master)?,
                    None => None,
                },
            };
            let Some(vrf) = vrf.filter(|v| vrf_table(v).is_some()) else { return Ok(()) };
            if let Some(link) = link {
                nl.set_master(link.index, 0)
                    .map_err(|e| e.context(format!("could not reset the master of {ifname}")))?;
            }
            // The last interface gone: the VRF goes too.
            if !nl.links()?.iter().any(|l| l.master == Some(vrf.index)) {
                nl.delete_link(vrf.index)?;
            }
            Ok(())
        })
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        conf.net.chained_result("missing prevResult from earlier plugin")?;
        let ifname = args.ifname.as_str();
        Netns::open(&args.netns)?.with_netlink(|nl| {
            let vrf = nl
                .link_by_name(&conf.name)?
                .filter(|l| vrf_table(l).is_some())
                .ok_or_else(|| CniError::internal(format!("VRF {} not found", conf.name)))?;
            match nl.link_by_name(ifname)? {
                Some(link) if link.master == Some(vrf.index) => Ok(()),
                _ => Err(CniError::internal(format!(
                    "failed to find {ifname} associated to vrf {}",
                    conf.name
                ))),
            }
        })
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
            vec![("", struct_fields::<VrfConf>()), ("", struct_fields::<VrfDelConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
