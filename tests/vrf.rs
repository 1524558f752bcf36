//! The vrf plugin chained after bridge, in a host netns of the test's own.
//! This machine's kernel has no VRF, so the tests that make one run in the
//! kernel VM tier (`scripts/vm-test`): the container's eth0 is enslaved to
//! the VRF, its default route moves into the VRF's table so the gateway
//! answers through the VRF only, CHECK, a table clash, and DEL releasing
//! the interface and removing the VRF. Config errors run everywhere.
//! Subnets 10.239.N.0/24 belong to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn vrf_conf(lab: &HostLab, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": lab.network, "type": "vrf", "vrfname": "vrf0",
        "prevResult": lab.result});
    with_keys(conf, &extra).to_string()
}

fn link(lab: &HostLab, name: &str) -> Value {
    let text = lab.container.output(&["ip", "-d", "-j", "link", "show", name]);
    serde_json::from_str::<Value>(&text).map(|v| v[0].clone()).unwrap_or(Value::Null)
}

#[test]
#[ignore = "needs VRF: runs in the kernel VM tier"]
fn the_interface_joins_the_vrf_and_del_removes_it() {
    let lab = HostLab::new("10.239", 1);
    let conf = vrf_conf(&lab, json!({"table": 42}));
    let add = lab.run_ours("vrf", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert_eq!(add.json["ips"], lab.result["ips"], "the previous result passes through");
    let vrf = link(&lab, "vrf0");
    assert_eq!(vrf["linkinfo"]["info_kind"], "vrf", "{vrf}");
    assert_eq!(vrf["linkinfo"]["info_data"]["table"], 42, "{vrf}");
    assert_eq!(link(&lab, "eth0")["master"], "vrf0");
    let table = lab.container.output(&["ip", "route", "show", "table", "42"]);
    assert!(table.contains(&format!("default via {} dev eth0", lab.gateway())), "{table}");
    let pings = |extra: &[&str]| {
        in_netns(&lab.container.name, "ping")
            .args(["-c1", "-W2"])
            .args(extra)
            .arg(lab.gateway())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    assert!(!pings(&[]), "outside the VRF there is no route");
    assert!(
        ping_with(Some(&lab.container.name), &["-I", "vrf0"], &lab.gateway()),
        "through the VRF the gateway answers"
    );

    let check = lab.run_ours("vrf", "CHECK", &conf);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let clash = lab.run_ours_as("other", "vrf", "ADD", &vrf_conf(&lab, json!({"table": 43})));
    assert!(
        clash.code == 1 && clash.stdout.contains("already exist with different routing table 42"),
        "{}",
        clash.stdout
    );

    let del = lab.run_ours("vrf", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(link(&lab, "eth0")["master"], Value::Null, "eth0 is released");
    assert_eq!(link(&lab, "vrf0"), Value::Null, "the VRF went with its last interface");
    let again = lab.run_ours("vrf", "DEL", &conf);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
}

#[test]
#[ignore = "needs VRF: runs in the kernel VM tier"]
fn a_del_after_the_interface_or_the_vrf_is_gone_succeeds_where_the_reference_fails() {
    // plugins PR#1282: during a namespace's teardown the enslaved interface
    // (or the VRF) can go before the plugin's DEL; DEL must succeed, or the
    // runtime stops the chain's DEL and the plugins before it leak.
    let lab = HostLab::new("10.239", 3);
    let conf = vrf_conf(&lab, json!({"table": 44}));
    let add = lab.run_ours("vrf", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    lab.container.exec(&["ip", "link", "del", "eth0"]);
    let del = lab.run_ours("vrf", "DEL", &conf);
    assert_eq!(del.code, 0, "ours, the interface gone: {}", del.stdout);
    assert_eq!(link(&lab, "vrf0"), Value::Null, "the VRF went with its last interface");
    // The VRF gone too: DEL still succeeds.
    assert_eq!(lab.run_ours("vrf", "DEL", &conf).code, 0);
    // Debian's reference (1.1.1, in the VM when the host has it) fails the first DEL.
    if std::path::Path::new(REFERENCE_DIR).join("vrf").exists() {
        lab.container.exec(&["ip", "link", "add", "eth0", "type", "dummy"]);
        let add = lab.run_reference("vrf", "ADD", &conf);
        assert_eq!(add.code, 0, "reference ADD: {}", add.stdout);
        lab.container.exec(&["ip", "link", "del", "eth0"]);
        let del = lab.run_reference("vrf", "DEL", &conf);
        assert_ne!(del.code, 0, "Debian's reference now succeeds here: the fault is fixed, drop this half");
    }
}

#[test]
fn a_vrf_needs_a_name_and_a_previous_result() {
    let lab = HostLab::new("10.239", 2);
    let mut unnamed: Value = serde_json::from_str(&vrf_conf(&lab, json!({}))).unwrap();
    unnamed.as_object_mut().unwrap().remove("vrfname");
    let out = lab.run_ours("vrf", "ADD", &unnamed.to_string());
    assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{}", out.stdout);
    assert_eq!(out.json["msg"], "configuration is expected to have a valid vrf name");
    let mut unchained: Value = serde_json::from_str(&vrf_conf(&lab, json!({}))).unwrap();
    unchained.as_object_mut().unwrap().remove("prevResult");
    let out = lab.run_ours("vrf", "ADD", &unchained.to_string());
    assert!(out.code == 1 && out.stdout.contains("missing prevResult"), "{}", out.stdout);
    let del = lab.run_ours("vrf", "DEL", &unchained.to_string());
    assert_eq!(del.code, 0, "DEL without a VRF succeeds: {}", del.stdout);
}
