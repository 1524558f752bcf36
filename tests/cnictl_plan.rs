//! `cnictl add --dry-run` and `cnictl explain`: the plan of an ADD changes
//! nothing (host-local's store, links, netfilter rules, the cache, the
//! netns), and what it plans is what the ADD then makes: the address, the
//! bridge and its gateway, the masquerade, DNAT and firewall rules, the tc
//! buckets; on both netfilter backends.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A network of its own: conf dir, cache, data dir, a bridge removed on drop.
struct Net {
    _conf: tempfile::TempDir,
    conf_dir: PathBuf,
    cache: tempfile::TempDir,
    data: tempfile::TempDir,
    name: String,
    bridge: TestBridge,
    plugins: PluginDir,
}

impl Net {
    /// bridge + host-local on `subnet` (with `ipam_extra` keys), then `more` plugins.
    fn new(subnet: &str, ipam_extra: Value, bridge_extra: Value, more: Vec<Value>) -> Net {
        let conf = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let name = unique("plan");
        let bridge = TestBridge::new();
        let mut ipam = json!({"type": "host-local", "subnet": subnet, "dataDir": data.path().join("ipam")});
        for (k, v) in ipam_extra.as_object().cloned().unwrap_or_default() {
            ipam[k] = v;
        }
        let mut main = json!({"type": "bridge", "bridge": bridge.name, "isGateway": true, "ipam": ipam});
        for (k, v) in bridge_extra.as_object().cloned().unwrap_or_default() {
            main[k] = v;
        }
        let mut plugins = vec![main];
        plugins.extend(more);
        let list = json!({"cniVersion": "1.0.0", "name": name, "plugins": plugins});
        std::fs::write(
            conf.path().join(format!("10-{name}.conflist")),
            serde_json::to_vec_pretty(&list).unwrap(),
        )
        .unwrap();
        Net {
            conf_dir: conf.path().to_path_buf(),
            _conf: conf,
            cache: tempfile::tempdir().unwrap(),
            data,
            name,
            bridge,
            plugins: PluginDir::new(),
        }
    }

    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        run_cnictl(args, &self.conf_dir, self.cache.path(), self.plugins.path())
    }

    fn store(&self) -> PathBuf {
        self.data.path().join("ipam").join(&self.name)
    }

    /// The plan of `add --dry-run` as JSON, with its exit code and stderr.
    fn dry_run(&self, ns: &TestNetns, cap_args: &str) -> (i32, Value, String) {
        let (code, stdout, stderr) =
            self.cnictl(&["add", "--dry-run", &self.name, &ns.name, "--cap-args", cap_args, "-o", "json"]);
        let plan = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
        (code, plan, stderr)
    }

    /// ADDs `ns`; the guard DELs it.
    fn add<'a>(&'a self, ns: &'a TestNetns, cap_args: &str) -> (Attached<'a>, Value) {
        let (code, stdout, stderr) = self.cnictl(&["add", &self.name, &ns.name, "--cap-args", cap_args]);
        assert_eq!(code, 0, "ADD: {stderr}");
        (Attached { net: self, ns }, serde_json::from_str(&stdout).unwrap())
    }
}

/// An attachment made by `cnictl add`, removed by `cnictl del` on drop.
struct Attached<'a> {
    net: &'a Net,
    ns: &'a TestNetns,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let (code, _, stderr) = self.net.cnictl(&["del", &self.net.name, &self.ns.name]);
        if code != 0 {
            eprintln!("cleanup DEL failed: {stderr}");
        }
    }
}

/// The section of plugin `type` (the first one).
fn section<'a>(plan: &'a Value, plugin_type: &str) -> &'a Value {
    plan["plugins"].as_array().unwrap().iter().find(|s| s["type"] == plugin_type).unwrap_or(&Value::Null)
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// What a dry run must leave alone, as read before and after: the store's
/// files and contents, the host's links, the netns's links, every iptables
/// and nftables line naming the container, its chains or the subnet, and
/// the cache dir.
#[derive(Debug, PartialEq)]
struct Snapshot {
    store: Vec<(String, String)>,
    host_links: Vec<String>,
    netns_links: Vec<String>,
    rules: Vec<String>,
    cache: Vec<PathBuf>,
}

