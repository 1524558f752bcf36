//! A link name longer than the kernel can hold (up to 64 KiB, where the
//! netlink attribute length overflows) is a clean config error from every
//! plugin that takes one, at once: no hang, no panic, nothing made.
//! Subnet 10.226.0.0/24 belongs to this file.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn huge_link_names_are_a_clean_error_everywhere() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let ns = TestNetns::new("lname");
    let store = tempfile::tempdir().unwrap();
    let ipam = json!({"type": "host-local", "subnet": "10.226.0.0/24", "dataDir": store.path()});
    for length in [16, 65_464, 65_500, 65_531, 70_000] {
        let name = "n".repeat(length);
        for (plugin, key, extra) in [
            ("bridge", "bridge", json!({})),
            ("macvlan", "master", json!({})),
            ("ipvlan", "master", json!({})),
            ("vlan", "master", json!({"vlanId": 5})),
            ("host-device", "device", json!({})),
            ("tap", "bridge", json!({})),
            (
                "vrf",
                "vrfname",
                json!({"prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": ns.path()}]}}),
            ),
        ] {
            let mut conf = json!({"cniVersion": "1.0.0", "name": "lname", "type": plugin, "ipam": ipam});
            conf[key] = json!(name);
            let conf = with_keys(conf, &extra);
            let started = Instant::now();
            let id = unique("lname");
            let out = run_plugin(
                &plugins.plugin(plugin),
                &cni_env("ADD", &id, &ns.path(), "eth0", &path),
                &conf.to_string(),
            );
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{plugin} {length}: took {:?}",
                started.elapsed()
            );
            assert_eq!(
                out.code,
                1,
                "{plugin} {length}: {}",
                out.stdout.chars().take(300).collect::<String>()
            );
            assert!(out.json["code"].as_u64().is_some(), "{plugin} {length}: an error object");
            assert!(!out.stderr.contains("panicked"), "{plugin} {length}: {}", out.stderr);
        }
    }
    assert!(reservations(&store.path().join("lname")).is_empty(), "no address kept");
    let links = ns.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo in the netns: {links}");
}
