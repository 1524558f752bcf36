//! Property tests of result conversion between spec versions
//! (`cni::result`): generated results (interfaces, addresses with and
//! without an interface index and gateway, routes with every 1.1 key, DNS)
//! written as each version's JSON, sent through text as a plugin's stdout
//! is, and read back.
//!
//! What each version keeps, as the spec and libcni's conversions define it:
//! - 1.0.0 and 1.1.0: everything (1.0.0 is written in the 1.x shape, as
//!   libcni's `types/100` writes both).
//! - 0.3.0, 0.3.1 and 0.4.0: addresses (each with `"version"` "4" or "6"),
//!   their interface index and gateway, routes, DNS, and of an interface
//!   its name, MAC and sandbox (MTU, socketPath and pciID are 1.1 keys).
//! - 0.1.0 and 0.2.0: the first IPv4 and the first IPv6 address as `ip4`
//!   and `ip6` with their gateways, each with the routes of its family
//!   (destination and gateway only), and DNS; no interfaces. A result
//!   without an address cannot be written in them.

use std::net::IpAddr;

use cni::result::{to_pretty, CniResult, Dns, Interface, IpConfig, Route};
use ipnetwork::IpNetwork;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;

fn ipv4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(IpAddr::from)
}

fn ipv6() -> impl Strategy<Value = IpAddr> {
    any::<[u16; 8]>().prop_map(IpAddr::from)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![ipv4(), ipv6()]
}

/// An address with its prefix length, host bits kept (as results carry them).
fn network() -> impl Strategy<Value = IpNetwork> {
    prop_oneof![
        (ipv4(), 0u8..=32).prop_map(|(ip, prefix)| IpNetwork::new(ip, prefix).unwrap()),
        (ipv6(), 0u8..=128).prop_map(|(ip, prefix)| IpNetwork::new(ip, prefix).unwrap()),
    ]
}

fn mac() -> impl Strategy<Value = String> {
    any::<[u8; 6]>().prop_map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"))
}

fn interface() -> impl Strategy<Value = Interface> {
    (
        "[a-z][a-z0-9]{0,14}",
        option::of(mac()),
        option::of(any::<u32>()),
        option::of("/var/run/netns/[a-z0-9-]{1,12}"),
        option::of("/run/vhost-user/[a-z0-9]{1,8}\\.sock"),
        option::of("0000:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]"),
    )
        .prop_map(|(name, mac, mtu, sandbox, socket_path, pci_id)| Interface {
            name,
            mac,
            mtu,
            sandbox,
            socket_path,
            pci_id,
        })
}

fn ip_config() -> impl Strategy<Value = IpConfig> {
    (option::of(0usize..4), network(), option::of(ip())).prop_map(|(interface, address, gateway)| IpConfig {
        interface,
        address,
        gateway,
    })
}

/// Zero half the time: zero is "not set" for a route's numbers.
fn maybe_zero() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), any::<u32>()]
}

fn route() -> impl Strategy<Value = Route> {
    (
        network(),
        option::of(ip()),
        maybe_zero(),
        maybe_zero(),
        maybe_zero(),
        option::of(any::<i64>()),
        option::of(0i64..=255),
    )
        .prop_map(|(dst, gw, mtu, advmss, priority, table, scope)| Route {
            dst,
            gw,
            mtu,
            advmss,
            priority,
            table,
            scope,
        })
}

fn dns() -> impl Strategy<Value = Dns> {
    (
        vec(ip().prop_map(|ip| ip.to_string()), 0..3),
        prop_oneof![Just(String::new()), "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}"],
        vec("[a-z]{1,8}(\\.[a-z]{1,8})?", 0..3),
        vec(prop_oneof![Just("rotate".to_string()), "ndots:[0-9]", "timeout:[1-9]"], 0..3),
    )
        .prop_map(|(nameservers, domain, search, options)| Dns { nameservers, domain, search, options })
}

fn result() -> impl Strategy<Value = CniResult> {
    (vec(interface(), 0..4), vec(ip_config(), 0..5), vec(route(), 0..5), dns())
        .prop_map(|(interfaces, ips, routes, dns)| CniResult { interfaces, ips, routes, dns })
}

/// The result written as `version`, printed as a plugin prints it, and the
/// JSON a runtime then parses.
fn written(result: &CniResult, version: &str) -> Value {
    let value = result.to_json(version).unwrap_or_else(|e| panic!("to_json({version}): {e:?}"));
    assert_eq!(value["cniVersion"], version);
    serde_json::from_slice(&to_pretty(&value)).unwrap()
}