fn snapshot(net: &Net, ns: &TestNetns, needles: &[String]) -> Snapshot {
    let mut store: Vec<(String, String)> = std::fs::read_dir(net.store())
        .map(|e| {
            e.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().to_string(),
                        std::fs::read_to_string(e.path()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    store.sort();
    let names = |links: Value| -> Vec<String> {
        links
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|l| l["ifname"].as_str().map(String::from))
            .collect()
    };
    // Only our links: parallel tests make and remove their own.
    let host_links: Vec<String> = names(ip_json(None, &["link", "show"]))
        .into_iter()
        .filter(|n| n == &net.bridge.name || needles.iter().any(|x| n == x))
        .collect();
    let mut rules = Vec::new();
    for listing in
        [output("iptables-save", &[]), output("ip6tables-save", &[]), output("nft", &["list", "ruleset"])]
    {
        rules.extend(
            listing.lines().filter(|l| needles.iter().any(|n| l.contains(n.as_str()))).map(String::from),
        );
    }
    Snapshot {
        store,
        host_links,
        netns_links: names(ip_json(Some(&ns.name), &["link", "show"])),
        rules,
        cache: cache_files(net.cache.path()),
    }
}

/// `add --dry-run`'s plan for bridge + host-local + portmap + bandwidth +
/// firewall changes nothing, and the ADD then makes what it planned.
fn plan_matches_add(backend: &str, subnet: &str, prefix: &str, host_port: u16) {
    let net = Net::new(
        subnet,
        json!({"routes": [{"dst": "0.0.0.0/0"}]}),
        json!({"ipMasq": true, "ipMasqBackend": backend}),
        vec![
            json!({"type": "portmap", "backend": backend, "capabilities": {"portMappings": true}}),
            json!({"type": "bandwidth", "capabilities": {"bandwidth": true}}),
        ],
    );
    // The firewall's own data dir, so its records stay in the test's.
    let file = net.conf_dir.join(format!("10-{}.conflist", net.name));
    let mut list: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    list["plugins"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "firewall", "backend": backend, "dataDir": net.data.path().join("firewall")}));
    std::fs::write(&file, serde_json::to_vec(&list).unwrap()).unwrap();
    let ns = TestNetns::new("plan");
    let cap_args = json!({
        "portMappings": [{"hostPort": host_port, "containerPort": 80, "protocol": "tcp"}],
        "bandwidth": {"ingressRate": 8_000_000, "ingressBurst": 80_000, "egressRate": 16_000_000, "egressBurst": 160_000},
    })
    .to_string();

    let first = net.dry_run(&ns, &cap_args).1;
    let ifb = section(&first, "bandwidth")["plan"]["egress"]["ifb"].as_str().unwrap().to_string();
    let container_id = first["containerId"].as_str().unwrap().to_string();
    let needles = vec![
        container_id.clone(),
        prefix.to_string(),
        ifb.clone(),
        format!("dport {host_port}"),
        format!("--dport {host_port}"),
    ];
    let before = snapshot(&net, &ns, &needles);
    let (code, plan, stderr) = net.dry_run(&ns, &cap_args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(snapshot(&net, &ns, &needles), before, "the dry run changed nothing");
    assert!(before.store.is_empty() && before.host_links.is_empty() && before.rules.is_empty(), "{before:?}");
    assert!(before.cache.is_empty() && before.netns_links == ["lo"], "{before:?}");
    assert_eq!(plan["changed"], false);
    assert_eq!(plan["wouldFail"], false, "{plan:#}");
    assert_eq!(plan, first, "two plans of an unchanged host agree");

    // What the plan says.
    let bridge = &section(&plan, "bridge")["plan"];
    assert_eq!(bridge["bridge"], json!({"name": net.bridge.name, "state": "created"}));
    assert_eq!(bridge["ipMasq"]["backend"], backend);
    let ipam = section(&plan, "host-local");
    assert_eq!(ipam["ipamOf"], "bridge");
    let address = ipam["plan"]["ranges"][0]["address"].as_str().unwrap().to_string();
    let gateway = ipam["plan"]["ranges"][0]["gateway"].as_str().unwrap().to_string();
    assert_eq!(bridge["gateways"][0]["onBridge"], format!("{gateway}/24"));
    let portmap = &section(&plan, "portmap")["plan"];
    assert_eq!(portmap["backend"], backend);
    let ip = address.split('/').next().unwrap();
    assert_eq!(portmap["mappings"][0]["to"], json!([format!("{ip}:80")]));
    let bandwidth = &section(&plan, "bandwidth")["plan"];
    let firewall = &section(&plan, "firewall")["plan"];
    assert!(firewall["backend"] == backend, "{firewall}");

    // The ADD makes what was planned.
    let (_attached, result) = net.add(&ns, &cap_args);
    assert_eq!(result["ips"][0]["address"], address.as_str(), "the planned address is the one handed out");
    assert_eq!(result["ips"][0]["gateway"], gateway.as_str());
    assert_eq!(reservations(&net.store()), [ip]);
    assert_eq!(
        link_addresses(None, &net.bridge.name),
        [format!("{gateway}/24")],
        "the bridge has the gateway"
    );
    let rules_text = [output("iptables-save", &[]), output("nft", &["list", "ruleset"])].join("\n");
    let lines: Vec<&str> = rules_text.lines().map(str::trim).collect();
    let planned = |rules: &Value| -> Vec<String> {
        rules
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let rule = r["rule"].as_str().unwrap();
                if backend == "iptables" {
                    format!("-A {} {rule}", r["chain"].as_str().unwrap())
                } else {
                    rule.to_string()
                }
            })
            .collect()
    };
    for (what, rules) in [
        ("ipMasq", &bridge["ipMasq"]["rules"]),
        ("portmap", &portmap["rules"]),
        ("firewall", &firewall["rules"]),
    ] {
        let rules = planned(rules);
        assert!(!rules.is_empty(), "{what}: no rules planned");
        for rule in rules {
            assert!(lines.contains(&rule.as_str()), "{what}: planned rule not made: {rule}\n{rules_text}");
        }
    }
    let dnat = planned(&portmap["rules"]);
    assert!(dnat.iter().any(|r| r.contains(&format!("{ip}:80"))), "a DNAT to the container: {dnat:?}");
    // The buckets, read back with tc.
    let host_veth = result["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .find(|n| n.starts_with("veth"))
        .unwrap()
        .to_string();
    for (device, planned) in
        [(host_veth.as_str(), &bandwidth["ingress"]), (ifb.as_str(), &bandwidth["egress"])]
    {
        let qdiscs: Value =
            serde_json::from_str(&output("tc", &["-j", "qdisc", "show", "dev", device])).unwrap();
        let tbf = qdiscs
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["kind"] == "tbf")
            .unwrap_or_else(|| panic!("{qdiscs}"));
        assert_eq!(tbf["options"]["rate"], planned["rateBytesPerSecond"], "{device}: {qdiscs}");
        assert_eq!(tbf["options"]["burst"], planned["burstBytes"], "{device}: {qdiscs}");
    }
}

