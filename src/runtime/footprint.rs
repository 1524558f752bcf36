//! What a stale attachment still holds outside its namespace, found by its
//! identity, so that `gc --dry-run` names each object the chain's DEL will
//! remove: host interfaces of its cached result, the bandwidth plugin's ifb
//! device, iptables rules and chains whose comments carry its container ID
//! (and the chains they jump to), and nftables rules whose comments carry
//! the ID or the attachment's hash. Read only; nothing here changes state.

use std::path::Path;

use cni::netfilter::{iptables, nftnl, Owner};
use serde_json::Value;

use super::cache::CachedAttachment;

/// The host's rules, read once for every attachment looked at: four
/// iptables-save runs and an nft listing each time would cost a command
/// as many times as it has stale attachments.
pub struct Rules {
    /// (tool, table, its iptables-save text) per family and table there is.
    saved: Vec<(&'static str, &'static str, String)>,
    /// The rules of `nft -j list ruleset`.
    nft: Vec<Value>,
}

impl Rules {
    /// The ruleset now.
    pub fn read() -> Rules {
        let mut saved = Vec::new();
        for (ipv6, table) in [(false, "nat"), (false, "filter"), (true, "nat"), (true, "filter")] {
            if !iptables::available(ipv6) {
                continue;
            }
            if let Ok(text) = iptables::save(ipv6, table) {
                saved.push((if ipv6 { "ip6tables" } else { "iptables" }, table, text));
            }
        }
        Rules { saved, nft: nft_rules() }
    }

    /// The `iptables-save` text of one family's table, when its tool is there.
    pub fn saved(&self, ipv6: bool, table: &str) -> Option<&str> {
        let tool = if ipv6 { "ip6tables" } else { "iptables" };
        self.saved.iter().find(|(t, name, _)| *t == tool && *name == table).map(|(_, _, text)| text.as_str())
    }

    /// Every nftables rule, as objects of `nft -j list ruleset`.
    pub fn nft(&self) -> &[Value] {
        &self.nft
    }
}

/// Each object, as a line for the operator.
pub fn footprint(entry: &CachedAttachment, rules: &Rules) -> Vec<String> {
    let mut found = Vec::new();
    for interface in crate::inspect::host_interfaces(entry.result.as_ref()) {
        if link_exists(&interface) {
            found.push(format!("host interface {interface}"));
        }
    }
    let ifb = bandwidth::ifb_name(&entry.network, &entry.container_id);
    if link_exists(&ifb) {
        found.push(format!("ifb device {ifb} (bandwidth)"));
    }
    found.extend(iptables_rules(rules, &entry.container_id));
    let owner = Owner { network: &entry.network, ifname: &entry.ifname, container_id: &entry.container_id };
    found.extend(nftables_rules(rules, &entry.container_id, &owner.hash()));
    found
}

fn link_exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
}

/// Rules whose comment names the container (`id: "<ID>"`, the reference's
/// and ours), and every rule of a chain one of them jumps to that is the
/// container's own (`CNI-DN-...`, `CNI-<hash>`), per family and table.
fn iptables_rules(rules: &Rules, container_id: &str) -> Vec<String> {
    let needle = format!("id: \\\"{container_id}\\\"");
    let mut found = Vec::new();
    for (tool, table, saved) in &rules.saved {
        let named: Vec<&str> =
            saved.lines().filter(|l| l.starts_with("-A ") && l.contains(&needle)).collect();
        let targets: Vec<&str> = named
            .iter()
            .filter_map(|l| l.rsplit(" -j ").next())
            .map(str::trim)
            .filter(|t| t.starts_with("CNI-DN-") || t.starts_with("CNI-") && t.len() == 28)
            .collect();
        let owned = saved.lines().filter(|l| targets.iter().any(|t| l.starts_with(&format!("-A {t} "))));
        for line in named.iter().copied().chain(owned) {
            found.push(format!("{tool} {table} rule: {line}"));
        }
    }
    found.dedup();
    found
}

/// The rules of `nft -j list ruleset`; none without `nft`.
fn nft_rules() -> Vec<Value> {
    let Some(nft) = cni::netfilter::find_tool("nft") else { return Vec::new() };
    let Ok(out) = cni::netfilter::run_tool(&nft, &["-j", "list", "ruleset"], "") else { return Vec::new() };
    let Ok(listing) = serde_json::from_str::<Value>(&out.stdout) else { return Vec::new() };
    let items = listing.get("nftables").and_then(Value::as_array).cloned().unwrap_or_default();
    items.into_iter().filter_map(|mut item| item.get_mut("rule").map(Value::take)).collect()
}

/// nftables rules commented with the container ID (portmap's, cut to what
/// nft keeps) or starting with the attachment's hash (ipMasq's, the
/// firewall's).
fn nftables_rules(rules: &Rules, container_id: &str, hash: &str) -> Vec<String> {
    let id = nftnl::fit_comment(container_id.to_string());
    rules
        .nft
        .iter()
        .filter(|rule| {
            let comment = rule.get("comment").and_then(Value::as_str).unwrap_or_default();
            !comment.is_empty() && (comment == id || comment.starts_with(hash))
        })
        .map(|rule| {
            let text = |key: &str| rule.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            format!(
                "nftables rule in {} {} {} (handle {}): {}",
                text("family"),
                text("table"),
                text("chain"),
                rule.get("handle").and_then(Value::as_u64).unwrap_or_default(),
                text("comment")
            )
        })
        .collect()
}
