//! Plans of the plugins that make the container interface (bridge, ptp,
//! macvlan, ipvlan, vlan, host-device, tap, dummy, loopback) and of the
//! routing ones (sbr, vrf).

use ipnetwork::IpNetwork;
use serde_json::{json, Map, Value};

use super::{host_link, ipam, key_str, netfilter, Chain, Input, Section};
use cni::gojson::GoKeys;

/// The veth pair every veth plugin makes: the container end named
/// `ifname` in the netns, the host end `veth` and random hex.
fn veth(input: &Input, section: &mut Section, mtu: u32, mac: Option<String>) {
    let ifname = &input.rt.ifname;
    let mtu_text = if mtu == 0 { "the kernel's default MTU".to_string() } else { format!("MTU {mtu}") };
    let mac_text = mac.as_ref().map_or("a MAC the kernel picks".to_string(), |m| format!("MAC {m}"));
    section.put_text(
        "containerInterface",
        "container interface",
        json!({"name": ifname, "kind": "veth", "mtu": mtu, "mac": mac}),
        format!("{ifname} in the netns: veth, {mtu_text}, {mac_text}"),
    );
    section.put(
        "hostVeth",
        "host veth",
        "veth + 8 random hex digits (named when made), the peer of the container end",
    );
}

/// bridge: the bridge (made or already there), the veth pair and its port
/// settings, the gateway addresses and default route, ipMasq.
pub(super) fn bridge(
    input: &Input,
    plugin: &Map<String, Value>,
    chain: &mut Chain,
    section: &mut Section,
    ipam_section: &mut Option<Section>,
) {
    let args = input.cmd_args(input.stdin(plugin));
    let plan = match bridge::config::plan(&args) {
        Ok(plan) => plan,
        Err(e) => return section.problem(e.msg),
    };
    let b = &plan.conf.bridge;
    let name = b.bridge.clone();
    let existing = host_link(&name);
    let (state, present) = match &existing {
        Some((link, addresses)) if matches!(link.kind, cni::netlink::LinkKind::Bridge) => {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            let text = format!(
                "{name}: already there (MTU {}, {}, addresses: {})",
                link.mtu,
                if link.up { "up" } else { "down" },
                if list.is_empty() { "none".to_string() } else { list.join(" ") }
            );
            (("present", text), addresses.clone())
        }
        Some((link, _)) => {
            section.problem(format!("{name:?} already exists but is not a bridge ({:?})", link.kind));
            (("not a bridge", format!("{name}: exists but is not a bridge")), Vec::new())
        }
        None => {
            let mtu =
                if b.mtu == 0 { "the kernel's default MTU".to_string() } else { format!("MTU {}", b.mtu) };
            let filtering =
                if plan.conf.vlan != 0 || !plan.conf.trunk.is_empty() { ", VLAN filtering on" } else { "" };
            (
                ("created", format!("{name}: created by this ADD ({mtu}{filtering}), and brought up")),
                Vec::new(),
            )
        }
    };
    section.put_text("bridge", "bridge", json!({"name": name, "state": state.0}), state.1);
    if !b.disable_container_interface {
        veth(input, section, b.mtu, plan.conf.mac.map(|m| cni::netlink::format_mac(&m)));
    } else {
        section.put("containerInterface", "container interface", "left down (disableContainerInterface)");
    }
    section.put("hairpinMode", "hairpin mode", b.hairpin_mode);
    section.put("promiscMode", "promiscuous bridge", b.promisc_mode);
    if b.port_isolation {
        section.put("portIsolation", "port isolation", true);
    }
    if plan.conf.vlan != 0 || !plan.conf.trunk.is_empty() {
        section.put("vlan", "vlan", json!({"access": plan.conf.vlan, "trunk": plan.conf.trunk, "preserveDefaultVlan": b.preserve_default_vlan}));
    }
    if b.mac_spoof_check {
        section.put(
            "macspoofchk",
            "MAC spoof check",
            "nftables table bridge nat: drop frames from the container end with another source MAC",
        );
    }
    chain.host_veth = !b.disable_container_interface;
    chain.bridge = Some(name.clone());
    if !plan.layer3() {
        section.put("ipam", "addresses", "none: no IPAM (layer 2 only)");
        return;
    }
    *ipam_section = ipam::plan(input, plugin, "bridge", chain);
    let is_gateway = b.is_gateway || b.is_default_gateway;
    let addresses = chain.addresses.clone();
    let Some(addresses) = addresses else {
        section.put("gateway", "gateway", "not known before the IPAM plugin answers");
        return;
    };
    // With an access VLAN the gateway goes on the bridge's VLAN link.
    let (target, present) = if plan.conf.vlan != 0 {
        let target = format!("{name}.{}", plan.conf.vlan);
        let on_target = host_link(&target).map(|(_, addresses)| addresses).unwrap_or_default();
        (target, on_target)
    } else {
        (name.clone(), present)
    };
    let mut gateways = Vec::new();
    for (address, gateway) in &addresses {
        let gateway = gateway.or_else(|| is_gateway.then(|| first_host(address)));
        let Some(gw) = gateway else { continue };
        let on_bridge = IpNetwork::new(gw, address.prefix()).ok().filter(|_| is_gateway);
        let state = match on_bridge {
            None => format!("{gw}: not put on the bridge (isGateway false)"),
            Some(net) if present.contains(&net) => format!("{net} is already on {target}"),
            Some(net) => {
                let conflict = present.iter().find(|p| {
                    p.is_ipv4() == net.is_ipv4()
                        && (net.is_ipv4() || p.contains(net.ip()) || net.contains(p.ip()))
                });
                match conflict {
                    Some(other) if b.force_address => {
                        format!("{net} replaces {other} on {target} (forceAddress)")
                    }
                    Some(other) => {
                        section.problem(format!(
                            "{name:?} already has an IP address different from {net} ({other})"
                        ));
                        format!("{net} refused: {target} has {other} (set forceAddress to replace it)")
                    }
                    None => format!("{net} put on {target}"),
                }
            }
        };
        gateways.push(
            json!({"address": gw.to_string(), "onBridge": on_bridge.map(|n| n.to_string()), "state": state}),
        );
    }
    let texts: Vec<String> =
        gateways.iter().map(|g| g["state"].as_str().unwrap_or_default().to_string()).collect();
    section.put_text(
        "gateways",
        "gateway",
        &gateways,
        if addresses.is_empty() {
            "none: IPAM hands out no address".into()
        } else if texts.is_empty() {
            "none".into()
        } else {
            texts.join("\n")
        },
    );
    section.put("isGateway", "isGateway", is_gateway);
    let default = if b.is_default_gateway {
        let via: Vec<String> = gateways
            .iter()
            .filter_map(|g| g["address"].as_str())
            .map(|a| format!("default via {a}"))
            .collect();
        json!(via)
    } else {
        json!([])
    };
    let default_text =
        if b.is_default_gateway { super::text_of(&default) } else { "no (isDefaultGateway false)".into() };
    section.put_text("defaultRoute", "default route", default, default_text);
    if let Some(backend) = plan.masquerade {
        netfilter::ip_masq(
            input,
            section,
            backend,
            b.ip_masq_backend.is_some(),
            &addresses.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        );
    } else {
        section.put_text("ipMasq", "ipMasq", Value::Null, "no".into());
    }
}

