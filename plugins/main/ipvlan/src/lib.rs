//! `ipvlan`: the container interface is an ipvlan of a host interface in
//! l2, l3 or l3s mode. The master is `master`, else (chained) the single
//! interface of the previous result, else the default route's interface;
//! with `linkInContainer` it is looked for in the container. Addresses
//! come from IPAM or, chained without IPAM, from the previous result.

use cni::checked::LinkName;
use cni::conf::{parse, NetConf};
use cni::env::{CmdArgs, Command};
use cni::interface::{self, Child};
use cni::ipam;
use cni::netlink::{ChildKind, IpvlanMode, LinkKind};
use cni::netns::Netns;
use cni::result::null_as_empty;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use serde::Deserialize;

/// The ipvlan plugin.
pub struct Ipvlan;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &["master", "mode", "mtu", "linkInContainer"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct IpvlanConf {
    #[serde(deserialize_with = "null_as_empty")]
    master: String,
    #[serde(deserialize_with = "null_as_empty")]
    mode: String,
    #[serde(deserialize_with = "null_as_empty")]
    mtu: u32,
    #[serde(rename = "linkInContainer", deserialize_with = "null_as_empty")]
    link_in_container: bool,
}

struct Config {
    net: NetConf,
    ipvlan: IpvlanConf,
    mode: IpvlanMode,
    prev: Option<CniResult>,
}

/// The mode the `mode` key names.
fn mode_from(text: &str) -> Result<IpvlanMode, CniError> {
    IpvlanMode::parse(text).ok_or_else(|| CniError::config(format!("unknown ipvlan mode: {text:?}")))
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let ipvlan: IpvlanConf = parse(&args.stdin)?;
    let mode = mode_from(&ipvlan.mode)?;
    let prev = net.prev_result()?;
    Ok(Config { net, ipvlan, mode, prev })
}

/// The master: configured, else the previous result's single interface, else the default route's.
fn master(conf: &Config, args: &CmdArgs) -> Result<String, CniError> {
    if let Some(master) = LinkName::optional("master", &conf.ipvlan.master)? {
        return Ok(master.to_string());
    }
    match &conf.prev {
        Some(prev) => match prev.interfaces.as_slice() {
            [only] if !only.name.is_empty() => Ok(only.name.clone()),
            _ => Err(CniError::config("chained master failure. PrevResult lacks a single named interface")),
        },
        None => {
            interface::with_master_ns(args, conf.ipvlan.link_in_container, interface::default_route_interface)
        }
    }
}

impl Plugin for Ipvlan {
    fn name(&self) -> &'static str {
        "ipvlan"
    }

    /// ADD's key checks (mode) and the IPAM section's; the master is the
    /// host's, looked up only by ADD.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        cni::skel::validate_ipam(conf.net.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let master = master(&conf, args)?;
        let netns = Netns::open(&args.netns)?;
        let child = Child {
            master: &master,
            in_container: conf.ipvlan.link_in_container,
            kind: ChildKind::Ipvlan { mode: conf.mode },
            mtu: conf.ipvlan.mtu,
            mac: None,
        };
        let (link, mut rollback) =
            interface::create(args, &netns, &child).map_err(|e| e.context("failed to create ipvlan"))?;
        // Chained without IPAM, the previous result's addresses are used.
        let chained =
            conf.prev.clone().filter(|prev| conf.net.ipam_type().is_empty() && !prev.ips.is_empty());
        let mut result = match chained {
            Some(prev) => prev,
            None => interface::acquire(conf.net.ipam_type(), args, &mut rollback)?,
        };
        result.interfaces = vec![interface::interface_of(args, &link)];
        interface::apply(args, &netns, &mut result, true)?;
        result.dns = conf.net.dns.clone();
        rollback.commit();
        Ok(result)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only the IPAM type, read leniently (DEL always cleans).
        interface::del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let netns = Netns::open(&args.netns)?;
        if !conf.net.ipam_type().is_empty() {
            ipam::check(conf.net.ipam_type(), args)?;
        }
        let result = conf.prev.clone().ok_or_else(|| CniError::internal("Required prevResult missing"))?;
        let master = master(&conf, args)?;
        interface::with_master_ns(args, conf.ipvlan.link_in_container, |nl| {
            nl.link_by_name(&master)?.map(|_| ()).ok_or_else(|| {
                CniError::internal(format!("failed to lookup master {master:?}: no such interface"))
            })
        })?;
        interface::check_container(args, &netns, &result, |link| {
            let LinkKind::Ipvlan(mode) = link.kind else {
                return Err(CniError::internal(format!(
                    "Error: Container interface {} not of type ipvlan",
                    link.name
                )));
            };
            if mode != conf.mode {
                return Err(CniError::internal(format!(
                    "Container IPVlan mode {} does not match expected value: {}",
                    mode.name(),
                    conf.mode.name()
                )));
            }
            Ok(())
        })
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Gc, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Status, args)
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
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![("", struct_fields::<IpvlanConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
