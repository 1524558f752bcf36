//! `vlan`: the container interface is an 802.1q VLAN (`vlanId`) of a host
//! interface (`master`, required), with IPAM addresses; `mtu` is checked
//! against the master's, and with `linkInContainer` the master is looked
//! for in the container.

use cni::checked::LinkName;
use cni::conf::{parse, NetConf};
use cni::env::{CmdArgs, Command};
use cni::interface::{self, Child};
use cni::ipam;
use cni::jsonpos::key_label;
use cni::netlink::{ChildKind, Link, LinkKind};
use cni::netns::Netns;
use cni::result::null_as_empty;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use serde::Deserialize;

/// The vlan plugin.
pub struct Vlan;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &["master", "vlanId", "mtu", "linkInContainer"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct VlanConf {
    #[serde(deserialize_with = "null_as_empty")]
    master: String,
    #[serde(rename = "vlanId", deserialize_with = "null_as_empty")]
    vlan_id: i64,
    #[serde(deserialize_with = "null_as_empty")]
    mtu: i64,
    #[serde(rename = "linkInContainer", deserialize_with = "null_as_empty")]
    link_in_container: bool,
}

struct Config {
    net: NetConf,
    vlan: VlanConf,
    id: u16,
    mtu: u32,
}

/// Reads and checks the netconf: master required and present, the VLAN ID, the MTU.
fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let (net, vlan, id) = keys(args)?;
    let (_, mtu) = interface::checked_master(args, vlan.link_in_container, &vlan.master, vlan.mtu)?;
    Ok(Config { net, vlan, id, mtu })
}

/// The checks of [`load`] that need no host (VALIDATE too): the master is
/// named, the VLAN ID is in range, there is IPAM.
fn keys(args: &CmdArgs) -> Result<(NetConf, VlanConf, u16), CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let vlan: VlanConf = parse(&args.stdin)?;
    if vlan.master.is_empty() {
        return Err(CniError::config(format!(
            "{}: \"master\" field is required. It specifies the host interface name to create the VLAN for",
            key_label("master")
        )));
    }
    LinkName::new("master", &vlan.master)?;
    let id = u16::try_from(vlan.vlan_id).ok().filter(|id| *id <= 4094).ok_or_else(|| {
        CniError::config(format!(
            "{}: invalid VLAN ID {} (must be between 0 and 4094 inclusive)",
            key_label("vlanId"),
            vlan.vlan_id
        ))
    })?;
    if net.ipam_type().is_empty() {
        return Err(CniError::config("vlan needs an IPAM configuration (\"ipam\")"));
    }
    Ok((net, vlan, id))
}

/// CHECK of the container interface's kind and settings: a VLAN with the configured ID and MTU.
fn check_kind(link: &Link, conf: &Config) -> Result<(), CniError> {
    let LinkKind::Vlan(id) = link.kind else {
        return Err(CniError::internal(format!("Error: Container interface {} not of type vlan", link.name)));
    };
    if id != conf.id {
        return Err(CniError::internal(format!(
            "container vlan {} has VLAN ID {id}, configured: {}",
            link.name, conf.id
        )));
    }
    if conf.mtu != 0 && link.mtu != conf.mtu {
        return Err(CniError::internal(format!(
            "container vlan {} has MTU {}, configured: {}",
            link.name, link.mtu, conf.mtu
        )));
    }
    Ok(())
}

impl Plugin for Vlan {
    fn name(&self) -> &'static str {
        "vlan"
    }

    /// ADD's key checks (master named, VLAN ID, IPAM required) and the IPAM
    /// section's; the master and its MTU are the host's, looked up only by ADD.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (net, _, _) = keys(args)?;
        cni::skel::validate_ipam(net.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let netns = Netns::open(&args.netns)?;
        let child = Child {
            master: &conf.vlan.master,
            in_container: conf.vlan.link_in_container,
            kind: ChildKind::Vlan { id: conf.id },
            mtu: conf.mtu,
            mac: None,
        };
        let (link, rollback) =
            interface::create(args, &netns, &child).map_err(|e| e.context("failed to create vlan"))?;
        interface::finish(args, &netns, &link, &conf.net, false, rollback)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only the IPAM type, read leniently: DEL works when the master is gone.
        interface::del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let netns = Netns::open(&args.netns)?;
        ipam::check(conf.net.ipam_type(), args)?;
        let result = conf.net.chained_result("vlan: Required prevResult missing")?;
        interface::check_container(args, &netns, &result, |link| check_kind(link, &conf))
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Gc, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        ipam::status(net.ipam_type(), args)
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
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![("", struct_fields::<VlanConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
