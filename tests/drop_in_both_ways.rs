//! Drop-in both ways: a node can roll back to the reference plugins
//! (Debian's containernetworking-plugins) and forward again with live
//! attachments, and our plugins keep the reference's safety nets.
//!
//! The handover tests run the chain a node has (bridge or ptp with ipMasq,
//! host-local, portmap with a TCP and a UDP mapping on one host port,
//! firewall, tuning, bandwidth) with the netconf a node has (no backend
//! key) and with portmap's backend named: one side ADDs, the other side's
//! CHECK passes and its DEL leaves no rule, chain, link, qdisc, reservation
//! or file of the attachment. Debian's reference (1.1.1) knows only
//! iptables; our nftables rule lines are compared with those the reference
//! v1.6 writes (as `nft list` shows them) in tests/portmap.rs.
//!
//! Every plugin runs in a host netns of the test's own. Subnets
//! 10.246.N.0/24 belong to this file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

const BASE: &str = "10.246";

/// Which implementation runs a verb: its plugin directory (CNI_PATH).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Ours,
    Reference,
}

/// A host netns and a container netns of the test's own, with the
/// directories the chain keeps its state in; removed on drop.
struct Node {
    plugins: PluginDir,
    state: tempfile::TempDir,
    host: TestNetns,
    container: TestNetns,
    id: String,
    network: String,
    n: u8,
}

impl Node {
    fn new(n: u8) -> Node {
        let node = Node {
            plugins: PluginDir::new(),
            state: tempfile::tempdir().expect("state dir"),
            host: TestNetns::new("hoh"),
            container: TestNetns::new("hoc"),
            id: unique("hoctr"),
            network: unique("hon"),
            n,
        };
        node.host.exec(&["ip", "link", "set", "lo", "up"]);
        node.container.exec(&["ip", "link", "set", "lo", "up"]);
        node
    }

    fn dir(&self, what: &str) -> PathBuf {
        self.state.path().join(what)
    }

    fn container_ip(&self) -> String {
        format!("{BASE}.{}.2", self.n)
    }

    /// The chain's plugin configs, as a conflist's `plugins` holds them.
    fn chain(&self, main: &str, portmap_backend: Option<&str>) -> Vec<Value> {
        // Dual-stack: Debian's reference portmap CHECKs the IPv6 chain of an
        // IPv4-only attachment too, and fails on its own ADD's.
        let mut main_conf = json!({"type": main, "ipMasq": true,
            "ipam": {"type": "host-local", "dataDir": self.dir("ipam"), "ranges": [
                [{"subnet": format!("{BASE}.{}.0/24", self.n)}],
                [{"subnet": format!("fd00:246:{}::/64", self.n)}]]}});
        if main == "bridge" {
            main_conf["bridge"] = json!("hobr0");
            main_conf["isGateway"] = json!(true);
            main_conf["hairpinMode"] = json!(true);
        }
        let port = 30000 + u16::from(self.n);
        let mut portmap = json!({"type": "portmap", "capabilities": {"portMappings": true},
            "runtimeConfig": {"portMappings": [
                {"hostPort": port, "containerPort": 80, "protocol": "tcp"},
                {"hostPort": port, "containerPort": 80, "protocol": "udp"}]}});
        if let Some(backend) = portmap_backend {
            portmap["backend"] = json!(backend);
        }
        vec![
            main_conf,
            portmap,
            json!({"type": "firewall", "dataDir": self.dir("firewall")}),
            json!({"type": "tuning", "mtu": 1400, "dataDir": self.dir("tuning")}),
            json!({"type": "bandwidth", "ingressRate": 8_000_000, "ingressBurst": 65536,
                   "egressRate": 8_000_000, "egressBurst": 65536}),
        ]
    }

    fn stdin(&self, plugin: &Value, prev: Option<&Value>) -> String {
        let mut conf = plugin.clone();
        conf["cniVersion"] = json!("1.0.0");
        conf["name"] = json!(self.network);
        if let Some(prev) = prev {
            conf["prevResult"] = prev.clone();
        }
        conf.to_string()
    }

    fn run(&self, side: Side, plugin: &Value, command: &str, prev: Option<&Value>) -> Outcome {
        let dir = match side {
            Side::Ours => self.plugins.path().to_path_buf(),
            Side::Reference => Path::new(REFERENCE_DIR).to_path_buf(),
        };
        let path = dir.to_str().expect("utf-8 path").to_string();
        let name = plugin["type"].as_str().expect("type");
        let netns = self.container.path();
        let env = cni_env(command, &self.id, &netns, "eth0", &path);
        run_plugin_in(&self.host, &dir.join(name), &env, &self.stdin(plugin, prev))
    }

