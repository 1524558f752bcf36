//! Each cached port mapping's DNAT rule, checked as `inspect` and `port`
//! check it (`crate::runtime::live_state::ports`: portmap's own chain and
//! comment names, the host address, the jump from CNI-HOSTPORT-DNAT), its
//! state said as a finding: present ok; missing or unreached a failure
//! that `cnictl network reload` fixes; unreadable a warning.

use std::net::IpAddr;

use crate::runtime::live_state::ports::{self as live, RuleState};

use super::ruleset::Ruleset;
use super::{finding, reload, Finding, Status, Target};

pub(super) fn check(target: &Target, ruleset: &Ruleset, findings: &mut Vec<Finding>) {
    if target.ports.is_empty() {
        return;
    }
    if target.portmap.is_none() {
        findings.push(finding(
            "port mappings",
            Status::Warn,
            "the cached capability args map ports, but the network's chain has no portmap plugin",
            None,
        ));
        return;
    }
    let rules = ruleset.host_rules();
    let backend = live::backend(target.portmap.as_ref(), &target.network, &target.container_id, rules);
    let addresses: Vec<IpAddr> = target.addresses.iter().map(|a| a.ip()).collect();
    let states =
        live::check(&target.ports, backend, &target.network, &target.container_id, &addresses, rules);
    for state in states {
        let mapping = &state.mapping;
        let check = format!("port {}/{}", mapping.host_port, mapping.protocol);
        let port = match &mapping.host_ip {
            Some(ip) => format!("host port {ip}:{}", mapping.host_port),
            None => format!("host port {}", mapping.host_port),
        };
        if state.rules.is_empty() {
            findings.push(finding(
                &check,
                Status::Warn,
                format!("{port} goes to no address of the container: it has none of that family"),
                None,
            ));
        }
        for rule in &state.rules {
            let (to, place) = (&rule.to, &rule.place);
            match rule.state {
                RuleState::Present => {
                    findings.push(finding(&check, Status::Ok, format!("{port}: DNAT to {to} ({place})"), None))
                }
                RuleState::Missing => findings.push(finding(
                    &check,
                    Status::Fail,
                    format!("no DNAT rule sends {port} to {to} (looked in {place})"),
                    Some(reload(target, "portmap's rules")),
                )),
                RuleState::Unreached => findings.push(finding(
                    &check,
                    Status::Fail,
                    format!(
                        "the DNAT rule of {port} to {to} ({place}) is not reached: no rule of CNI-HOSTPORT-DNAT jumps to it for the port"
                    ),
                    Some(reload(target, "portmap's rules")),
                )),
                other => findings.push(finding(
                    &check,
                    Status::Warn,
                    format!("whether {port} is sent to {to} cannot be told ({}: {place})", other.word()),
                    None,
                )),
            }
        }
    }
}
