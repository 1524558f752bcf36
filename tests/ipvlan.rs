//! The ipvlan plugin. This machine's kernel has no ipvlan, so the tests run
//! in the kernel VM tier (`scripts/vm-test`): a host netns whose `mvm0`
//! is a veth to a peer netns, the container's ipvlan of it pinging the
//! peer, its mode read back, CHECK, DEL, the chained form (master and
//! addresses from the previous result), and config errors. Subnets
//! 10.233.N.0/24 belong to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn ipvlan_conf(wire: &Wire, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "ipvnet", "type": "ipvlan", "master": "mvm0",
        "ipam": {"type": "host-local", "subnet": format!("10.233.{}.0/24", wire.n),
                 "rangeStart": format!("10.233.{}.10", wire.n), "dataDir": wire.store.path()}});
    with_keys(conf, &extra).to_string()
}

#[test]
#[ignore = "needs ipvlan: runs in the kernel VM tier"]
fn the_ipvlan_carries_traffic_in_each_mode_and_del_removes_it() {
    for (n, mode) in [(1u8, "l2"), (2, "l3"), (3, "l3s")] {
        let wire = Wire::new("10.233", n);
        let conf = ipvlan_conf(&wire, json!({"mode": mode}));
        let add = wire.ours("ipvlan", "ADD", "eth0", &conf);
        assert_eq!(add.code, 0, "{mode}: {}{}", add.stdout, add.stderr);
        assert_eq!(add.json["interfaces"][0]["sandbox"], wire.container.path());
        assert_eq!(add.json["ips"][0]["address"], format!("10.233.{n}.10/24"));
        let link = wire.link("eth0");
        assert_eq!(link["linkinfo"]["info_kind"], "ipvlan", "{link}");
        assert_eq!(link["linkinfo"]["info_data"]["mode"], mode, "{link}");
        if mode == "l2" {
            assert!(wire.pings_peer(), "the container reaches the peer over the ipvlan");
        }
        let prev = with_prev(&conf, &add.json);
        let check = wire.ours("ipvlan", "CHECK", "eth0", &prev);
        assert_eq!(check.code, 0, "{mode}: {}", check.stdout);
        let other = with_prev(
            &ipvlan_conf(&wire, json!({"mode": if mode == "l2" { "l3" } else { "l2" }})),
            &add.json,
        );
        let check = wire.ours("ipvlan", "CHECK", "eth0", &other);
        assert!(
            check.code == 1 && check.stdout.contains("does not match expected value"),
            "{}",
            check.stdout
        );
        let del = wire.ours("ipvlan", "DEL", "eth0", &prev);
        assert_eq!(del.code, 0, "{}", del.stdout);
        assert_eq!(wire.link("eth0"), Value::Null, "{mode}: the ipvlan is gone");
        let again = wire.ours("ipvlan", "DEL", "eth0", &prev);
        assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
    }
}

#[test]
#[ignore = "needs ipvlan: runs in the kernel VM tier"]
fn chained_the_master_and_addresses_come_from_the_previous_result() {
    let wire = Wire::new("10.233", 4);
    let prev = json!({"cniVersion": "1.0.0", "interfaces": [{"name": "mvm0"}],
        "ips": [{"address": "10.233.4.50/24", "interface": 0}]});
    let conf =
        json!({"cniVersion": "1.0.0", "name": "ipvnet", "type": "ipvlan", "prevResult": prev}).to_string();
    let add = wire.ours("ipvlan", "ADD", "eth0", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert_eq!(add.json["ips"][0]["address"], "10.233.4.50/24");
    assert_eq!(add.json["interfaces"][0]["name"], "eth0");
    assert!(wire.pings_peer(), "the chained ipvlan reaches the peer");
    let two = json!({"cniVersion": "1.0.0", "name": "ipvnet", "type": "ipvlan",
        "prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "a"}, {"name": "b"}], "ips": []}});
    let out = wire.ours("ipvlan", "ADD", "eth1", &two.to_string());
    assert!(
        out.code == 1 && out.stdout.contains("PrevResult lacks a single named interface"),
        "{}",
        out.stdout
    );
}

#[test]
#[ignore = "needs ipvlan: runs in the kernel VM tier"]
fn bad_input_is_refused_and_leaves_nothing() {
    let wire = Wire::new("10.233", 5);
    let out = wire.ours("ipvlan", "ADD", "eth0", &ipvlan_conf(&wire, json!({"mode": "l4"})));
    assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{}", out.stdout);
    let out = wire.ours("ipvlan", "ADD", "eth0", &ipvlan_conf(&wire, json!({"master": "nosuch0"})));
    assert!(out.code == 1 && out.stdout.contains("failed to lookup master"), "{}", out.stdout);
    let out =
        wire.ours("ipvlan", "ADD", "eth0", &ipvlan_conf(&wire, json!({"ipam": {"type": "no-such-ipam"}})));
    assert_eq!(out.code, 1, "{}", out.stdout);
    let links = wire.container.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo is left in the container:\n{links}");
}
