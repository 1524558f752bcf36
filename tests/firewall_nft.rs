//! The firewall plugin's nftables backend (ours; no reference plugin has
//! one), chained after bridge in a lab host netns of the test's own, so
//! the table `inet cni_plugins_firewall`, the forward policy the tests set
//! and the traffic stay there. A second container on a second bridge in
//! the same host netns makes traffic between the two routed, through the
//! forward hook. Subnets 10.218.N.0/24 and fd00:218:N::/64 belong to this
//! file.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

const BASE: &str = "10.218";
const TABLE: &str = "cni_plugins_firewall";

/// A second container on bridge `labbr1` (BASE.N.0/24) in the lab's host netns.
struct Neighbour {
    ns: TestNetns,
    _store: tempfile::TempDir,
    id: String,
    result: Value,
}

impl Neighbour {
    fn new(lab: &HostLab, n: u8) -> Neighbour {
        let ns = TestNetns::new("fwnb");
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        let store = tempfile::tempdir().expect("store dir");
        let id = unique("fwnbctr");
        let conf = json!({"cniVersion": "1.0.0", "name": unique("fwnbn"), "type": "bridge",
            "bridge": "labbr1", "isGateway": true, "isDefaultGateway": true,
            "ipam": {"type": "host-local", "subnet": format!("{BASE}.{n}.0/24"), "dataDir": store.path()}});
        let path = lab.plugins.path().to_str().unwrap_or_default();
        let out = run_plugin_in(
            &lab.host,
            &lab.plugins.plugin("bridge"),
            &cni_env("ADD", &id, &ns.path(), "eth0", path),
            &conf.to_string(),
        );
        assert_eq!(out.code, 0, "bridge ADD: {}", out.stdout);
        Neighbour { ns, _store: store, id, result: out.json }
    }

    fn ip(&self) -> String {
        first_address(&self.result)
    }
}

fn first_address(result: &Value) -> String {
    let address = result["ips"][0]["address"].as_str().unwrap_or_default();
    address.split('/').next().unwrap_or_default().to_string()
}

fn firewall_conf(network: &str, result: &Value, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": network, "type": "firewall", "backend": "nftables",
        "prevResult": result});
    with_keys(conf, &extra).to_string()
}

/// Our firewall for attachment `id` (container netns `netns`) in the lab's host netns.
fn firewall(lab: &HostLab, command: &str, id: &str, netns: &TestNetns, conf: &str) -> Outcome {
    let path = lab.plugins.path().to_str().unwrap_or_default();
    run_plugin_in(
        &lab.host,
        &lab.plugins.plugin("firewall"),
        &cni_env(command, id, &netns.path(), "eth0", path),
        conf,
    )
}

/// `nft -a list table inet cni_plugins_firewall` in the lab's host netns.
fn table(lab: &HostLab) -> String {
    lab.host.output(&["nft", "-a", "list", "table", "inet", TABLE])
}

/// The lines of the table that mention `needle`.
fn lines_with(lab: &HostLab, needle: &str) -> Vec<String> {
    table(lab).lines().filter(|l| l.contains(needle)).map(|l| l.trim().to_string()).collect()
}

/// One ping, one second: a test of a drop should not wait out `ping`'s retries.
fn pings_once(netns: &TestNetns, address: &str) -> bool {
    let status = in_netns(&netns.name, "ping")
        .args(["-c1", "-W1", address])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    status.is_ok_and(|s| s.success())
}

fn nft(lab: &HostLab, command: &str) {
    let args: Vec<&str> = command.split(' ').collect();
    let mut full = vec!["nft"];
    full.extend(args);
    lab.host.exec(&full);
}

