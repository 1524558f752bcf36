//! The data-plane check of one attachment (`cnictl check --deep`, and
//! `doctor` over every live one): what decides whether its packets leave
//! the host and come back, each finding with its fix. It reads sysctls,
//! links, the kernel's route choices (RTM_GETROUTE: no packet is sent),
//! the FORWARD hook (iptables and native nftables), the masquerade rule,
//! the port mappings' DNAT rules and the firewall plugin's; it changes
//! nothing.

pub mod attachment;
mod firewall;
mod forward;
mod iptables;
mod links;
mod masquerade;
mod netlink;
mod nftables;
mod packet;
mod ports;
mod route;
mod ruleset;
mod sysctls;

use std::net::IpAddr;

use serde::Serialize;

pub use attachment::Target;
pub use ruleset::Ruleset;

/// How bad a finding is (doctor's scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Worth knowing, nothing to fix.
    Info,
    /// May keep some traffic from passing.
    Warn,
    /// Keeps the attachment's traffic from passing.
    Fail,
}

/// One thing the check looked at, with its fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was looked at.
    pub check: String,
    /// How it stands.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The command that fixes it, when something is to fix.
    pub fix: Option<String>,
}

fn finding(check: &str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding { check: check.to_string(), status, detail: detail.into(), fix }
}

/// The fix of lost host-side rules (masquerade, DNAT, firewall): `cnictl
/// network reload` re-applies only the host rules of live attachments,
/// touching neither the container's links nor its address.
fn reload(target: &Target, what: &str) -> String {
    format!("cnictl network reload {} (puts back {what} of its live attachments)", target.network)
}

/// The outside addresses whose routes are asked for when none are given:
/// documentation addresses (RFC 5737, RFC 3849), which route as any
/// address beyond the host does and belong to no one.
pub const DEFAULT_DESTINATIONS: [&str; 2] = ["192.0.2.1", "2001:db8::1"];

/// Checks `target`'s data plane towards `to` (one address per family
/// used; the defaults for the others), reading netfilter state through
/// `ruleset` (one for every attachment a command checks).
pub fn check(target: &Target, to: &[IpAddr], ruleset: &Ruleset) -> Vec<Finding> {
    let mut findings = Vec::new();
    if target.addresses.is_empty() {
        findings.push(finding(
            "addresses",
            Status::Warn,
            "the cached result gives the container no address: nothing to check",
            None,
        ));
        return findings;
    }
    sysctls::check(target, &mut findings);
    let host = match ruleset.host_links() {
        Ok(host) => host,
        Err(why) => {
            findings.push(finding(
                "host links",
                Status::Warn,
                format!(
                    "the host's links cannot be listed ({why}): the bridge, veth and routes are not checked"
                ),
                None,
            ));
            masquerade::check(target, ruleset, &mut findings);
            ports::check(target, ruleset, &mut findings);
            firewall::check(target, ruleset, &mut findings);
            return findings;
        }
    };
    links::check(target, host, &mut findings);
    let paths = route::check(target, to, host, &mut findings);
    forward::check(target, &paths, ruleset, &mut findings);
    masquerade::check(target, ruleset, &mut findings);
    ports::check(target, ruleset, &mut findings);
    firewall::check(target, ruleset, &mut findings);
    findings
}

/// True when a finding fails.
pub fn any_failed(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.status == Status::Fail)
}