    /// ADD of the whole chain, as libcni runs it; the final result.
    fn add(&self, side: Side, chain: &[Value]) -> Value {
        let mut prev: Option<Value> = None;
        for plugin in chain {
            let out = self.run(side, plugin, "ADD", prev.as_ref());
            assert_eq!(out.code, 0, "{side:?} {} ADD: {}{}", plugin["type"], out.stdout, out.stderr);
            prev = Some(out.json);
        }
        prev.expect("a result")
    }

    /// CHECK of every plugin with the cached result; Debian's reference
    /// portmap is left out (its CHECK fails on every attachment, its own
    /// included: `reference_portmap_check_fails_on_its_own_attachment`).
    fn check(&self, side: Side, chain: &[Value], result: &Value) {
        for plugin in chain {
            if side == Side::Reference && plugin["type"] == "portmap" {
                continue;
            }
            let out = self.run(side, plugin, "CHECK", Some(result));
            assert_eq!(out.code, 0, "{side:?} {} CHECK: {}{}", plugin["type"], out.stdout, out.stderr);
        }
    }

    /// DEL of the chain in reverse with the cached result.
    fn del(&self, side: Side, chain: &[Value], result: &Value) {
        for plugin in chain.iter().rev() {
            let out = self.run(side, plugin, "DEL", Some(result));
            assert_eq!(out.code, 0, "{side:?} {} DEL: {}{}", plugin["type"], out.stdout, out.stderr);
        }
    }

    /// Everything of the attachment that lives outside the container and
    /// is still there: rule lines naming its address or ID, per-container
    /// chains, veths and ifbs, qdiscs on them, reservations, state files.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let ip = self.container_ip();
        let ip6 = format!("fd00:246:{}::2", self.n);
        let named = |line: &str| {
            line.contains(&self.id)
                || [
                    format!("{ip}/"),
                    format!("{ip}:"),
                    format!("{ip} "),
                    format!("{ip6}/"),
                    format!("{ip6}]"),
                    format!("{ip6} "),
                ]
                .iter()
                .any(|a| line.contains(a))
        };
        for tool in ["iptables-save", "ip6tables-save"] {
            for line in self.host.output(&[tool]).lines() {
                if named(line) || line.starts_with(":CNI-DN-") || line.starts_with(":CNI-SN-") {
                    left.push(format!("{tool}: {line}"));
                }
            }
        }
        for line in self.host.output(&["nft", "list", "ruleset"]).lines() {
            if named(line) {
                left.push(format!("nft: {}", line.trim()));
            }
        }
        let links: Value = serde_json::from_str(&self.host.output(&["ip", "-j", "-d", "link", "show"]))
            .unwrap_or(Value::Null);
        for link in links.as_array().cloned().unwrap_or_default() {
            let kind = link["linkinfo"]["info_kind"].as_str().unwrap_or_default().to_string();
            if kind == "veth" || kind == "ifb" {
                left.push(format!("link: {} ({kind})", link["ifname"]));
            }
        }
        let reserved = reservations(&self.dir("ipam").join(&self.network));
        left.extend(reserved.into_iter().map(|ip| format!("reservation: {ip}")));
        for what in ["tuning", "firewall"] {
            for file in files_under(&self.dir(what)) {
                left.push(format!("{what} file: {}", file.display()));
            }
        }
        left
    }
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// One direction of the handover: `adder` ADDs, the other side CHECKs and
/// DELs; nothing of the attachment is left but what the other side cannot
/// know of (`expected`).
fn hand_over(main: &str, n: u8, adder: Side, portmap_backend: Option<&str>, expected: &[&str]) {
    require_reference();
    let node = Node::new(n);
    let chain = node.chain(main, portmap_backend);
    let other = if adder == Side::Ours { Side::Reference } else { Side::Ours };
    let what = format!("{main}, {adder:?} ADD, backend {portmap_backend:?}");
    let result = node.add(adder, &chain);
    assert!(!node.leftovers().is_empty(), "{what}: the attachment's state is seen");
    node.check(other, &chain, &result);
    node.del(other, &chain, &result);
    let left = node.leftovers();
    let unexpected: Vec<&String> = left.iter().filter(|l| !expected.iter().any(|e| l.contains(e))).collect();
    assert!(unexpected.is_empty(), "{what}: left behind:\n{}", left.join("\n"));
}

