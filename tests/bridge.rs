//! The bridge plugin against the kernel: reachability, kernel state read
//! back, masquerade rules on both backends, concurrency, rollback of failed
//! ADDs, and handover with the reference plugin in both directions.
//! Subnets 10.201.N.0/24 and fd00:201:N::/64 belong to this file.
//! IPv6 duplicate address detection: a taken address fails the ADD at once.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn conf(bridge: &str, store: &Path, ranges: Value, extra: Value) -> String {
    let conf = json!({
        "cniVersion": "1.0.0",
        "name": unique("brnet"),
        "type": "bridge",
        "bridge": bridge,
        "isGateway": true,
        "ipam": {"type": "host-local", "ranges": ranges, "dataDir": store},
    });
    with_keys(conf, &extra).to_string()
}

fn network_name(conf: &str) -> String {
    serde_json::from_str::<Value>(conf).unwrap()["name"].as_str().unwrap().to_string()
}

fn ips(result: &Value) -> Vec<String> {
    result["ips"].as_array().unwrap().iter().map(|ip| ip["address"].as_str().unwrap().to_string()).collect()
}

fn bare(address: &str) -> &str {
    address.split('/').next().unwrap()
}

#[test]
fn two_namespaces_reach_each_other_the_gateway_and_the_host() {
    let plugins = PluginDir::new();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conf = conf(&bridge.name, store.path(), json!([[{"subnet": "10.201.1.0/24"}]]), json!({}));
    let path = plugins.path().to_str().unwrap();
    let (ns_a, ns_b) = (TestNetns::new("bra"), TestNetns::new("brb"));
    let a = Attachment::new(&plugins.plugin("bridge"), &conf, &ns_a, path);
    let b = Attachment::new(&plugins.plugin("bridge"), &conf, &ns_b, path);
    let (ra, rb) = (a.add(&plugins.plugin("bridge"), path), b.add(&plugins.plugin("bridge"), path));
    let (ip_a, ip_b) = (ips(&ra)[0].clone(), ips(&rb)[0].clone());
    assert_eq!(ra["ips"][0]["gateway"], "10.201.1.1");
    assert_eq!(link_addresses(None, &bridge.name), vec!["10.201.1.1/24".to_string()]);
    assert_eq!(bridge_ports(&bridge.name).len(), 2);
    assert!(ping(Some(&ns_a.name), bare(&ip_b)), "A cannot reach B");
    assert!(ping(Some(&ns_b.name), bare(&ip_a)), "B cannot reach A");
    assert!(ping(Some(&ns_a.name), "10.201.1.1"), "A cannot reach the gateway");
    assert!(ping(None, bare(&ip_a)) && ping(None, bare(&ip_b)), "the host cannot reach both");

    for (att, result) in [(&a, &ra), (&b, &rb)] {
        let out = att.call(&plugins.plugin("bridge"), path, "DEL", &att.with_prev(result));
        assert_eq!(out.code, 0, "{}", out.stdout);
    }
    assert!(bridge_ports(&bridge.name).is_empty());
    assert!(reservations(&store.path().join(network_name(&conf))).is_empty());
    assert_eq!(link_details(Some(&ns_a.name), "eth0"), Value::Null);
}

#[test]
fn ipv6_only_and_dual_stack_networks_carry_traffic() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    for (n, ranges) in [
        (2, json!([[{"subnet": "fd00:201:2::/64"}]])),
        (3, json!([[{"subnet": "10.201.3.0/24"}], [{"subnet": "fd00:201:3::/64"}]])),
    ] {
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        let conf = conf(&bridge.name, store.path(), ranges, json!({"isDefaultGateway": true}));
        let (ns_a, ns_b) = (TestNetns::new("b6a"), TestNetns::new("b6b"));
        let a = Attachment::new(&plugins.plugin("bridge"), &conf, &ns_a, path);
        let b = Attachment::new(&plugins.plugin("bridge"), &conf, &ns_b, path);
        let (ra, rb) = (a.add(&plugins.plugin("bridge"), path), b.add(&plugins.plugin("bridge"), path));
        assert_eq!(ips(&ra).len(), if n == 2 { 1 } else { 2 });
        for (from, to) in [(&ns_a, &rb), (&ns_b, &ra)] {
            for ip in ips(to) {
                assert!(ping(Some(&from.name), bare(&ip)), "{} cannot reach {ip}", from.name);
            }
        }
        let gw6 = format!("fd00:201:{n}::1");
        assert!(ping(Some(&ns_a.name), &gw6), "no v6 gateway");
        let last = ips(&ra)[ips(&ra).len() - 1].clone();
        assert!(ping(None, bare(&last)), "the host cannot reach A at {last} (network {n})");
        let accept_dad = std::process::Command::new("ip")
            .args(["netns", "exec", &ns_a.name, "cat", "/proc/sys/net/ipv6/conf/eth0/accept_dad"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&accept_dad.stdout).trim(), "0", "DAD is off unless enabledad");
        let routes = ip_json(Some(&ns_a.name), &["-6", "route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], gw6.as_str(), "isDefaultGateway sets the v6 default route");
    }
}

#[test]
fn masquerade_rules_come_with_add_and_go_with_del_on_each_backend() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    for backend in ["nftables", "iptables"] {
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        let ranges = json!([[{"subnet": "10.201.4.0/24"}], [{"subnet": "fd00:201:4::/64"}]]);
        let conf =
            conf(&bridge.name, store.path(), ranges, json!({"ipMasq": true, "ipMasqBackend": backend}));
        let ns = TestNetns::new("bmq");
        let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
        let result = att.add(&plugins.plugin("bridge"), path);
        if backend != "iptables" {
            assert_eq!(nft_masq_rules(&att.id), 2, "{backend}: one nft rule per address");
            assert_eq!(iptables_masq_lines(false, &att.id), 0, "{backend}");
            // Written over netlink, the rules read back as nft itself would have written them.
            let listing = |chain: &str| {
                let out = std::process::Command::new("nft")
                    .args(["list", "chain", "inet", "cni_plugins_masquerade", chain])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).to_string()
            };
            let postrouting = listing("postrouting");
            for line in ["ip daddr 224.0.0.0/4 return", "ip6 daddr ff00::/8 return", "goto masq_checks"] {
                assert!(postrouting.contains(line), "{line:?} in {postrouting}");
            }
            let v4 = ips(&result)[0].clone();
            let expected = format!("ip saddr {} ip daddr != 10.201.4.0/24 masquerade comment", bare(&v4));
            assert!(listing("masq_checks").contains(&expected), "{expected:?} in {}", listing("masq_checks"));
            assert_eq!(iptables_masq_lines(false, &att.id), 0);
        } else {
            assert_eq!(iptables_masq_lines(false, &att.id), 3, "v4 jump, accept, masquerade");
            assert_eq!(iptables_masq_lines(true, &att.id), 3, "v6 jump, accept, masquerade");
            assert_eq!(nft_masq_rules(&att.id), 0);
        }
        let out = att.call(&plugins.plugin("bridge"), path, "DEL", &att.with_prev(&result));
        assert_eq!(out.code, 0, "{}", out.stdout);
        assert_eq!(nft_masq_rules(&att.id), 0, "{backend}: nft rules left");
        assert_eq!(iptables_masq_lines(false, &att.id) + iptables_masq_lines(true, &att.id), 0, "{backend}");
        let out = att.call(&plugins.plugin("bridge"), path, "DEL", &att.with_prev(&result));
        assert_eq!(out.code, 0, "a second DEL succeeds: {}", out.stdout);
    }
}

