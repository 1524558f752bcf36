//! The firewall plugin (iptables backend; firewalld's is tests/firewalld.rs) chained after bridge: its chains
//! and rules read back with iptables-save, CHECK, DEL, the isolation rules
//! of ingressPolicy, and handover with the reference in both directions.
//! Subnets 10.209.N.0/24 and fd00:209:N::/64 belong to this file.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn saved(ipv6: bool) -> String {
    let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
    String::from_utf8_lossy(&Command::new(tool).args(["-t", "filter"]).output().unwrap().stdout).to_string()
}

fn lines_with(ipv6: bool, needle: &str) -> Vec<String> {
    saved(ipv6).lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
}

/// Removes rules that mention a test bridge (isolation rules stay after DEL, as in the reference).
struct IsolationCleanup(String);

impl Drop for IsolationCleanup {
    fn drop(&mut self) {
        for ipv6 in [false, true] {
            let tool = if ipv6 { "ip6tables" } else { "iptables" };
            for line in lines_with(ipv6, &format!(" {} ", self.0)) {
                let spec: Vec<String> = shell_words(&line.replacen("-A ", "-D ", 1));
                let _ = Command::new(tool).args(&spec).status();
            }
        }
    }
}

/// Splits an iptables-save line into arguments (quotes as iptables-save writes them).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn bridge_result(plugins: &PluginDir, ns: &TestNetns, store: &Path, bridge: &str, n: u8) -> (String, Value) {
    let conf = json!({"cniVersion": "1.0.0", "name": unique("fwn"), "type": "bridge", "bridge": bridge,
        "isGateway": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("10.209.{n}.0/24")}],
                                                    [{"subnet": format!("fd00:209:{n}::/64")}]], "dataDir": store}})
    .to_string();
    let path = plugins.path().to_str().unwrap();
    let out = run_plugin(&plugins.plugin("bridge"), &cni_env("ADD", "fwbr", &ns.path(), "eth0", path), &conf);
    assert_eq!(out.code, 0, "{}", out.stdout);
    (conf, out.json)
}

fn firewall_conf(result: &Value, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": "fwnet", "type": "firewall", "prevResult": result});
    with_keys(conf, &extra).to_string()
}

fn address(result: &Value, i: usize) -> String {
    result["ips"][i]["address"].as_str().unwrap().split('/').next().unwrap().to_string()
}

#[test]
fn firewall_rules_come_and_go_and_check_sees_them() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let ns = TestNetns::new("fw");
    let (_, result) = bridge_result(&plugins, &ns, store.path(), &bridge.name, 1);
    let (v4, v6) = (address(&result, 0), address(&result, 1));
    let conf = firewall_conf(&result, json!({}));
    let att = Attachment::new(&plugins.plugin("firewall"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("firewall"), path, "ADD", &conf);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json["ips"], result["ips"], "prevResult passes through");

    let four = saved(false);
    for line in [
        "-A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD".to_string(),
        "-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN"
            .to_string(),
        format!("-A CNI-FORWARD -d {v4}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        format!("-A CNI-FORWARD -s {v4}/32 -j ACCEPT"),
    ] {
        assert!(four.lines().any(|l| l == line), "{line:?} in\n{four}");
    }
    assert_eq!(lines_with(true, &format!("{v6}/128")).len(), 2, "the v6 rules");
    let check = att.call(&plugins.plugin("firewall"), path, "CHECK", &conf);
    assert_eq!(check.code, 0, "{}", check.stdout);

    let removed = Command::new("iptables")
        .args(["-D", "CNI-FORWARD", "-s", &format!("{v4}/32"), "-j", "ACCEPT"])
        .status();
    assert!(removed.unwrap().success());
    let check = att.call(&plugins.plugin("firewall"), path, "CHECK", &conf);
    assert_eq!(check.code, 1, "CHECK notices the missing rule: {}", check.stdout);

    let del = att.call(&plugins.plugin("firewall"), path, "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(
        lines_with(false, &format!("{v4}/32")).is_empty()
            && lines_with(true, &format!("{v6}/128")).is_empty()
    );
    let again = att.call(&plugins.plugin("firewall"), path, "DEL", &conf);
    assert_eq!(again.code, 0, "a second DEL succeeds");
}

