//! The macvlan plugin, run inside a host netns of the test's own whose
//! `mvm0` is one end of a veth to a peer netns: the container's macvlan
//! carries pings to the peer, its kind, mode, MTU and MAC are read back,
//! CHECK and DEL, L2-only interfaces, a master inside the container, the
//! default route's interface as master, config errors, and handover with
//! the reference. Subnets 10.232.N.0/24 belong to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn macvlan_conf(wire: &Wire, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "mvnet", "type": "macvlan", "master": "mvm0",
        "ipam": {"type": "host-local", "subnet": format!("10.232.{}.0/24", wire.n),
                 "rangeStart": format!("10.232.{}.10", wire.n), "dataDir": wire.store.path()}});
    with_keys(conf, &extra).to_string()
}

fn ours(wire: &Wire, command: &str, conf: &str) -> Outcome {
    wire.ours("macvlan", command, "eth0", conf)
}

fn reference(wire: &Wire, command: &str, conf: &str) -> Outcome {
    wire.reference("macvlan", command, "eth0", conf)
}

#[test]
fn the_macvlan_carries_traffic_and_del_removes_it() {
    let wire = Wire::new("10.232", 1);
    let conf = macvlan_conf(&wire, json!({}));
    let add = ours(&wire, "ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert_eq!(add.json["interfaces"][0]["name"], "eth0");
    assert_eq!(add.json["interfaces"][0]["sandbox"], wire.container.path());
    assert_eq!(add.json["ips"][0]["address"], "10.232.1.10/24");
    assert_eq!(add.json["ips"][0]["interface"], 0);
    let link = wire.link("eth0");
    assert_eq!(link["linkinfo"]["info_kind"], "macvlan", "{link}");
    assert_eq!(link["linkinfo"]["info_data"]["mode"], "bridge", "{link}");
    assert_eq!(link["address"], add.json["interfaces"][0]["mac"]);
    assert_eq!(wire.container.output(&["cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify"]).trim(), "1");
    assert!(wire.pings_peer(), "the container reaches the peer through the macvlan");

    let prev = with_prev(&conf, &add.json);
    let check = ours(&wire, "CHECK", &prev);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let private = with_prev(&macvlan_conf(&wire, json!({"mode": "private"})), &add.json);
    let check = ours(&wire, "CHECK", &private);
    assert!(check.code == 1 && check.stdout.contains("mode bridge does not match"), "{}", check.stdout);

    let del = ours(&wire, "DEL", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(wire.link("eth0"), Value::Null, "the macvlan is gone");
    assert!(reservations(wire.store.path().join("mvnet").as_path()).is_empty(), "the address is released");
    let again = ours(&wire, "DEL", &prev);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
    let check = ours(&wire, "CHECK", &prev);
    assert_eq!(check.code, 1, "CHECK after DEL fails: {}", check.stdout);
}

#[test]
fn mode_mtu_mac_and_l2_only() {
    let wire = Wire::new("10.232", 2);
    let mut conf: Value = serde_json::from_str(&macvlan_conf(
        &wire,
        json!({"mode": "private", "mtu": 1400,
        "runtimeConfig": {"mac": "0a:58:0a:e8:02:07"}}),
    ))
    .unwrap();
    conf.as_object_mut().unwrap().remove("ipam");
    let add = ours(&wire, "ADD", &conf.to_string());
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert_eq!(add.json["ips"], Value::Null, "no addresses without IPAM: {}", add.stdout);
    let link = wire.link("eth0");
    assert_eq!(link["linkinfo"]["info_data"]["mode"], "private", "{link}");
    assert_eq!(link["mtu"], 1400);
    assert_eq!(link["address"], "0a:58:0a:e8:02:07");
    assert!(link["flags"].as_array().unwrap().contains(&json!("UP")), "an L2 interface comes up: {link}");
}

#[test]
fn a_master_in_the_container() {
    let wire = Wire::new("10.232", 3);
    // A master inside the container.
    wire.container.exec(&["ip", "link", "add", "mvin0", "type", "veth", "peer", "name", "mvin1"]);
    let conf = macvlan_conf(&wire, json!({"master": "mvin0", "linkInContainer": true}));
    let out = wire.call(
        &wire.plugins.plugin("macvlan"),
        wire.plugins.path().to_str().unwrap(),
        "ADD",
        "eth1",
        &conf,
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let link = wire.link("eth1");
    assert_eq!(link["linkinfo"]["info_kind"], "macvlan", "{link}");
    assert_eq!(link["link"], "mvin0", "its master is the container's mvin0: {link}");
}

#[test]
fn without_master_the_default_route_interface_is_used() {
    let wire = Wire::new("10.232", 6);
    wire.host.exec(&["ip", "addr", "add", "10.232.6.1/24", "dev", "mvm0"]);
    wire.host.exec(&["ip", "route", "add", "default", "via", "10.232.6.100"]);
    let mut conf: Value = serde_json::from_str(&macvlan_conf(&wire, json!({}))).unwrap();
    conf.as_object_mut().unwrap().remove("master");
    let add = ours(&wire, "ADD", &conf.to_string());
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert!(wire.pings_peer(), "the macvlan of the default route's interface reaches the peer");
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let wire = Wire::new("10.232", 4);
    for (extra, says) in [
        (json!({"mode": "sideways"}), "unknown macvlan mode"),
        (json!({"mtu": 9000}), "invalid MTU 9000, must be [0, master MTU(1500)]"),
        (json!({"master": "nosuch0"}), "failed to lookup master"),
        (json!({"runtimeConfig": {"mac": "not-a-mac"}}), "for MAC addr"),
    ] {
        let out = ours(&wire, "ADD", &macvlan_conf(&wire, extra));
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{says}: {}", out.stdout);
        assert!(out.stdout.contains(says), "{says}: {}", out.stdout);
    }
    // IPAM fails after the link is made: the link goes again.
    let out = ours(&wire, "ADD", &macvlan_conf(&wire, json!({"ipam": {"type": "no-such-ipam"}})));
    assert_eq!(out.code, 1, "{}", out.stdout);
    let links = wire.container.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo is left in the container:\n{links}");
}

#[test]
fn state_hands_over_with_the_reference() {
    require_reference();
    let wire = Wire::new("10.232", 5);
    let conf = macvlan_conf(&wire, json!({"mode": "vepa"}));
    let theirs = reference(&wire, "ADD", &conf);
    assert_eq!(theirs.code, 0, "{}", theirs.stdout);
    let their_link = wire.link("eth0");
    let prev = with_prev(&conf, &theirs.json);
    let check = ours(&wire, "CHECK", &prev);
    assert_eq!(check.code, 0, "ours checks the reference's: {}", check.stdout);
    let del = ours(&wire, "DEL", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(wire.link("eth0"), Value::Null);

    let ours = ours(&wire, "ADD", &conf);
    assert_eq!(ours.code, 0, "{}", ours.stdout);
    let scrub = |mut link: Value| {
        for key in ["ifindex", "address", "link_index", "operstate"] {
            link.as_object_mut().map(|m| m.remove(key));
        }
        link
    };
    assert_eq!(scrub(wire.link("eth0")), scrub(their_link), "the same link settings as the reference's");
    assert_eq!(ours.json["ips"][0]["gateway"], theirs.json["ips"][0]["gateway"]);
    let prev = with_prev(&conf, &ours.json);
    let check = reference(&wire, "CHECK", &prev);
    assert_eq!(check.code, 0, "the reference checks ours: {}", check.stdout);
    let del = reference(&wire, "DEL", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(wire.link("eth0"), Value::Null);
}
