//! The firewall plugin's accept rules, when the attachment's chain has the
//! plugin: read as `inspect` reads them (`crate::runtime::live_state::firewall`).
//! Gone (a firewall flush, a firewalld reload): a failure that `cnictl
//! network reload` fixes. Where they cannot be listed (firewalld, a tool
//! missing), nothing is claimed.

use std::net::IpAddr;

use cni::netfilter::Owner;

use crate::runtime::live_state::firewall as live;

use super::ruleset::Ruleset;
use super::{finding, reload, Finding, Status, Target};

pub(super) fn check(target: &Target, ruleset: &Ruleset, findings: &mut Vec<Finding>) {
    let Some(plugin) = &target.firewall else { return };
    let owner =
        Owner { network: &target.network, ifname: &target.ifname, container_id: &target.container_id };
    let addresses: Vec<IpAddr> = target.addresses.iter().map(|a| a.ip()).collect();
    let state = live::read(plugin, &owner, &addresses, ruleset.host_rules());
    let backend = &state.backend;
    if state.missing {
        findings.push(finding(
            "firewall",
            Status::Fail,
            format!("the firewall plugin's rules for the container ({backend}) are gone: its traffic meets the host's policy alone"),
            Some(reload(target, "the firewall plugin's rules")),
        ));
    } else if state.rules.is_empty() {
        findings.push(finding(
            "firewall",
            Status::Info,
            format!("the firewall plugin's rules ({backend}) cannot be listed here: not checked"),
            None,
        ));
    } else {
        findings.push(finding(
            "firewall",
            Status::Ok,
            format!("{} rule(s) of the firewall plugin ({backend})", state.rules.len()),
            None,
        ));
    }
}
