//! `loopback`: brings `lo` up in the container (and down on DEL).
//!
//! Whatever `CNI_IFNAME` says, it works on `lo`. With a `prevResult` it
//! passes that through; otherwise it reports `lo` and its loopback
//! addresses.

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::netlink::Netlink;
use cni::netns::{self, Netns};
use cni::result::{Interface, IpConfig};
use cni::skel::Plugin;
use cni::{CniError, CniResult};

/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys = &[];

/// The loopback plugin.
pub struct Loopback;

const LO: &str = "lo";

fn with_lo<T: Send>(
    netns: &Netns,
    work: impl FnOnce(&Netlink, u32, bool) -> Result<T, CniError> + Send,
) -> Result<T, CniError> {
    netns.with_netlink(|nl| {
        let link = nl.link_by_name(LO)?.ok_or_else(|| CniError::internal("no lo interface in the netns"))?;
        work(nl, link.index, link.up)
    })
}

impl Plugin for Loopback {
    fn name(&self) -> &'static str {
        "loopback"
    }

    /// The common keys and a readable prevResult, as ADD reads them.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf: NetConf = parse(&args.stdin)?;
        conf.prev_result().map(|_| ())
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf: NetConf = parse(&args.stdin)?;
        let prev = conf.prev_result()?;
        let netns = Netns::open(&args.netns)?;
        let addresses = with_lo(&netns, |nl, index, _| {
            nl.set_link_up(index, true)?;
            let addresses = nl.addresses(index)?;
            if let Some(bad) = addresses.iter().find(|a| !a.ip().is_loopback()) {
                return Err(CniError::internal(format!(
                    "loopback interface found with non-loopback address {}",
                    bad.ip()
                )));
            }
            Ok(addresses)
        })?;
        if let Some(prev) = prev {
            return Ok(prev);
        }
        // The first address of each family, as the reference reports.
        let first = |v4: bool| addresses.iter().find(|a| a.is_ipv4() == v4).copied();
        let ips = [first(true), first(false)]
            .into_iter()
            .flatten()
            .map(|address| IpConfig { interface: Some(0), address, gateway: None })
            .collect();
        Ok(CniResult {
            interfaces: vec![Interface {
                name: LO.to_string(),
                mac: Some("00:00:00:00:00:00".to_string()),
                sandbox: Some(args.netns.clone()),
                ..Default::default()
            }],
            ips,
            ..Default::default()
        })
    }

    /// DEL reads nothing from the netconf; with the netns empty or gone
    /// there is nothing to do.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let Some(netns) = netns::for_del(&args.netns)? else { return Ok(()) };
        with_lo(&netns, |nl, index, _| Ok(nl.set_link_up(index, false)?))
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let netns = Netns::open(&args.netns)?;
        with_lo(
            &netns,
            |_, _, up| if up { Ok(()) } else { Err(CniError::internal("loopback interface is down")) },
        )
    }

    fn status(&self, _args: &CmdArgs) -> Result<(), CniError> {
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
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![("", struct_fields::<cni::conf::NetConf>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
