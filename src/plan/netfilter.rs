//! Plans of the netfilter features: ipMasq (bridge, ptp), portmap's DNAT
//! rules per mapping, the firewall's accept rules; each with the backend
//! the plugin would choose on this host, decided by the plugin's own code.

use cni::netfilter::{Backend, Owner};
use ipnetwork::IpNetwork;
use serde_json::{json, Map, Value};

use super::{Chain, Input, Section};

/// The backend as the plan words it.
fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Nftables => "nftables",
        Backend::Iptables => "iptables",
    }
}

/// ipMasq of `addresses`: the backend and the rules it writes.
pub(super) fn ip_masq(input: &Input, section: &mut Section, backend: Backend, addresses: &[IpNetwork]) {
    let network = &input.list.name;
    let container_id = &input.rt.container_id;
    let rules: Vec<String> = match backend {
        Backend::Iptables => {
            let chain = cni::netfilter::chain_name(network, container_id);
            let comment = cni::netfilter::iptables::comment_match(&cni::netfilter::iptables_comment(
                network,
                container_id,
            ));
            let mut rules = Vec::new();
            for a in addresses {
                let (host, multicast) = if a.is_ipv6() { (128, "ff00::/8") } else { (32, "224.0.0.0/4") };
                rules.push(format!("nat POSTROUTING: -s {}/{host} {comment} -j {chain}", a.ip()));
                rules.push(format!("nat {chain}: -d {}/{} {comment} -j ACCEPT", a.network(), a.prefix()));
                rules.push(format!("nat {chain}: ! -d {multicast} {comment} -j MASQUERADE"));
            }
            rules
        }
        Backend::Nftables => {
            let owner = Owner { network, ifname: &input.rt.ifname, container_id };
            let comment = cni::ipmasq::nft_comment(&owner);
            addresses
                .iter()
                .map(|a| {
                    let family = if a.is_ipv4() { "ip" } else { "ip6" };
                    format!(
                        "inet cni_plugins_masquerade masq_checks: {family} saddr {} {family} daddr != {}/{} masquerade comment {:?}",
                        a.ip(),
                        a.network(),
                        a.prefix(),
                        comment
                    )
                })
                .collect()
        }
    };
    let text = format!(
        "yes, with {} (chosen as the plugin chooses: {})\n{}",
        backend_name(backend),
        if cni::netfilter::iptables::available(false) {
            "iptables-restore is installed"
        } else {
            "no iptables-restore"
        },
        if rules.is_empty() { "no address to masquerade".to_string() } else { rules.join("\n") }
    );
    section.put_text("ipMasq", "ipMasq", json!({"backend": backend_name(backend), "rules": rules}), text);
}

/// portmap: the backend and, per mapping from the capability args, its DNAT.
pub(super) fn portmap(input: &Input, plugin: &Map<String, Value>, chain: &Chain, section: &mut Section) {
    let addresses = chain.known_addresses();
    let args = input.cmd_args(input.stdin(plugin));
    let plan = match portmap::plan::plan(&args, &addresses) {
        Ok(plan) => plan,
        Err(e) => return section.problem(e.msg),
    };
    section.put("backend", "backend", backend_name(plan.backend));
    let mappings: Vec<Value> = plan
        .mappings
        .iter()
        .map(|m| {
            let to: Vec<String> = addresses
                .iter()
                .filter(|a| m.applies_to(a.is_ipv6()))
                .map(|a| {
                    if a.is_ipv6() {
                        format!("[{}]:{}", a.ip(), m.container_port)
                    } else {
                        format!("{}:{}", a.ip(), m.container_port)
                    }
                })
                .collect();
            json!({
                "hostIP": m.host_ip.map(|h| h.to_string()),
                "hostPort": m.host_port,
                "containerPort": m.container_port,
                "protocol": m.protocol,
                "to": to,
            })
        })
        .collect();
    let texts: Vec<String> = mappings
        .iter()
        .map(|m| {
            format!(
                "{}/{}{} -> {}",
                m["hostPort"],
                m["protocol"].as_str().unwrap_or_default(),
                m["hostIP"].as_str().map(|h| format!(" on {h}")).unwrap_or_default(),
                super::text_of(&m["to"]).replace('\n', ", ")
            )
        })
        .collect();
    let none = if portmap_declared(plugin) {
        "none: no portMappings in the capability args (--cap-args)"
    } else {
        "none: the plugin declares no portMappings capability"
    };
    section.put_text(
        "mappings",
        "mappings",
        &mappings,
        if texts.is_empty() { none.into() } else { texts.join("\n") },
    );
    if !plan.mappings.is_empty() && chain.addresses.is_none() {
        section.put(
            "rules",
            "rules",
            "not known: the container's addresses come from a plugin whose answer the plan cannot know",
        );
        return;
    }
    let rules: Vec<Value> =
        plan.rules.iter().map(|r| json!({"table": r.table, "chain": r.chain, "rule": r.rule})).collect();
    let texts: Vec<String> =
        plan.rules.iter().map(|r| format!("{} {}: {}", r.table, r.chain, r.rule)).collect();
    section.put_text(
        "rules",
        "rules",
        rules,
        if texts.is_empty() { "none".into() } else { texts.join("\n") },
    );
    if plan.snat && !plan.mappings.is_empty() {
        section.put("snat", "hairpin/localhost SNAT", true);
    }
}

/// True when the plugin declares the portMappings capability.
fn portmap_declared(plugin: &Map<String, Value>) -> bool {
    use cni::gojson::GoKeys;
    plugin.go_get("capabilities").and_then(|c| c.go_get("portMappings")).and_then(Value::as_bool)
        == Some(true)
}

/// firewall: the backend this host gives it, and the accept rules of the
/// container's addresses.
pub(super) fn firewall(input: &Input, plugin: &Map<String, Value>, chain: &Chain, section: &mut Section) {
    let addresses = chain.known_addresses();
    let args = input.cmd_args(input.stdin(plugin));
    let plan = match firewall::plan::plan(&args, &addresses) {
        Ok(plan) => plan,
        Err(e) => return section.problem(e.msg),
    };
    if plan.backend == "none" {
        section.problem(plan.why.clone());
    }
    section.put_text("backend", "backend", plan.backend, format!("{}: {}", plan.backend, plan.why));
    section.put("ingressPolicy", "ingressPolicy", plan.ingress_policy);
    if plan.ingress_policy != "open" {
        let bridge =
            chain.bridge.clone().unwrap_or_else(|| "(the first interface of the previous result)".into());
        section.put("isolatedBridge", "isolation rules for", bridge);
    }
    if chain.addresses.is_none() {
        section.put(
            "rules",
            "rules",
            "not known: the container's addresses come from a plugin whose answer the plan cannot know",
        );
        return;
    }
    let rules: Vec<Value> =
        plan.rules.iter().map(|r| json!({"table": r.table, "chain": r.chain, "rule": r.rule})).collect();
    let texts: Vec<String> =
        plan.rules.iter().map(|r| format!("{} {}: {}", r.table, r.chain, r.rule)).collect();
    section.put_text(
        "rules",
        "rules",
        rules,
        if texts.is_empty() { "none".into() } else { texts.join("\n") },
    );
}
