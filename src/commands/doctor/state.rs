//! doctor's state checks: host-local reservations and bridge ports that
//! no cached attachment owns.

use super::*;
use crate::runtime::footprint::{footprint, Rules};
use crate::runtime::liveness::Survey;

pub(super) fn stale_state(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    let listing = match ctx.runtime.cache.listing() {
        Ok(listing) => listing,
        Err(e) => {
            let status = if privileged() { Status::Fail } else { Status::Skip };
            let refused = e.chain().find_map(|c| c.downcast_ref::<crate::report::NeedsRoot>());
            let detail = match refused {
                Some(refused) => {
                    format!("needs root: {} cannot be read as this user", refused.path.display())
                }
                None if privileged() => format!("{e:#}"),
                None => format!("needs root: {e:#}"),
            };
            let fix = (!privileged()).then(|| "sudo cnictl doctor".to_string());
            findings.push(finding("stale state", status, detail, fix));
            return;
        }
    };
    let cached: Vec<CachedAttachment> = listing.readable.into_iter().map(|(entry, _)| entry).collect();
    let caches = ctx.surveyed_caches();
    let caches: Vec<_> = caches.iter().collect();
    let mut clean = true;
    let host = crate::runtime::liveness::LiveHost::read();
    let rules = std::cell::OnceCell::new();
    for net in networks {
        let survey = match crate::runtime::liveness::survey(net, &caches, &BTreeSet::new(), &host) {
            Ok(survey) => survey,
            Err(e) => {
                clean = false;
                findings.push(finding("stale state", Status::Skip, format!("{}: {e:#}", net.name), None));
                continue;
            }
        };
        clean &= stale_findings(findings, net, &survey, &rules);
    }
    unowned_ports(findings, &cached, networks, &mut clean);
    if clean {
        findings.push(finding(
            "stale state",
            Status::Ok,
            "no stale cache entries, reservations or bridge ports",
            None,
        ));
    }
}

/// The findings of one network's survey; true when there were none.
/// `rules`: the host's ruleset, read when the first gone attachment needs it.
fn stale_findings(
    findings: &mut Vec<Finding>,
    net: &NetworkList,
    survey: &Survey,
    rules: &std::cell::OnceCell<Rules>,
) -> bool {
    let has_gc = cni::version::at_least(&net.cni_version, "1.1.0").unwrap_or(false);
    let before = findings.len();
    for unreadable in &survey.unreadable {
        findings.push(finding(
            "stale state",
            Status::Warn,
            format!(
                "cache entry {} of {} cannot be read ({}): gc keeps whatever it may belong to",
                unreadable.path.display(),
                net.name,
                unreadable.why
            ),
            Some(format!("rm {} once no container uses that attachment", unreadable.path.display())),
        ));
    }
    for entry in &survey.stale_entries {
        // What it still holds outside the namespace (a runtime's DEL that
        // stopped half-way leaves the rest), each named.
        let mut held: Vec<String> = survey
            .stale_reservations
            .iter()
            .filter(|r| r.holder.as_ref().is_some_and(|h| h.is(&entry.container_id, &entry.ifname)))
            .map(|r| format!("reservation {}", r.address))
            .collect();
        held.extend(footprint(entry, rules.get_or_init(Rules::read)));
        let holds =
            if held.is_empty() { String::new() } else { format!("; it still holds: {}", held.join("; ")) };
        findings.push(finding(
            "stale state",
            Status::Warn,
            format!(
                "cached attachment {} {} of {} belongs to a namespace that is gone ({}){holds}",
                entry.container_id,
                entry.ifname,
                net.name,
                entry.netns_path()
            ),
            Some(format!("cnictl gc {}", net.name)),
        ));
    }
    let owned_by_stale = |r: &host_local::store::Reservation| {
        survey
            .stale_entries
            .iter()
            .any(|e| r.holder.as_ref().is_some_and(|h| h.is(&e.container_id, &e.ifname)))
    };
    for reservation in survey.stale_reservations.iter().filter(|r| !owned_by_stale(r)) {
        let id = reservation.holder.as_ref().map(|h| h.container_id.as_str()).unwrap_or_default();
        let fix = if has_gc {
            format!("cnictl gc {}", net.name)
        } else {
            format!(
                "network version {} has no GC verb: rm {} if no container uses the address",
                net.cni_version,
                reservation.path.display()
            )
        };
        findings.push(finding(
            "stale state",
            Status::Warn,
            format!(
                "{} in {} is reserved for {id:?}, which no cache entry, live namespace or interface holds",
                reservation.address, net.name
            ),
            Some(fix),
        ));
    }
    findings.len() == before
}

/// How full each host-local range set is: a warning from 90% on (ADDs
/// fail when it is full, while STATUS, as the reference's, still succeeds).
pub(super) fn range_fill(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    for net in networks {
        for (_, fill) in crate::commands::status::range_fill(net) {
            let crowded = fill.reserved.saturating_mul(10) >= fill.capacity.saturating_mul(9);
            let (status, fix) = if crowded {
                (Status::Warn, Some(format!("cnictl gc {}, or a larger range", net.name)))
            } else {
                (Status::Ok, None)
            };
            let what = if fill.is_full() { " (full: new attachments fail)" } else { "" };
            findings.push(finding(
                "address ranges",
                status,
                format!(
                    "{}: {} reserved of {} in {}{what}",
                    net.name, fill.reserved, fill.capacity, fill.range_set
                ),
                fix,
            ));
        }
    }
}

/// Bridge ports of configured bridges that no cached attachment made.
pub(super) fn unowned_ports(
    findings: &mut Vec<Finding>,
    cached: &[CachedAttachment],
    networks: &[NetworkList],
    clean: &mut bool,
) {
    let Ok(nl) = cni::netlink::Netlink::open() else { return };
    let Ok(links) = nl.links() else { return };
    let owned: BTreeSet<String> = cached
        .iter()
        .filter_map(|a| a.result.as_ref()?.go_get("interfaces")?.as_array().cloned())
        .flatten()
        .filter_map(|i| i.go_get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut bridges = BTreeSet::new();
    for net in networks {
        bridges.extend(crate::inspect::bridges(net));
    }
    for bridge in bridges {
        let Some(index) = links.iter().find(|l| l.name == bridge).map(|l| l.index) else { continue };
        for port in links
            .iter()
            .filter(|l| l.master == Some(index) && !l.name.contains('.') && !owned.contains(&l.name))
        {
            *clean = false;
            findings.push(finding(
                "stale state",
                Status::Warn,
                format!("{} is a port of {bridge} that no cached attachment made", port.name),
                Some(format!("ip link del {} (if no other runtime owns it)", port.name)),
            ));
        }
    }
}