/// A crash after the masquerade chain was written leaves it and its
/// POSTROUTING jump behind. The next ADD for that attachment must find
/// them (it reads iptables-save when the chain exists) and add no second
/// jump, which would outlive DEL; with no chain it skips that read.
#[test]
fn an_add_over_a_leftover_masquerade_chain_adds_no_second_jump() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let ranges = json!([[{"subnet": "10.201.12.0/24"}]]);
    let conf = conf(&bridge.name, store.path(), ranges, json!({"ipMasq": true, "ipMasqBackend": "iptables"}));
    let ns = TestNetns::new("bml");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let network = network_name(&conf);
    let chain = cni::netfilter::chain_name(&network, &att.id);
    let comment = cni::netfilter::iptables::quote(&cni::netfilter::iptables_comment(&network, &att.id));
    // What the crashed ADD left: host-local's first address is .2.
    let leftover = format!(
        "*nat\n:{chain} - [0:0]\n-A {chain} -d 10.201.12.0/24 -m comment --comment {comment} -j ACCEPT\n\
         -A POSTROUTING -s 10.201.12.2/32 -m comment --comment {comment} -j {chain}\nCOMMIT\n"
    );
    let mut restore = std::process::Command::new("iptables-restore")
        .args(["-w", "5", "--noflush"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(restore.stdin.as_mut().unwrap(), leftover.as_bytes()).unwrap();
    assert!(restore.wait().unwrap().success());
    assert_eq!(iptables_masq_lines(false, &att.id), 2, "the leftover: accept and jump");
    let result = att.add(&plugins.plugin("bridge"), path);
    assert_eq!(ips(&result)[0], "10.201.12.2/24");
    assert_eq!(iptables_masq_lines(false, &att.id), 3, "one jump, accept, masquerade");
    let out = att.call(&plugins.plugin("bridge"), path, "DEL", &att.with_prev(&result));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(iptables_masq_lines(false, &att.id), 0, "DEL removes it all");
}

/// ipMasq's rules are written while the container end is configured: when
/// the container's side fails (a route the kernel refuses), the rules the
/// other side wrote go too, with the links and the reservation.
#[test]
fn a_container_side_failure_takes_the_masquerade_rules_with_it() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    for backend in ["iptables", "nftables"] {
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        let ranges = json!([[{"subnet": "10.201.13.0/24"}]]);
        let mut conf: Value = serde_json::from_str(&conf(
            &bridge.name,
            store.path(),
            ranges,
            json!({"ipMasq": true, "ipMasqBackend": backend}),
        ))
        .unwrap();
        // A gateway outside every subnet of the interface: ENETUNREACH.
        conf["ipam"]["routes"] = json!([{"dst": "10.250.0.0/16", "gw": "10.201.99.1"}]);
        let conf = conf.to_string();
        let ns = TestNetns::new("bmf");
        let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
        let out = att.call(&plugins.plugin("bridge"), path, "ADD", &conf);
        assert_eq!(out.code, 1, "{backend}: {}", out.stdout);
        assert!(
            out.json["msg"].as_str().unwrap_or_default().contains("failed to add route"),
            "{}",
            out.stdout
        );
        assert_eq!(iptables_masq_lines(false, &att.id), 0, "{backend}: iptables rules left");
        assert_eq!(nft_masq_rules(&att.id), 0, "{backend}: nftables rules left");
        assert!(bridge_ports(&bridge.name).is_empty(), "{backend}: host veth left");
        assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null, "{backend}: container veth left");
        assert!(
            reservations(&store.path().join(network_name(&conf))).is_empty(),
            "{backend}: reservation left"
        );
    }
}

