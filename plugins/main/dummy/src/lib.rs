//! `dummy`: a dummy interface in the container holding the IPAM addresses
//! (an address the container owns without any link to the outside).

use cni::conf::{parse, NetConf};
use cni::env::{CmdArgs, Command};
use cni::ipam;
use cni::netlink::LinkKind;
use cni::netns::Netns;
use cni::skel::Plugin;
use cni::{interface, CniError, CniResult};

/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[];

/// The dummy plugin.
pub struct Dummy;

impl Plugin for Dummy {
    fn name(&self) -> &'static str {
        "dummy"
    }

    /// ADD's checks: the common keys, IPAM required, and the IPAM section's.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        if net.ipam_type().is_empty() {
            return Err(CniError::config("dummy interface requires an IPAM configuration"));
        }
        cni::skel::validate_ipam(net.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let net: NetConf = parse(&args.stdin)?;
        if net.ipam_type().is_empty() {
            return Err(CniError::config("dummy interface requires an IPAM configuration"));
        }
        let netns = Netns::open(&args.netns)?;
        let ifname = args.ifname.clone();
        let link = netns.with_netlink(move |nl| {
            if !nl.add_dummy(&ifname)? {
                return Err(CniError::internal(format!("failed to create dummy: {ifname:?} exists")));
            }
            nl.link_by_name(&ifname)?
                .ok_or_else(|| CniError::internal(format!("failed to fetch dummy {ifname:?}")))
        })?;
        let rollback = interface::undo_link(&netns, &link);
        interface::finish(args, &netns, &link, &net, false, rollback)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        // Only the IPAM type, read leniently (DEL always cleans).
        interface::del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net: NetConf = parse(&args.stdin)?;
        let netns = Netns::open(&args.netns)?;
        ipam::check(net.ipam_type(), args)?;
        let result = net.chained_result("dummy: Required prevResult missing")?;
        interface::check_container(args, &netns, &result, |link| {
            if link.kind != LinkKind::Other("dummy".into()) {
                return Err(CniError::internal(format!(
                    "Error: Container interface {} not of type dummy",
                    link.name
                )));
            }
            if !link.up {
                return Err(CniError::internal(format!("Interface {} is down", link.name)));
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
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![("", struct_fields::<cni::conf::NetConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
