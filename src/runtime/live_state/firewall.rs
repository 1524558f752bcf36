//! The firewall plugin's rules for one attachment: in iptables, the accept
//! rules of its addresses in `CNI-FORWARD`; in nftables, the rules of the
//! plugin's table whose comments start with the attachment's hash.
//! firewalld's zone sources are not read here.

use std::net::IpAddr;

use cni::gojson::GoKeys;
use cni::netfilter::Owner;
use serde::Serialize;
use serde_json::Value;

use crate::runtime::footprint::Rules;

/// The firewall section of an attachment.
#[derive(Debug, Clone, Serialize)]
pub struct FirewallState {
    /// The backend the netconf names (`iptables`, `nftables`,
    /// `firewalld`), or where the rules were found, else `auto`.
    pub backend: String,
    /// The attachment's rules found, in either backend.
    pub rules: Vec<String>,
    /// No rule of the attachment found where its backend's rules could
    /// be listed (never set on a guess: firewalld, or a listing not read).
    pub missing: bool,
    /// Why some of the rules its backend may hold could not be listed (a
    /// tool missing, or its listing failed): what was not read is never
    /// taken for no rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// The attachment's firewall rules, for the firewall netconf `plugin`.
pub fn read(plugin: &Value, owner: &Owner, addresses: &[IpAddr], rules: &Rules) -> FirewallState {
    let mut found = Vec::new();
    let mut in_iptables = false;
    let mut iptables_unread = Vec::new();
    for ipv6 in [false, true] {
        let saved = match rules.table(ipv6, "filter") {
            Ok(saved) => saved,
            Err(why) => {
                if addresses.iter().any(|a| a.is_ipv6() == ipv6) {
                    iptables_unread.push(why);
                }
                continue;
            }
        };
        let tool = if ipv6 { "ip6tables" } else { "iptables" };
        for address in addresses.iter().filter(|a| a.is_ipv6() == ipv6) {
            let host = format!("{address}/{}", if ipv6 { 128 } else { 32 });
            let chain = format!("-A {} ", firewall::PRIV_CHAIN);
            for line in saved.lines().filter(|l| l.starts_with(&chain)) {
                if line.contains(&format!("-s {host} ")) || line.contains(&format!("-d {host} ")) {
                    in_iptables = true;
                    found.push(format!("{tool} filter: {line}"));
                }
            }
        }
    }
    let hash = owner.hash();
    let mut in_nftables = false;
    let (listed, nft_unread) = match rules.nft() {
        Ok(listed) => (listed, None),
        Err(why) => (&[][..], Some(why.to_string())),
    };
    for rule in listed {
        let text = |key: &str| rule.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        if text("table") == firewall::NFT_TABLE && text("comment").starts_with(&hash) {
            in_nftables = true;
            found.push(format!(
                "nftables {} {} {} (handle {}): {}",
                text("family"),
                text("table"),
                text("chain"),
                rule.get("handle").and_then(Value::as_u64).unwrap_or(0),
                nft_summary(rule)
            ));
        }
    }
    let named = plugin.go_get("backend").and_then(Value::as_str).unwrap_or_default();
    let backend = match (named, in_iptables, in_nftables) {
        ("", true, false) => "iptables".to_string(),
        ("", false, true) => "nftables".to_string(),
        ("", _, _) => "auto".to_string(),
        (named, _, _) => named.to_string(),
    };
    // Missing only where every listing its backend's rules may be in was
    // read: what could not be read is unknown, never missing.
    let unread: Vec<String> = match backend.as_str() {
        "nftables" => nft_unread.into_iter().collect(),
        "iptables" => iptables_unread,
        "firewalld" => Vec::new(),
        _ => iptables_unread.into_iter().chain(nft_unread).collect(),
    };
    let unknown = (!unread.is_empty()).then(|| unread.join("; "));
    let missing =
        found.is_empty() && unknown.is_none() && matches!(backend.as_str(), "nftables" | "iptables");
    FirewallState { backend, rules: found, missing, unknown }
}

/// A rule's matches and verdict in few words: `ip saddr 10.1.0.2 accept`.
fn nft_summary(rule: &Value) -> String {
    let exprs = rule.get("expr").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut words = Vec::new();
    for expr in &exprs {
        if let Some(m) = expr.get("match") {
            let left = m.get("left").cloned().unwrap_or_default();
            let what = if let Some(p) = left.get("payload") {
                format!(
                    "{} {}",
                    p.get("protocol").and_then(Value::as_str).unwrap_or_default(),
                    p.get("field").and_then(Value::as_str).unwrap_or_default()
                )
            } else if let Some(ct) = left.get("ct") {
                format!("ct {}", ct.get("key").and_then(Value::as_str).unwrap_or_default())
            } else {
                "match".into()
            };
            let right = match m.get("right") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
                }
                Some(other) => other.to_string(),
                None => String::new(),
            };
            words.push(format!("{what} {right}"));
        }
        for verdict in ["accept", "drop", "jump", "return"] {
            if expr.get(verdict).is_some() {
                words.push(verdict.to_string());
            }
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_listing_not_read_is_unknown_not_missing() {
        let owner = Owner { network: "net", ifname: "eth0", container_id: "c1" };
        let addresses: Vec<IpAddr> = vec!["10.1.0.2".parse().unwrap()];
        let failed = Rules::of(
            vec![("iptables", "filter", Err("iptables-save -t filter: locked".into()))],
            Err("nft -j list ruleset failed: no permission".into()),
        );
        for backend in ["iptables", "nftables", ""] {
            let state = read(&json!({"type": "firewall", "backend": backend}), &owner, &addresses, &failed);
            assert!(!state.missing, "{backend}");
            assert!(state.unknown.is_some(), "{backend}");
        }
        let listed = Rules::of(vec![("iptables", "filter", Ok(String::new()))], Ok(Vec::new()));
        for backend in ["iptables", "nftables"] {
            let state = read(&json!({"type": "firewall", "backend": backend}), &owner, &addresses, &listed);
            assert!(state.missing, "{backend}");
            assert_eq!(state.unknown, None, "{backend}");
        }
    }
}