/// Our firewall records each attachment's addresses (the identity its
/// iptables rules lack, for GC); the reference's DEL knows nothing of that
/// file. It is the one thing a rollback leaves, until our GC or DEL runs.
const FIREWALL_RECORD: &str = "firewall file:";

#[test]
fn bridge_chain_added_by_ours_is_checked_and_deleted_by_the_reference() {
    hand_over("bridge", 1, Side::Ours, None, &[FIREWALL_RECORD]);
    hand_over("bridge", 2, Side::Ours, Some("iptables"), &[FIREWALL_RECORD]);
}

#[test]
fn bridge_chain_added_by_the_reference_is_checked_and_deleted_by_ours() {
    hand_over("bridge", 3, Side::Reference, None, &[]);
    hand_over("bridge", 4, Side::Reference, Some("iptables"), &[]);
}

#[test]
fn ptp_chain_hands_over_both_ways() {
    hand_over("ptp", 5, Side::Ours, None, &[FIREWALL_RECORD]);
    hand_over("ptp", 6, Side::Reference, None, &[]);
}

/// Everything the chain can have made outside the container, as text to
/// compare before and after: rules of both tools (counters left out),
/// links, qdiscs, and the state files with their contents.
fn snapshot(node: &Node) -> String {
    let mut text = String::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        for line in node.host.output(&[tool]).lines().filter(|l| !l.starts_with('#')) {
            text.push_str(line.split(" [").next().unwrap_or(line));
            text.push('\n');
        }
    }
    // Counters tick with the host's own traffic (IPv6 neighbour discovery).
    for line in node.host.output(&["nft", "list", "ruleset"]).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let kept: Vec<&str> = match words.iter().position(|w| *w == "packets") {
            Some(at) => words[..at].iter().chain(words.iter().skip(at + 4)).copied().collect(),
            None => words,
        };
        text.push_str(&kept.join(" "));
        text.push('\n');
    }
    // Not `-d`: the bridge's timers tick between two listings.
    text.push_str(&node.host.output(&["ip", "link", "show"]));
    text.push_str(&node.host.output(&["tc", "qdisc", "show"]));
    for file in files_under(node.state.path()) {
        let content = std::fs::read_to_string(&file).unwrap_or_default();
        text.push_str(&format!("{}: {content}\n", file.display()));
    }
    text
}

#[test]
fn gc_without_its_list_is_refused_by_every_plugin_and_changes_nothing() {
    let node = Node::new(7);
    let mut chain = node.chain("bridge", Some("nftables"));
    chain.insert(2, node.chain("bridge", Some("iptables"))[1].clone());
    let result = node.add(Side::Ours, &chain);
    assert!(result["ips"][0]["address"].is_string());
    let before = snapshot(&node);
    assert!(before.contains(&node.id), "the attachment's rules are there");
    let path = node.plugins.path().to_str().expect("utf-8 path").to_string();
    for plugin_type in cni::BUILTIN_PLUGIN_TYPES {
        let plugin = chain.iter().find(|p| p["type"] == *plugin_type).cloned();
        let mut conf = plugin.unwrap_or_else(|| json!({"type": plugin_type}));
        conf["cniVersion"] = json!("1.1.0");
        conf["name"] = json!(node.network);
        for list in [None, Some(Value::Null), Some(json!({"containerID": "x", "ifname": "eth0"}))] {
            let mut stdin = conf.clone();
            if let Some(list) = &list {
                stdin["cni.dev/valid-attachments"] = list.clone();
            }
            let env = [("CNI_COMMAND", "GC"), ("CNI_PATH", path.as_str())];
            let out = run_plugin_in(&node.host, &node.plugins.plugin(plugin_type), &env, &stdin.to_string());
            assert_eq!(
                (out.code, &out.json["code"]),
                (1, &json!(7)),
                "{plugin_type} {list:?}: {}",
                out.stdout
            );
            let msg = out.json["msg"].as_str().unwrap_or_default();
            assert!(msg.contains("key \"cni.dev/valid-attachments\""), "{plugin_type}: {msg}");
        }
    }
    let after = snapshot(&node);
    let changed: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    let gone: Vec<&str> = before.lines().filter(|l| !after.lines().any(|a| a == *l)).collect();
    assert!(
        changed.is_empty() && gone.is_empty(),
        "a refused GC changed state: now {changed:#?}, was {gone:#?}"
    );
    // An explicit empty list still means none is valid: bridge's GC frees
    // the reservation, as GC should.
    let mut gc = chain[0].clone();
    gc["cniVersion"] = json!("1.1.0");
    gc["name"] = json!(node.network);
    gc["cni.dev/valid-attachments"] = json!([]);
    let env = [("CNI_COMMAND", "GC"), ("CNI_PATH", path.as_str())];
    let out = run_plugin_in(&node.host, &node.plugins.plugin("bridge"), &env, &gc.to_string());
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(reservations(&node.dir("ipam").join(&node.network)).is_empty(), "freed by an empty list");
    node.del(Side::Ours, &chain, &result);
}

