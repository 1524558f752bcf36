//! Plans of the IPAM plugins: the address host-local would hand out next
//! (its own range arithmetic over a read-only listing of its store),
//! static's addresses, dhcp's "from the server"; routes and DNS.

use std::net::IpAddr;

use cni::gojson::GoKeys;
use ipnetwork::IpNetwork;
use serde_json::{json, Map, Value};

use super::{key_str, Chain, Input, Section};

/// The IPAM section of `plugin` (whose type is `owner`), if it has one;
/// the chain's addresses become what it hands out.
pub(super) fn plan(
    input: &Input,
    plugin: &Map<String, Value>,
    owner: &str,
    chain: &mut Chain,
) -> Option<Section> {
    let ipam = plugin.go_get("ipam").and_then(Value::as_object)?;
    let ipam_type = key_str(ipam, "type").unwrap_or_default().to_string();
    if ipam_type.is_empty() {
        return None;
    }
    let mut section = super::Section::new(&ipam_type);
    section.ipam_of = Some(owner.to_string());
    match ipam_type.as_str() {
        "host-local" => host_local(input, plugin, chain, &mut section),
        "static" => static_ipam(input, plugin, chain, &mut section),
        "dhcp" => {
            let socket = key_str(ipam, "daemonSocketPath").unwrap_or(dhcp::config::DEFAULT_SOCKET_PATH);
            section.put(
                "addresses",
                "addresses",
                format!("from the DHCP server via the daemon at {socket} (a lease for {})", input.rt.ifname),
            );
            chain.addresses = None;
        }
        other => {
            section.ours = false;
            section.put(
                "note",
                "plan",
                format!("not ours: cannot say what a {other:?} IPAM plugin hands out"),
            );
            chain.addresses = None;
        }
    }
    Some(section)
}

/// host-local: per range set, the next free address after the last one
/// handed out, or why there is none; nothing is reserved.
fn host_local(input: &Input, plugin: &Map<String, Value>, chain: &mut Chain, section: &mut Section) {
    let stdin = input.stdin(plugin);
    let preview =
        match host_local::preview(&stdin, &input.cni_args(), &input.rt.container_id, &input.rt.ifname) {
            Ok(preview) => preview,
            Err(e) => {
                chain.addresses = None;
                return section.problem(e.msg);
            }
        };
    let mut found = Vec::new();
    let mut sets = Vec::new();
    let mut texts = Vec::new();
    for set in &preview.sets {
        let how = if set.requested { "requested" } else { "next free" };
        let text = match (&set.address, &set.problem) {
            (Some(address), _) => {
                found.push((*address, set.gateway));
                let after = set.last_reserved.map(|l| format!(", after {l}")).unwrap_or_default();
                format!(
                    "{address} ({how} in {}{after}; {} of {} reserved)",
                    set.range_set, set.reserved, set.capacity
                )
            }
            (None, Some(problem)) => {
                section.problem(problem.clone());
                let full = if set.reserved >= set.capacity { "FULL: " } else { "" };
                format!("{full}{problem} ({} of {} reserved)", set.reserved, set.capacity)
            }
            (None, None) => "none".to_string(),
        };
        texts.push(text);
        sets.push(json!({
            "rangeSet": set.range_set,
            "address": set.address.map(|a| a.to_string()),
            "gateway": set.gateway.map(|g| g.to_string()),
            "requested": set.requested,
            "lastReserved": set.last_reserved.map(|l| l.to_string()),
            "reserved": set.reserved as u64,
            "capacity": set.capacity as u64,
            "full": set.reserved >= set.capacity,
            "problem": set.problem,
        }));
    }
    section.put_text("ranges", "address", sets, texts.join("\n"));
    for ip in &preview.unplaced {
        section.problem(format!("failed to allocate all requested IPs: {ip}"));
    }
    let gateways: Vec<String> = found.iter().filter_map(|(_, g)| g.map(|g| g.to_string())).collect();
    section.put("gateways", "gateway (reported)", gateways);
    routes(section, preview.routes.iter().map(|r| (r.dst, r.gw)).collect());
    section.put(
        "store",
        "reservations",
        format!("{} (nothing reserved by this plan)", preview.store.display()),
    );
    if let Some(resolv) = &preview.resolv_conf {
        section.put("dns", "DNS", format!("from {resolv}"));
    }
    chain.addresses = Some(found);
}

/// The routes a result reports.
fn routes(section: &mut Section, routes: Vec<(IpNetwork, Option<IpAddr>)>) {
    let list: Vec<String> = routes
        .iter()
        .map(|(dst, gw)| gw.map_or_else(|| dst.to_string(), |g| format!("{dst} via {g}")))
        .collect();
    section.put("routes", "routes", list);
}

/// static: the addresses (the netconf's, CNI_ARGS' IP and GATEWAY,
/// `args.cni.ips` and `runtimeConfig.ips`, as static's ADD reads them),
/// routes and DNS.
fn static_ipam(input: &Input, plugin: &Map<String, Value>, chain: &mut Chain, section: &mut Section) {
    let (ips, routes_list, dns) = match r#static::planned(&input.stdin(plugin), &input.cni_args()) {
        Ok(planned) => planned,
        Err(e) => {
            section.problem(e.msg);
            chain.addresses = Some(Vec::new());
            return;
        }
    };
    let found: Vec<(IpNetwork, Option<IpAddr>)> = ips.iter().map(|ip| (ip.address, ip.gateway)).collect();
    let texts: Vec<String> = found
        .iter()
        .map(|(a, g)| g.map_or_else(|| a.to_string(), |g| format!("{a} (gateway {g})")))
        .collect();
    section.put_text(
        "addresses",
        "addresses",
        &texts,
        if texts.is_empty() { "none".into() } else { texts.join("\n") },
    );
    routes(section, routes_list.into_iter().map(|r| (r.dst, r.gw)).collect());
    if dns != cni::result::Dns::default() {
        section.put("dns", "DNS", dns);
    }
    chain.addresses = Some(found);
}
