//! The tuning plugin chained after bridge: sysctls and link settings read
//! back from the kernel, CHECK, DEL restoring what ADD changed, and the
//! saved settings handed over with the reference in both directions.
//! Subnets 10.208.N.0/24 belong to this file.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// A bridge attachment to chain tuning after.
fn attach<'a>(
    plugins: &PluginDir,
    ns: &'a TestNetns,
    store: &Path,
    bridge: &str,
    n: u8,
) -> (Attachment<'a>, Value) {
    let conf = json!({"cniVersion": "1.0.0", "name": unique("tun"), "type": "bridge", "bridge": bridge,
        "ipam": {"type": "host-local", "subnet": format!("10.208.{n}.0/24"), "dataDir": store}})
    .to_string();
    let path = plugins.path().to_str().unwrap();
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, ns, path);
    let result = att.add(&plugins.plugin("bridge"), path);
    (att, result)
}

fn tuning_conf(result: &Value, data_dir: &Path, settings: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "tunnet", "type": "tuning", "dataDir": data_dir,
        "prevResult": result});
    with_keys(conf, &settings).to_string()
}

fn sysctl(ns: &TestNetns, file: &str) -> String {
    let out =
        std::process::Command::new("ip").args(["netns", "exec", &ns.name, "cat", file]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn flags(link: &Value) -> Vec<String> {
    link["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect()
}

#[test]
fn tuning_sets_sysctls_and_link_settings_and_del_restores_them() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bridge = TestBridge::new();
    let ns = TestNetns::new("tun");
    let (_bridge_att, result) = attach(&plugins, &ns, store.path(), &bridge.name, 1);
    let before = link_details(Some(&ns.name), "eth0");
    let mac = "0a:58:0a:d0:01:77";
    let conf = tuning_conf(
        &result,
        data.path(),
        json!({"sysctl": {"net.ipv4.conf.IFNAME.arp_filter": "1", "net/ipv4/conf/eth0/arp_announce": "2"},
               "mac": mac, "mtu": 1400, "promisc": true, "allmulti": true, "txQLen": 500}),
    );
    let att = Attachment::new(&plugins.plugin("tuning"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("tuning"), path, "ADD", &conf);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json["interfaces"][2]["mac"], mac, "the result carries the new MAC");
    assert_eq!(out.json["ips"], result["ips"], "the rest of prevResult passes through");

    assert_eq!(sysctl(&ns, "/proc/sys/net/ipv4/conf/eth0/arp_filter"), "1");
    assert_eq!(sysctl(&ns, "/proc/sys/net/ipv4/conf/eth0/arp_announce"), "2");
    let after = link_details(Some(&ns.name), "eth0");
    assert_eq!(after["address"], mac);
    assert_eq!(after["mtu"], 1400);
    assert_eq!(after["txqlen"], 500);
    assert!(
        flags(&after).contains(&"PROMISC".to_string()) && flags(&after).contains(&"ALLMULTI".to_string()),
        "{after}"
    );
    let saved_file = data.path().join(format!("{}_eth0.json", att.id));
    let saved: Value = serde_json::from_slice(&std::fs::read(&saved_file).unwrap()).unwrap();
    assert_eq!(saved["mac"], before["address"]);
    assert_eq!(saved["mtu"], before["mtu"]);
    assert_eq!((saved["promisc"].clone(), saved["allmulti"].clone()), (json!(false), json!(false)));
    assert_eq!(
        saved["txQLen"].as_u64(),
        Some(before["txqlen"].as_u64().unwrap_or(0)),
        "ip -j omits a zero txqlen"
    );

    let check = att.call(&plugins.plugin("tuning"), path, "CHECK", &conf);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(std::process::Command::new("ip")
        .args(["-n", &ns.name, "link", "set", "eth0", "mtu", "1300"])
        .status()
        .unwrap()
        .success());
    let check = att.call(&plugins.plugin("tuning"), path, "CHECK", &conf);
    assert_eq!(check.code, 1, "CHECK sees the changed MTU: {}", check.stdout);
    assert!(check.json["msg"].as_str().unwrap().contains("MTU"), "{}", check.stdout);

    let del = att.call(&plugins.plugin("tuning"), path, "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    let restored = link_details(Some(&ns.name), "eth0");
    for key in ["address", "mtu", "txqlen"] {
        assert_eq!(restored[key], before[key], "{key} restored");
    }
    assert!(
        !flags(&restored).contains(&"PROMISC".to_string())
            && !flags(&restored).contains(&"ALLMULTI".to_string())
    );
    assert!(!saved_file.exists(), "the saved settings are removed");
    let again = att.call(&plugins.plugin("tuning"), path, "DEL", &conf);
    assert_eq!(again.code, 0, "a second DEL succeeds");
}

#[test]
fn tuning_refuses_bad_input_before_changing_anything() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bridge = TestBridge::new();
    let ns = TestNetns::new("tunb");
    let (_bridge_att, result) = attach(&plugins, &ns, store.path(), &bridge.name, 2);
    let cases = [
        (
            tuning_conf(&result, data.path(), json!({"sysctl": {"kernel.hostname": "x"}})),
            "key \"sysctl.kernel.hostname\": invalid sysctl",
        ),
        (
            tuning_conf(&result, data.path(), json!({"mtu": 1400})).replace(
                "\"mtu\":1400",
                "\"sysctl\":{\"net.core.somaxconn\":\"1\",\"net.core.somaxconn\":\"2\"},\"mtu\":1400",
            ),
            "duplicated sysctl keys",
        ),
        (
            json!({"cniVersion": "1.0.0", "name": "t", "type": "tuning", "mtu": 1400}).to_string(),
            "prevResult",
        ),
        (tuning_conf(&result, data.path(), json!({"mac": "not-a-mac"})), "MAC"),
    ];
    let before = link_details(Some(&ns.name), "eth0");
    for (conf, words) in cases {
        let att = Attachment::new(&plugins.plugin("tuning"), &conf, &ns, path);
        let out = att.call(&plugins.plugin("tuning"), path, "ADD", &conf);
        assert_eq!(out.code, 1, "{words}: {}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap_or_default().contains(words), "{words}: {}", out.stdout);
    }
    assert_eq!(link_details(Some(&ns.name), "eth0")["mtu"], before["mtu"], "nothing changed");
    assert_eq!(std::fs::read_dir(data.path()).map(|d| d.count()).unwrap_or(0), 0, "nothing saved");
}

#[test]
fn saved_settings_hand_over_with_the_reference_tuning() {
    require_reference();
    let ours = PluginDir::new();
    let ours_path = ours.path().to_str().unwrap();
    let reference = Path::new(REFERENCE_DIR).join("tuning");
    for (n, made_by_ours) in [(3, true), (4, false)] {
        let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let bridge = TestBridge::new();
        let ns = TestNetns::new("tunh");
        let (_bridge_att, result) = attach(&ours, &ns, store.path(), &bridge.name, n);
        let before = link_details(Some(&ns.name), "eth0");
        let conf = tuning_conf(
            &result,
            data.path(),
            json!({"mac": "0a:58:0a:d0:03:42", "mtu": 1280, "promisc": true}),
        );
        let att = Attachment::new(&ours.plugin("tuning"), &conf, &ns, ours_path);
        let (maker, maker_path, taker, taker_path) = if made_by_ours {
            (ours.plugin("tuning"), ours_path, reference.clone(), REFERENCE_DIR)
        } else {
            (reference.clone(), REFERENCE_DIR, ours.plugin("tuning"), ours_path)
        };
        let add = att.call(&maker, maker_path, "ADD", &conf);
        assert_eq!(add.code, 0, "{}", add.stdout);
        assert_eq!(link_details(Some(&ns.name), "eth0")["mtu"], 1280);
        let check = att.call(&taker, taker_path, "CHECK", &conf);
        assert_eq!(check.code, 0, "CHECK by the other side (ours made it: {made_by_ours}): {}", check.stdout);
        let del = att.call(&taker, taker_path, "DEL", &conf);
        assert_eq!(del.code, 0, "{}", del.stdout);
        let restored = link_details(Some(&ns.name), "eth0");
        for key in ["address", "mtu"] {
            assert_eq!(
                restored[key], before[key],
                "{key} restored by the other side (ours made it: {made_by_ours})"
            );
        }
        assert!(!flags(&restored).contains(&"PROMISC".to_string()));
        assert_eq!(std::fs::read_dir(data.path()).unwrap().count(), 0, "saved settings removed");
    }
}

#[test]
fn gc_removes_saved_settings_of_attachments_no_longer_valid() {
    let plugins = PluginDir::new();
    let data = tempfile::tempdir().unwrap();
    for name in ["live_eth0.json", "gone_eth0.json", "gone_net1.json"] {
        std::fs::write(data.path().join(name), "{\"mtu\": 1500}").unwrap();
    }
    let conf = json!({"cniVersion": "1.1.0", "name": "tunnet", "type": "tuning", "dataDir": data.path(),
        "cni.dev/valid-attachments": [{"containerID": "live", "ifname": "eth0"}]})
    .to_string();
    let out = run_plugin(
        &plugins.plugin("tuning"),
        &[("CNI_COMMAND", "GC"), ("CNI_PATH", plugins.path().to_str().unwrap())],
        &conf,
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let mut left: Vec<String> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["live_eth0.json"]);
}

#[test]
fn a_step_that_fails_late_takes_back_the_sysctls_and_link_settings_this_add_changed() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bridge = TestBridge::new();
    let ns = TestNetns::new("tunr");
    let (_bridge_att, result) = attach(&plugins, &ns, store.path(), &bridge.name, 3);
    let before = link_details(Some(&ns.name), "eth0");
    let somaxconn = sysctl(&ns, "/proc/sys/net/core/somaxconn");
    // The sysctl and the MAC go in, then the kernel refuses an MTU this
    // veth cannot have: the ADD fails after both changes.
    let conf = tuning_conf(
        &result,
        data.path(),
        json!({"sysctl": {"net.core.somaxconn": "321"}, "mac": "0a:58:0a:d0:03:99", "mtu": 70000}),
    );
    let att = Attachment::new(&plugins.plugin("tuning"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("tuning"), path, "ADD", &conf);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.json["msg"].as_str().unwrap_or_default().contains("netlink"),
        "the kernel refused: {}",
        out.stdout
    );
    assert!(out.stderr.is_empty(), "every undo worked: {}", out.stderr);
    assert_eq!(sysctl(&ns, "/proc/sys/net/core/somaxconn"), somaxconn, "the sysctl is back");
    let after = link_details(Some(&ns.name), "eth0");
    assert_eq!(after["address"], before["address"], "the MAC is back");
    assert_eq!(after["mtu"], before["mtu"]);
    assert_eq!(std::fs::read_dir(data.path()).map(|d| d.count()).unwrap_or(0), 0, "no saved settings left");
}