/// ADD looks the bridge up before making it: a link of that name that is
/// no bridge is refused as the reference refuses it, and left as it was,
/// with nothing of the attachment behind.
#[test]
fn a_bridge_name_taken_by_another_kind_of_link_is_refused() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let (name, peer) = (unique("bnb"), unique("bnp"));
    let made = std::process::Command::new("ip")
        .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
        .status()
        .unwrap();
    assert!(made.success());
    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
    let _gone = Gone(name.clone());
    let conf = conf(&name, store.path(), json!([[{"subnet": "10.201.14.0/24"}]]), json!({}));
    let ns = TestNetns::new("bnb");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("bridge"), path, "ADD", &conf);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.json["msg"], format!("{name:?} already exists but is not a bridge"), "{}", out.stdout);
    assert_eq!(link_details(None, &name)["linkinfo"]["info_kind"], "veth", "the veth is left as it was");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null);
    assert!(reservations(&store.path().join(network_name(&conf))).is_empty());
}

#[test]
fn a_container_name_already_taken_fails_the_add_and_keeps_that_link() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conf =
        conf(&bridge.name, store.path(), json!([[{"subnet": "10.201.23.0/24"}]]), json!({"ipMasq": true}));
    let ns = TestNetns::new("bnt");
    // eth0 is taken in the container: one end of a veth pair made there.
    let made = std::process::Command::new("ip")
        .args(["-n", &ns.name, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"])
        .status()
        .unwrap();
    assert!(made.success());
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("bridge"), path, "ADD", &conf);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let msg = out.json["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("container veth name \"eth0\" already exists"), "{}", out.stdout);
    assert!(bridge_ports(&bridge.name).is_empty(), "a host veth was left on the bridge");
    let kept = link_details(Some(&ns.name), "eth0");
    assert_eq!(kept["linkinfo"]["info_kind"], "veth", "the container's own eth0 is kept: {kept}");
    assert_eq!(kept["ifname"], "eth0");
    assert!(reservations(&store.path().join(network_name(&conf))).is_empty(), "reservation left");
    assert_eq!(iptables_masq_lines(false, &att.id), 0, "masquerade rules left");
}

#[test]
fn a_masquerade_failing_halfway_takes_the_rules_it_made_with_it() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    // ip6tables-restore fails after IPv4's iptables-restore has written
    // the IPv4 rules.
    let tools = tempfile::tempdir().unwrap();
    let failure = "cat >/dev/null\necho 'injected ip6tables-restore failure' >&2\nexit 1";
    shell_script(tools.path(), "ip6tables-restore", failure);
    let search = format!("{}:{}", tools.path().display(), std::env::var("PATH").unwrap_or_default());
    let bridge = TestBridge::new();
    let ranges = json!([[{"subnet": "10.201.24.0/24"}], [{"subnet": "fd00:201:24::/64"}]]);
    let conf = conf(&bridge.name, store.path(), ranges, json!({"ipMasq": true}));
    let ns = TestNetns::new("bmh");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let netns = ns.path();
    let mut env = cni_env("ADD", &att.id, &netns, "eth0", path);
    env.push(("PATH", &search));
    let out = run_plugin(&plugins.plugin("bridge"), &env, &conf);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.json["msg"].as_str().unwrap_or_default().contains("injected ip6tables-restore failure"),
        "{}",
        out.stdout
    );
    assert_eq!(iptables_masq_lines(false, &att.id), 0, "the IPv4 masquerade rules were left");
    assert!(bridge_ports(&bridge.name).is_empty(), "a host veth was left on the bridge");
    assert!(reservations(&store.path().join(network_name(&conf))).is_empty(), "reservation left");
}

fn vlans_of(port: &str) -> Vec<(u64, bool, bool)> {
    let out =
        std::process::Command::new("bridge").args(["-j", "vlan", "show", "dev", port]).output().unwrap();
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let entries = listing[0]["vlans"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|v| {
            let flags: Vec<&str> = v["flags"]
                .as_array()
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (v["vlan"].as_u64().unwrap(), flags.contains(&"PVID"), flags.contains(&"Egress Untagged"))
        })
        .collect()
}

