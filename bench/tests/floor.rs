//! bench-floor does the kernel work it stands for: after its ADD of the
//! whole chain's work the kernel holds the veth pair on the bridge, the
//! container's address and route, bandwidth's ifb, qdiscs and filter, the
//! nftables rules and the reservation, and a ping crosses the bridge; its
//! DEL leaves none of it. Runs in two namespaces of its own (the "host"
//! one holds the bridge and the nftables table), 10.243.250.0/24. Needs root.

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
    fn new() -> Lab {
        let tag = std::process::id() % 100_000;
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

#[test]
fn the_floor_makes_the_chains_kernel_state_and_its_del_removes_it() {
    let lab = Lab::new();
    ok(&lab.floor("SETUP", &Value::Null), "SETUP");
    let bridge = lab.json(&lab.host, &["link", "show", "bftbr"])[0]["ifindex"].as_u64().unwrap();
    let reservation = lab.store.join("10.243.250.5");
    let request = json!({
        "id": "bft-1", "netns": format!("/var/run/netns/{}", lab.container),
        "host": "bftv", "hostIndex": 4000, "bridge": bridge,
        "address": "10.243.250.5/24", "gateway": "10.243.250.1", "reservation": reservation,
        "rules": ["masquerade", "portmap", "firewall"], "hostPort": 20999,
        "sysctls": {"net/ipv4/conf/eth0/arp_notify": "1", "net/core/somaxconn": "512"},
        "ifb": {"name": "bftb", "index": 4001, "rate": 12_500_000, "burst": 125_000},
    });
    ok(&lab.floor("ADD", &request), "ADD");

    let eth0 = &lab.json(&lab.container, &["addr", "show", "eth0"])[0];
    assert!(eth0["flags"].as_array().unwrap().iter().any(|f| f == "UP"), "{eth0}");
    assert!(eth0["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["local"] == "10.243.250.5" && a["prefixlen"] == 24));
    let routes = lab.ip(&lab.container, &["route", "show", "default"]);
    assert!(routes.contains("via 10.243.250.1 dev eth0"), "{routes}");
    let somaxconn = Command::new("ip")
        .args(["netns", "exec", &lab.container, "cat", "/proc/sys/net/core/somaxconn"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&somaxconn.stdout).trim(), "512");
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
    let rules = lab.in_host("nft", &["list", "chain", "inet", "cnictl_bench_floor", "a-bft-1"], "");
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    assert_eq!(rules.matches("comment \"id: bft-1\"").count(), 6, "{rules}");
    assert!(rules.contains("tcp dport 20999 dnat ip to 10.243.250.5:80"), "{rules}");
    assert_eq!(std::fs::read_to_string(&reservation).unwrap(), "bft-1");
    let ping = Command::new("ip")
        .args(["netns", "exec", &lab.container, "ping", "-c", "1", "-W", "2", "10.243.250.1"])
        .output()
        .unwrap();
    assert!(ping.status.success(), "{}", String::from_utf8_lossy(&ping.stdout));

    ok(&lab.floor("DEL", &request), "DEL");
    let links = lab.json(&lab.host, &["link", "show"]);
    let names: Vec<&str> = links.as_array().unwrap().iter().filter_map(|l| l["ifname"].as_str()).collect();
    assert_eq!(names, ["lo", "bftbr"]);
    assert!(!lab.ip(&lab.container, &["-br", "link"]).contains("eth0"));
    let table = lab.in_host("nft", &["list", "table", "inet", "cnictl_bench_floor"], "");
    assert!(!String::from_utf8_lossy(&table.stdout).contains("a-bft-1"));
    assert!(!reservation.exists());
    ok(&lab.floor("TEARDOWN", &Value::Null), "TEARDOWN");
    let table = lab.in_host("nft", &["list", "table", "inet", "cnictl_bench_floor"], "");
    assert!(!table.status.success(), "the table is still there after TEARDOWN");
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