#[test]
fn a_dry_run_changes_nothing_and_the_add_makes_its_plan_with_iptables() {
    plan_matches_add("iptables", "10.174.1.0/24", "10.174.1.", 41741);
}

#[test]
fn a_dry_run_changes_nothing_and_the_add_makes_its_plan_with_nftables() {
    plan_matches_add("nftables", "10.174.2.0/24", "10.174.2.", 41742);
}

/// The planned address follows host-local's order: after the last one
/// handed out, skipping reserved ones, wrapping to a freed one.
#[test]
fn the_planned_address_is_the_next_one_host_local_hands_out() {
    let net = Net::new(
        "10.174.4.0/24",
        json!({"rangeStart": "10.174.4.5", "rangeEnd": "10.174.4.7"}),
        json!({}),
        vec![],
    );
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|_| TestNetns::new("plan"));
    let planned = |ns: &TestNetns| {
        let (code, plan, stderr) = net.dry_run(ns, "{}");
        assert_eq!(code, 0, "{stderr}");
        section(&plan, "host-local")["plan"]["ranges"][0]["address"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(planned(&a), "10.174.4.5/24", "rangeStart first");
    let (_a, got) = net.add(&a, "{}");
    assert_eq!(got["ips"][0]["address"], "10.174.4.5/24");
    assert_eq!(planned(&b), "10.174.4.6/24");
    let b_attached = net.add(&b, "{}");
    assert_eq!(b_attached.1["ips"][0]["address"], "10.174.4.6/24");
    drop(_a);
    assert_eq!(reservations(&net.store()), ["10.174.4.6"]);
    assert_eq!(planned(&c), "10.174.4.7/24", "after the last reserved, not the freed one");
    let (_c, got) = net.add(&c, "{}");
    assert_eq!(got["ips"][0]["address"], "10.174.4.7/24");
    assert_eq!(planned(&d), "10.174.4.5/24", "wrapped to the freed one, .6 still taken");
    let (_d, got) = net.add(&d, "{}");
    assert_eq!(got["ips"][0]["address"], "10.174.4.5/24");
}

/// A full range: the plan says so (exit 1, the plugin's words, `full`),
/// reserves nothing, and the ADD then fails as said.
#[test]
fn a_full_range_is_reported_and_the_add_fails_as_planned() {
    let net = Net::new("10.174.3.0/30", json!({}), json!({}), vec![]);
    let (one, two) = (TestNetns::new("plan"), TestNetns::new("plan"));
    let (_one, got) = net.add(&one, "{}");
    assert_eq!(got["ips"][0]["address"], "10.174.3.2/30");
    let before = reservations(&net.store());
    let (code, plan, stderr) = net.dry_run(&two, "{}");
    assert_eq!(code, 1, "the ADD would fail: {stderr}");
    assert_eq!(plan["wouldFail"], true);
    let ipam = section(&plan, "host-local");
    assert_eq!(ipam["plan"]["ranges"][0]["full"], true);
    assert_eq!(ipam["plan"]["ranges"][0]["address"], Value::Null);
    let problem = ipam["problems"][0].as_str().unwrap_or_default().to_string();
    assert!(problem.contains("no IP addresses available in range set: 10.174.3.1-10.174.3.2"), "{plan:#}");
    let (code, table, _) = net.cnictl(&["explain", &net.name]);
    assert_eq!(code, 1);
    assert!(
        table.contains("FULL: no IP addresses available") && table.contains("the ADD would fail"),
        "{table}"
    );
    assert_eq!(reservations(&net.store()), before, "nothing reserved");
    assert!(
        ip_json(Some(&two.name), &["link", "show"]).as_array().unwrap().len() == 1,
        "only lo in the netns"
    );
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &two.name]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no IP addresses available in range set: 10.174.3.1-10.174.3.2"), "{stderr}");
}