#[test]
fn port_flags_mtu_mac_and_default_route_show_in_the_kernel() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let mac = "0a:58:0a:c9:05:42";
    let hairpin = conf(
        &bridge.name,
        store.path(),
        json!([[{"subnet": "10.201.5.0/24"}]]),
        json!({"hairpinMode": true, "mtu": 1400, "isDefaultGateway": true, "runtimeConfig": {"mac": mac}}),
    );
    let ns_a = TestNetns::new("bka");
    let a = Attachment::new(&plugins.plugin("bridge"), &hairpin, &ns_a, path);
    let ra = a.add(&plugins.plugin("bridge"), path);
    let host_a = ra["interfaces"][1]["name"].as_str().unwrap();
    let details = link_details(None, host_a);
    assert_eq!(details["linkinfo"]["info_slave_data"]["hairpin"], true, "hairpin: {details}");
    assert_eq!(details["master"], bridge.name.as_str());
    assert_eq!(details["mtu"], 1400);
    let eth0 = link_details(Some(&ns_a.name), "eth0");
    assert_eq!(eth0["mtu"], 1400);
    assert_eq!(eth0["address"], mac);
    assert_eq!(ra["interfaces"][2]["mac"], mac);
    assert_eq!(link_details(None, &bridge.name)["mtu"], 1400, "a new bridge takes the configured mtu");
    let default = ip_json(Some(&ns_a.name), &["route", "show", "default"]);
    assert_eq!(default[0]["gateway"], "10.201.5.1", "isDefaultGateway: {default}");
    assert!(ping(Some(&ns_a.name), "10.201.5.1"));

    let promisc_bridge = TestBridge::new();
    let store_b = tempfile::tempdir().unwrap();
    let promisc = conf(
        &promisc_bridge.name,
        store_b.path(),
        json!([[{"subnet": "10.201.6.0/24"}]]),
        json!({"promiscMode": true, "portIsolation": true}),
    );
    let ns_b = TestNetns::new("bkb");
    let b = Attachment::new(&plugins.plugin("bridge"), &promisc, &ns_b, path);
    let rb = b.add(&plugins.plugin("bridge"), path);
    let flags = link_details(None, &promisc_bridge.name)["flags"].clone();
    assert!(flags.as_array().unwrap().contains(&json!("PROMISC")), "promisc bridge: {flags}");
    let port = link_details(None, rb["interfaces"][1]["name"].as_str().unwrap());
    assert_eq!(port["linkinfo"]["info_slave_data"]["isolated"], true, "portIsolation: {port}");

    for (att, result) in [(&a, &ra), (&b, &rb)] {
        let out = att.call(&plugins.plugin("bridge"), path, "CHECK", &att.with_prev(result));
        assert_eq!(out.code, 0, "CHECK of a healthy attachment: {}", out.stdout);
    }
    // CHECK notices what changed behind its back.
    let veth = ra["interfaces"][1]["name"].as_str().unwrap();
    assert!(std::process::Command::new("ip")
        .args(["link", "set", veth, "nomaster"])
        .status()
        .unwrap()
        .success());
    let out = a.call(&plugins.plugin("bridge"), path, "CHECK", &a.with_prev(&ra));
    assert_eq!(out.code, 1, "CHECK after the veth left the bridge: {}", out.stdout);
}

/// Needs bridge VLAN filtering, which this machine's kernel lacks: run by
/// the kernel VM tier (`scripts/vm-test`), which passes `--ignored`.
#[test]
#[ignore = "needs CONFIG_BRIDGE_VLAN_FILTERING: runs in the kernel VM tier"]
fn vlan_and_trunk_ports_show_in_the_kernel() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let access = conf(
        &bridge.name,
        store.path(),
        json!([[{"subnet": "10.201.15.0/24"}]]),
        json!({"vlan": 10, "isDefaultGateway": true}),
    );
    let ns_a = TestNetns::new("bva");
    let a = Attachment::new(&plugins.plugin("bridge"), &access, &ns_a, path);
    let ra = a.add(&plugins.plugin("bridge"), path);
    let host_a = ra["interfaces"][1]["name"].as_str().unwrap();
    assert_eq!(vlans_of(host_a), vec![(10, true, true)], "access vlan 10 only, default vlan removed");
    let gateway_link = format!("{}.10", bridge.name);
    assert_eq!(link_addresses(None, &gateway_link), vec!["10.201.15.1/24".to_string()], "vlan gateway");
    assert_eq!(ra["interfaces"][3]["name"], gateway_link.as_str());
    assert_eq!(link_details(None, &bridge.name)["linkinfo"]["info_data"]["vlan_filtering"], 1);
    assert!(ping(Some(&ns_a.name), "10.201.15.1"), "the gateway answers on vlan 10");

    let store_b = tempfile::tempdir().unwrap();
    let trunk = conf(
        &bridge.name,
        store_b.path(),
        json!([[{"subnet": "10.201.16.0/24"}]]),
        json!({"isGateway": false, "vlanTrunk": [{"minID": 20, "maxID": 22}, {"id": 30}]}),
    );
    let ns_b = TestNetns::new("bvb");
    let b = Attachment::new(&plugins.plugin("bridge"), &trunk, &ns_b, path);
    let rb = b.add(&plugins.plugin("bridge"), path);
    let host_b = rb["interfaces"][1]["name"].as_str().unwrap();
    assert_eq!(
        vlans_of(host_b),
        vec![(1, true, true), (20, false, false), (21, false, false), (22, false, false), (30, false, false)]
    );
}

#[test]
fn thirty_two_parallel_adds_onto_a_new_bridge_get_distinct_addresses() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conf = conf(&bridge.name, store.path(), json!([[{"subnet": "10.201.8.0/24"}]]), json!({}));
    let namespaces: Vec<TestNetns> = (0..32).map(|_| TestNetns::new("bpar")).collect();
    let attachments: Vec<Attachment> =
        namespaces.iter().map(|ns| Attachment::new(&plugins.plugin("bridge"), &conf, ns, &path)).collect();
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = attachments
            .iter()
            .map(|att| scope.spawn(|| att.call(&plugins.plugin("bridge"), &path, "ADD", &att.conf)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut addresses = Vec::new();
    for out in &results {
        assert_eq!(out.code, 0, "a parallel ADD failed: {}", out.stdout);
        addresses.push(ips(&out.json)[0].clone());
    }
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 32, "addresses handed out twice");
    assert_eq!(bridge_ports(&bridge.name).len(), 32);
}

