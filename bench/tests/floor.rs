//! bench-floor does the kernel work it stands for: after its ADD of the
//! whole chain's work the kernel holds the veth pair on the bridge, the
//! container's address and route, bandwidth's ifb, qdiscs and filter, the
//! nftables rules and the reservation, and a ping crosses the bridge; its
//! DEL leaves none of it. Exec'd once per plugin step (a process per
//! plugin, as CNI runs a chain), its steps together make the same state,
//! each only its own share, and their DELs remove it; its rules through
//! iptables-restore are the shapes the plugins write there. Runs in two
//! namespaces of its own (the "host" one holds the bridge, the nftables
//! table and the iptables chains), 10.243.250.0/24. Needs root.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// The two namespaces and the store, removed on drop (the bridge, the
/// table and any link left go with the host namespace).
struct Lab {
    host: String,
    container: String,
    store: PathBuf,
}

impl Lab {
    /// Test `n`'s lab (the tests of this file run side by side in one process).
    fn new(n: u32) -> Lab {
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let lab = Lab {
            host: format!("bfth{tag}"),
            container: format!("bftc{tag}"),
            store: std::env::temp_dir().join(format!("bench-floor-test-{tag}")),
        };
        for ns in [&lab.host, &lab.container] {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
            assert!(Command::new("ip").args(["netns", "add", ns]).status().unwrap().success());
        }
        let _ = std::fs::remove_dir_all(&lab.store);
        std::fs::create_dir_all(&lab.store).unwrap();
        lab.ip(&lab.host, &["link", "add", "bftbr", "type", "bridge"]);
        lab.ip(&lab.host, &["addr", "add", "10.243.250.1/24", "dev", "bftbr"]);
        lab.ip(&lab.host, &["link", "set", "bftbr", "up"]);
        lab
    }

