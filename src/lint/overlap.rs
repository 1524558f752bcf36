//! Subnets that overlap: a config's IPAM subnets (host-local's `subnet`
//! and `ranges`, static's `addresses`) against every other network's in
//! the config dir, and against the host's addresses and routes (read with
//! `cni::netlink` in cnictl's namespace). Either makes some destination
//! ambiguous: a container may get an address the host or another
//! network already uses. What this network itself puts on the host is not
//! an overlap: its bridge (and gateway), the host ends of its cached
//! attachments, and the master of a macvlan, ipvlan or vlan network,
//! which shares the LAN's subnet by design.

use std::collections::BTreeSet;

use cni::gojson::GoKeys;
use cni::jsonpos::{display, Seg};
use cni::netlink::Netlink;
use ipnetwork::IpNetwork;
use serde_json::{Map, Value};

use super::{At, Lint};
use crate::commands::Context;
use crate::inspect;
use crate::runtime::config::{load_file, network_files, NetworkList};
use crate::runtime::free_subnet::{host_used, overlaps as share_addresses};

/// A subnet a config hands out, and where it is written.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// The network (a static address's own network).
    pub net: IpNetwork,
    /// The plugin of the chain whose `ipam` has it.
    pub plugin: usize,
    /// Its path within that plugin's object.
    pub path: Vec<Seg>,
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

/// The member of `object` Go's decoder reads for `field`, with its key as written.
fn member<'v>(object: &'v Map<String, Value>, field: &str) -> Option<(&'v String, &'v Value)> {
    object.get_key_value(field).or_else(|| object.iter().rev().find(|(k, _)| cni::gojson::fold_eq(field, k)))
}

fn push(found: &mut Vec<Subnet>, text: Option<&Value>, plugin: usize, path: Vec<Seg>) {
    let Some(net) = text.and_then(Value::as_str).and_then(|t| t.trim().parse::<IpNetwork>().ok()) else {
        return;
    };
    // A static address's network: 10.1.2.3/24 is 10.1.2.0/24.
    let Ok(net) = IpNetwork::new(net.network(), net.prefix()) else { return };
    found.push(Subnet { net, plugin, path });
}

/// The subnets the chain's IPAM sections hand out, each where it is written.
pub fn subnets(list: &NetworkList) -> Vec<Subnet> {
    let mut found = Vec::new();
    for (index, plugin) in list.plugins.iter().enumerate() {
        let Some((ipam_key, Value::Object(ipam))) = member(plugin, "ipam") else { continue };
        let base = vec![key(ipam_key)];
        if let Some((k, v)) = member(ipam, "subnet") {
            push(&mut found, Some(v), index, [base.clone(), vec![key(k)]].concat());
        }
        if let Some((ranges_key, Value::Array(sets))) = member(ipam, "ranges") {
            for (i, set) in sets.iter().enumerate() {
                for (j, range) in set.as_array().into_iter().flatten().enumerate() {
                    let Some((k, v)) = range.as_object().and_then(|r| member(r, "subnet")) else { continue };
                    let path =
                        [base.clone(), vec![key(ranges_key), Seg::Index(i), Seg::Index(j), key(k)]].concat();
                    push(&mut found, Some(v), index, path);
                }
            }
        }
        if let Some((addresses_key, Value::Array(addresses))) = member(ipam, "addresses") {
            for (i, address) in addresses.iter().enumerate() {
                let Some((k, v)) = address.as_object().and_then(|a| member(a, "address")) else { continue };
                push(
                    &mut found,
                    Some(v),
                    index,
                    [base.clone(), vec![key(addresses_key), Seg::Index(i), key(k)]].concat(),
                );
            }
        }
    }
    found
}

/// `FILE:LINE:COLUMN` of a subnet of another network, for naming it.
fn place_of(list: &NetworkList, subnet: &Subnet) -> String {
    let mut prefix = Vec::new();
    if list.source.extension().and_then(|x| x.to_str()) == Some("conflist") {
        prefix = vec![key("plugins"), Seg::Index(subnet.plugin)];
    }
    let mut place = list.source.display().to_string();
    if let Some((line, column)) = cni::jsonpos::locate_go(&list.bytes, &prefix, &subnet.path) {
        place = format!("{place}:{line}:{column}");
    }
    place
}

/// Overlaps with the other networks of the config dir (not this one's name).
fn with_networks(ctx: &Context, list: &NetworkList, mine: &[Subnet]) -> Vec<Lint> {
    let files = network_files(&ctx.conf_dir).unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for file in files {
        let Ok(other) = load_file(&file) else { continue };
        // libcni takes the first file of a name; the others are never used.
        if other.name == list.name || file == list.source || !seen.insert(other.name.clone()) {
            continue;
        }
        for theirs in subnets(&other) {
            for ours in mine.iter().filter(|ours| share_addresses(ours.net, theirs.net)) {
                let message = format!(
                    "subnet {} overlaps subnet {} of network {} ({})",
                    ours.net,
                    theirs.net,
                    other.name,
                    place_of(&other, &theirs)
                );
                out.push(Lint::warning(At { plugin: Some(ours.plugin), path: ours.path.clone() }, message));
            }
        }
    }
    out
}

