//! Hostile values in every netconf key whose string reaches a tool or the
//! kernel: iptables chain names and arguments, nft expressions, sysctl
//! keys, link names and sysfs paths. Each is refused at once with a spec
//! error of code 7 that names the key, with no panic and nothing made or
//! written: the plugins run inside a private host netns, whose links,
//! iptables and nftables rules are read back before and after.
//! Link names run up to 64 KiB, where the netlink attribute length
//! overflows (once a hang or a panic inside netlink-packet-route).
//! Subnet 10.226.0.0/24 belongs to this file.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// What a wrongly accepted value could have changed in the host netns.
fn host_state(host: &TestNetns) -> String {
    let mut state = host.output(&["ip", "-o", "link", "show"]);
    for tool in [["iptables-save", "-t", "filter"], ["iptables-save", "-t", "nat"]] {
        state.push_str(&host.output(&tool));
    }
    state.push_str(&host.output(&["nft", "list", "ruleset"]));
    // iptables-save's comment lines carry the time.
    state.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

/// Values every link-name key must refuse: separators, NUL, `..`, and
/// lengths of 16 bytes (one past IFNAMSIZ), 4 KiB and about 64 KiB.
fn bad_link_names() -> Vec<String> {
    let mut names: Vec<String> = ["a\nb", "a\0b", "..", "a/b", "a:b", "a b"].map(String::from).to_vec();
    names.extend([16, 4096, 65_464, 65_531, 70_000].map(|n| "n".repeat(n)));
    names
}

struct Case {
    plugin: &'static str,
    key: &'static str,
    /// The netconf with the value put in at `key` (the label the error names).
    conf: Value,
}

fn shown(value: &str) -> String {
    format!("{:?}", value.chars().take(30).collect::<String>())
}

fn assert_refused(plugins: &PluginDir, host: &TestNetns, netns: &TestNetns, case: &Case, value: &str) {
    let path = plugins.path().to_str().unwrap();
    let id = unique("hv");
    let started = Instant::now();
    let out = run_plugin_in(
        host,
        &plugins.plugin(case.plugin),
        &cni_env("ADD", &id, &netns.path(), "eth0", path),
        &case.conf.to_string(),
    );
    let what = format!("{} {} = {} ({} bytes)", case.plugin, case.key, shown(value), value.len());
    // Seconds only for CI's load: the answer comes in milliseconds.
    assert!(started.elapsed() < Duration::from_secs(5), "{what}: took {:?}", started.elapsed());
    assert_eq!(out.code, 1, "{what}: {}", out.stdout.chars().take(300).collect::<String>());
    assert_eq!(out.json["code"], 7, "{what}: {}", out.stdout.chars().take(300).collect::<String>());
    let msg = out.json["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(&format!("key \"{}", case.key)), "{what}: the error names the key: {msg}");
    assert!(msg.len() < 400, "{what}: the error shows a bounded part of the value");
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
}

fn conf(plugin: &str, key: &str, value: Value, extra: Value) -> Value {
    let mut conf = json!({"cniVersion": "1.0.0", "name": "hostile", "type": plugin});
    conf[key] = value;
    with_keys(conf, &extra)
}

