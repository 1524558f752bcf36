//! The vlan plugin. This machine's kernel has no 802.1q, so the tests that
//! make VLANs run in the kernel VM tier (`scripts/vm-test`): the
//! container's VLAN of the host's `mvm0` pings the peer's VLAN interface
//! (tagged frames on the veth between them), its ID read back, CHECK, DEL.
//! Config errors are found before any link is made and run everywhere.
//! Subnets 10.234.N.0/24 (untagged) and 10.235.N.0/24 (VLAN 100) belong
//! to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn vlan_conf(wire: &Wire, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "vlannet", "type": "vlan", "master": "mvm0", "vlanId": 100,
        "ipam": {"type": "host-local", "subnet": format!("10.235.{}.0/24", wire.n),
                 "rangeStart": format!("10.235.{}.10", wire.n), "dataDir": wire.store.path()}});
    with_keys(conf, &extra).to_string()
}

#[test]
#[ignore = "needs 802.1q: runs in the kernel VM tier"]
fn the_vlan_carries_tagged_traffic_and_del_removes_it() {
    let wire = Wire::new("10.234", 1);
    wire.peer.exec(&[
        "ip",
        "link",
        "add",
        "link",
        "mvpeer",
        "name",
        "mvpeer.100",
        "type",
        "vlan",
        "id",
        "100",
    ]);
    wire.peer.exec(&["ip", "addr", "add", "10.235.1.100/24", "dev", "mvpeer.100"]);
    wire.peer.exec(&["ip", "link", "set", "mvpeer.100", "up"]);
    let conf = vlan_conf(&wire, json!({"mtu": 1400}));
    let add = wire.ours("vlan", "ADD", "eth0", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert_eq!(add.json["ips"][0]["address"], "10.235.1.10/24");
    let link = wire.link("eth0");
    assert_eq!(link["linkinfo"]["info_kind"], "vlan", "{link}");
    assert_eq!(link["linkinfo"]["info_data"]["id"], 100, "{link}");
    assert_eq!(link["mtu"], 1400, "{link}");
    assert!(ping(Some(&wire.container.name), "10.235.1.100"), "tagged traffic reaches the peer's VLAN 100");

    let prev = with_prev(&conf, &add.json);
    let check = wire.ours("vlan", "CHECK", "eth0", &prev);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let other = with_prev(&vlan_conf(&wire, json!({"mtu": 1400, "vlanId": 200})), &add.json);
    let check = wire.ours("vlan", "CHECK", "eth0", &other);
    assert!(check.code == 1 && check.stdout.contains("VLAN ID 100"), "{}", check.stdout);
    let del = wire.ours("vlan", "DEL", "eth0", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(wire.link("eth0"), Value::Null, "the VLAN is gone");
    let again = wire.ours("vlan", "DEL", "eth0", &prev);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
}

#[test]
fn bad_input_is_refused_before_any_link_is_made() {
    let wire = Wire::new("10.234", 2);
    let no_master = {
        let mut conf: Value = serde_json::from_str(&vlan_conf(&wire, json!({}))).unwrap();
        conf.as_object_mut().unwrap().remove("master");
        conf.to_string()
    };
    for (conf, says) in [
        (no_master, "\"master\" field is required"),
        (vlan_conf(&wire, json!({"vlanId": 5000})), "invalid VLAN ID 5000"),
        (vlan_conf(&wire, json!({"mtu": 9000})), "invalid MTU 9000, must be [0, master MTU(1500)]"),
        (vlan_conf(&wire, json!({"master": "nosuch0"})), "failed to lookup master"),
    ] {
        let out = wire.ours("vlan", "ADD", "eth0", &conf);
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{says}: {}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap_or_default().contains(says), "{says}: {}", out.stdout);
    }
    let links = wire.container.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo is in the container:\n{links}");
    let del = wire.ours("vlan", "DEL", "eth0", &vlan_conf(&wire, json!({"master": "gone0"})));
    assert_eq!(del.code, 0, "DEL needs no master: {}", del.stdout);
}
