//! What a stale attachment still holds outside its namespace, found by its
//! identity, so that `gc --dry-run` names each object the chain's DEL will
//! remove: host interfaces of its cached result, the bandwidth plugin's ifb
//! device, iptables rules and chains whose comments carry its container ID
//! (and the chains they jump to), and nftables rules whose comments carry
//! the ID or the attachment's hash. A listing that failed is kept with
//! its reason, never taken for no rules. Read only; nothing here changes
//! state.

use std::path::Path;

use cni::netfilter::{iptables, nftnl, Owner};
use serde_json::Value;

use super::cache::CachedAttachment;

/// The host's rules, read once for every attachment looked at: four
/// iptables-save runs and an nft listing each time would cost a command
/// as many times as it has stale attachments. A listing that failed keeps
/// its reason: rules that could not be read are never taken for none.
pub struct Rules {
    /// (tool, table, its iptables-save text or why it could not be read)
    /// per family and table whose tools are installed.
    saved: Vec<(&'static str, &'static str, Result<String, String>)>,
    /// The rules of `nft -j list ruleset`, or why they could not be listed.
    nft: Result<Vec<Value>, String>,
}

impl Rules {
    /// The ruleset now: one `iptables-save` per family, whose tables are
    /// split from its text (`-t nat` would load legacy iptables' nat table
    /// on a host that has none: a change a read-only command must not make).
    pub fn read() -> Rules {
        let mut saved = Vec::new();
        for ipv6 in [false, true] {
            if !iptables::available(ipv6) {
                continue;
            }
            let all = save_all(ipv6);
            for table in ["nat", "filter"] {
                let text = all
                    .as_deref()
                    .map(|all| cni::netfilter::iptables::table_of(all, table))
                    .map_err(String::clone);
                saved.push((tool_name(ipv6), table, text));
            }
        }
        Rules { saved, nft: nft_rules() }
    }

    /// Rules as given, for unit tests of what reads them.
    #[cfg(test)]
    pub(crate) fn of(
        saved: Vec<(&'static str, &'static str, Result<String, String>)>,
        nft: Result<Vec<Value>, String>,
    ) -> Rules {
        Rules { saved, nft }
    }

    /// The `iptables-save` text of one family's table, when its tool is
    /// there and the table could be read ([`Rules::table`] says why not).
    pub fn saved(&self, ipv6: bool, table: &str) -> Option<&str> {
        self.table(ipv6, table).ok()
    }

    /// The `iptables-save` text of one family's table, or why it could
    /// not be read (the tool is not installed, or it failed).
    pub fn table(&self, ipv6: bool, table: &str) -> Result<&str, String> {
        let tool = tool_name(ipv6);
        match self.saved.iter().find(|(t, name, _)| *t == tool && *name == table) {
            Some((_, _, Ok(text))) => Ok(text.as_str()),
            Some((_, _, Err(why))) => Err(why.clone()),
            None => Err(format!("{tool}-save not found")),
        }
    }

    /// Every nftables rule, as objects of `nft -j list ruleset`, or why
    /// they could not be listed (no `nft`, or it failed).
    pub fn nft(&self) -> Result<&[Value], &str> {
        self.nft.as_deref().map_err(String::as_str)
    }
}

/// Every table of one family as `iptables-save` prints them, or why not.
fn save_all(ipv6: bool) -> Result<String, String> {
    let name = format!("{}-save", tool_name(ipv6));
    let tool = cni::netfilter::find_tool(&name).ok_or_else(|| format!("{name} not found"))?;
    let out = cni::netfilter::run_tool(&tool, &[], "").map_err(|e| e.msg)?;
    if !out.success {
        return Err(format!("{} failed: {}", tool.display(), out.stderr));
    }
    Ok(out.stdout)
}

fn tool_name(ipv6: bool) -> &'static str {
    if ipv6 {
        "ip6tables"
    } else {
        "iptables"
    }
}

/// Each object, as a line for the operator. A listing that could not be
/// read is a line too, saying so: a failed listing never reads as nothing
/// left.
pub fn footprint(entry: &CachedAttachment, rules: &Rules) -> Vec<String> {
    let mut found = Vec::new();
    for interface in crate::inspect::host_interfaces(entry.result.as_ref()) {
        // A bridge is the network's, shared by its attachments: DEL keeps it.
        if link_exists(&interface) && !is_bridge(&interface) {
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

fn is_bridge(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).join("bridge").exists()
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
        let saved = match saved {
            Ok(text) => text,
            Err(why) => {
                found.push(format!("{tool} rules not read ({why}): any of its rules there are not shown"));
                continue;
            }
        };
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

/// The rules of `nft -j list ruleset`, or why they could not be listed:
/// `nft` is not installed, failed, or printed what is not its JSON.
fn nft_rules() -> Result<Vec<Value>, String> {
    let nft = cni::netfilter::find_tool("nft").ok_or("nft not found")?;
    let out = cni::netfilter::run_tool(&nft, &["-j", "list", "ruleset"], "").map_err(|e| e.msg)?;
    if !out.success {
        return Err(format!("nft -j list ruleset failed: {}", out.stderr));
    }
    let listing = serde_json::from_str::<Value>(&out.stdout)
        .map_err(|e| format!("nft -j list ruleset printed no JSON: {e}"))?;
    let Some(items) = listing.get("nftables").and_then(Value::as_array) else {
        return Err("nft -j list ruleset printed no \"nftables\" list".into());
    };
    Ok(items.iter().filter_map(|item| item.get("rule").cloned()).collect())
}

/// nftables rules commented with the container ID (portmap's, cut to what
/// nft keeps) or starting with the attachment's hash (ipMasq's, the
/// firewall's).
fn nftables_rules(rules: &Rules, container_id: &str, hash: &str) -> Vec<String> {
    let id = nftnl::fit_comment(container_id.to_string());
    let listed = match rules.nft() {
        Ok(listed) => listed,
        Err(why) => {
            return vec![format!("nftables rules not listed ({why}): any of its rules there are not shown")]
        }
    };
    listed
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_that_failed_are_named_not_taken_for_none() {
        let rules = Rules::of(
            vec![("iptables", "nat", Err("iptables-save -t nat: locked".into()))],
            Err("nft -j list ruleset failed: no permission".into()),
        );
        assert_eq!(rules.table(false, "nat"), Err("iptables-save -t nat: locked".to_string()));
        assert_eq!(rules.table(true, "nat"), Err("ip6tables-save not found".to_string()));
        assert!(rules.saved(false, "nat").is_none());
        let lines = iptables_rules(&rules, "c1");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("iptables rules not read (iptables-save -t nat: locked)"), "{lines:?}");
        let lines = nftables_rules(&rules, "c1", "hash");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("nftables rules not listed (nft -j list ruleset failed: no permission)"));
    }
}