/// explain's JSON: the attachment, a section per plugin (IPAM after its
/// owner), a plugin not ours named as such and not guessed at; one that
/// is not in the plugin path fails the plan as it would fail the ADD.
#[test]
fn explain_names_a_foreign_plugin_and_has_a_stable_json_shape() {
    let net = Net::new("10.174.5.0/24", json!({}), json!({}), vec![json!({"type": "calico", "mtu": 1440})]);
    let (code, stdout, _) = net.cnictl(&["explain", &net.name, "-o", "json"]);
    assert_eq!(code, 1, "calico is not in the plugin path yet");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let problem = section(&plan, "calico")["problems"][0].as_str().unwrap_or_default().to_string();
    assert!(problem.contains("failed to find plugin \"calico\""), "{plan:#}");
    assert_eq!(plan["wouldFail"], true);
    copy_executable(Path::new("/bin/true"), &net.plugins.plugin("calico"));
    let (code, stdout, stderr) = net.cnictl(&["explain", &net.name, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let keys: Vec<&str> = plan.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "changed",
            "cniVersion",
            "containerId",
            "containerIdGiven",
            "file",
            "ifname",
            "netns",
            "network",
            "plugins",
            "wouldFail"
        ]
    );
    assert_eq!(plan["network"], net.name.as_str());
    assert_eq!(plan["containerIdGiven"], false);
    assert_eq!(plan["netns"], Value::Null);
    let types: Vec<&str> =
        plan["plugins"].as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["bridge", "host-local", "calico"]);
    for s in plan["plugins"].as_array().unwrap() {
        assert!(s["ours"].is_boolean() && s["plan"].is_object(), "{s}");
    }
    let calico = section(&plan, "calico");
    assert_eq!(calico["ours"], false);
    assert_eq!(calico["plan"], json!({"note": "not ours: cannot say what a \"calico\" plugin makes"}));
    assert_eq!(section(&plan, "host-local")["plan"]["ranges"][0]["address"], "10.174.5.2/24");
    let (code, table, _) = net.cnictl(&["explain", &net.name]);
    assert_eq!(code, 0);
    assert!(
        table.contains("3. calico (not ours)") && table.contains("2. host-local (IPAM of bridge)"),
        "{table}"
    );
    assert!(!Path::new(&net.store()).exists(), "explain made no store");
}