/// The subnet's first address: the gateway when IPAM names none.
fn first_host(address: &IpNetwork) -> std::net::IpAddr {
    match address.network() {
        std::net::IpAddr::V4(net) => std::net::IpAddr::V4(u32::from(net).wrapping_add(1).into()),
        std::net::IpAddr::V6(net) => std::net::IpAddr::V6(u128::from(net).wrapping_add(1).into()),
    }
}

/// ptp: a veth pair, the host end taking the gateway addresses, and ipMasq.
pub(super) fn ptp(
    input: &Input,
    plugin: &Map<String, Value>,
    chain: &mut Chain,
    section: &mut Section,
    ipam_section: &mut Option<Section>,
) {
    let mtu = plugin.go_get("mtu").and_then(Value::as_u64).unwrap_or(0) as u32;
    veth(input, section, mtu, None);
    chain.host_veth = true;
    *ipam_section = ipam::plan(input, plugin, "ptp", chain);
    let addresses = chain.known_addresses();
    let gateways: Vec<String> = chain
        .addresses
        .iter()
        .flatten()
        .filter_map(|(a, gw)| {
            gw.map(|g| {
                format!(
                    "{g}/{} on the host veth; the container routes via it",
                    if a.is_ipv4() { 32 } else { 128 }
                )
            })
        })
        .collect();
    section.put("gateways", "gateway", gateways);
    let masq = plugin.go_get("ipMasq").and_then(Value::as_bool).unwrap_or(false);
    if masq {
        match cni::ipmasq::Backend::choose(key_str(plugin, "ipMasqBackend")) {
            Ok(backend) => netfilter::ip_masq(
                input,
                section,
                backend,
                key_str(plugin, "ipMasqBackend").is_some(),
                &addresses,
            ),
            Err(e) => section.problem(e.msg),
        }
    } else {
        section.put_text("ipMasq", "ipMasq", Value::Null, "no".into());
    }
}