/// An executable `/bin/sh` script `name` in `dir` running `body`.
fn shell_script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// An IPAM plugin that always fails, to break an ADD after the veth exists.
fn failing_ipam(dir: &Path) {
    let error = r#"{"cniVersion":"1.0.0","code":11,"msg":"injected IPAM failure"}"#;
    shell_script(dir, "fail-ipam", &format!("cat >/dev/null\necho '{error}'\nexit 1"));
}

#[test]
fn a_failing_add_leaves_no_link_reservation_or_rule() {
    let plugins = PluginDir::new();
    let scripts = tempfile::tempdir().unwrap();
    failing_ipam(scripts.path());
    let path = format!("{}:{}", plugins.path().display(), scripts.path().display());

    // IPAM fails after the veth pair exists.
    let bridge = TestBridge::new();
    let conf_ipam = json!({"cniVersion": "1.0.0", "name": unique("brf"), "type": "bridge",
        "bridge": bridge.name, "ipMasq": true, "ipam": {"type": "fail-ipam"}})
    .to_string();
    let ns = TestNetns::new("bfa");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf_ipam, &ns, &path);
    let out = att.call(&plugins.plugin("bridge"), &path, "ADD", &conf_ipam);
    assert_eq!(out.code, 1);
    assert_eq!(out.json["code"], 11, "the IPAM plugin's error is passed on: {}", out.stdout);
    assert!(bridge_ports(&bridge.name).is_empty(), "host veth left on the bridge");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null, "container veth left");
    // ipMasq had begun beside IPAM (iptables-restore started, waiting for
    // its input): it wrote nothing.
    assert_eq!(
        iptables_masq_lines(false, &att.id),
        0,
        "an iptables-restore begun for IPAM's addresses wrote rules"
    );
    assert_eq!(nft_masq_rules(&att.id), 0);

    // The bridge's gateway address conflicts: fails after IPAM and container setup.
    let store = tempfile::tempdir().unwrap();
    let bridge2 = TestBridge::new();
    let conf_gw =
        conf(&bridge2.name, store.path(), json!([[{"subnet": "10.201.9.0/24"}]]), json!({"ipMasq": true}));
    let first = Attachment::new(&plugins.plugin("bridge"), &conf_gw, &ns, &path);
    first.add(&plugins.plugin("bridge"), &path);
    let other =
        conf(&bridge2.name, store.path(), json!([[{"subnet": "10.201.10.0/24"}]]), json!({"ipMasq": true}));
    let ns2 = TestNetns::new("bfb");
    let second = Attachment::new(&plugins.plugin("bridge"), &other, &ns2, &path);
    let out = second.call(&plugins.plugin("bridge"), &path, "ADD", &other);
    assert_eq!(out.code, 1, "a second v4 gateway on the bridge is refused");
    assert!(out.json["msg"].as_str().unwrap().contains("already has an IP address"), "{}", out.stdout);
    assert_eq!(bridge_ports(&bridge2.name).len(), 1, "only the first attachment's port remains");
    assert_eq!(link_details(Some(&ns2.name), "eth0"), Value::Null);
    assert!(reservations(&store.path().join(network_name(&other))).is_empty(), "reservation left");
    assert_eq!(nft_masq_rules(&second.id), 0);
    assert_eq!(iptables_masq_lines(false, &second.id), 0, "masquerade written beside the link, then undone");

    // host-local (run in-process, as it is this same binary) runs out of addresses.
    let store3 = tempfile::tempdir().unwrap();
    let bridge3 = TestBridge::new();
    let one = conf(
        &bridge3.name,
        store3.path(),
        json!([[{"subnet": "10.201.19.0/24", "rangeStart": "10.201.19.5", "rangeEnd": "10.201.19.5"}]]),
        json!({}),
    );
    let ns3 = TestNetns::new("bfc");
    let ns4 = TestNetns::new("bfd");
    let taken = Attachment::new(&plugins.plugin("bridge"), &one, &ns3, &path);
    taken.add(&plugins.plugin("bridge"), &path);
    let starved = Attachment::new(&plugins.plugin("bridge"), &one, &ns4, &path);
    let out = starved.call(&plugins.plugin("bridge"), &path, "ADD", &one);
    assert_eq!(out.code, 1);
    assert!(out.json["msg"].as_str().unwrap().contains("no IP addresses available"), "{}", out.stdout);
    assert_eq!(bridge_ports(&bridge3.name).len(), 1, "the failed ADD's veth is gone");
    assert_eq!(link_details(Some(&ns4.name), "eth0"), Value::Null);
}

#[test]
fn an_address_another_host_holds_fails_dad_and_the_add_leaves_nothing() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    // A squatter on the bridge already holds fd00:201:21::2.
    let squatter = TestNetns::new("bsq");
    let (port, inside) = (unique("sqa"), unique("sqb"));
    let run = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success(), "{args:?}");
    run(&["link", "add", &bridge.name, "type", "bridge"]);
    run(&["link", "set", &bridge.name, "up"]);
    run(&["link", "add", &port, "type", "veth", "peer", "name", &inside, "netns", &squatter.name]);
    run(&["link", "set", &port, "master", &bridge.name, "up"]);
    squatter.exec(&["ip", "addr", "add", "fd00:201:21::2/64", "dev", &inside, "nodad"]);
    squatter.exec(&["ip", "link", "set", &inside, "up"]);
    let ranges = json!([[{"subnet": "fd00:201:21::/64", "rangeStart": "fd00:201:21::2"}]]);
    let conf = conf(&bridge.name, store.path(), ranges, json!({"enabledad": true}));
    let ns = TestNetns::new("bdad");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("bridge"), path, "ADD", &conf);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let msg = out.json["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("has address fd00:201:21::2 in DADFAILED state"), "{msg}");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null, "container veth left");
    assert_eq!(bridge_ports(&bridge.name), vec![port.clone()], "only the squatter's port stays");
    assert!(reservations(&store.path().join(network_name(&conf))).is_empty(), "reservation left");
}

