//! doctor's data-plane check: `check --deep`'s findings for every live
//! attachment of the configured networks (cached entries, in the caches
//! doctor surveys, whose namespace lives), each check named with its
//! attachment. Only what is wrong is listed (a node has many attachments),
//! then one line of how many were checked. An attachment whose namespace
//! is gone is stale state's.

use super::*;
use crate::dataplane::{self, Target};
use crate::netns::identity::{find_live, live_namespaces, NetnsId};

/// Where to look at the attachment's namespace: where it lives now (found
/// by its recorded identity), else its recorded path. `None` when
/// `liveness` (the one judge of it, as gc's) says it is gone; an entry
/// that records no path may be live, and its check says what it cannot see.
fn live_path(entry: &CachedAttachment, live: &[(NetnsId, PathBuf)]) -> Option<String> {
    crate::runtime::liveness::namespace_state(entry, live)?;
    let moved = entry.netns_identity.and_then(|id| find_live(live, &id));
    Some(moved.map_or_else(|| entry.netns_path(), |now| now.display().to_string()))
}

fn status(status: dataplane::Status) -> Status {
    match status {
        dataplane::Status::Ok => Status::Ok,
        dataplane::Status::Info => Status::Info,
        dataplane::Status::Warn => Status::Warn,
        dataplane::Status::Fail => Status::Fail,
    }
}

pub(super) fn live_attachments(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    if networks.is_empty() {
        return;
    }
    if !privileged() {
        findings.push(needs_root("data plane", "the caches, namespaces and netfilter rules are root's"));
        return;
    }
    let live = live_namespaces();
    let ruleset = dataplane::Ruleset::new();
    let mut seen = BTreeSet::new();
    let (mut checked, mut troubled) = (0, 0);
    for cache in ctx.surveyed_caches() {
        let Ok(listing) = cache.listing() else { continue };
        for (entry, _) in listing.readable {
            if !networks.iter().any(|n| n.name == entry.network)
                || !seen.insert((entry.network.clone(), entry.container_id.clone(), entry.ifname.clone()))
            {
                continue;
            }
            let Some(netns) = live_path(&entry, &live) else { continue };
            let file = cache.path(&entry.network, &entry.container_id, &entry.ifname);
            let mut target: Target = match dataplane::attachment::from_cache(&entry, &file) {
                Ok(target) => target,
                Err(why) => {
                    findings.push(finding(
                        "data plane",
                        Status::Warn,
                        format!("{}: {why}", file.display()),
                        None,
                    ));
                    continue;
                }
            };
            target.netns = netns;
            checked += 1;
            let name = target.name();
            let found = dataplane::check(&target, &[], &ruleset);
            let wrong: Vec<_> = found
                .into_iter()
                .filter(|f| matches!(f.status, dataplane::Status::Warn | dataplane::Status::Fail))
                .collect();
            troubled += usize::from(!wrong.is_empty());
            for found in wrong {
                findings.push(finding(
                    format!("{name} {}", found.check),
                    status(found.status),
                    found.detail,
                    found.fix,
                ));
            }
        }
    }
    if checked > 0 {
        let (status, said) = if troubled == 0 {
            (Status::Ok, "their packets can leave and return".to_string())
        } else {
            (Status::Info, format!("{troubled} with findings above"))
        };
        findings.push(finding(
            "data plane",
            status,
            format!("{checked} live attachment(s) checked as `cnictl check --deep` checks one: {said}"),
            None,
        ));
    }
}
