//! The host-device plugin, run in a host netns of the test's own whose
//! `mvm0` (one end of a veth to a peer netns) is moved into the container:
//! found by name or MAC, renamed with its host name kept as alias, pinging
//! the peer from the container, and back under its own name after DEL; a
//! failed move leaves it as it was; config errors; handover with the
//! reference in both directions. Subnets 10.237.N.0/24 belong to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn conf(wire: &Wire, select: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "hdnet", "type": "host-device",
        "ipam": {"type": "host-local", "subnet": format!("10.237.{}.0/24", wire.n),
                 "rangeStart": format!("10.237.{}.10", wire.n), "dataDir": wire.store.path()}});
    with_keys(conf, &select).to_string()
}

/// `ip -j link show mvm0` in the host netns (Null when it is not there).
fn host_device(wire: &Wire) -> Value {
    let text = wire.host.output(&["ip", "-j", "link", "show", "mvm0"]);
    serde_json::from_str::<Value>(&text).map(|v| v[0].clone()).unwrap_or(Value::Null)
}

#[test]
fn the_device_moves_in_carries_traffic_and_comes_back() {
    for (n, select) in [(1u8, None), (2, Some("hwaddr"))] {
        let wire = Wire::new("10.237", n);
        let mac = host_device(&wire)["address"].as_str().unwrap().to_string();
        let select = match select {
            None => json!({"device": "mvm0"}),
            Some(_) => json!({"hwaddr": mac.to_uppercase()}),
        };
        let conf = conf(&wire, select.clone());
        let add = wire.ours("host-device", "ADD", "eth0", &conf);
        assert_eq!(add.code, 0, "{select}: {}{}", add.stdout, add.stderr);
        assert_eq!(add.json["interfaces"][0]["name"], "eth0");
        assert_eq!(add.json["interfaces"][0]["mac"], mac.as_str());
        assert_eq!(add.json["interfaces"][0]["sandbox"], wire.container.path());
        assert_eq!(host_device(&wire), Value::Null, "mvm0 left the host");
        let link = wire.link("eth0");
        assert_eq!(link["ifalias"], "mvm0", "the host name is kept as alias: {link}");
        assert!(wire.pings_peer(), "{select}: the moved device reaches the peer");

        let prev = with_prev(&conf, &add.json);
        let check = wire.ours("host-device", "CHECK", "eth0", &prev);
        assert_eq!(check.code, 0, "{}", check.stdout);
        let del = wire.ours("host-device", "DEL", "eth0", &prev);
        assert_eq!(del.code, 0, "{}{}", del.stdout, del.stderr);
        assert_eq!(wire.link("eth0"), Value::Null, "gone from the container");
        let back = host_device(&wire);
        assert_eq!(back["address"], mac.as_str(), "mvm0 is back on the host: {back}");
        assert_eq!(back["ifalias"], Value::Null, "and its alias is cleared: {back}");
        assert!(reservations(&wire.store.path().join("hdnet")).is_empty(), "the address is free");
        let again = wire.ours("host-device", "DEL", "eth0", &prev);
        assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
    }
}

#[test]
fn a_failed_move_leaves_the_device_as_it_was() {
    let wire = Wire::new("10.237", 3);
    // The container already has an eth0: the move must fail.
    wire.container.exec(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "other0"]);
    let out = wire.ours("host-device", "ADD", "eth0", &conf(&wire, json!({"device": "mvm0"})));
    assert!(out.code == 1 && out.stdout.contains("to container NS"), "{}", out.stdout);
    let host = host_device(&wire);
    assert_eq!(host["ifname"], "mvm0", "back under its name: {host}");
    assert!(host["flags"].as_array().unwrap().contains(&json!("UP")), "and up again: {host}");
    assert_eq!(host["ifalias"], Value::Null, "without an alias: {host}");
    assert!(reservations(&wire.store.path().join("hdnet")).is_empty(), "no address was kept");
}

#[test]
fn bad_input_is_refused() {
    let wire = Wire::new("10.237", 4);
    for (select, says) in [
        (json!({}), "specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\""),
        (json!({"hwaddr": "zz:zz"}), "failed to parse MAC address"),
        (json!({"kernelpath": "/tmp/x"}), "must be absolute and begin with /sys/devices/"),
        (json!({"runtimeConfig": {"deviceID": "0000:99:99.9"}}), "not found or unsupported"),
    ] {
        let out = wire.ours("host-device", "ADD", "eth0", &conf(&wire, select.clone()));
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{select}: {}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap_or_default().contains(says), "{select}: {}", out.stdout);
    }
    let out = wire.ours("host-device", "ADD", "eth0", &conf(&wire, json!({"device": "nosuch0"})));
    assert!(out.code == 1 && out.stdout.contains("failed to find host device"), "{}", out.stdout);
    assert_eq!(host_device(&wire)["ifname"], "mvm0", "the host's device is untouched");
}

#[test]
fn state_hands_over_with_the_reference() {
    require_reference();
    for (n, made_by_ours) in [(5u8, true), (6, false)] {
        let wire = Wire::new("10.237", n);
        let conf = conf(&wire, json!({"device": "mvm0"}));
        let (make, take) = if made_by_ours { ("ours", "reference") } else { ("reference", "ours") };
        let run = |who: &str, command: &str, conf: &str| match who {
            "ours" => wire.ours("host-device", command, "eth0", conf),
            _ => wire.reference("host-device", command, "eth0", conf),
        };
        let add = run(make, "ADD", &conf);
        assert_eq!(add.code, 0, "{make}: {}{}", add.stdout, add.stderr);
        assert_eq!(wire.link("eth0")["ifalias"], "mvm0", "{make} keeps the host name as alias");
        let prev = with_prev(&conf, &add.json);
        let check = run(take, "CHECK", &prev);
        assert_eq!(check.code, 0, "{take} checks {make}'s: {}", check.stdout);
        let del = run(take, "DEL", &prev);
        assert_eq!(del.code, 0, "{take}: {}{}", del.stdout, del.stderr);
        assert_eq!(host_device(&wire)["ifname"], "mvm0", "{take} moved {make}'s device back");
    }
}

#[test]
fn a_del_after_a_reboot_succeeds_and_frees_the_address() {
    // plugins PR#1197: after a reboot the container's namespace, and the
    // device's place in it, are gone; DEL must still free the reservation.
    let wire = Wire::new("10.237", 7);
    let conf = conf(&wire, json!({"device": "mvm0"}));
    let add = wire.ours("host-device", "ADD", "eth0", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert_eq!(reservations(&wire.store.path().join("hdnet")).len(), 1);
    // The namespace goes (a veth end inside it goes with it).
    let gone =
        std::process::Command::new("ip").args(["netns", "del", &wire.container.name]).status().unwrap();
    assert!(gone.success());
    let prev = with_prev(&conf, &add.json);
    let del = wire.ours("host-device", "DEL", "eth0", &prev);
    assert_eq!(del.code, 0, "{}{}", del.stdout, del.stderr);
    assert!(reservations(&wire.store.path().join("hdnet")).is_empty(), "the address is free");
}
