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

/// ipMasq of `addresses`: the backend and the rules it writes, spelled
/// as `iptables-save` or `nft list` shows them.
/// `named`: the netconf's ipMasqBackend chose it (else the reference's default).
pub(super) fn ip_masq(
    input: &Input,
    section: &mut Section,
    backend: Backend,
    named: bool,
    addresses: &[IpNetwork],
) {
    let network = &input.list.name;
    let container_id = &input.rt.container_id;
    let mut rules: Vec<(String, String, String)> = Vec::new();
    match backend {
        Backend::Iptables => {
            let chain = cni::netfilter::chain_name(network, container_id);
            let comment = cni::netfilter::iptables::comment_match(&cni::netfilter::iptables_comment(
                network,
                container_id,
            ));
            for a in addresses {
                let (table, host, multicast) =
                    if a.is_ipv6() { ("ip6 nat", 128, "ff00::/8") } else { ("ip nat", 32, "224.0.0.0/4") };
                let mut add = |chain: &str, rule: String| rules.push((table.into(), chain.into(), rule));
                add("POSTROUTING", format!("-s {}/{host} {comment} -j {chain}", a.ip()));
                add(&chain, format!("-d {}/{} {comment} -j ACCEPT", a.network(), a.prefix()));
                add(&chain, format!("! -d {multicast} {comment} -j MASQUERADE"));
            }
        }
        Backend::Nftables => {
            let owner = Owner { network, ifname: &input.rt.ifname, container_id };
            let comment = cni::netfilter::go_quote(&cni::ipmasq::nft_comment(&owner));
            for a in addresses {
                let family = if a.is_ipv4() { "ip" } else { "ip6" };
                rules.push((
                    "inet cni_plugins_masquerade".into(),
                    "masq_checks".into(),
                    format!(
                        "{family} saddr {} {family} daddr != {}/{} masquerade comment {comment}",
                        a.ip(),
                        a.network(),
                        a.prefix()
                    ),
                ));
            }
        }
    }
    let texts: Vec<String> = rules.iter().map(|(t, c, r)| format!("{t} {c}: {r}")).collect();
    let why = match (named, cni::netfilter::iptables::available(false)) {
        (true, _) => "ipMasqBackend names it",
        (false, true) => "none named, and iptables-restore is installed (the reference's choice)",
        (false, false) => "none named, and iptables-restore is not installed",
    };
    let text = format!(
        "yes, with {}: {why}\n{}",
        backend_name(backend),
        if texts.is_empty() { "no address to masquerade".to_string() } else { texts.join("\n") }
    );
    let rules: Vec<Value> =
        rules.iter().map(|(t, c, r)| json!({"table": t, "chain": c, "rule": r})).collect();
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
                if chain.addresses.is_none() {
                    format!("the container's address, port {}", m["containerPort"])
                } else {
                    super::text_of(&m["to"]).replace('\n', ", ")
                }
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
        section.put("rules", "rules", RULES_NOT_KNOWN);
        return;
    }
    put_rules(section, &plan.rules);
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
    let plan = match firewall::plan::plan(&args, &addresses, chain.bridge.as_deref()) {
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
        section.put("rules", "rules", RULES_NOT_KNOWN);
        return;
    }
    put_rules(section, &plan.rules);
}

/// What the plan says of rules that name addresses a foreign plugin hands out.
const RULES_NOT_KNOWN: &str =
    "not known: the container's addresses come from a plugin whose answer the plan cannot know";

/// A plugin's planned rules: `{table, chain, rule}` objects in JSON, a line
/// each in the table.
fn put_rules(section: &mut Section, planned: &[cni::netfilter::PlannedRule]) {
    let rules: Vec<Value> =
        planned.iter().map(|r| json!({"table": r.table, "chain": r.chain, "rule": r.rule})).collect();
    let texts: Vec<String> = planned.iter().map(|r| format!("{} {}: {}", r.table, r.chain, r.rule)).collect();
    section.put_text(
        "rules",
        "rules",
        rules,
        if texts.is_empty() { "none".into() } else { texts.join("\n") },
    );
}