/// Reads a result back. The fallback is of the other shape, so only the
/// written `cniVersion` can make it parse right.
fn read(value: &Value, version: &str) -> CniResult {
    let fallback = if matches!(version, "0.1.0" | "0.2.0") { "1.0.0" } else { "0.2.0" };
    CniResult::from_json(value, fallback).unwrap_or_else(|e| panic!("reading {version}: {e:?}\n{value}"))
}

/// What a 0.3.x/0.4.0 result keeps of an interface.
fn without_1_1_keys(interface: &Interface) -> Interface {
    Interface {
        name: interface.name.clone(),
        mac: interface.mac.clone(),
        sandbox: interface.sandbox.clone(),
        ..Interface::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn one_x_round_trips_whole(result in result()) {
        for version in ["1.0.0", "1.1.0"] {
            let json = written(&result, version);
            for ip in json["ips"].as_array().into_iter().flatten() {
                prop_assert!(ip.get("version").is_none(), "1.x has no per-IP version: {}", json);
            }
            prop_assert_eq!(&read(&json, version), &result, "{} changed the result: {}", version, json);
        }
    }

    #[test]
    fn zero_three_and_zero_four_keep_addresses_routes_interfaces_and_dns(result in result()) {
        let interfaces: Vec<Interface> = result.interfaces.iter().map(without_1_1_keys).collect();
        for version in ["0.3.0", "0.3.1", "0.4.0"] {
            let json = written(&result, version);
            let back = read(&json, version);
            prop_assert_eq!(&back.ips, &result.ips, "{} ips: {}", version, json);
            prop_assert_eq!(&back.routes, &result.routes, "{} routes: {}", version, json);
            prop_assert_eq!(&back.dns, &result.dns, "{} dns: {}", version, json);
            prop_assert_eq!(&back.interfaces, &interfaces, "{} interfaces: {}", version, json);
            // Each address says its family; DNS is always there (Go writes the struct).
            for (ip, config) in json["ips"].as_array().into_iter().flatten().zip(&result.ips) {
                let family = if config.address.is_ipv4() { "4" } else { "6" };
                prop_assert_eq!(&ip["version"], family, "{}: {}", version, json);
            }
            prop_assert!(json.get("dns").is_some_and(Value::is_object), "{} without dns: {}", version, json);
            // And up again: what 0.x carried reaches 1.x intact.
            let up = read(&written(&back, "1.0.0"), "1.0.0");
            prop_assert_eq!(&up, &back, "{} then 1.0.0", version);
        }
    }

    #[test]
    fn zero_two_and_zero_one_keep_the_first_address_of_each_family(result in result()) {
        let first = |v4: bool| result.ips.iter().find(|ip| ip.address.is_ipv4() == v4);
        let (ip4, ip6) = (first(true), first(false));
        for version in ["0.1.0", "0.2.0"] {
            if ip4.is_none() && ip6.is_none() {
                let err = result.to_json(version).unwrap_err();
                prop_assert_eq!(err.code, 1, "{}: {:?}", version, err);
                continue;
            }
            let json = written(&result, version);
            prop_assert!(json.get("ips").is_none() && json.get("interfaces").is_none(), "{}: {}", version, json);
            prop_assert_eq!(json.get("ip4").is_some(), ip4.is_some(), "{}: {}", version, json);
            prop_assert_eq!(json.get("ip6").is_some(), ip6.is_some(), "{}: {}", version, json);
            let back = read(&json, version);
            // The addresses: first IPv4, then first IPv6, with gateways, no index.
            let expected_ips: Vec<IpConfig> = [ip4, ip6]
                .into_iter()
                .flatten()
                .map(|ip| IpConfig { interface: None, address: ip.address, gateway: ip.gateway })
                .collect();
            prop_assert_eq!(&back.ips, &expected_ips, "{} ips: {}", version, json);
            // The routes: those of a family that has an address, IPv4 first,
            // in their order, with only destination and gateway.
            let family_routes = |v4: bool, present: bool| {
                result
                    .routes
                    .iter()
                    .filter(move |r| present && r.dst.is_ipv4() == v4)
                    .map(|r| Route::new(r.dst, r.gw))
            };
            let expected_routes: Vec<Route> =
                family_routes(true, ip4.is_some()).chain(family_routes(false, ip6.is_some())).collect();
            prop_assert_eq!(&back.routes, &expected_routes, "{} routes: {}", version, json);
            prop_assert_eq!(&back.dns, &result.dns, "{} dns: {}", version, json);
            prop_assert!(back.interfaces.is_empty());
            // What a 0.2 result says survives the trip through 1.x and back.
            let again = written(&read(&written(&back, "1.1.0"), "1.1.0"), version);
            prop_assert_eq!(&again, &json, "{} through 1.1.0", version);
        }
    }
}