#[test]
fn add_and_del_refuse_the_plugins_own_netns_as_the_reference_does() {
    let node = Node::new(8);
    node.host.exec(&["ip", "link", "set", "lo", "down"]);
    let lo_up = || node.host.output(&["ip", "-j", "link", "show", "lo"]).contains("\"UP\"");
    let path = node.plugins.path().to_str().expect("utf-8 path").to_string();
    let run = |plugin: &str, command: &str, overridden: bool, conf: &Value| {
        // The plugin runs in the host netns: /proc/self/ns/net is its own.
        let mut env = cni_env(command, &node.id, "/proc/self/ns/net", "eth0", &path);
        if overridden {
            env.push(("CNI_NETNS_OVERRIDE", "1"));
        }
        run_plugin_in(&node.host, &node.plugins.plugin(plugin), &env, &conf.to_string())
    };
    let loopback = json!({"cniVersion": "1.0.0", "name": node.network, "type": "loopback"});
    let bridge = node.stdin(&node.chain("bridge", None)[0], None);
    let bridge: Value = serde_json::from_str(&bridge).expect("json");
    for (plugin, conf) in [("loopback", &loopback), ("bridge", &bridge)] {
        for command in ["ADD", "DEL"] {
            let out = run(plugin, command, false, conf);
            assert_eq!((out.code, &out.json["code"]), (1, &json!(8)), "{plugin} {command}: {}", out.stdout);
            assert_eq!(out.json["msg"], "plugin's netns and netns from CNI_NETNS should not be the same");
        }
    }
    assert!(!lo_up(), "the refused loopback ADD changed nothing");
    let links = node.host.output(&["ip", "-o", "link", "show"]);
    assert!(
        !links.contains("hobr0") && !links.contains("veth"),
        "the refused bridge ADD made nothing: {links}"
    );
    assert!(reservations(&node.dir("ipam").join(&node.network)).is_empty());
    // With the override, what the reference does: the verb runs.
    assert_eq!(run("loopback", "ADD", true, &loopback).code, 0);
    assert!(lo_up(), "ADD with CNI_NETNS_OVERRIDE=1 ran");
    assert_eq!(run("loopback", "DEL", true, &loopback).code, 0);
    assert!(!lo_up(), "DEL with CNI_NETNS_OVERRIDE=1 ran");
}

#[test]
fn an_unknown_firewall_backend_falls_back_to_the_automatic_choice() {
    let node = Node::new(9);
    let chain = node.chain("bridge", None);
    let result = node.add(Side::Ours, &chain[..1]);
    let firewall = json!({"type": "firewall", "backend": "ebtables", "dataDir": node.dir("firewall")});
    let out = node.run(Side::Ours, &firewall, "ADD", Some(&result));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let saved = node.host.output(&["iptables-save", "-t", "filter"]);
    assert!(
        saved.contains("CNI-FORWARD") && saved.contains(&node.container_ip()),
        "iptables, as the reference: {saved}"
    );
    assert_eq!(node.run(Side::Ours, &firewall, "DEL", Some(&result)).code, 0);
    node.del(Side::Ours, &chain[..1], &result);
}

/// Debian's portmap (1.1.1) checks the IPv4 rules in ip6tables as well
/// (and an IPv4-only attachment's IPv6 chain): its CHECK fails on what its
/// own ADD made, so it cannot judge ours. Should Debian ship a fixed one,
/// this fails, and the handover's CHECK includes it again.
#[test]
fn reference_portmap_check_fails_on_its_own_attachment() {
    require_reference();
    let node = Node::new(10);
    let chain = node.chain("bridge", None);
    let result = node.add(Side::Reference, &chain);
    let out = node.run(Side::Reference, &chain[1], "CHECK", Some(&result));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.json["msg"].as_str().unwrap_or_default().starts_with("could not check ipv6 dnat"),
        "{}",
        out.stdout
    );
    node.check(Side::Ours, &chain, &result);
    node.del(Side::Reference, &chain, &result);
}