/// The host interfaces this network itself uses: its bridges, the masters
/// of its child links, and the host ends of its cached attachments.
fn own_interfaces(ctx: &Context, list: &NetworkList) -> BTreeSet<String> {
    let mut own: BTreeSet<String> = inspect::bridges(list).into_iter().collect();
    for plugin in &list.plugins {
        let plugin_type = plugin.go_get("type").and_then(Value::as_str).unwrap_or_default();
        let name =
            |k: &str| plugin.go_get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        match plugin_type {
            "tap" => own.extend(name("bridge")),
            "macvlan" | "ipvlan" | "vlan" => own.extend(name("master")),
            _ => {}
        }
    }
    for entry in ctx.runtime.cache.list().into_iter().filter(|e| e.network == list.name) {
        own.extend(inspect::host_interfaces(entry.result.as_ref()));
    }
    own
}

/// Overlaps with the host's addresses and main-table routes, except on
/// this network's own interfaces; a master-less child link's default
/// route interface counts as its own too.
fn with_host(ctx: &Context, list: &NetworkList, mine: &[Subnet]) -> Vec<Lint> {
    let Ok(host) = host_used() else { return Vec::new() };
    let mut own = own_interfaces(ctx, list);
    let child_without_master = list.plugins.iter().any(|p| {
        let t = p.go_get("type").and_then(Value::as_str).unwrap_or_default();
        matches!(t, "macvlan" | "ipvlan" | "vlan")
            && p.go_get("master").and_then(Value::as_str).is_none_or(str::is_empty)
    });
    if child_without_master {
        own.extend(default_route_devices());
    }
    let mut out = Vec::new();
    // A connected route says again what its address said.
    for used in host.iter().filter(|u| !u.connected && u.dev.as_ref().is_none_or(|d| !own.contains(d))) {
        for ours in mine.iter().filter(|ours| share_addresses(ours.net, used.subnet)) {
            let message = format!("subnet {} overlaps {}", ours.net, used.by);
            out.push(Lint::warning(At { plugin: Some(ours.plugin), path: ours.path.clone() }, message));
        }
    }
    out
}

/// The interfaces the host's default routes leave by: a macvlan, ipvlan or
/// vlan without a master takes the first.
fn default_route_devices() -> Vec<String> {
    let Ok(netlink) = Netlink::open() else { return Vec::new() };
    let Ok(links) = netlink.links() else { return Vec::new() };
    let mut routes = netlink.routes(false).unwrap_or_default();
    routes.extend(netlink.routes(true).unwrap_or_default());
    routes
        .iter()
        .filter(|r| r.dst.prefix() == 0)
        .filter_map(|r| links.iter().find(|l| l.index == r.oif).map(|l| l.name.clone()))
        .collect()
}

/// Every overlap of the list's subnets with another's, each finding
/// naming both sides.
pub fn overlaps(ctx: &Context, list: &NetworkList) -> Vec<Lint> {
    let mine = subnets(list);
    if mine.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, a) in mine.iter().enumerate() {
        for b in mine.iter().skip(i + 1).filter(|b| b.plugin != a.plugin && share_addresses(a.net, b.net)) {
            let message = format!(
                "subnet {} overlaps subnet {} at {} of the same network",
                a.net,
                b.net,
                display(&b.path)
            );
            out.push(Lint::warning(At { plugin: Some(a.plugin), path: a.path.clone() }, message));
        }
    }
    out.extend(with_networks(ctx, list, &mine));
    out.extend(with_host(ctx, list, &mine));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_found_where_they_are_written() {
        let text = br#"{"cniVersion": "1.0.0", "name": "n", "plugins": [
            {"type": "bridge", "IPAM": {"type": "host-local", "subnet": "10.172.9.0/24",
             "Ranges": [[{"subnet": "10.172.8.0/24"}], [{"subnet": "fd00:172::/64"}]]}},
            {"type": "macvlan", "ipam": {"type": "static", "addresses": [{"address": "10.172.7.5/24"}]}}]}"#;
        let list = cni::conflist::parse_conflist(text, std::path::Path::new("n.conflist")).unwrap();
        let found: Vec<(String, String)> =
            subnets(&list).iter().map(|s| (s.net.to_string(), display(&s.path))).collect();
        assert_eq!(
            found,
            [
                ("10.172.9.0/24".to_string(), "IPAM.subnet".to_string()),
                ("10.172.8.0/24".to_string(), "IPAM.Ranges[0][0].subnet".to_string()),
                ("fd00:172::/64".to_string(), "IPAM.Ranges[1][0].subnet".to_string()),
                ("10.172.7.0/24".to_string(), "ipam.addresses[0].address".to_string()),
            ]
        );
        assert!(share_addresses("10.0.0.0/8".parse().unwrap(), "10.172.9.0/24".parse().unwrap()));
        assert!(!share_addresses("10.172.8.0/24".parse().unwrap(), "10.172.9.0/24".parse().unwrap()));
    }
}