#[test]
fn hostile_values_are_refused_with_the_key_named_and_nothing_written() {
    let plugins = PluginDir::new();
    let host = TestNetns::new("hvh");
    let netns = TestNetns::new("hvc");
    netns.exec(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    let store = tempfile::tempdir().unwrap();
    let ipam = json!({"ipam": {"type": "host-local", "subnet": "10.226.0.0/24", "dataDir": store.path()}});
    let prev = json!({"prevResult": {"cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "sandbox": netns.path()}],
        "ips": [{"address": "10.226.0.5/24", "interface": 0}]}});
    let ports = json!({"runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}});
    let before = host_state(&host);

    let mut cases: Vec<(Case, String)> = Vec::new();
    for (plugin, key, extra) in [
        ("bridge", "bridge", ipam.clone()),
        ("macvlan", "master", ipam.clone()),
        ("ipvlan", "master", ipam.clone()),
        ("vlan", "master", with_keys(ipam.clone(), &json!({"vlanId": 5}))),
        ("host-device", "device", json!({})),
        ("tap", "bridge", ipam.clone()),
        ("vrf", "vrfname", prev.clone()),
    ] {
        for name in bad_link_names() {
            cases.push((Case { plugin, key, conf: conf(plugin, key, json!(name), extra.clone()) }, name));
        }
    }
    let chain_values =
        ["ADM\n-A INPUT -s 10.226.0.9/32 -j DROP", "A\0B", "A\"B", "A B", "-A", "!A", &"A".repeat(65536)];
    for value in chain_values {
        let extra = with_keys(prev.clone(), &json!({"backend": "iptables"}));
        cases.push((
            Case {
                plugin: "firewall",
                key: "iptablesAdminChainName",
                conf: conf("firewall", "iptablesAdminChainName", json!(value), extra),
            },
            value.to_string(),
        ));
        let extra = with_keys(with_keys(prev.clone(), &ports), &json!({"backend": "iptables"}));
        cases.push((
            Case {
                plugin: "portmap",
                key: "externalSetMarkChain",
                conf: conf("portmap", "externalSetMarkChain", json!(value), extra),
            },
            value.to_string(),
        ));
    }
    // iptables arguments: a newline (even quoted) starts a new rule.
    for value in ["-s\n-A INPUT -j DROP", "x\0y", "x\ry"] {
        let extra = with_keys(with_keys(prev.clone(), &ports), &json!({"backend": "iptables"}));
        let conf = conf("portmap", "conditionsV4", json!(["-s", value]), extra);
        cases.push((Case { plugin: "portmap", key: "conditionsV4", conf }, value.to_string()));
    }
    // nft expressions: a newline, `;` or `#` ends the rule.
    for value in ["ip saddr 10.0.0.1; flush ruleset", "ip saddr 10.0.0.1\nflush ruleset", "x # y", "x\0y"] {
        let extra = with_keys(with_keys(prev.clone(), &ports), &json!({"backend": "nftables"}));
        let conf = conf("portmap", "conditionsV4", json!([value]), extra);
        cases.push((Case { plugin: "portmap", key: "conditionsV4", conf }, value.to_string()));
    }
    for key in
        ["net.ipv4.conf.IFNAME.a\nb", "net.a\0b", "net/../../kernel/hostname", "net.a\"b", "kernel.hostname"]
    {
        let long = format!("net.{}", "a".repeat(65536));
        for key in [key, long.as_str()] {
            let conf = conf("tuning", "sysctl", json!({ key: "1" }), prev.clone());
            cases.push((Case { plugin: "tuning", key: "sysctl.", conf }, key.to_string()));
        }
    }
    for value in ["..", "../../../etc", "a/b", "a\0b", "a\nb", &"0".repeat(65536)] {
        cases.push((
            Case {
                plugin: "host-device",
                key: "pciBusID",
                conf: conf("host-device", "pciBusID", json!(value), json!({})),
            },
            value.to_string(),
        ));
    }
    for value in ["/sys/devices/../../etc", "/etc/passwd", "/sys/devices/x\ny", "/sys/devices/a\0b"] {
        cases.push((
            Case {
                plugin: "host-device",
                key: "kernelpath",
                conf: conf("host-device", "kernelpath", json!(value), json!({})),
            },
            value.to_string(),
        ));
    }

    for (case, value) in &cases {
        assert_refused(&plugins, &host, &netns, case, value);
    }
    assert_eq!(host_state(&host), before, "nothing changed in the host netns");
    assert!(reservations(&store.path().join("hostile")).is_empty(), "no address kept");
    let links = netns.output(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 3, "only lo, eth0 and eth1 in the container: {links}");
}