/// macvlan, ipvlan, vlan, host-device, tap, dummy: the link made (or
/// moved) into the netns as the container interface.
pub(super) fn child(input: &Input, plugin: &Map<String, Value>, section: &mut Section) {
    let ifname = &input.rt.ifname;
    let master = || {
        key_str(plugin, "master").map_or_else(
            || "the host's default-route interface".to_string(),
            |m| match host_link(m) {
                Some(_) => m.to_string(),
                None => format!("{m} (not found on the host: ADD would fail)"),
            },
        )
    };
    if let Some(m) = key_str(plugin, "master") {
        if host_link(m).is_none() && section.plugin_type != "tap" {
            section.problem(format!("master {m:?} is not a link on this host"));
        }
    }
    let mtu = plugin.go_get("mtu").and_then(Value::as_u64).unwrap_or(0);
    let what = match section.plugin_type.as_str() {
        "macvlan" => {
            format!("macvlan {ifname} on {}, mode {}", master(), key_str(plugin, "mode").unwrap_or("bridge"))
        }
        "ipvlan" => {
            format!("ipvlan {ifname} on {}, mode {}", master(), key_str(plugin, "mode").unwrap_or("l2"))
        }
        "vlan" => format!(
            "802.1q vlan {ifname} on {}, VLAN ID {}",
            master(),
            plugin.go_get("vlanId").map_or("(none)".to_string(), ToString::to_string)
        ),
        "host-device" => {
            let device = ["device", "hwaddr", "kernelpath", "pciBusID"]
                .iter()
                .find_map(|k| key_str(plugin, k).map(|v| format!("{k} {v}")))
                .unwrap_or_else(|| "(no device named)".into());
            format!("the host device ({device}) moved into the netns and renamed {ifname}")
        }
        "tap" => format!(
            "tap {ifname} in the netns{}",
            key_str(plugin, "bridge").map(|b| format!(", its host side on bridge {b}")).unwrap_or_default()
        ),
        _ => format!("dummy {ifname} in the netns"),
    };
    section.put("containerInterface", "container interface", what);
    if mtu != 0 {
        section.put("mtu", "MTU", mtu);
    }
    if let Some(mac) = key_str(plugin, "mac") {
        section.put("mac", "MAC", mac);
    }
}

/// loopback: lo brought up in the netns.
pub(super) fn loopback(section: &mut Section) {
    section.put(
        "containerInterface",
        "container interface",
        "lo brought up in the netns (127.0.0.1/8, ::1/128)",
    );
}

/// sbr and vrf: policy routing in the netns.
pub(super) fn routing(input: &Input, plugin: &Map<String, Value>, section: &mut Section) {
    let ifname = &input.rt.ifname;
    let what = if section.plugin_type == "vrf" {
        format!(
            "VRF {} in the netns{}, {ifname} enslaved to it",
            key_str(plugin, "vrfname").unwrap_or("(vrfname not set)"),
            plugin.go_get("table").map(|t| format!(" (table {t})")).unwrap_or_default()
        )
    } else {
        format!("a routing table per address of {ifname}, with a rule from each address to it, in the netns")
    };
    section.put("routing", "routing", what);
}