    fn ip(&self, ns: &str, args: &[&str]) -> String {
        let out = Command::new("ip").args(["-n", ns]).args(args).output().unwrap();
        assert!(out.status.success(), "ip -n {ns} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, ns: &str, args: &[&str]) -> Value {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ip(ns, &all)).unwrap_or(Value::Null)
    }

    /// `program args` run inside the host namespace.
    fn in_host(&self, program: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.host, program])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn floor(&self, command: &str, request: &Value) -> Output {
        self.in_host(env!("CARGO_BIN_EXE_bench-floor"), &[command], &request.to_string())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.host, &self.container] {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The chain's request for attachment `id` (address 10.243.250.5, host
/// port 20999, links bftv and bftb).
fn chain_request(lab: &Lab, id: &str) -> Value {
    let bridge = lab.json(&lab.host, &["link", "show", "bftbr"])[0]["ifindex"].as_u64().unwrap();
    json!({
        "id": id, "netns": format!("/var/run/netns/{}", lab.container),
        "host": "bftv", "hostIndex": 4000, "bridge": bridge,
        "address": "10.243.250.5/24", "gateway": "10.243.250.1",
        "reservation": lab.store.join("10.243.250.5"),
        "rules": ["masquerade", "portmap", "firewall"], "hostPort": 20999,
        "sysctls": {"net/ipv4/conf/eth0/arp_notify": "1"},
        "tuning": {"net/core/somaxconn": "512"},
        "ifb": {"name": "bftb", "index": 4001, "rate": 12_500_000, "burst": 125_000},
    })
}

/// `cat PATH` inside the container namespace.
fn container_file(lab: &Lab, path: &str) -> String {
    let out = Command::new("ip").args(["netns", "exec", &lab.container, "cat", path]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The links, addresses, route, sysctl, qdiscs and filter of the chain's
/// attachment are there (`id` holds the reservation), and a ping crosses
/// the bridge.
fn assert_links_made(lab: &Lab, id: &str) {
    let eth0 = &lab.json(&lab.container, &["addr", "show", "eth0"])[0];
    assert!(eth0["flags"].as_array().unwrap().iter().any(|f| f == "UP"), "{eth0}");
    assert!(eth0["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["local"] == "10.243.250.5" && a["prefixlen"] == 24));
    let routes = lab.ip(&lab.container, &["route", "show", "default"]);
    assert!(routes.contains("via 10.243.250.1 dev eth0"), "{routes}");
    assert_eq!(container_file(lab, "/proc/sys/net/core/somaxconn"), "512");
    assert_eq!(container_file(lab, "/proc/sys/net/ipv4/conf/eth0/arp_notify"), "1");
    let host_end = &lab.json(&lab.host, &["link", "show", "bftv"])[0];
    assert_eq!(host_end["master"], "bftbr", "{host_end}");
    assert_eq!(host_end["ifindex"], 4000);
    assert_eq!(lab.json(&lab.host, &["link", "show", "bftb"])[0]["ifindex"], 4001);
    let qdiscs = String::from_utf8_lossy(&lab.in_host("tc", &["qdisc", "show"], "").stdout).into_owned();
    assert!(
        qdiscs.contains("qdisc tbf 1: dev bftv root") && qdiscs.contains("qdisc tbf 1: dev bftb root"),
        "{qdiscs}"
    );
    assert!(qdiscs.contains("qdisc ingress ffff: dev bftv"), "{qdiscs}");
    let filters = lab.in_host("tc", &["filter", "show", "dev", "bftv", "ingress"], "");
    assert!(String::from_utf8_lossy(&filters.stdout)
        .contains("action order 1: mirred (Egress Redirect to device bftb)"));
    assert_eq!(std::fs::read_to_string(lab.store.join("10.243.250.5")).unwrap(), id);
    let ping = Command::new("ip")
        .args(["netns", "exec", &lab.container, "ping", "-c", "1", "-W", "2", "10.243.250.1"])
        .output()
        .unwrap();
    assert!(ping.status.success(), "{}", String::from_utf8_lossy(&ping.stdout));
}

/// None of the attachment's links or its reservation are left.
fn assert_links_removed(lab: &Lab) {
    let links = lab.json(&lab.host, &["link", "show"]);
    let names: Vec<&str> = links.as_array().unwrap().iter().filter_map(|l| l["ifname"].as_str()).collect();
    assert_eq!(names, ["lo", "bftbr"]);
    assert!(!lab.ip(&lab.container, &["-br", "link"]).contains("eth0"));
    assert!(!lab.store.join("10.243.250.5").exists());
}

/// The floor's nftables chain `chain` as `nft list` prints it ("" when missing).
fn nft_chain(lab: &Lab, chain: &str) -> String {
    let rules = lab.in_host("nft", &["list", "chain", "inet", "cnictl_bench_floor", chain], "");
    String::from_utf8_lossy(&rules.stdout).into_owned()
}

/// The host namespace's iptables-save of `table`.
fn iptables_saved(lab: &Lab, table: &str) -> String {
    String::from_utf8_lossy(&lab.in_host("iptables-save", &["-t", table], "").stdout).into_owned()
}

#[test]
fn the_floor_makes_the_chains_kernel_state_and_its_del_removes_it() {
    let lab = Lab::new(1);
    ok(&lab.floor("SETUP", &Value::Null), "SETUP");
    let request = chain_request(&lab, "bft-1");
    ok(&lab.floor("ADD", &request), "ADD");

    assert_links_made(&lab, "bft-1");
    let rules = nft_chain(&lab, "a-bft-1");
    assert_eq!(rules.matches("comment \"id: bft-1\"").count(), 6, "{rules}");
    assert!(rules.contains("tcp dport 20999 dnat ip to 10.243.250.5:80"), "{rules}");

    ok(&lab.floor("DEL", &request), "DEL");
    assert_links_removed(&lab);
    let table = lab.in_host("nft", &["list", "table", "inet", "cnictl_bench_floor"], "");
    assert!(!String::from_utf8_lossy(&table.stdout).contains("a-bft-1"));
    ok(&lab.floor("TEARDOWN", &Value::Null), "TEARDOWN");
    let table = lab.in_host("nft", &["list", "table", "inet", "cnictl_bench_floor"], "");
    assert!(!table.status.success(), "the table is still there after TEARDOWN");
}

#[test]
fn the_floors_steps_one_process_per_plugin_make_the_same_state_and_remove_it() {
    let lab = Lab::new(2);
    ok(&lab.floor("SETUP", &Value::Null), "SETUP");
    let request = chain_request(&lab, "bft-2");
    // bridge's and portmap's rules on iptables, the firewall's on
    // nftables: the chain with our firewall's `"backend": "nftables"`.
    let steps =
        [("bridge", true), ("portmap", true), ("firewall", false), ("tuning", true), ("bandwidth", true)];
    let step = |part: &str, iptables: bool| {
        let mut request = request.clone();
        request["part"] = json!(part);
        request["iptables"] = json!(iptables);
        request
    };
    for (k, (part, iptables)) in steps.iter().enumerate() {
        ok(&lab.floor("ADD", &step(part, *iptables)), &format!("ADD of {part}"));
        if k == 0 {
            // bridge's share only: no ifb, no tuning, no other plugin's rules.
            assert!(lab.in_host("ip", &["link", "show", "bftb"], "").stdout.is_empty());
            assert_ne!(container_file(&lab, "/proc/sys/net/core/somaxconn"), "512");
            assert!(!iptables_saved(&lab, "nat").contains("a-bft-2-p"));
        }
    }

    assert_links_made(&lab, "bft-2");
    let nat = iptables_saved(&lab, "nat");
    let comment = "-m comment --comment \"id: bft-2\"";
    for rule in [
        format!("-A a-bft-2-m -d 10.243.250.0/24 {comment} -j ACCEPT"),
        format!("-A a-bft-2-m ! -d 224.0.0.0/4 {comment} -j MASQUERADE"),
        format!(
            "-A a-bft-2-p -p tcp -m tcp --dport 20999 {comment} -j DNAT --to-destination 10.243.250.5:80"
        ),
        format!("-A a-bft-2-p -s 10.243.250.5/32 -d 10.243.250.5/32 {comment} -j MASQUERADE"),
        format!("-A a-bft-2-p -s 127.0.0.1/32 -d 10.243.250.5/32 {comment} -j MASQUERADE"),
    ] {
        assert!(nat.lines().any(|l| l == rule), "no {rule} in\n{nat}");
    }
    let firewall = nft_chain(&lab, "a-bft-2-f");
    assert_eq!(firewall.matches("comment \"id: bft-2\"").count(), 2, "{firewall}");
    assert!(nft_chain(&lab, "a-bft-2").is_empty(), "the whole attachment's chain is the one-process floor's");

    for (part, iptables) in steps.iter().rev() {
        ok(&lab.floor("DEL", &step(part, *iptables)), &format!("DEL of {part}"));
        if *part == "bandwidth" {
            // bandwidth's share only: the ifb goes, the veth stays.
            assert!(lab.in_host("ip", &["link", "show", "bftb"], "").stdout.is_empty());
            assert!(!lab.in_host("ip", &["link", "show", "bftv"], "").stdout.is_empty());
        }
    }
    assert_links_removed(&lab);
    assert!(!iptables_saved(&lab, "nat").contains("a-bft-2"));
    assert!(nft_chain(&lab, "a-bft-2-f").is_empty());
    ok(&lab.floor("TEARDOWN", &Value::Null), "TEARDOWN");
}

#[test]
fn the_floors_masquerade_on_iptables_is_one_chain_its_del_removes() {
    let lab = Lab::new(3);
    let mut request = chain_request(&lab, "bft-3");
    request["rules"] = json!(["masquerade"]);
    request["iptables"] = json!(true);
    for key in ["hostPort", "tuning", "ifb"] {
        request.as_object_mut().unwrap().remove(key);
    }
    ok(&lab.floor("ADD", &request), "ADD");
    let nat = iptables_saved(&lab, "nat");
    let rules: Vec<&str> = nat.lines().filter(|l| l.starts_with("-A a-bft-3 ")).collect();
    assert_eq!(rules.len(), 2, "{nat}");
    assert!(iptables_saved(&lab, "filter").lines().all(|l| !l.contains("a-bft-3")));
    ok(&lab.floor("DEL", &request), "DEL");
    assert!(!iptables_saved(&lab, "nat").contains("a-bft-3"), "{}", iptables_saved(&lab, "nat"));
    assert_links_removed(&lab);
}

#[test]
fn a_bad_request_is_an_error_naming_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench-floor"))
        .arg("ADD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"{\"id\": \"x\"}")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("request has no \"netns\""));
}
