//! "DEL always cleans" (shared/DESIGN.md), plugin by plugin: after a good
//! ADD, a DEL whose netconf that plugin's ADD would reject (wrong types,
//! bad subnets, unknown modes, bad rates and sysctls, a missing master)
//! still succeeds and removes the attachment's state; and after the
//! container's netns is deleted, a DEL with `CNI_NETNS=""` (as runtimes send
//! after a reboot) still removes what lives outside it: reservations,
//! masquerade and firewall rules, the ifb, tuning's saved settings. A DEL
//! fails only for what it could not remove, after removing the rest. State
//! is read back from the kernel and the disk. Every plugin runs in a host
//! netns of the test's own, so links, rules and devices go with it.
//! Subnets 10.238.N.0/24 (N from 20) and fd00:238:N::/64 belong to this
//! file (tests/sbr.rs has 10.238.1-3).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

const BASE: &str = "10.238";

/// A host netns (where the plugins run) and a container netns of the
/// test's own, a plugin dir and a host-local store; all removed on drop.
struct Host {
    plugins: PluginDir,
    store: tempfile::TempDir,
    host: TestNetns,
    container: TestNetns,
    id: String,
    network: String,
}

impl Host {
    fn new() -> Host {
        let host = Host {
            plugins: PluginDir::new(),
            store: tempfile::tempdir().expect("store dir"),
            host: TestNetns::new("dach"),
            container: TestNetns::new("dacc"),
            id: unique("dactr"),
            network: unique("dan"),
        };
        host.host.exec(&["ip", "link", "set", "lo", "up"]);
        host.container.exec(&["ip", "link", "set", "lo", "up"]);
        host
    }

    fn path(&self) -> String {
        self.plugins.path().to_str().expect("utf-8 path").to_string()
    }

    /// Our plugin `name` in the host netns for the container; `netns` is
    /// CNI_NETNS, `cni_args` CNI_ARGS.
    fn call(&self, name: &str, command: &str, netns: &str, cni_args: &str, conf: &str) -> Outcome {
        let path = self.path();
        let mut env = cni_env(command, &self.id, netns, "eth0", &path);
        env.push(("CNI_ARGS", cni_args));
        run_plugin_in(&self.host, &self.plugins.plugin(name), &env, conf)
    }

    fn ours(&self, name: &str, command: &str, conf: &str) -> Outcome {
        self.call(name, command, &self.container.path(), "", conf)
    }

    /// The host-local reservations of this host's network.
    fn reservations(&self) -> Vec<String> {
        reservations(&self.store.path().join(&self.network))
    }
}

/// Deletes a test netns now (its drop guard then finds nothing to do).
fn delete_netns(ns: &TestNetns) {
    let status = Command::new("ip").args(["netns", "del", &ns.name]).status().expect("ip netns del");
    assert!(status.success(), "ip netns del {}", ns.name);
    assert!(!Path::new(&ns.path()).exists(), "{} is gone", ns.path());
}

/// ADD succeeded.
fn added(out: &Outcome, what: &str) -> Value {
    assert_eq!(out.code, 0, "{what} ADD: {}{}", out.stdout, out.stderr);
    out.json.clone()
}

/// The plugin exited 0.
fn succeeded(out: &Outcome, what: &str) {
    assert_eq!(out.code, 0, "{what}: {}{}", out.stdout, out.stderr);
}

/// ADD with this netconf fails (the premise of each test: ADD would reject it).
fn rejected(out: &Outcome, what: &str) {
    assert_eq!(out.code, 1, "{what}: ADD should reject the netconf: {}", out.stdout);
}

/// `conf` (JSON text) with `extra`'s keys set on top.
fn over(conf: &str, extra: Value) -> String {
    with_keys(serde_json::from_str(conf).expect("conf JSON"), &extra).to_string()
}

/// An IPAM section host-local's ADD refuses that still names its store.
fn bad_ipam(store: &Path) -> Value {
    json!({"type": "host-local", "subnet": "bogus", "ranges": "x", "routes": 5, "dataDir": store})
}

/// CNI_ARGS that ADD refuses (an address and a MAC that do not parse).
const BAD_ARGS: &str = "IgnoreUnknown=1;IP=bogus;MAC=zz";

fn link_exists(ns: &TestNetns, name: &str) -> bool {
    let text = ns.output(&["ip", "-j", "link", "show", name]);
    serde_json::from_str::<Value>(&text).is_ok_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
}

