//! The tap plugin: a persistent tap device as the container interface,
//! its settings read back with `ip -d -j link` (tap type, the packet
//! information and vnet headers the reference's two ways of making a tap
//! give it, multi-queue, owner and group, MTU, MAC), a bridge port in the
//! container, IPAM addresses, CHECK, DEL, `selinuxContext` on a host
//! without SELinux, and config errors.
//! (Debian's reference package has no tap plugin to compare with.)
//! Subnets 10.240.N.0/24 belong to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn tap_conf(store: &std::path::Path, n: u8, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap",
        "ipam": {"type": "host-local", "subnet": format!("10.240.{n}.0/24"), "dataDir": store}});
    with_keys(conf, &extra).to_string()
}

fn link(ns: &TestNetns, name: &str) -> Value {
    let text = ns.output(&["ip", "-d", "-j", "link", "show", name]);
    serde_json::from_str::<Value>(&text).map(|v| v[0].clone()).unwrap_or(Value::Null)
}

#[test]
fn the_tap_has_its_settings_and_del_removes_it() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("tap");
    let conf = tap_conf(
        store.path(),
        1,
        json!({"mtu": 1400, "mac": "0a:58:0a:f0:01:09", "multiQueue": true, "owner": 54321, "group": 54322}),
    );
    let att = Attachment::new(&plugins.plugin("tap"), &conf, &ns, path);
    let add = att.add(&plugins.plugin("tap"), path);
    assert_eq!(add["interfaces"][0]["name"], "eth0");
    assert_eq!(add["interfaces"][0]["mac"], "0a:58:0a:f0:01:09");
    assert_eq!(add["ips"][0]["address"], "10.240.1.2/24");
    let tap = link(&ns, "eth0");
    let data = &tap["linkinfo"]["info_data"];
    assert_eq!(tap["linkinfo"]["info_kind"], "tun", "{tap}");
    assert_eq!(data["type"], "tap", "{tap}");
    assert_eq!((data["pi"].clone(), data["multi_queue"].clone()), (json!(false), json!(true)), "{tap}");
    assert_eq!(data["vnet_hdr"], json!(true), "owner and group: the reference's netlink path: {tap}");
    assert_eq!((data["user"].clone(), data["group"].clone()), (json!(54321), json!(54322)), "{tap}");
    assert_eq!(tap["mtu"], 1400, "{tap}");
    assert!(tap["flags"].as_array().unwrap().contains(&json!("UP")), "{tap}");
    assert_eq!(link_addresses(Some(&ns.name), "eth0"), vec!["10.240.1.2/24".to_string()]);

    let prev = att.with_prev(&add);
    let check = att.call(&plugins.plugin("tap"), path, "CHECK", &prev);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let del = att.call(&plugins.plugin("tap"), path, "DEL", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(link(&ns, "eth0"), Value::Null, "the tap is gone");
    assert!(reservations(&store.path().join("tapnet")).is_empty(), "the address is free");
    let again = att.call(&plugins.plugin("tap"), path, "DEL", &prev);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
}

#[test]
fn an_l2_tap_on_a_bridge_in_the_container() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let ns = TestNetns::new("tapb");
    ns.exec(&["ip", "link", "add", "tapbr0", "type", "bridge"]);
    let conf =
        json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap", "bridge": "tapbr0"}).to_string();
    let out = run_plugin(&plugins.plugin("tap"), &cni_env("ADD", "tapctr", &ns.path(), "tap1", path), &conf);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json["ips"], Value::Null, "no addresses without IPAM");
    let tap = link(&ns, "tap1");
    assert_eq!(tap["master"], "tapbr0", "{tap}");
    assert!(tap["flags"].as_array().unwrap().contains(&json!("UP")), "{tap}");
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("tapx");
    for (extra, says) in [
        (json!({"mac": "nope"}), "for MAC addr"),
        (json!({"bridge": "nosuchbr"}), "failed to get bridge nosuchbr"),
    ] {
        let conf = tap_conf(store.path(), 2, extra);
        let out =
            run_plugin(&plugins.plugin("tap"), &cni_env("ADD", "tapctr", &ns.path(), "eth0", path), &conf);
        assert_eq!(out.code, 1, "{says}: {}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap_or_default().contains(says), "{says}: {}", out.stdout);
    }
    let links = ns.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo is in the container:\n{links}");
}

#[test]
fn headers_are_those_of_the_references_path_for_the_config() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let ns = TestNetns::new("taph");
    // (owner, group) -> (pi, vnet_hdr): `ip tuntap add` unless both are
    // given, then the reference's netlink library.
    for (ifname, extra, headers) in [
        ("tap2", json!({}), (false, false)),
        ("tap3", json!({"owner": 54321}), (false, false)),
        ("tap4", json!({"owner": 54321, "group": 54322}), (true, true)),
    ] {
        let conf =
            with_keys(json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap"}), &extra).to_string();
        let out =
            run_plugin(&plugins.plugin("tap"), &cni_env("ADD", "tapctr", &ns.path(), ifname, path), &conf);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let data = link(&ns, ifname)["linkinfo"]["info_data"].clone();
        assert_eq!(
            (data["pi"].clone(), data["vnet_hdr"].clone()),
            (json!(headers.0), json!(headers.1)),
            "{extra}: {data}"
        );
    }
}

#[test]
fn selinux_context_fails_as_the_references_on_a_host_without_selinux() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("taps");
    let conf = tap_conf(store.path(), 3, json!({"selinuxContext": "system_u:system_r:svirt_t:s0"}));
    let out = run_plugin(&plugins.plugin("tap"), &cni_env("ADD", "tapctr", &ns.path(), "eth0", path), &conf);
    if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        // A host with SELinux: the tap is made by `ip` under the label.
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert_eq!(link(&ns, "eth0")["linkinfo"]["info_kind"], "tun");
        return;
    }
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.json["code"], 999, "{}", out.stdout);
    let msg = out.json["msg"].as_str().unwrap_or_default();
    assert!(msg.starts_with("failed set socket label: write /proc/thread-self/attr/exec"), "{msg}");
    let links = ns.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo is in the container:\n{links}");
    assert!(reservations(&store.path().join("tapnet")).is_empty(), "no address was reserved");
}

#[test]
fn an_ipv6_gateway_on_a_tap_without_carrier_does_not_fail_the_add() {
    // No VMM has the tap open, so it has no carrier and DAD never runs; the
    // reference waits out its settle time and, since v1.9.0, succeeds.
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("tap6");
    let conf = json!({"cniVersion": "1.0.0", "name": "tapnet6", "type": "tap",
        "ipam": {"type": "host-local", "subnet": "fd00:240:6::/64", "dataDir": store.path()}})
    .to_string();
    let att = Attachment::new(&plugins.plugin("tap"), &conf, &ns, path);
    let add = att.add(&plugins.plugin("tap"), path);
    assert_eq!(add["ips"][0]["address"], "fd00:240:6::2/64");
    assert_eq!(add["ips"][0]["gateway"], "fd00:240:6::1");
    let tap = link(&ns, "eth0");
    assert!(tap["flags"].as_array().unwrap().contains(&json!("NO-CARRIER")), "{tap}");
    assert_eq!(link_addresses(Some(&ns.name), "eth0"), vec!["fd00:240:6::2/64".to_string()]);
    let del = att.call(&plugins.plugin("tap"), path, "DEL", &att.with_prev(&add));
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(reservations(&store.path().join("tapnet6")).is_empty());
}
