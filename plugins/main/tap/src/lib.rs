//! `tap`: the container interface is a persistent tap device (for a VM
//! monitor in the container), with `mtu`, `mac` (also from CNI_ARGS or
//! runtimeConfig), `multiQueue`, `owner` and `group`, optionally a port of
//! a `bridge` in the container, with IPAM addresses or none (L2 only).
//! With `selinuxContext`, the tap is made by `ip` run under that SELinux
//! label, as the reference makes it (and, as the reference's, the ADD fails
//! on a host without SELinux).

mod tuntap;

use cni::args::{cni_args_mac, requested_mac};
use cni::checked::LinkName;
use cni::conf::{parse, NetConf};
use cni::env::{CmdArgs, Command};
use cni::ipam;
use cni::netlink::Netlink;
use cni::netns::Netns;
use cni::result::null_as_empty;
use cni::skel::Plugin;
use cni::veth::random_veth_name;
use cni::{interface, CniError, CniResult};
use serde::Deserialize;

/// The tap plugin.
pub struct Tap;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["multiQueue", "mtu", "mac", "owner", "group", "selinuxContext", "bridge", "runtimeConfig.mac"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct TapConf {
    #[serde(rename = "multiQueue", deserialize_with = "null_as_empty")]
    multi_queue: bool,
    #[serde(deserialize_with = "null_as_empty")]
    mtu: u32,
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
    owner: Option<u32>,
    group: Option<u32>,
    #[serde(rename = "selinuxContext", deserialize_with = "null_as_empty")]
    selinux_context: String,
    #[serde(deserialize_with = "null_as_empty")]
    bridge: String,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: RuntimeMac,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RuntimeMac {
    #[serde(deserialize_with = "null_as_empty")]
    mac: String,
}

struct Config {
    net: NetConf,
    tap: TapConf,
    mac: Option<[u8; 6]>,
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let tap: TapConf = parse(&args.stdin)?;
    LinkName::optional("bridge", &tap.bridge)?;
    let from_args = cni_args_mac(&args.args)?;
    let mac = requested_mac(&[&tap.mac, &from_args, &tap.runtime_config.mac])?;
    Ok(Config { net, tap, mac })
}

impl Plugin for Tap {
    fn name(&self) -> &'static str {
        "tap"
    }

    /// ADD's config checks (keys, MAC) and the IPAM section's.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        cni::skel::validate_ipam(conf.net.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let netns = Netns::open(&args.netns)?;
        let temp = random_veth_name()?;
        let ifname = args.ifname.clone();
        // The exec label stays on the thread that sets it: a thread of its own.
        let made = netns.run_on_own_thread(|| {
            let spec = tuntap::TapSpec {
                name: &temp,
                multi_queue: conf.tap.multi_queue,
                owner: conf.tap.owner,
                group: conf.tap.group,
            };
            if conf.tap.selinux_context.is_empty() {
                tuntap::create(&spec)?;
            } else {
                tuntap::create_labelled(&spec, &conf.tap.selinux_context)?;
            }
            Netlink::open()?
                .link_by_name(&temp)?
                .ok_or_else(|| CniError::internal("tap vanished after creation"))
        })?;
        let rollback = interface::undo_link(&netns, &made);
        let link = netns.with_netlink(|nl| {
            if conf.tap.mtu > 0 {
                nl.set_mtu(made.index, conf.tap.mtu)?;
            }
            if let Some(mac) = &conf.mac {
                nl.set_mac(made.index, mac)?;
            }
            nl.rename_link(made.index, &ifname)
                .map_err(|e| e.context(format!("failed to rename tap to {ifname:?}")))?;
            if !conf.tap.bridge.is_empty() {
                let bridge = nl
                    .link_by_name(&conf.tap.bridge)?
                    .ok_or_else(|| CniError::internal(format!("failed to get bridge {}", conf.tap.bridge)))?;
                nl.set_master(made.index, bridge.index).map_err(|e| {
                    e.context(format!("failed to set tap {ifname} as a port of bridge {}", conf.tap.bridge))
                })?;
            }
            nl.set_link_up(made.index, true).map_err(|e| e.context("failed to set tap interface up"))?;
            nl.link_by_index(made.index)?
                .ok_or_else(|| CniError::internal(format!("failed to refetch tap {ifname:?}")))
        })?;
        interface::finish(args, &netns, &link, &conf.net, true, rollback)
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
        let result = conf.net.chained_result("Required prevResult missing")?;
        interface::check_container(args, &netns, &result, |link| {
            if link.kind != cni::netlink::LinkKind::Other("tun".into()) {
                return Err(CniError::internal(format!(
                    "Error: Container interface {} not of type tap",
                    link.name
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
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("runtimeConfig", struct_fields::<RuntimeMac>()), ("", struct_fields::<TapConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