#[test]
fn ingress_policy_adds_the_isolation_rules_for_the_bridge() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let _cleanup = IsolationCleanup(bridge.name.clone());
    let ns = TestNetns::new("fwi");
    let (_, result) = bridge_result(&plugins, &ns, store.path(), &bridge.name, 2);
    let conf = firewall_conf(&result, json!({"ingressPolicy": "isolated"}));
    let att = Attachment::new(&plugins.plugin("firewall"), &conf, &ns, path);
    let out = att.call(&plugins.plugin("firewall"), path, "ADD", &conf);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let b = &bridge.name;
    let rules = saved(false);
    for line in [
        format!("-A CNI-ISOLATION-STAGE-1 -i {b} ! -o {b} -m comment --comment \"CNI firewall plugin rules (ingressPolicy: isolated)\" -j CNI-ISOLATION-STAGE-2"),
        format!("-A CNI-ISOLATION-STAGE-1 -i {b} -o {b} -m comment --comment \"CNI firewall plugin rules (ingressPolicy: isolated)\" -j DROP"),
        format!("-A CNI-ISOLATION-STAGE-2 -o {b} -m comment --comment \"CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)\" -j DROP"),
    ] {
        assert!(rules.lines().any(|l| l == line), "{line:?} in\n{rules}");
    }
    let bad = firewall_conf(&result, json!({"ingressPolicy": "sometimes"}));
    let out = att.call(&plugins.plugin("firewall"), path, "ADD", &bad);
    assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{}", out.stdout);
    // firewalld named but not on this host's system bus: a clear error
    // (tests/firewalld.rs runs it against a real firewalld).
    let firewalld = firewall_conf(&result, json!({"backend": "firewalld"}));
    let out = att.call(&plugins.plugin("firewall"), path, "ADD", &firewalld);
    assert_ne!(out.code, 0);
    assert!(out.json["msg"].as_str().unwrap_or_default().contains("needs firewalld"), "{}", out.stdout);
}

#[test]
fn firewall_rules_hand_over_with_the_reference() {
    require_reference();
    let ours = PluginDir::new();
    let ours_path = ours.path().to_str().unwrap();
    let reference = Path::new(REFERENCE_DIR).join("firewall");
    for (n, made_by_ours) in [(3, true), (4, false)] {
        let store = tempfile::tempdir().unwrap();
        let bridge = TestBridge::new();
        let ns = TestNetns::new("fwh");
        let (_, result) = bridge_result(&ours, &ns, store.path(), &bridge.name, n);
        let v4 = address(&result, 0);
        let conf = firewall_conf(&result, json!({}));
        let att = Attachment::new(&ours.plugin("firewall"), &conf, &ns, ours_path);
        let (maker, maker_path, taker, taker_path) = if made_by_ours {
            (ours.plugin("firewall"), ours_path, reference.clone(), REFERENCE_DIR)
        } else {
            (reference.clone(), REFERENCE_DIR, ours.plugin("firewall"), ours_path)
        };
        let add = att.call(&maker, maker_path, "ADD", &conf);
        assert_eq!(add.code, 0, "{}", add.stdout);
        assert_eq!(lines_with(false, &format!("{v4}/32")).len(), 2);
        let check = att.call(&taker, taker_path, "CHECK", &conf);
        assert_eq!(check.code, 0, "CHECK by the other side (ours made it: {made_by_ours}): {}", check.stdout);
        let del = att.call(&taker, taker_path, "DEL", &conf);
        assert_eq!(del.code, 0, "{}", del.stdout);
        assert!(
            lines_with(false, &format!("{v4}/32")).is_empty(),
            "rules left (ours made it: {made_by_ours})"
        );
    }
}

#[test]
fn an_admin_chain_name_cannot_inject_rules() {
    // The name goes into the iptables-restore input: a newline in it used
    // to start a rule of the config author's choosing.
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let ns = TestNetns::new("fwinj");
    let (_, result) = bridge_result(&plugins, &ns, store.path(), &bridge.name, 9);
    let v4 = address(&result, 0);
    let injected = format!("ADM\n-A INPUT -s {v4}/32 -j DROP");
    for name in [injected.as_str(), "has space", "-A", "!x", "A\"B", &"A".repeat(29)] {
        let conf = firewall_conf(&result, json!({"iptablesAdminChainName": name}));
        let att = Attachment::new(&plugins.plugin("firewall"), &conf, &ns, path);
        let out = att.call(&plugins.plugin("firewall"), path, "ADD", &conf);
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{name:?}: {}", out.stdout);
        assert!(out.stdout.contains("iptablesAdminChainName"), "{}", out.stdout);
    }
    assert!(lines_with(false, "-A INPUT").iter().all(|l| !l.contains(&v4)), "no injected rule");
    assert!(lines_with(false, &format!("{v4}/32")).is_empty(), "nothing set up");
    let good = firewall_conf(&result, json!({"iptablesAdminChainName": "MY-ADMIN_1.x"}));
    let att = Attachment::new(&plugins.plugin("firewall"), &good, &ns, path);
    assert_eq!(att.call(&plugins.plugin("firewall"), path, "ADD", &good).code, 0, "a plain name works");
}