#[test]
fn a_failing_chain_after_bridge_leaves_nothing_through_cnictl() {
    let plugins = PluginDir::new();
    let scripts = tempfile::tempdir().unwrap();
    failing_ipam(scripts.path());
    let conf_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let name = unique("brc");
    let conflist = json!({"cniVersion": "1.0.0", "name": name, "plugins": [
        {"type": "bridge", "bridge": bridge.name, "isGateway": true, "ipMasq": true,
         "ipam": {"type": "host-local", "subnet": "10.201.11.0/24", "dataDir": store.path()}},
        {"type": "fail-ipam"}
    ]});
    std::fs::write(conf_dir.path().join("10-chain.conflist"), conflist.to_string()).unwrap();
    let ns = TestNetns::new("bfc");
    let path = std::path::PathBuf::from(format!("{}:{}", plugins.path().display(), scripts.path().display()));
    let (code, _, stderr) = run_cnictl(
        &["add", &name, &ns.name, "--container-id", "chainfail"],
        conf_dir.path(),
        cache.path(),
        &path,
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("injected IPAM failure"), "{stderr}");
    assert!(bridge_ports(&bridge.name).is_empty());
    assert!(reservations(&store.path().join(&name)).is_empty());
    assert_eq!(nft_masq_rules("chainfail") + iptables_masq_lines(false, "chainfail"), 0);
    assert!(!cache.path().join("results").join(format!("{name}-chainfail-eth0")).exists());
}

/// Rules in `masq_checks` whose comment names `network` (as `net: NAME, if:`).
fn nft_masq_rules_of_network(network: &str) -> usize {
    let out = Command::new("nft")
        .args(["list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"])
        .output()
        .expect("run nft");
    let needle = format!("net: {network}, if: eth0");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&needle)).count()
}

#[test]
fn gc_removes_stale_reservations_and_masquerade_rules() {
    // A long network name makes the comment longer than nft keeps: GC
    // once compared whole comments and took the valid attachment's cut
    // one for stale.
    let long = format!("{}-{}", unique("brgc"), "n".repeat(60));
    for (n, name) in [(12, unique("brgc")), (40, long)] {
        let plugins = PluginDir::new();
        let path = plugins.path().to_str().unwrap();
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        let mut conf: Value = serde_json::from_str(&conf(
            &bridge.name,
            store.path(),
            json!([[{"subnet": format!("10.201.{n}.0/24")}]]),
            json!({"ipMasq": true, "ipMasqBackend": "nftables", "name": name}),
        ))
        .unwrap();
        conf["cniVersion"] = json!("1.1.0");
        let text = conf.to_string();
        let (ns_a, ns_b) = (TestNetns::new("bga"), TestNetns::new("bgb"));
        let a = Attachment::new(&plugins.plugin("bridge"), &text, &ns_a, path);
        let b = Attachment::new(&plugins.plugin("bridge"), &text, &ns_b, path);
        let (ra, _) = (a.add(&plugins.plugin("bridge"), path), b.add(&plugins.plugin("bridge"), path));
        assert_eq!(nft_masq_rules_of_network(&name), 2, "one rule each");
        conf["cni.dev/valid-attachments"] = json!([{"containerID": a.id, "ifname": "eth0"}]);
        let out = run_plugin(
            &plugins.plugin("bridge"),
            &[("CNI_COMMAND", "GC"), ("CNI_PATH", path)],
            &conf.to_string(),
        );
        assert_eq!(out.code, 0, "{}", out.stdout);
        assert_eq!(reservations(&store.path().join(&name)), vec![bare(&ips(&ra)[0]).to_string()]);
        assert_eq!(nft_masq_rules_of_network(&name), 1, "one rule left ({} bytes of name)", name.len());
        if n == 12 {
            assert_eq!(nft_masq_rules(&a.id), 1, "the valid attachment keeps its rule");
            assert_eq!(nft_masq_rules(&b.id), 0, "the stale one loses its rule");
        }
        let status =
            run_plugin(&plugins.plugin("bridge"), &[("CNI_COMMAND", "STATUS"), ("CNI_PATH", path)], &text);
        assert_eq!(status.code, 0, "{}", status.stdout);
    }
}

