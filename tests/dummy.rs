//! The dummy plugin. This machine's kernel has no dummy links, so the tests
//! that make one run in the kernel VM tier (`scripts/vm-test`): the
//! container's dummy holds the IPAM address (the container reaches it),
//! CHECK sees it and notices it down, DEL removes it and frees the
//! address. The IPAM requirement is checked everywhere. Subnet
//! 10.236.N.0/24 belongs to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn dummy_conf(store: &std::path::Path, n: u8) -> String {
    json!({"cniVersion": "1.0.0", "name": "dummynet", "type": "dummy",
        "ipam": {"type": "host-local", "subnet": format!("10.236.{n}.0/24"), "dataDir": store}})
    .to_string()
}

#[test]
#[ignore = "needs dummy links: runs in the kernel VM tier"]
fn the_dummy_holds_the_address_and_del_removes_it() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("dum");
    ns.exec(&["ip", "link", "set", "lo", "up"]);
    let conf = dummy_conf(store.path(), 1);
    let att = Attachment::new(&plugins.plugin("dummy"), &conf, &ns, path);
    let add = att.add(&plugins.plugin("dummy"), path);
    assert_eq!(add["interfaces"][0]["sandbox"], ns.path());
    assert_eq!(add["ips"][0]["address"], "10.236.1.2/24");
    let link: Value = serde_json::from_str(&ns.output(&["ip", "-d", "-j", "link", "show", "eth0"])).unwrap();
    assert_eq!(link[0]["linkinfo"]["info_kind"], "dummy", "{link}");
    assert!(ping(Some(&ns.name), "10.236.1.2"), "the container reaches its own dummy address");

    let prev = att.with_prev(&add);
    let check = att.call(&plugins.plugin("dummy"), path, "CHECK", &prev);
    assert_eq!(check.code, 0, "{}", check.stdout);
    ns.exec(&["ip", "link", "set", "eth0", "down"]);
    let check = att.call(&plugins.plugin("dummy"), path, "CHECK", &prev);
    assert!(check.code == 1 && check.stdout.contains("is down"), "{}", check.stdout);

    let del = att.call(&plugins.plugin("dummy"), path, "DEL", &prev);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(ns.output(&["ip", "link", "show", "eth0"]).is_empty(), "the dummy is gone");
    assert!(reservations(&store.path().join("dummynet")).is_empty(), "the address is free");
}

#[test]
fn a_dummy_needs_ipam() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let ns = TestNetns::new("dumx");
    let conf = json!({"cniVersion": "1.0.0", "name": "dummynet", "type": "dummy"}).to_string();
    let out =
        run_plugin(&plugins.plugin("dummy"), &cni_env("ADD", "dumctr", &ns.path(), "eth0", path), &conf);
    assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{}", out.stdout);
    assert_eq!(out.json["msg"], "dummy interface requires an IPAM configuration");
    let del =
        run_plugin(&plugins.plugin("dummy"), &cni_env("DEL", "dumctr", &ns.path(), "eth0", path), &conf);
    assert_eq!(del.code, 0, "DEL without IPAM and without a link succeeds: {}", del.stdout);
}