/// Removes a hand-made rule (one standing in for a reference ADD's) on drop.
struct HandRule(Vec<String>);

impl Drop for HandRule {
    fn drop(&mut self) {
        let mut spec = self.0.clone();
        spec[0] = "-D".to_string();
        let _ = Command::new("iptables").args(&spec).status();
    }
}

#[test]
fn gc_removes_the_rules_of_stale_attachments_only() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bridge = TestBridge::new();
    let ns = TestNetns::new("fwgc");
    let network = unique("fwgc");
    let fw = |result: &Value| {
        let conf = json!({"cniVersion": "1.1.0", "name": network, "type": "firewall", "dataDir": data.path(),
            "prevResult": result});
        conf.to_string()
    };
    let (_, kept) = bridge_result(&plugins, &ns, store.path(), &bridge.name, 10);
    let (bridge2, ns2) = (TestBridge::new(), TestNetns::new("fwgc"));
    let (_, stale) = bridge_result(&plugins, &ns2, store.path(), &bridge2.name, 11);
    let call = |id: &str, command: &str, conf: &str| {
        run_plugin(&plugins.plugin("firewall"), &cni_env(command, id, &ns.path(), "eth0", path), conf)
    };
    let (kept_id, stale_id, reused_id) = (unique("keep"), unique("gone"), unique("reuse"));
    assert_eq!(call(&kept_id, "ADD", &fw(&kept)).code, 0);
    assert_eq!(call(&stale_id, "ADD", &fw(&stale)).code, 0);
    // A stale record of the kept attachment's address: that address was
    // freed and is a valid container's now, so its rules must stay.
    assert_eq!(call(&reused_id, "ADD", &fw(&kept)).code, 0);
    let records = data.path().join(&network);
    assert!(records.join(format!("{stale_id}_eth0")).exists(), "ADD records the addresses");
    // A rule with no record (the reference keeps none) is not GC's to remove.
    let foreign: Vec<String> =
        ["-A", "CNI-FORWARD", "-s", "10.209.12.9/32", "-j", "ACCEPT"].map(String::from).to_vec();
    assert!(Command::new("iptables").args(&foreign).status().unwrap().success());
    let _foreign = HandRule(foreign);
    let (kept_v4, stale_v4, stale_v6) = (address(&kept, 0), address(&stale, 0), address(&stale, 1));

    let gc = json!({"cniVersion": "1.1.0", "name": network, "type": "firewall", "dataDir": data.path(),
        "cni.dev/valid-attachments": [{"containerID": kept_id, "ifname": "eth0"}]});
    let out = call("", "GC", &gc.to_string());
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(lines_with(false, &format!("{stale_v4}/32")).is_empty(), "the stale attachment's v4 rules go");
    assert!(lines_with(true, &format!("{stale_v6}/128")).is_empty(), "and its v6 rules");
    assert_eq!(lines_with(false, &format!("{kept_v4}/32")).len(), 2, "the valid attachment's rules stay");
    assert_eq!(lines_with(false, "10.209.12.9/32").len(), 1, "a rule with no record stays");
    let left: Vec<String> = std::fs::read_dir(&records)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![format!("{kept_id}_eth0")], "only the valid attachment's record is left");

    // DEL cleans from the record alone, without a prevResult.
    let bare = json!({"cniVersion": "1.1.0", "name": network, "type": "firewall", "dataDir": data.path()});
    assert_eq!(call(&kept_id, "DEL", &bare.to_string()).code, 0);
    assert!(lines_with(false, &format!("{kept_v4}/32")).is_empty(), "DEL found the addresses in its record");
    assert!(std::fs::read_dir(&records).unwrap().next().is_none(), "and removed the record");
}