#[test]
fn handover_with_the_reference_bridge_in_both_directions() {
    require_reference();
    let ours = PluginDir::new();
    let ours_path = ours.path().to_str().unwrap();
    for (n, made_by_ours) in [(13, false), (14, true)] {
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        // The Debian reference (v1.1.1) predates the nftables backend.
        let conf = conf(
            &bridge.name,
            store.path(),
            json!([[{"subnet": format!("10.201.{n}.0/24")}]]),
            json!({"ipMasq": true, "ipMasqBackend": "iptables", "isDefaultGateway": true}),
        );
        let ns = TestNetns::new("bho");
        let reference = Path::new(REFERENCE_DIR).join("bridge");
        let (maker, maker_path, taker, taker_path) = if made_by_ours {
            (ours.plugin("bridge"), ours_path, reference.clone(), REFERENCE_DIR)
        } else {
            (reference.clone(), REFERENCE_DIR, ours.plugin("bridge"), ours_path)
        };
        let att = Attachment::new(&ours.plugin("bridge"), &conf, &ns, ours_path);
        let result = att.add(&maker, maker_path);
        assert_eq!(iptables_masq_lines(false, &att.id), 3);
        let check = att.call(&taker, taker_path, "CHECK", &att.with_prev(&result));
        assert_eq!(check.code, 0, "CHECK by the other side (ours made it: {made_by_ours}): {}", check.stdout);
        let del = att.call(&taker, taker_path, "DEL", &att.with_prev(&result));
        assert_eq!(del.code, 0, "{}", del.stdout);
        assert!(bridge_ports(&bridge.name).is_empty(), "link left (ours made it: {made_by_ours})");
        assert!(reservations(&store.path().join(network_name(&conf))).is_empty(), "reservation left");
        assert_eq!(
            iptables_masq_lines(false, &att.id),
            0,
            "iptables rules left (ours made it: {made_by_ours})"
        );
    }
}

/// Chains of the `bridge nat` table (spoof checking).
fn bridge_nat_chains() -> Vec<String> {
    let out =
        std::process::Command::new("nft").args(["-j", "list", "table", "bridge", "nat"]).output().unwrap();
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    listing["nftables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|item| item["chain"]["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn macspoofchk_drops_frames_from_another_mac_until_del() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conf = conf(
        &bridge.name,
        store.path(),
        json!([[{"subnet": "10.201.17.0/24"}]]),
        json!({"macspoofchk": true}),
    );
    let ns = TestNetns::new("bms");
    let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
    let result = att.add(&plugins.plugin("bridge"), path);
    let chain = format!("cni-br-iface-{}-eth0", att.id);
    assert!(bridge_nat_chains().contains(&chain), "spoof-check chain made");
    assert!(ping(Some(&ns.name), "10.201.17.1"), "the real MAC passes");
    let set_mac = |mac: &str| {
        let status = std::process::Command::new("ip")
            .args(["-n", &ns.name, "link", "set", "eth0", "address", mac])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = std::process::Command::new("ip").args(["-n", &ns.name, "neigh", "flush", "all"]).status();
    };
    set_mac("0a:58:0a:c9:11:99");
    let spoofed = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "ping", "-c2", "-W1", "10.201.17.1"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!spoofed.success(), "frames from a spoofed MAC must be dropped");
    set_mac(result["interfaces"][2]["mac"].as_str().unwrap());
    assert!(ping(Some(&ns.name), "10.201.17.1"), "the real MAC passes again");
    let del = att.call(&plugins.plugin("bridge"), path, "DEL", &att.with_prev(&result));
    assert_eq!(del.code, 0, "{}", del.stdout);
    let chains = bridge_nat_chains();
    assert!(!chains.iter().any(|c| c.starts_with(&chain)), "spoof-check chains left: {chains:?}");
}

#[test]
fn layer2_only_attachments_and_disabled_container_interface() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let bridge = TestBridge::new();
    for (disable, state) in [(false, "UP"), (true, "DOWN")] {
        let conf =
            json!({"cniVersion": "1.0.0", "name": unique("brl2"), "type": "bridge", "bridge": bridge.name,
            "disableContainerInterface": disable})
            .to_string();
        let ns = TestNetns::new("bl2");
        let att = Attachment::new(&plugins.plugin("bridge"), &conf, &ns, path);
        let result = att.add(&plugins.plugin("bridge"), path);
        assert!(result.get("ips").is_none(), "no IPAM, no addresses: {result}");
        let eth0 = link_details(Some(&ns.name), "eth0");
        let flags: Vec<&str> = eth0["flags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(flags.contains(&"UP"), state == "UP", "disableContainerInterface={disable}: {eth0}");
    }
    let store = tempfile::tempdir().unwrap();
    let with_ipam =
        json!({"cniVersion": "1.0.0", "name": unique("brl2"), "type": "bridge", "bridge": bridge.name,
        "disableContainerInterface": true,
        "ipam": {"type": "host-local", "subnet": "10.201.18.0/24", "dataDir": store.path()}})
        .to_string();
    let ns = TestNetns::new("bl2");
    let att = Attachment::new(&plugins.plugin("bridge"), &with_ipam, &ns, path);
    let out = att.call(&plugins.plugin("bridge"), path, "ADD", &with_ipam);
    assert_eq!((out.code, out.json["code"].as_i64()), (1, Some(7)), "a config error: {}", out.stdout);
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null);
}

