//! What TARGET means to `inspect` and `port`: the cached attachments of a
//! container ID (whole, or a unique prefix), of a namespace (a name under
//! /var/run/netns or a path, matched by identity too), or of an address of
//! a cached result. A prefix several containers share is an error naming
//! them; a container with several attachments gives each.

use std::net::IpAddr;
use std::path::Path;

use color_eyre::eyre::{bail, Result};

use crate::netns::identity::NetnsId;
use crate::runtime::cache::CachedAttachment;

/// What a target matched.
pub enum Matched {
    /// The attachments, sorted by network and ifname.
    Attachments(Vec<CachedAttachment>),
    /// No attachment, but a network of that name exists (`inspect NET`
    /// meant `show NET` before `inspect` took attachments).
    Network,
}

/// The cached attachments `target` names, in this order: an exact
/// container ID, a namespace, an address, a network name, a container ID
/// prefix. None is an error.
pub fn resolve(
    entries: Vec<CachedAttachment>,
    target: &str,
    is_network: impl Fn() -> bool,
) -> Result<Matched> {
    if target.is_empty() {
        bail!("an empty target names no attachment");
    }
    let pick = |keep: &dyn Fn(&CachedAttachment) -> bool| -> Vec<CachedAttachment> {
        let mut found: Vec<CachedAttachment> = entries.iter().filter(|e| keep(e)).cloned().collect();
        found.sort_by(|a, b| (&a.network, &a.ifname).cmp(&(&b.network, &b.ifname)));
        found
    };
    let exact = pick(&|e| e.container_id == target);
    if !exact.is_empty() {
        return Ok(Matched::Attachments(exact));
    }
    let by_netns = pick(&|e| same_netns(e, target));
    if !by_netns.is_empty() {
        return Ok(Matched::Attachments(by_netns));
    }
    if let Ok(ip) = target.split('/').next().unwrap_or_default().parse::<IpAddr>() {
        let by_address = pick(&|e| crate::runtime::live_state::result_addresses(e).contains(&ip));
        if by_address.is_empty() {
            bail!("no cached attachment has the address {ip}");
        }
        return Ok(Matched::Attachments(by_address));
    }
    if is_network() {
        return Ok(Matched::Network);
    }
    let by_prefix = pick(&|e| e.container_id.starts_with(target));
    let mut ids: Vec<&str> = by_prefix.iter().map(|e| e.container_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.len() {
        0 => bail!(
            "no cached attachment matches {target:?} (a container ID or unique prefix, a netns name or \
             path, or an address; `cnictl attachments` lists them)"
        ),
        1 => Ok(Matched::Attachments(by_prefix)),
        _ => bail!(
            "{target:?} is a prefix of {} container IDs; give more of one:\n  {}",
            ids.len(),
            ids.join("\n  ")
        ),
    }
}

/// Whether `target` (a netns name or path) is the attachment's namespace:
/// the same path (either spelling of the run directory), or the same
/// namespace by identity.
pub fn same_netns(entry: &CachedAttachment, target: &str) -> bool {
    let path = entry.netns_path();
    if path.is_empty() {
        return false;
    }
    let named = |dir: &str| path.strip_prefix(dir).is_some_and(|name| name == target);
    if path == target || (!target.contains('/') && (named("/var/run/netns/") || named("/run/netns/"))) {
        return true;
    }
    if !target.contains('/') {
        let shown = crate::netns::resolve(target).unwrap_or_default();
        if shown == path {
            return true;
        }
    }
    let target_path = if target.contains('/') {
        target.to_string()
    } else {
        format!("{}/{target}", crate::netns::NETNS_RUN_DIR)
    };
    match (entry.netns_identity, NetnsId::of(Path::new(&target_path))) {
        (Some(recorded), Some(now)) => recorded.same(&now),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(network: &str, id: &str, ifname: &str, netns: &str, ip: &str) -> CachedAttachment {
        serde_json::from_value(serde_json::json!({"kind": "cniCacheV1", "containerId": id, "config": "e30=",
            "ifName": ifname, "networkName": network, "netns": netns,
            "result": {"ips": [{"address": ip}]}}))
        .unwrap()
    }

    fn names(matched: Matched) -> Vec<String> {
        match matched {
            Matched::Attachments(found) => {
                found.iter().map(|e| format!("{}/{}", e.network, e.ifname)).collect()
            }
            Matched::Network => vec!["network".into()],
        }
    }

    #[test]
    fn targets_match_in_order_and_ambiguity_names_the_candidates() {
        let entries = vec![
            entry("b", "abc123", "eth0", "/var/run/netns/blue", "10.1.0.2/24"),
            entry("a", "abc123", "eth1", "/var/run/netns/blue", "10.2.0.2/24"),
            entry("a", "abd456", "eth0", "/var/run/netns/red", "10.2.0.3/24"),
        ];
        let no = || false;
        assert_eq!(names(resolve(entries.clone(), "abc123", no).unwrap()), ["a/eth1", "b/eth0"]);
        assert_eq!(names(resolve(entries.clone(), "abc", no).unwrap()), ["a/eth1", "b/eth0"]);
        assert_eq!(names(resolve(entries.clone(), "red", no).unwrap()), ["a/eth0"]);
        assert_eq!(names(resolve(entries.clone(), "/var/run/netns/blue", no).unwrap()).len(), 2);
        assert_eq!(names(resolve(entries.clone(), "10.2.0.3", no).unwrap()), ["a/eth0"]);
        assert_eq!(names(resolve(entries.clone(), "ab", || true).unwrap()), ["network"]);
        let err = resolve(entries.clone(), "ab", no).err().unwrap().to_string();
        assert!(err.contains("abc123") && err.contains("abd456"), "{err}");
        assert!(resolve(entries.clone(), "zz", no).is_err());
        assert!(resolve(entries, "10.9.9.9", no).is_err());
    }
}