/// nftables masquerade rules for container `id` in `ns`.
fn nft_masq(ns: &TestNetns, id: &str) -> usize {
    masq_rules_in(
        &ns.output(&["nft", "-j", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"]),
        id,
    )
}

/// Lines of `iptables-save -t TABLE` (ip6tables for IPv6) in `ns` containing `needle`.
fn saved_lines(ns: &TestNetns, ipv6: bool, table: &str, needle: &str) -> usize {
    let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
    ns.output(&[tool, "-t", table]).lines().filter(|l| l.contains(needle)).count()
}

/// iptables masquerade lines (both families) for container `id` in `ns`.
fn ipt_masq(ns: &TestNetns, id: &str) -> usize {
    let needle = format!("id: \\\"{id}\\\"");
    saved_lines(ns, false, "nat", &needle) + saved_lines(ns, true, "nat", &needle)
}

/// macspoofchk's chains for container `id` in `ns`.
fn spoofcheck_chains(ns: &TestNetns, id: &str) -> usize {
    let text = ns.output(&["nft", "list", "table", "bridge", "nat"]);
    text.lines()
        .filter(|l| l.trim_start().starts_with("chain") && l.contains(&format!("cni-br-iface-{id}")))
        .count()
}

fn address(result: &Value, i: usize) -> String {
    result["ips"][i]["address"].as_str().unwrap_or_default().split('/').next().unwrap_or_default().to_string()
}

// bridge

fn bridge_conf(host: &Host, n: u8, backend: &str) -> String {
    json!({"cniVersion": "1.0.0", "name": host.network, "type": "bridge", "bridge": unique("dabr"),
        "isGateway": true, "ipMasq": true, "ipMasqBackend": backend, "macspoofchk": true,
        "ipam": {"type": "host-local", "dataDir": host.store.path(),
                 "ranges": [[{"subnet": format!("{BASE}.{n}.0/24")}], [{"subnet": format!("fd00:238:{n}::/64")}]]}})
    .to_string()
}

fn bridge_bad(host: &Host, conf: &str) -> String {
    over(
        conf,
        json!({"mtu": "1500", "isGateway": "yes", "vlan": 5000, "vlanTrunk": [{"id": 0}], "hairpinMode": 1,
               "ipMasqBackend": "bogus", "dns": "x", "capabilities": 7, "ipam": bad_ipam(host.store.path())}),
    )
}

#[test]
fn bridge_del_with_a_netconf_add_rejects_removes_links_addresses_and_rules() {
    let host = Host::new();
    let conf = bridge_conf(&host, 20, "nftables");
    let result = added(&host.ours("bridge", "ADD", &conf), "bridge");
    let host_veth = result["interfaces"][1]["name"].as_str().unwrap_or_default().to_string();
    assert!(link_exists(&host.container, "eth0") && link_exists(&host.host, &host_veth));
    assert_eq!(host.reservations().len(), 2);
    assert_eq!(nft_masq(&host.host, &host.id), 2, "one masquerade rule per address");
    assert_eq!(spoofcheck_chains(&host.host, &host.id), 2, "macspoofchk's two chains");

    let bad = with_prev(&bridge_bad(&host, &conf), &result);
    rejected(&host.call("bridge", "ADD", &host.container.path(), BAD_ARGS, &bad), "bridge");
    succeeded(&host.call("bridge", "DEL", &host.container.path(), BAD_ARGS, &bad), "bridge DEL");
    assert!(!link_exists(&host.container, "eth0"), "the container end is gone");
    assert!(!link_exists(&host.host, &host_veth), "the host end is gone");
    assert!(host.reservations().is_empty(), "the addresses are free: {:?}", host.reservations());
    assert_eq!(nft_masq(&host.host, &host.id), 0, "the masquerade rules are gone");
    assert_eq!(spoofcheck_chains(&host.host, &host.id), 0, "the spoof-check chains are gone");
    succeeded(&host.call("bridge", "DEL", &host.container.path(), "", &bad), "a second bridge DEL");
}

#[test]
fn bridge_del_without_netns_removes_addresses_and_rules_of_both_backends() {
    for (n, backend, with_prev_result) in [(21u8, "nftables", true), (22, "iptables", false)] {
        let host = Host::new();
        let conf = bridge_conf(&host, n, backend);
        let result = added(&host.ours("bridge", "ADD", &conf), backend);
        let rules = nft_masq(&host.host, &host.id) + ipt_masq(&host.host, &host.id);
        assert!(rules >= 2, "{backend}: masquerade rules after ADD");
        assert_eq!(spoofcheck_chains(&host.host, &host.id), 2);
        delete_netns(&host.container);
        // Without a cached result too: the iptables chain is found by its name in both families.
        let del_conf = if with_prev_result { with_prev(&conf, &result) } else { conf.clone() };
        succeeded(&host.call("bridge", "DEL", "", "", &del_conf), backend);
        assert!(host.reservations().is_empty(), "{backend}: the addresses are free");
        assert_eq!(nft_masq(&host.host, &host.id), 0, "{backend}: no nftables rule left");
        assert_eq!(ipt_masq(&host.host, &host.id), 0, "{backend}: no iptables rule left");
        assert_eq!(spoofcheck_chains(&host.host, &host.id), 0, "{backend}: no spoof-check chain left");
        // A gone path is the same as an empty one.
        succeeded(&host.call("bridge", "DEL", &host.container.path(), "", &del_conf), backend);
    }
}

#[test]
fn bridge_del_that_cannot_reach_ipam_still_removes_the_rest_and_says_so() {
    let host = Host::new();
    let conf = bridge_conf(&host, 46, "nftables");
    let result = added(&host.ours("bridge", "ADD", &conf), "bridge");
    let host_veth = result["interfaces"][1]["name"].as_str().unwrap_or_default().to_string();
    let unreachable = with_prev(&over(&conf, json!({"ipam": {"type": "nosuch-ipam"}})), &result);
    let out = host.ours("bridge", "DEL", &unreachable);
    assert_eq!(out.code, 1, "the reservations could not be freed: {}", out.stdout);
    assert!(out.stdout.contains("nosuch-ipam"), "the error names the IPAM plugin: {}", out.stdout);
    assert!(!link_exists(&host.host, &host_veth), "the veth went anyway");
    assert_eq!(nft_masq(&host.host, &host.id) + spoofcheck_chains(&host.host, &host.id), 0, "and the rules");
    assert_eq!(host.reservations().len(), 2, "only the reservations are left for a retry");
    succeeded(&host.ours("bridge", "DEL", &with_prev(&conf, &result)), "the retried DEL");
    assert!(host.reservations().is_empty());
}

// ptp

fn ptp_conf(host: &Host, n: u8, backend: &str) -> String {
    json!({"cniVersion": "1.0.0", "name": host.network, "type": "ptp", "ipMasq": true, "ipMasqBackend": backend,
        "ipam": {"type": "host-local", "dataDir": host.store.path(),
                 "ranges": [[{"subnet": format!("{BASE}.{n}.0/24")}], [{"subnet": format!("fd00:238:{n}::/64")}]]}})
    .to_string()
}

#[test]
fn ptp_del_with_a_netconf_add_rejects_removes_links_addresses_and_rules() {
    let host = Host::new();
    let conf = ptp_conf(&host, 23, "nftables");
    let result = added(&host.ours("ptp", "ADD", &conf), "ptp");
    let host_veth = result["interfaces"][0]["name"].as_str().unwrap_or_default().to_string();
    assert_eq!(nft_masq(&host.host, &host.id), 2);
    let bad = with_prev(
        &over(
            &conf,
            json!({"mtu": "1400", "ipMasqBackend": 5, "dns": 1, "ipam": bad_ipam(host.store.path())}),
        ),
        &result,
    );
    rejected(&host.ours("ptp", "ADD", &bad), "ptp");
    succeeded(&host.call("ptp", "DEL", &host.container.path(), BAD_ARGS, &bad), "ptp DEL");
    assert!(
        !link_exists(&host.container, "eth0") && !link_exists(&host.host, &host_veth),
        "the veth is gone"
    );
    assert!(host.reservations().is_empty(), "the addresses are free");
    assert_eq!(nft_masq(&host.host, &host.id), 0, "the masquerade rules are gone");
}

#[test]
fn ptp_del_without_netns_removes_addresses_and_rules() {
    for (n, backend) in [(24u8, "nftables"), (25, "iptables")] {
        let host = Host::new();
        let conf = ptp_conf(&host, n, backend);
        added(&host.ours("ptp", "ADD", &conf), backend);
        assert!(nft_masq(&host.host, &host.id) + ipt_masq(&host.host, &host.id) >= 2, "{backend}");
        delete_netns(&host.container);
        succeeded(&host.call("ptp", "DEL", "", "", &conf), backend);
        assert!(host.reservations().is_empty(), "{backend}: the addresses are free");
        assert_eq!(
            nft_masq(&host.host, &host.id) + ipt_masq(&host.host, &host.id),
            0,
            "{backend}: rules left"
        );
    }
}

// macvlan, host-device (a host netns whose mvm0 leads to a peer)

fn wire_conf(wire: &Wire, kind: &str, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "danet", "type": kind,
        "ipam": {"type": "host-local", "subnet": format!("{BASE}.{}.0/24", wire.n), "dataDir": wire.store.path()}});
    with_keys(conf, &extra).to_string()
}