/// The dry run makes the ADD's own checks: a netns that does not exist is
/// an error (and is not made), an attachment already there is refused.
#[test]
fn a_dry_run_refuses_what_the_add_refuses() {
    let net = Net::new("10.174.6.0/24", json!({}), json!({}), vec![]);
    let missing = unique("plannone");
    let (code, _, stderr) = net.cnictl(&["add", "--dry-run", &net.name, &missing]);
    assert_ne!(code, 0);
    assert!(stderr.contains(&missing), "{stderr}");
    assert!(!Path::new("/var/run/netns").join(&missing).exists(), "no netns was made");
    let ns = TestNetns::new("plan");
    let (_attached, _) = net.add(&ns, "{}");
    let (code, _, stderr) = net.cnictl(&["add", "--dry-run", &net.name, &ns.name]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already attached") && stderr.contains("would refuse"), "{stderr}");
    let (code, stdout, stderr) =
        net.cnictl(&["add", "--dry-run", &net.name, &ns.name, "--ifname", "eth1", "-o", "json"]);
    assert_eq!(code, 0, "another interface can be planned: {stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(section(&plan, "bridge")["plan"]["bridge"]["state"], "present", "the bridge is there now");
    assert_eq!(section(&plan, "host-local")["plan"]["ranges"][0]["address"], "10.174.6.3/24");
}

#[test]
fn static_addresses_are_planned_as_static_reads_them_runtime_config_and_args_included() {
    let net = Net::new(
        "10.174.61.0/24",
        json!({"type": "static", "addresses": [{"address": "10.174.61.5/24", "gateway": "10.174.61.1"}]}),
        json!({"capabilities": {"ips": true}}),
        vec![],
    );
    let planned = |extra: &[&str]| {
        let mut args = vec!["explain", net.name.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = net.cnictl(&args);
        assert_eq!(code, 0, "{stdout} {stderr}");
        let plan: Value = serde_json::from_str(&stdout).unwrap();
        section(&plan, "static")["plan"]["addresses"].clone()
    };
    assert_eq!(planned(&[]), json!(["10.174.61.5/24 (gateway 10.174.61.1)"]));
    // CNI_ARGS IP adds an address; GATEWAY sets the gateway of those it is in.
    assert_eq!(
        planned(&["--args", "IgnoreUnknown=1;IP=10.174.61.7/24;GATEWAY=10.174.61.254"]),
        json!(["10.174.61.5/24 (gateway 10.174.61.254)", "10.174.61.7/24 (gateway 10.174.61.254)"])
    );
    // runtimeConfig.ips replaces the list, as static's ADD does: and the ADD agrees.
    let cap = r#"{"ips": ["10.174.61.9/24"]}"#;
    assert_eq!(planned(&["--cap-args", cap]), json!(["10.174.61.9/24"]));
    let ns = TestNetns::new("plans");
    let (_added, result) = net.add(&ns, cap);
    assert_eq!(result["ips"][0]["address"], "10.174.61.9/24", "{result}");
    assert_eq!(result["ips"].as_array().map(Vec::len), Some(1), "{result}");
}
