//! `macvlan`: the container interface is a macvlan of a host interface
//! (`master`, by default the one with the default route), in bridge,
//! private, vepa or passthru mode, with IPAM addresses or none (L2 only).
//! With `linkInContainer` the master is looked for in the container's
//! namespace instead.

mod config;
pub use config::KEYS;

use cni::env::{CmdArgs, Command};
use cni::interface::{self, Child};
use cni::ipam;
use cni::netlink::{ChildKind, Link, LinkKind};
use cni::netns::Netns;
use cni::skel::Plugin;
use cni::{CniError, CniResult};

use config::Config;

/// The macvlan plugin.
pub struct Macvlan;

/// CHECK of the container interface's kind: a macvlan in the configured mode.
fn check_kind(link: &Link, conf: &Config) -> Result<(), CniError> {
    let LinkKind::Macvlan(mode) = link.kind else {
        return Err(CniError::internal(format!(
            "error: Container interface {} not of type macvlan",
            link.name
        )));
    };
    if mode != conf.mode {
        return Err(CniError::internal(format!(
            "container macvlan mode {} does not match expected value: {}",
            mode.name(),
            conf.mode.name()
        )));
    }
    Ok(())
}

impl Plugin for Macvlan {
    fn name(&self) -> &'static str {
        "macvlan"
    }

    /// ADD's key checks (mode, MAC) and the IPAM section's; the master and
    /// its MTU are the host's, looked up only by ADD.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = config::check_keys(args)?;
        cni::skel::validate_ipam(net.ipam_type(), args)
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
        let (link, rollback) =
            interface::create(args, &netns, &child).map_err(|e| e.context("failed to create macvlan"))?;
        if conf.ipam_type().is_empty() {
            // L2 only: the interface just comes up.
            netns.with_netlink(|nl| Ok(nl.set_link_up(link.index, true)?))?;
        }
        interface::finish(args, &netns, &link, &conf.net, true, rollback)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only the IPAM type, read leniently (DEL always cleans).
        interface::del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let netns = Netns::open(&args.netns)?;
        if !conf.ipam_type().is_empty() {
            ipam::check(conf.ipam_type(), args)?;
        }
        let result = conf.net.chained_result("required prevResult missing")?;
        interface::check_container(args, &netns, &result, |link| check_kind(link, &conf))
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Gc, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Status, args)
    }
}