/// A result with what differs between two equal setups blanked (names,
/// MACs, sandbox paths, host addresses), keeping keys, order and route
/// destinations: its shape.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("dst" | "cniVersion", _) => (k.clone(), v.clone()),
                    (_, Value::String(_)) => (k.clone(), json!("")),
                    _ => (k.clone(), shape(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// One container's attachment to a bridge network; the bridge goes on
/// drop, and the host end of the veth and the routes with the netns.
struct NetworkOnContainer {
    result: Value,
    conf: String,
    ifname: &'static str,
    _bridge: TestBridge,
}

/// ADDs two default-gateway bridge networks to one container (eth0 on the
/// first subnet, eth1 on the second) with `plugin` (CNI_PATH `path`).
fn two_networks(
    plugin: &Path,
    path: &str,
    ns: &TestNetns,
    id: &str,
    subnets: [&str; 2],
    store: &Path,
) -> Vec<NetworkOnContainer> {
    subnets
        .iter()
        .zip(["eth0", "eth1"])
        .map(|(subnet, ifname)| {
            let bridge = TestBridge::new();
            let conf =
                conf(&bridge.name, store, json!([[{"subnet": subnet}]]), json!({"isDefaultGateway": true}));
            let out = run_plugin(plugin, &cni_env("ADD", id, &ns.path(), ifname, path), &conf);
            assert_eq!(out.code, 0, "ADD {ifname} with {}: {}", plugin.display(), out.stdout);
            NetworkOnContainer { result: out.json, conf, ifname, _bridge: bridge }
        })
        .collect()
}

/// A result's shape with the addresses blanked too. An empty `dns` is
/// left out: the Debian reference writes `"dns": {}` in 1.x results, ours
/// omits it (cni::result), and Go reads both the same.
fn result_shape(result: &Value) -> Value {
    let mut shaped = shape(result);
    shaped["ips"].as_array_mut().into_iter().flatten().for_each(|ip| ip["address"] = json!(""));
    if let Some(map) = shaped.as_object_mut() {
        if map.get("dns") == Some(&json!({})) {
            map.remove("dns");
        }
    }
    shaped
}

#[test]
fn a_container_on_two_default_gateway_networks_reaches_both_as_with_the_reference() {
    require_reference();
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let store = tempfile::tempdir().unwrap();
    let (ours_ns, theirs_ns) = (TestNetns::new("twoo"), TestNetns::new("twor"));
    let (our_id, their_id) = (unique("twoo"), unique("twor"));
    let reference = Path::new(REFERENCE_DIR).join("bridge");
    let ours = two_networks(
        &plugins.plugin("bridge"),
        &path,
        &ours_ns,
        &our_id,
        ["10.201.30.0/24", "10.201.31.0/24"],
        store.path(),
    );
    let theirs = two_networks(
        &reference,
        REFERENCE_DIR,
        &theirs_ns,
        &their_id,
        ["10.201.32.0/24", "10.201.33.0/24"],
        store.path(),
    );

    let defaults = ours_ns.output(&["ip", "-4", "route", "show", "default"]);
    let devices: Vec<&str> = defaults.lines().filter_map(|l| l.split(" dev ").nth(1)).collect();
    assert_eq!(devices.len(), 2, "one default route per interface: {defaults}");
    assert!(devices.iter().any(|d| d.starts_with("eth0")) && devices.iter().any(|d| d.starts_with("eth1")));
    assert!(ping(Some(&ours_ns.name), "10.201.30.1"), "the first gateway answers");
    assert!(ping(Some(&ours_ns.name), "10.201.31.1"), "the second gateway answers");
    let their_defaults = theirs_ns.output(&["ip", "-4", "route", "show", "default"]);
    assert_eq!(their_defaults.lines().count(), 2, "the reference's too: {their_defaults}");
    for (our, their) in ours.iter().zip(&theirs) {
        assert_eq!(
            result_shape(&our.result),
            result_shape(&their.result),
            "the result's shape is the reference's"
        );
    }

    let netns_path = ours_ns.path();
    for network in ours.iter().rev() {
        let env = cni_env("DEL", &our_id, &netns_path, network.ifname, &path);
        let out = run_plugin(&plugins.plugin("bridge"), &env, &with_prev(&network.conf, &network.result));
        assert_eq!(out.code, 0, "DEL {}: {}", network.ifname, out.stdout);
    }
    assert!(
        ours_ns.output(&["ip", "-4", "route", "show", "default"]).is_empty(),
        "both DELs took their routes"
    );
    assert!(reservations(&store.path().join(network_name(&ours[0].conf))).is_empty(), "addresses freed");
}

#[test]
fn a_failed_first_add_leaves_the_bridge_fit_for_the_next() {
    // The first ADD on a fresh bridge fails after making it (its IPAM
    // fails): the bridge, left without ports, has the zero MAC, which the
    // next ADD used to try to pin (code 999, Cannot assign requested address).
    let plugins = PluginDir::new();
    let scripts = tempfile::tempdir().unwrap();
    failing_ipam(scripts.path());
    let path = format!("{}:{}", plugins.path().display(), scripts.path().display());
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let ns = TestNetns::new("brfirst");
    let mut failing: Value = serde_json::from_str(&conf(
        &bridge.name,
        store.path(),
        json!([[{"subnet": "10.201.34.0/24"}]]),
        json!({}),
    ))
    .unwrap();
    failing["ipam"] = json!({"type": "fail-ipam"});
    let out = run_plugin(
        &plugins.plugin("bridge"),
        &cni_env("ADD", "brfirst1", &ns.path(), "eth0", &path),
        &failing.to_string(),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(link_details(None, &bridge.name) != Value::Null, "the bridge stays (it is shared)");

    let good = conf(&bridge.name, store.path(), json!([[{"subnet": "10.201.34.0/24"}]]), json!({}));
    let att = Attachment::new(&plugins.plugin("bridge"), &good, &ns, &path);
    let result = att.add(&plugins.plugin("bridge"), &path);
    assert_eq!(ips(&result), ["10.201.34.2/24"]);
    assert!(ping(Some(&ns.name), "10.201.34.1"), "the container reaches the gateway");
    let mac = link_details(None, &bridge.name)[0]["address"].as_str().unwrap_or_default().to_string();
    assert_ne!(mac, "00:00:00:00:00:00", "the bridge has a MAC again");
}