fn wire_reservations(wire: &Wire) -> Vec<String> {
    reservations(&wire.store.path().join("danet"))
}

/// DEL for the wire's container with CNI_NETNS empty.
fn wire_del_without_netns(wire: &Wire, kind: &str, conf: &str) -> Outcome {
    let path = wire.plugins.path().to_str().unwrap_or_default();
    run_plugin_in(&wire.host, &wire.plugins.plugin(kind), &cni_env("DEL", "wirectr", "", "eth0", path), conf)
}

/// `conf` with `extra`, a bad `dns` and an IPAM section ADD refuses.
fn wire_bad(wire: &Wire, conf: &str, extra: Value) -> String {
    over(&over(conf, extra), json!({"dns": 5, "ipam": bad_ipam(wire.store.path())}))
}

#[test]
fn macvlan_del_with_a_netconf_add_rejects_removes_the_link_and_address() {
    let wire = Wire::new(BASE, 26);
    let conf = wire_conf(&wire, "macvlan", json!({"master": "mvm0"}));
    let result = added(&wire.ours("macvlan", "ADD", "eth0", &conf), "macvlan");
    assert_eq!(wire.link("eth0")["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(wire_reservations(&wire).len(), 1);
    let bad = with_prev(
        &wire_bad(&wire, &conf, json!({"master": "nosuch0", "mode": "bogus", "mtu": "1500", "mac": "zz"})),
        &result,
    );
    rejected(&wire.ours("macvlan", "ADD", "eth1", &bad), "macvlan");
    succeeded(&wire.ours("macvlan", "DEL", "eth0", &bad), "macvlan DEL");
    assert_eq!(wire.link("eth0"), Value::Null, "the macvlan is gone");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

#[test]
fn macvlan_del_without_netns_frees_the_address() {
    let wire = Wire::new(BASE, 27);
    let conf = wire_conf(&wire, "macvlan", json!({"master": "mvm0"}));
    added(&wire.ours("macvlan", "ADD", "eth0", &conf), "macvlan");
    delete_netns(&wire.container);
    succeeded(&wire_del_without_netns(&wire, "macvlan", &conf), "macvlan DEL");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

#[test]
fn host_device_del_with_a_netconf_add_rejects_moves_it_back_and_frees_the_address() {
    let wire = Wire::new(BASE, 28);
    let conf = wire_conf(&wire, "host-device", json!({"device": "mvm0"}));
    let result = added(&wire.ours("host-device", "ADD", "eth0", &conf), "host-device");
    assert!(!link_exists(&wire.host, "mvm0"), "mvm0 moved into the container");
    let bad = with_prev(&wire_bad(&wire, &conf, json!({"device": 5, "hwaddr": "zz"})), &result);
    rejected(&wire.ours("host-device", "ADD", "eth1", &bad), "host-device");
    succeeded(&wire.ours("host-device", "DEL", "eth0", &bad), "host-device DEL");
    assert_eq!(wire.link("eth0"), Value::Null, "gone from the container");
    assert!(link_exists(&wire.host, "mvm0"), "mvm0 is back in the host under its name");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

#[test]
fn host_device_del_without_netns_frees_the_address() {
    let wire = Wire::new(BASE, 29);
    let conf = wire_conf(&wire, "host-device", json!({"device": "mvm0"}));
    added(&wire.ours("host-device", "ADD", "eth0", &conf), "host-device");
    delete_netns(&wire.container);
    succeeded(&wire_del_without_netns(&wire, "host-device", &conf), "host-device DEL");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

// loopback, tap, host-local, static

#[test]
fn loopback_del_ignores_the_netconf_and_a_gone_netns() {
    let host = Host::new();
    host.container.exec(&["ip", "link", "set", "lo", "down"]);
    let conf = json!({"cniVersion": "1.0.0", "name": host.network, "type": "loopback"}).to_string();
    added(&host.ours("loopback", "ADD", &conf), "loopback");
    let lo_up = || {
        ip_json(Some(&host.container.name), &["link", "show", "lo"])[0]["flags"]
            .to_string()
            .contains("\"UP\"")
    };
    assert!(lo_up(), "ADD brings lo up");
    let bad = over(&conf, json!({"dns": 5, "capabilities": "x", "prevResult": "x"}));
    rejected(&host.ours("loopback", "ADD", &bad), "loopback");
    succeeded(&host.ours("loopback", "DEL", &bad), "loopback DEL");
    assert!(!lo_up(), "DEL brings lo down");
    delete_netns(&host.container);
    succeeded(&host.call("loopback", "DEL", "", "", &bad), "loopback DEL without netns");
    succeeded(&host.ours("loopback", "DEL", &bad), "loopback DEL on a gone netns");
}

fn tap_conf(host: &Host, n: u8) -> String {
    json!({"cniVersion": "1.0.0", "name": host.network, "type": "tap", "mtu": 1400,
        "ipam": {"type": "host-local", "subnet": format!("{BASE}.{n}.0/24"), "dataDir": host.store.path()}})
    .to_string()
}

#[test]
fn tap_del_with_a_netconf_add_rejects_removes_the_tap_and_address() {
    let host = Host::new();
    let conf = tap_conf(&host, 30);
    let result = added(&host.ours("tap", "ADD", &conf), "tap");
    assert!(link_exists(&host.container, "eth0"));
    assert_eq!(host.reservations().len(), 1);
    let bad = with_prev(
        &over(
            &conf,
            json!({"mtu": "x", "multiQueue": "yes", "mac": "zz", "selinuxContext": "x", "owner": -1,
                   "ipam": bad_ipam(host.store.path())}),
        ),
        &result,
    );
    rejected(&host.ours("tap", "ADD", &bad), "tap");
    succeeded(&host.call("tap", "DEL", &host.container.path(), BAD_ARGS, &bad), "tap DEL");
    assert!(!link_exists(&host.container, "eth0"), "the tap is gone");
    assert!(host.reservations().is_empty(), "the address is free");
}

#[test]
fn tap_del_without_netns_frees_the_address() {
    let host = Host::new();
    let conf = tap_conf(&host, 31);
    added(&host.ours("tap", "ADD", &conf), "tap");
    delete_netns(&host.container);
    succeeded(&host.call("tap", "DEL", "", "", &conf), "tap DEL");
    assert!(host.reservations().is_empty(), "the address is free");
}

#[test]
fn host_local_del_with_ranges_add_rejects_frees_the_reservations() {
    let host = Host::new();
    let conf = json!({"cniVersion": "1.0.0", "name": host.network, "type": "host-local",
        "ipam": {"type": "host-local", "dataDir": host.store.path(),
                 "ranges": [[{"subnet": format!("{BASE}.32.0/24")}], [{"subnet": "fd00:238:32::/64"}]]}})
    .to_string();
    added(&host.ours("host-local", "ADD", &conf), "host-local");
    assert_eq!(host.reservations().len(), 2);
    let bad = over(&conf, json!({"ipam": bad_ipam(host.store.path()), "runtimeConfig": {"ips": 5}}));
    rejected(&host.call("host-local", "ADD", &host.container.path(), BAD_ARGS, &bad), "host-local");
    succeeded(&host.call("host-local", "DEL", &host.container.path(), BAD_ARGS, &bad), "host-local DEL");
    assert!(host.reservations().is_empty(), "the addresses are free");

    added(&host.ours("host-local", "ADD", &conf), "host-local");
    assert_eq!(host.reservations().len(), 2);
    delete_netns(&host.container);
    succeeded(&host.call("host-local", "DEL", "", "", &conf), "host-local DEL without netns");
    assert!(host.reservations().is_empty(), "the addresses are free");
}

#[test]
fn static_del_succeeds_with_addresses_add_rejects_and_without_netns() {
    let host = Host::new();
    let conf = json!({"cniVersion": "1.0.0", "name": host.network, "type": "static",
        "ipam": {"type": "static", "addresses": [{"address": format!("{BASE}.33.5/24")}]}})
    .to_string();
    let result = added(&host.ours("static", "ADD", &conf), "static");
    assert_eq!(result["ips"][0]["address"], format!("{BASE}.33.5/24"));
    let bad = over(
        &conf,
        json!({"ipam": {"type": "static", "addresses": [{"address": "bogus"}], "routes": "x"},
               "runtimeConfig": {"ips": ["bogus"]}}),
    );
    rejected(&host.call("static", "ADD", &host.container.path(), "IP=bogus", &bad), "static");
    succeeded(&host.call("static", "DEL", &host.container.path(), "IP=bogus", &bad), "static DEL");
    delete_netns(&host.container);
    succeeded(&host.call("static", "DEL", "", "", &conf), "static DEL without netns");
}

// meta plugins chained after bridge in a HostLab

/// DEL for the lab's container with CNI_NETNS empty.
fn lab_del_without_netns(lab: &HostLab, name: &str, conf: &str) -> Outcome {
    let path = lab.plugins.path().to_str().unwrap_or_default();
    run_plugin_in(&lab.host, &lab.plugins.plugin(name), &cni_env("DEL", &lab.id, "", "eth0", path), conf)
}

fn meta_conf(lab: &HostLab, kind: &str, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": lab.network, "type": kind, "prevResult": lab.result});
    with_keys(conf, &extra).to_string()
}

fn bandwidth_conf(lab: &HostLab) -> String {
    meta_conf(
        lab,
        "bandwidth",
        json!({"ingressRate": 16_000_000, "ingressBurst": 80_000, "egressRate": 16_000_000, "egressBurst": 80_000}),
    )
}

fn ifb_of(result: &Value) -> String {
    result["interfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .find(|n| n.starts_with("bwp"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn bandwidth_del_with_rates_add_rejects_removes_the_ifb() {
    let lab = HostLab::new(BASE, 34);
    let conf = bandwidth_conf(&lab);
    let ifb = ifb_of(&added(&lab.run_ours("bandwidth", "ADD", &conf), "bandwidth"));
    assert!(link_exists(&lab.host, &ifb), "the ifb {ifb:?} is there");
    let bad = over(
        &conf,
        json!({"ingressRate": "fast", "egressBurst": -1, "runtimeConfig": {"bandwidth": "x"}, "dns": 5}),
    );
    rejected(&lab.run_ours("bandwidth", "ADD", &bad), "bandwidth");
    succeeded(&lab.run_ours("bandwidth", "DEL", &bad), "bandwidth DEL");
    assert!(!link_exists(&lab.host, &ifb), "the ifb is gone");
}

#[test]
fn bandwidth_del_without_netns_removes_the_ifb() {
    let lab = HostLab::new(BASE, 35);
    let conf = bandwidth_conf(&lab);
    let ifb = ifb_of(&added(&lab.run_ours("bandwidth", "ADD", &conf), "bandwidth"));
    assert!(link_exists(&lab.host, &ifb));
    delete_netns(&lab.container);
    succeeded(&lab_del_without_netns(&lab, "bandwidth", &conf), "bandwidth DEL");
    assert!(!link_exists(&lab.host, &ifb), "the ifb is gone");
}

/// The container's firewall rules (both families) in the lab's host netns.
fn firewall_rules(lab: &HostLab) -> usize {
    let v4 = format!("{}/32", address(&lab.result, 0));
    let v6 = format!("{}/128", address(&lab.result, 1));
    saved_lines(&lab.host, false, "filter", &v4) + saved_lines(&lab.host, true, "filter", &v6)
}

#[test]
fn firewall_del_with_a_netconf_add_rejects_removes_the_rules() {
    let lab = HostLab::new(BASE, 36);
    let conf = meta_conf(&lab, "firewall", json!({}));
    added(&lab.run_ours("firewall", "ADD", &conf), "firewall");
    assert!(firewall_rules(&lab) >= 4, "rules for both addresses");
    let bad =
        over(&conf, json!({"backend": "firewalld", "ingressPolicy": "bogus", "iptablesAdminChainName": 5}));
    rejected(&lab.run_ours("firewall", "ADD", &bad), "firewall");
    succeeded(&lab.run_ours("firewall", "DEL", &bad), "firewall DEL");
    assert_eq!(firewall_rules(&lab), 0, "the container's rules are gone");
}

#[test]
fn firewall_del_without_netns_removes_the_rules() {
    let lab = HostLab::new(BASE, 37);
    let conf = meta_conf(&lab, "firewall", json!({}));
    added(&lab.run_ours("firewall", "ADD", &conf), "firewall");
    assert!(firewall_rules(&lab) >= 4);
    delete_netns(&lab.container);
    succeeded(&lab_del_without_netns(&lab, "firewall", &conf), "firewall DEL");
    assert_eq!(firewall_rules(&lab), 0, "the container's rules are gone");
}

fn mtu_of(ns: &TestNetns, name: &str) -> Value {
    ip_json(Some(&ns.name), &["link", "show", name])[0]["mtu"].clone()
}

#[test]
fn tuning_del_with_settings_add_rejects_restores_and_removes_the_saved_state() {
    let lab = HostLab::new(BASE, 38);
    let data = tempfile::tempdir().expect("data dir");
    let before = mtu_of(&lab.container, "eth0");
    let conf = meta_conf(&lab, "tuning", json!({"mtu": 1400, "promisc": true, "dataDir": data.path()}));
    added(&lab.run_ours("tuning", "ADD", &conf), "tuning");
    let saved = data.path().join(format!("{}_eth0.json", lab.id));
    assert!(saved.exists(), "ADD saved the old settings");
    assert_eq!(mtu_of(&lab.container, "eth0"), 1400);
    let bad = over(
        &conf,
        json!({"mtu": "1500", "mac": "zz", "promisc": "yes", "sysctl": {"kernel.hostname": "x"}, "txQLen": -1}),
    );
    rejected(&lab.run_ours("tuning", "ADD", &bad), "tuning");
    succeeded(&lab.run_ours("tuning", "DEL", &bad), "tuning DEL");
    assert_eq!(mtu_of(&lab.container, "eth0"), before, "the MTU is back");
    assert!(!saved.exists(), "the saved settings are gone");
}

#[test]
fn tuning_del_without_netns_removes_the_saved_state() {
    let lab = HostLab::new(BASE, 39);
    let data = tempfile::tempdir().expect("data dir");
    let conf = meta_conf(&lab, "tuning", json!({"mtu": 1400, "dataDir": data.path()}));
    added(&lab.run_ours("tuning", "ADD", &conf), "tuning");
    let saved = data.path().join(format!("{}_eth0.json", lab.id));
    assert!(saved.exists());
    delete_netns(&lab.container);
    succeeded(&lab_del_without_netns(&lab, "tuning", &conf), "tuning DEL");
    assert!(!saved.exists(), "the saved settings are gone");
}

#[test]
fn sbr_del_with_a_table_add_rejects_removes_the_rules() {
    let lab = HostLab::new(BASE, 40);
    let conf = meta_conf(&lab, "sbr", json!({}));
    added(&lab.run_ours("sbr", "ADD", &conf), "sbr");
    let ip = lab.container_ip();
    let rule = format!("from {ip} lookup");
    assert!(lab.container.output(&["ip", "rule", "show"]).contains(&rule));
    let bad = over(&conf, json!({"table": "x", "dns": 5}));
    rejected(&lab.run_ours("sbr", "ADD", &bad), "sbr");
    succeeded(&lab.run_ours("sbr", "DEL", &bad), "sbr DEL");
    let rules = lab.container.output(&["ip", "rule", "show"]);
    assert!(!rules.contains(&rule), "the rule is gone: {rules}");
}

#[test]
fn sbr_del_without_netns_succeeds() {
    let lab = HostLab::new(BASE, 41);
    let conf = meta_conf(&lab, "sbr", json!({}));
    added(&lab.run_ours("sbr", "ADD", &conf), "sbr");
    delete_netns(&lab.container);
    succeeded(&lab_del_without_netns(&lab, "sbr", &conf), "sbr DEL");
}

// The kernel VM tier: ipvlan, vlan, dummy and vrf.

#[test]
#[ignore = "needs ipvlan: runs in the kernel VM tier"]
fn ipvlan_del_with_a_netconf_add_rejects_and_without_netns_frees_everything() {
    let wire = Wire::new(BASE, 42);
    let conf = wire_conf(&wire, "ipvlan", json!({"master": "mvm0"}));
    let result = added(&wire.ours("ipvlan", "ADD", "eth0", &conf), "ipvlan");
    let bad = with_prev(
        &wire_bad(&wire, &conf, json!({"master": "nosuch0", "mode": "bogus", "mtu": "x"})),
        &result,
    );
    rejected(&wire.ours("ipvlan", "ADD", "eth1", &bad), "ipvlan");
    succeeded(&wire.ours("ipvlan", "DEL", "eth0", &bad), "ipvlan DEL");
    assert_eq!(wire.link("eth0"), Value::Null, "the ipvlan is gone");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");

    added(&wire.ours("ipvlan", "ADD", "eth0", &conf), "ipvlan");
    delete_netns(&wire.container);
    succeeded(&wire_del_without_netns(&wire, "ipvlan", &conf), "ipvlan DEL without netns");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

#[test]
#[ignore = "needs 802.1q: runs in the kernel VM tier"]
fn vlan_del_with_a_netconf_add_rejects_and_without_netns_frees_everything() {
    let wire = Wire::new(BASE, 43);
    let conf = wire_conf(&wire, "vlan", json!({"master": "mvm0", "vlanId": 100}));
    let result = added(&wire.ours("vlan", "ADD", "eth0", &conf), "vlan");
    let bad =
        with_prev(&wire_bad(&wire, &conf, json!({"master": "nosuch0", "vlanId": "x", "mtu": "x"})), &result);
    rejected(&wire.ours("vlan", "ADD", "eth1", &bad), "vlan");
    succeeded(&wire.ours("vlan", "DEL", "eth0", &bad), "vlan DEL");
    assert_eq!(wire.link("eth0"), Value::Null, "the vlan link is gone");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");

    added(&wire.ours("vlan", "ADD", "eth0", &conf), "vlan");
    delete_netns(&wire.container);
    succeeded(&wire_del_without_netns(&wire, "vlan", &conf), "vlan DEL without netns");
    assert!(wire_reservations(&wire).is_empty(), "the address is free");
}

#[test]
#[ignore = "needs dummy links: runs in the kernel VM tier"]
fn dummy_del_with_a_netconf_add_rejects_and_without_netns_frees_everything() {
    let host = Host::new();
    let conf = json!({"cniVersion": "1.0.0", "name": host.network, "type": "dummy",
        "ipam": {"type": "host-local", "subnet": format!("{BASE}.44.0/24"), "dataDir": host.store.path()}})
    .to_string();
    let result = added(&host.ours("dummy", "ADD", &conf), "dummy");
    let bad =
        with_prev(&over(&conf, json!({"dns": 5, "mtu": "x", "ipam": bad_ipam(host.store.path())})), &result);
    rejected(&host.ours("dummy", "ADD", &bad), "dummy");
    succeeded(&host.ours("dummy", "DEL", &bad), "dummy DEL");
    assert!(!link_exists(&host.container, "eth0"), "the dummy is gone");
    assert!(host.reservations().is_empty(), "the address is free");

    added(&host.ours("dummy", "ADD", &conf), "dummy");
    delete_netns(&host.container);
    succeeded(&host.call("dummy", "DEL", "", "", &conf), "dummy DEL without netns");
    assert!(host.reservations().is_empty(), "the address is free");
}

#[test]
#[ignore = "needs VRF: runs in the kernel VM tier"]
fn vrf_del_with_a_netconf_add_rejects_releases_and_removes_the_vrf() {
    let lab = HostLab::new(BASE, 45);
    let conf = meta_conf(&lab, "vrf", json!({"vrfname": "vrf0"}));
    added(&lab.run_ours("vrf", "ADD", &conf), "vrf");
    assert!(link_exists(&lab.container, "vrf0"));
    // No usable vrfname: the interface's master is the VRF to leave.
    let bad = over(&conf, json!({"vrfname": 5, "table": "x"}));
    rejected(&lab.run_ours("vrf", "ADD", &bad), "vrf");
    succeeded(&lab.run_ours("vrf", "DEL", &bad), "vrf DEL");
    let eth0 = ip_json(Some(&lab.container.name), &["link", "show", "eth0"]);
    assert_eq!(eth0[0]["master"], Value::Null, "eth0 is released: {eth0}");
    assert!(!link_exists(&lab.container, "vrf0"), "the VRF went with its last interface");

    added(&lab.run_ours("vrf", "ADD", &conf), "vrf");
    delete_netns(&lab.container);
    succeeded(&lab_del_without_netns(&lab, "vrf", &conf), "vrf DEL without netns");
}