#[test]
fn nftables_rules_carry_the_traffic_and_come_and_go() {
    let lab = HostLab::new(BASE, 2);
    let other = Neighbour::new(&lab, 3);
    let (v4, v6) = (lab.container_ip(), first_address(&json!({"ips": [lab.result["ips"][1]]})));
    assert!(ping(Some(&lab.container.name), &other.ip()), "routed between the bridges before any firewall");

    let conf = firewall_conf(&lab.network, &lab.result, json!({}));
    let add = firewall(&lab, "ADD", &lab.id, &lab.container, &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert_eq!(add.json["ips"], lab.result["ips"], "prevResult passes through");
    let listing = table(&lab);
    for expected in [
        "type filter hook forward priority filter; policy accept;".to_string(),
        "jump isolation_stage_1 comment".to_string(),
        "jump CNI-ADMIN comment \"admin overrides: CNI-ADMIN\"".to_string(),
        "jump containers comment \"accept the containers' traffic\"".to_string(),
        format!("ip daddr {v4} ct state established,related accept comment"),
        format!("ip saddr {v4} accept comment"),
        format!("ip6 daddr {v6} ct state established,related accept comment"),
        format!("ip6 saddr {v6} accept comment"),
    ] {
        assert!(listing.contains(&expected), "{expected:?} in\n{listing}");
    }
    let own = lines_with(&lab, &format!("id: {}", lab.id));
    assert_eq!(own.len(), 4, "two rules per address, each naming the attachment: {own:?}");
    assert!(own.iter().all(|l| l.contains(&format!("net: {}, if: eth0", lab.network))), "{own:?}");
    let check = firewall(&lab, "CHECK", &lab.id, &lab.container, &conf);
    assert_eq!(check.code, 0, "{}", check.stdout);

    // The operator forwards only containers' traffic: ADD must not undo that.
    nft(&lab, &format!("add chain inet {TABLE} forward {{ policy drop ; }}"));
    let other_conf = firewall_conf(&lab.network, &other.result, json!({}));
    let add = firewall(&lab, "ADD", &other.id, &other.ns, &other_conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert!(table(&lab).contains("policy drop;"), "the operator's policy stays");
    assert!(ping(Some(&lab.container.name), &other.ip()), "the accepts let the containers' traffic through");

    // Without the first container's outgoing accept its pings are dropped,
    // and CHECK says so.
    let saddr = lines_with(&lab, &format!("ip saddr {v4} accept"));
    let handle = saddr.first().and_then(|l| l.rsplit(' ').next()).unwrap_or_default().to_string();
    nft(&lab, &format!("delete rule inet {TABLE} containers handle {handle}"));
    assert!(!pings_once(&lab.container, &other.ip()), "dropped without its rule");
    let check = firewall(&lab, "CHECK", &lab.id, &lab.container, &conf);
    assert_eq!(check.code, 1, "CHECK notices the missing rule: {}", check.stdout);
    assert!(check.json["msg"].as_str().unwrap_or_default().contains("accept rules"), "{}", check.stdout);
    // A repeated ADD repairs, without duplicates.
    assert_eq!(firewall(&lab, "ADD", &lab.id, &lab.container, &conf).code, 0);
    assert_eq!(lines_with(&lab, &format!("id: {}", lab.id)).len(), 4, "replaced, not added twice");
    assert!(ping(Some(&lab.container.name), &other.ip()));

    for (id, ns, conf) in [(&lab.id, &lab.container, &conf), (&other.id, &other.ns, &other_conf)] {
        let del = firewall(&lab, "DEL", id, ns, conf);
        assert_eq!(del.code, 0, "{}", del.stdout);
        assert!(lines_with(&lab, &format!("id: {id}")).is_empty(), "DEL leaves no rule of {id}");
        assert_eq!(firewall(&lab, "DEL", id, ns, conf).code, 0, "a second DEL succeeds");
    }
    assert!(!pings_once(&lab.container, &other.ip()), "with the accepts gone the policy drops");
    let check = firewall(&lab, "CHECK", &lab.id, &lab.container, &conf);
    assert_ne!(check.code, 0, "CHECK after DEL fails");
}

#[test]
fn ingress_policy_on_nftables_isolates_the_bridges() {
    let lab = HostLab::new(BASE, 4);
    let other = Neighbour::new(&lab, 5);
    let conf = firewall_conf(&lab.network, &lab.result, json!({"ingressPolicy": "same-bridge"}));
    let other_conf = firewall_conf(&lab.network, &other.result, json!({"ingressPolicy": "isolated"}));
    assert_eq!(firewall(&lab, "ADD", &lab.id, &lab.container, &conf).code, 0);
    let add = firewall(&lab, "ADD", &other.id, &other.ns, &other_conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let listing = table(&lab);
    for expected in [
        "iifname \"labbr0\" oifname != \"labbr0\" jump isolation_stage_2 comment \"ingressPolicy same-bridge: labbr0\"",
        "oifname \"labbr0\" drop comment \"ingressPolicy same-bridge: labbr0\"",
        "iifname \"labbr1\" oifname != \"labbr1\" jump isolation_stage_2 comment \"ingressPolicy isolated: labbr1\"",
        "iifname \"labbr1\" oifname \"labbr1\" drop comment \"ingressPolicy isolated: labbr1\"",
        "oifname \"labbr1\" drop comment \"ingressPolicy isolated: labbr1\"",
    ] {
        assert!(listing.contains(expected), "{expected:?} in\n{listing}");
    }
    assert!(lines_with(&lab, &format!("id: {}", lab.id)).iter().all(|l| l.contains("same-bridge: labbr0")));
    let check = firewall(&lab, "CHECK", &other.id, &other.ns, &other_conf);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(!pings_once(&lab.container, &other.ip()), "no traffic between two isolating bridges");
    assert!(!pings_once(&other.ns, &lab.container_ip()), "either way");

    // The isolation rules of a bridge go with its last attachment.
    assert_eq!(firewall(&lab, "DEL", &other.id, &other.ns, &other_conf).code, 0);
    assert!(lines_with(&lab, "labbr1").is_empty(), "labbr1's rules went with its attachment");
    assert_eq!(lines_with(&lab, "ingressPolicy same-bridge: labbr0").len(), 2, "labbr0's stay");
    assert!(ping(Some(&lab.container.name), &other.ip()), "labbr1 no longer isolates");
    assert_eq!(firewall(&lab, "DEL", &lab.id, &lab.container, &conf).code, 0);
    assert!(lines_with(&lab, "ingressPolicy same-bridge: labbr0").is_empty(), "and labbr0's with its own");

    let bad = firewall_conf(&lab.network, &lab.result, json!({"ingressPolicy": "sometimes"}));
    let out = firewall(&lab, "ADD", &lab.id, &lab.container, &bad);
    assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{}", out.stdout);
}

#[test]
fn gc_on_nftables_removes_the_rules_of_stale_attachments_only() {
    let lab = HostLab::new(BASE, 6);
    let data = tempfile::tempdir().expect("data dir");
    let network = lab.network.clone();
    let conf = |extra: Value| {
        firewall_conf(&network, &lab.result, with_keys(json!({"dataDir": data.path()}), &extra))
    };
    let (kept, stale) = (unique("keep"), unique("gone"));
    for id in [&kept, &stale] {
        let add = firewall(&lab, "ADD", id, &lab.container, &conf(json!({"ingressPolicy": "isolated"})));
        assert_eq!(add.code, 0, "{}", add.stdout);
    }
    // A rule without our comment is not GC's to remove.
    nft(&lab, &format!("add rule inet {TABLE} containers ip saddr {BASE}.6.99 accept comment hand-made"));
    let gc = json!({"cniVersion": "1.1.0", "name": network, "type": "firewall", "dataDir": data.path(),
        "cni.dev/valid-attachments": [{"containerID": kept, "ifname": "eth0"}]});
    let out = firewall(&lab, "GC", "", &lab.container, &gc.to_string());
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(lines_with(&lab, &format!("id: {stale}")).is_empty(), "the stale attachment's rules go");
    assert_eq!(lines_with(&lab, &format!("id: {kept}")).len(), 4, "the valid one's stay");
    assert_eq!(lines_with(&lab, "ingressPolicy isolated: labbr0").len(), 3, "and its bridge's isolation");
    assert_eq!(lines_with(&lab, "hand-made").len(), 1, "a rule that is not ours stays");
    let other_net = json!({"cniVersion": "1.1.0", "name": unique("fwother"), "type": "firewall",
        "cni.dev/valid-attachments": []});
    assert_eq!(firewall(&lab, "GC", "", &lab.container, &other_net.to_string()).code, 0);
    assert_eq!(lines_with(&lab, &format!("id: {kept}")).len(), 4, "GC of another network leaves them");
}

fn iptables_lines(lab: &HostLab, needle: &str) -> usize {
    lab.host.output(&["iptables-save", "-t", "filter"]).lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn del_removes_what_any_backend_made() {
    let lab = HostLab::new(BASE, 7);
    let v4 = format!("{}/32", lab.container_ip());
    let with = |backend: &str| firewall_conf(&lab.network, &lab.result, json!({"backend": backend}));
    // Made with iptables, deleted by a netconf that now says nftables.
    assert_eq!(firewall(&lab, "ADD", &lab.id, &lab.container, &with("iptables")).code, 0);
    assert_eq!(iptables_lines(&lab, &v4), 2, "the iptables backend's two rules");
    assert_eq!(firewall(&lab, "DEL", &lab.id, &lab.container, &with("nftables")).code, 0);
    assert_eq!(iptables_lines(&lab, &v4), 0, "DEL removed the iptables rules");
    // Made with nftables, deleted by a bare netconf (no backend, no prevResult).
    assert_eq!(firewall(&lab, "ADD", &lab.id, &lab.container, &with("nftables")).code, 0);
    assert_eq!(lines_with(&lab, &format!("id: {}", lab.id)).len(), 4);
    let bare = json!({"cniVersion": "1.0.0", "name": lab.network, "type": "firewall"}).to_string();
    assert_eq!(firewall(&lab, "DEL", &lab.id, &lab.container, &bare).code, 0);
    assert!(lines_with(&lab, &format!("id: {}", lab.id)).is_empty(), "DEL removed the nftables rules");
}

#[test]
fn with_no_backend_named_and_no_iptables_nftables_is_used() {
    let lab = HostLab::new(BASE, 8);
    let hidden = Command::new("sh").args(["-c", "test -x /usr/sbin/iptables-restore"]).status();
    assert!(hidden.is_ok_and(|s| s.success()), "iptables is installed on this host");
    let conf =
        json!({"cniVersion": "1.0.0", "name": lab.network, "type": "firewall", "prevResult": lab.result});
    let add = lab.run_ours_without_iptables("firewall", "ADD", &conf.to_string());
    assert_eq!(add.code, 0, "{} {}", add.stdout, add.stderr);
    assert_eq!(lines_with(&lab, &format!("id: {}", lab.id)).len(), 4, "the nftables backend's rules");
    assert_eq!(iptables_lines(&lab, "CNI-FORWARD"), 0, "and no iptables chain");
    let check = lab.run_ours_without_iptables("firewall", "CHECK", &conf.to_string());
    assert_eq!(check.code, 0, "{}", check.stdout);
    // With iptables there, no backend named still means iptables (the reference's choice).
    let add = firewall(&lab, "ADD", &unique("ipt"), &lab.container, &conf.to_string());
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert!(iptables_lines(&lab, "CNI-FORWARD") > 0, "iptables when it is installed");
    assert_eq!(lab.run_ours_without_iptables("firewall", "DEL", &conf.to_string()).code, 0);
    assert!(lines_with(&lab, &format!("id: {}", lab.id)).is_empty());
}

#[test]
fn doctor_reports_the_nftables_backend_and_why() {
    let plugins = PluginDir::new();
    for (backend, status, says) in [
        ("nftables", "info", "uses nftables: the netconf names it"),
        ("ebtables", "warn", "unknown backend \"ebtables\", so the automatic choice"),
    ] {
        let list = json!({"cniVersion": "1.0.0", "name": "fwnftdoc", "plugins": [{"type": "loopback"},
            {"type": "firewall", "backend": backend}]});
        let found = doctor_finding("firewall backend", &list, &plugins, &[]);
        assert_eq!(found["status"], status, "{found}");
        assert!(found["detail"].as_str().unwrap_or_default().contains(says), "{found}");
        if status == "warn" {
            assert!(found["fix"].as_str().unwrap_or_default().contains("\"nftables\""), "{found}");
        }
    }
}
