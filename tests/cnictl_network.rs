//! `cnictl network create|rm|reload` against real attachments. cnictl runs
//! inside a network namespace of the test's own that plays the host: the
//! subnets it finds taken, the bridges it makes and removes, and the rules
//! the test flushes and reload puts back are all that namespace's, never
//! the machine's. Subnets: 10.173.40.0/21.

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A host netns, a config dir and a result cache for cnictl to work in.
struct Lab {
    host: TestNetns,
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    /// Networks made, whose host-local store and firewall records (under
    /// /var/lib/cni, by unique name) are removed on drop.
    networks: RefCell<Vec<String>>,
}

impl Lab {
    fn new() -> Lab {
        let host = TestNetns::new("nwh");
        host.exec(&["ip", "link", "set", "lo", "up"]);
        Lab {
            host,
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().expect("conf dir"),
            cache: tempfile::tempdir().expect("cache dir"),
            networks: RefCell::new(Vec::new()),
        }
    }

    /// cnictl in the lab's host netns.
    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = in_netns(&self.host.name, cnictl());
        command.env_remove("DBUS_SYSTEM_BUS_ADDRESS");
        run_cnictl_as(command, args, self.conf.path(), self.cache.path(), self.plugins.path(), &[])
    }

    /// `network create NAME ARGS... -o json`, which must succeed; its report.
    fn create(&self, name: &str, args: &[&str]) -> Value {
        self.networks.borrow_mut().push(name.to_string());
        let mut all = vec!["network", "create", name, "-o", "json"];
        all.extend(args);
        let (code, stdout, stderr) = self.cnictl(&all);
        assert_eq!(code, 0, "create {name}: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("create's JSON: {e}: {stdout}"))
    }

    /// A create that must be refused, saying `says`, and write nothing.
    fn refused(&self, args: &[&str], says: &str) {
        let before = self.files();
        let mut all = vec!["network", "create"];
        all.extend(args);
        let (code, _, stderr) = self.cnictl(&all);
        assert_ne!(code, 0, "{args:?} was not refused");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(self.files(), before, "{args:?} wrote a file");
    }

    fn file(&self, name: &str) -> PathBuf {
        self.conf.path().join(format!("{name}.conflist"))
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.conf.path())
            .map(|e| e.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Attaches `netns` to `network` (with capability args `caps`), DEL'd on drop.
    fn attach<'a>(&'a self, network: &str, netns: &'a TestNetns, caps: Option<Value>) -> Attached<'a> {
        let path = netns.path();
        let mut args = vec!["add", network, path.as_str(), "-o", "json"];
        let caps = caps.map(|c| c.to_string());
        if let Some(caps) = &caps {
            args.extend(["--cap-args", caps.as_str()]);
        }
        let (code, stdout, stderr) = self.cnictl(&args);
        assert_eq!(code, 0, "add {network}: {stderr}");
        let result: Value = serde_json::from_str(&stdout).expect("add's result");
        Attached { lab: self, network: network.to_string(), netns, result, detached: false }
    }

    /// Whether the lab's host has a link of this name.
    fn has_link(&self, name: &str) -> bool {
        !link_details(Some(&self.host.name), name).is_null()
    }

    /// The ruleset of the host netns, without counters, one rule or
    /// declaration a line, sorted: a rule added twice shows twice.
    fn ruleset(&self) -> Vec<String> {
        let text = self.host.output(&["nft", "-s", "list", "ruleset"]);
        let mut lines: Vec<String> =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "}").map(str::to_string).collect();
        lines.sort();
        lines
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.networks.borrow().iter() {
            let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/networks").join(name));
            let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/firewall").join(name));
        }
    }
}

/// An attachment made with cnictl, detached on drop.
struct Attached<'a> {
    lab: &'a Lab,
    network: String,
    netns: &'a TestNetns,
    result: Value,
    detached: bool,
}

impl Attached<'_> {
    fn address(&self) -> String {
        self.result["ips"][0]["address"].as_str().unwrap_or_default().to_string()
    }

    fn ip(&self) -> String {
        self.address().split('/').next().unwrap_or_default().to_string()
    }

    fn detach(&mut self) {
        let (code, _, stderr) = self.lab.cnictl(&["del", &self.network, &self.netns.path()]);
        assert_eq!(code, 0, "del: {stderr}");
        self.detached = true;
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.lab.cnictl(&["del", &self.network, &self.netns.path()]);
        }
    }
}

/// The subnet of host-local's first range in a written conflist.
fn written_subnet(file: &Path) -> String {
    let list: Value = serde_json::from_slice(&std::fs::read(file).expect("conflist")).expect("JSON");
    list["plugins"][0]["ipam"]["ranges"][0][0]["subnet"].as_str().unwrap_or_default().to_string()
}

#[test]
fn create_writes_a_network_that_validates_and_attaches_on_a_free_subnet() {
    let lab = Lab::new();
    let container = TestNetns::new("nwc");
    // The host holds the pool's first /24 by an address, its second by a route.
    lab.host.exec(&["ip", "link", "add", "nwroute", "type", "bridge"]);
    lab.host.exec(&["ip", "link", "set", "nwroute", "up"]);
    lab.host.exec(&["ip", "addr", "add", "10.173.40.1/24", "dev", "nwroute"]);
    lab.host.exec(&["ip", "route", "add", "10.173.41.0/24", "dev", "nwroute"]);
    let pool = ["--subnet-pool", "10.173.40.0/22"];
    let first = unique("nwa");
    let made = lab.create(&first, &pool);
    assert_eq!(made["subnets"], json!(["10.173.42.0/24"]), "{made}");
    assert_eq!(made["gateways"], json!(["10.173.42.1"]));
    assert_eq!(made["bridge"], "cni-podman1");
    assert_eq!(made["file"], lab.file(&first).display().to_string());
    assert_eq!(written_subnet(&lab.file(&first)), "10.173.42.0/24");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(lab.file(&first)).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644);

    let (code, stdout, stderr) = lab.cnictl(&["validate", &first]);
    assert_eq!(code, 0, "validate: {stdout}{stderr}");
    let attached = lab.attach(&first, &container, None);
    assert!(attached.address().starts_with("10.173.42."), "{}", attached.result);
    assert_eq!(link_addresses(Some(&container.name), "eth0"), [attached.address()]);
    assert_eq!(link_addresses(Some(&lab.host.name), "cni-podman1"), ["10.173.42.1/24"]);
    assert!(ping(Some(&container.name), "10.173.42.1"), "the container reaches its gateway");

    // The next free one, past the first network's; then the pool is used up.
    let second = unique("nwb");
    assert_eq!(lab.create(&second, &pool)["subnets"], json!(["10.173.43.0/24"]));
    let named =
        lab.create(&unique("nwd"), &["--subnet", "10.173.47.128/25", "--bridge", "nwbr1", "--internal"]);
    assert_eq!((&named["bridge"], &named["gateways"]), (&json!("nwbr1"), &json!([])), "{named}");
    let third = unique("nwe");
    lab.refused(&[&third, "--subnet-pool", "10.173.40.0/22"], "no free /24 left in 10.173.40.0/22");

    lab.refused(
        &[&third, "--subnet", "10.173.41.128/25"],
        "overlaps 10.173.41.0/24 (the host's route 10.173.41.0/24 dev nwroute)",
    );
    lab.refused(&[&third, "--subnet", "10.173.40.0/23"], "the host's address 10.173.40.1/24 on nwroute");
    lab.refused(
        &[&third, "--subnet", "10.173.42.0/23"],
        &format!("overlaps 10.173.42.0/24 (network {first}"),
    );
    lab.refused(&[&first, "--subnet", "10.173.47.0/25"], "already exists");
    lab.refused(&["bad/name", "--subnet", "10.173.47.0/25"], "network name \"bad/name\"");
    lab.refused(&[&third, "--subnet", "10.173.47.0/25", "--bridge", "nwroute"], "a link of that name exists");
    lab.refused(
        &[&third, "--subnet", "10.173.47.0/25", "--bridge", "cni-podman1"],
        &format!("network {first}'s"),
    );
    lab.refused(&[&third, "--subnet", "10.173.47.0/25", "--gateway", "10.173.48.1"], "not a host address");
}

#[test]
fn rm_refuses_while_attached_then_removes_the_file_bridge_and_store() {
    let lab = Lab::new();
    let container = TestNetns::new("nwc");
    let name = unique("nwr");
    lab.create(&name, &["--subnet-pool", "10.173.44.0/24", "--firewall"]);
    // With an ingress policy, whose iptables rules name the bridge and stay after the last DEL.
    let file = lab.file(&name);
    let mut list: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    list["plugins"][1]["ingressPolicy"] = json!("same-bridge");
    std::fs::write(&file, list.to_string()).unwrap();
    let isolation = || {
        let filter = lab.host.output(&["iptables-save", "-t", "filter"]);
        filter.lines().filter(|l| l.starts_with("-A CNI-ISOLATION") && l.contains("cni-podman1")).count()
    };
    let mut attached = lab.attach(&name, &container, None);
    let store = Path::new("/var/lib/cni/networks").join(&name);
    assert!(store.join(attached.ip()).exists(), "host-local's reservation");

    let (code, _, stderr) = lab.cnictl(&["network", "rm", &name]);
    assert_ne!(code, 0);
    assert!(stderr.contains("still has attachments") && stderr.contains(&container.path()), "{stderr}");
    assert!(lab.file(&name).exists() && lab.has_link("cni-podman1"), "nothing was removed");
    assert!(ping(Some(&container.name), "10.173.44.1"), "the attachment is untouched");

    attached.detach();
    assert_eq!(isolation(), 2, "the firewall's DEL leaves the bridge's isolation rules");
    // A cache entry that cannot be read may be an attachment: it blocks too.
    let ghost = lab.cache.path().join("results").join(format!("{name}-ghost-eth0"));
    std::fs::write(&ghost, "{not json").unwrap();
    let (code, _, stderr) = lab.cnictl(&["network", "rm", &name]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot be read") && stderr.contains(&ghost.display().to_string()), "{stderr}");
    assert!(lab.file(&name).exists());
    std::fs::remove_file(&ghost).unwrap();

    let (code, stdout, stderr) = lab.cnictl(&["network", "rm", &name, "-o", "json"]);
    assert_eq!(code, 0, "rm: {stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("rm's JSON");
    let removed: Vec<&str> = report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["state"] == "removed")
        .filter_map(|s| s["what"].as_str())
        .collect();
    assert!(removed.contains(&"bridge cni-podman1"), "{report}");
    assert!(!lab.file(&name).exists(), "the file is gone");
    assert!(!lab.has_link("cni-podman1"), "the bridge is gone");
    assert_eq!(isolation(), 0, "and its isolation rules");
    assert!(!store.exists(), "host-local's emptied store is gone");
    assert!(!Path::new("/var/lib/cni/firewall").join(&name).exists(), "the firewall's records are gone");
    // The firewall's shared chains stay for other networks.
    let filter = lab.host.output(&["iptables-save", "-t", "filter"]);
    assert!(filter.contains(":CNI-FORWARD") && filter.contains(":CNI-ADMIN"), "{filter}");
    let (code, _, stderr) = lab.cnictl(&["network", "rm", &name]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no network named"), "{stderr}");
}

/// True when a connection from `client` to `to` reaches a server on port
/// 8080 in `server` (through a port mapping) and reads its greeting.
fn mapped_port_answers(server: &TestNetns, client: &TestNetns, to: &str) -> bool {
    let listener =
        server.run(|| TcpListener::bind("0.0.0.0:8080")).join().expect("thread").expect("bind 8080");
    listener.set_nonblocking(true).expect("nonblocking");
    let accepter = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.write_all(b"hello");
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let to: SocketAddr = to.parse().expect("address");
    let got = client
        .run(move || {
            let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let mut text = String::new();
            stream.read_to_string(&mut text).ok()?;
            Some(text)
        })
        .join()
        .unwrap_or(None);
    let _ = accepter.join();
    got.as_deref() == Some("hello")
}

/// The states `network reload NAME -o json` reports, by rules.
fn reload(lab: &Lab, name: &str) -> Vec<(String, String)> {
    let (code, stdout, stderr) = lab.cnictl(&["network", "reload", name, "-o", "json"]);
    assert_eq!(code, 0, "reload: {stdout}{stderr}");
    let rows: Value = serde_json::from_str(&stdout).expect("reload's JSON");
    let rows = rows.as_array().cloned().unwrap_or_default();
    rows.iter()
        .map(|r| {
            (
                r["rules"].as_str().unwrap_or_default().to_string(),
                r["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A network with portmap and firewall (`backends` set on the conflist
/// create wrote), one container with a mapped port and one without; the
/// host's rules flushed with `flush`; reload puts back exactly what was
/// there, and the attachments and their traffic live through it.
fn reload_round_trip(subnet: &str, backend: Option<&str>, flush: &[&[&str]]) {
    let lab = Lab::new();
    let mapped = TestNetns::new("nwm");
    let other = TestNetns::new("nwo");
    let name = unique("nwl");
    lab.create(&name, &["--subnet", subnet, "--portmap", "--firewall"]);
    if let Some(backend) = backend {
        let file = lab.file(&name);
        let mut list: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        list["plugins"][0]["ipMasqBackend"] = json!(backend);
        list["plugins"][1]["backend"] = json!(backend);
        list["plugins"][2]["backend"] = json!(backend);
        std::fs::write(&file, list.to_string()).unwrap();
    }
    let caps = json!({"portMappings": [{"hostPort": 18080, "containerPort": 8080, "protocol": "tcp"}]});
    let a = lab.attach(&name, &mapped, Some(caps));
    let b = lab.attach(&name, &other, None);
    let gateway = format!("{}.1", subnet.trim_end_matches(".0/24"));
    let to = format!("{gateway}:18080");
    assert!(mapped_port_answers(&mapped, &lab.host, &to), "the mapping works before");
    let before = lab.ruleset();

    let all_present = vec![
        ("masquerade".to_string(), "present".to_string()),
        ("portmap".into(), "present".into()),
        ("firewall".into(), "present".into()),
        ("masquerade".into(), "present".into()),
        ("firewall".into(), "present".into()),
    ];
    let short = |rows: Vec<(String, String)>| -> Vec<(String, String)> {
        rows.into_iter()
            .map(|(rules, state)| (rules.split(' ').next().unwrap_or_default().to_string(), state))
            .collect()
    };
    let mut expected = all_present.clone();
    expected.sort();
    let sorted = |mut rows: Vec<(String, String)>| {
        rows.sort();
        rows
    };
    assert_eq!(sorted(short(reload(&lab, &name))), expected, "nothing lost: nothing to do");
    assert_eq!(lab.ruleset(), before, "a reload with nothing lost changes nothing");

    for command in flush {
        lab.host.exec(command);
    }
    assert!(!mapped_port_answers(&mapped, &lab.host, &to), "the flush took the mapping");
    assert_ne!(lab.ruleset(), before);

    let restored: Vec<(String, String)> =
        all_present.iter().map(|(rules, _)| (rules.clone(), "restored".to_string())).collect();
    assert_eq!(sorted(short(reload(&lab, &name))), sorted(restored));
    assert_eq!(lab.ruleset(), before, "the rules are back, each once");
    assert!(mapped_port_answers(&mapped, &lab.host, &to), "the mapping works again");
    assert_eq!(sorted(short(reload(&lab, &name))), expected, "a second reload finds everything");
    assert_eq!(lab.ruleset(), before, "and adds nothing");

    // The attachments lived through it: addresses kept, traffic between them.
    assert_eq!(link_addresses(Some(&mapped.name), "eth0"), [a.address()]);
    assert_eq!(link_addresses(Some(&other.name), "eth0"), [b.address()]);
    assert!(ping(Some(&other.name), &a.ip()), "container to container");
    assert!(ping(Some(&mapped.name), &gateway), "container to its gateway");
    let (code, stdout, stderr) = lab.cnictl(&["check", &name, &mapped.path()]);
    assert_eq!(code, 0, "CHECK after reload: {stdout}{stderr}");
}

#[test]
fn reload_puts_back_flushed_iptables_rules_once_and_the_attachments_live_on() {
    reload_round_trip(
        "10.173.45.0/24",
        None,
        &[&["iptables", "-t", "nat", "-F"], &["iptables", "-t", "filter", "-F"]],
    );
}

#[test]
fn reload_puts_back_a_flushed_nftables_ruleset_once_and_the_attachments_live_on() {
    reload_round_trip("10.173.46.0/24", Some("nftables"), &[&["nft", "flush", "ruleset"]]);
}

#[test]
fn reload_skips_an_attachment_whose_namespace_is_gone_and_touches_nothing() {
    let lab = Lab::new();
    let name = unique("nwg");
    lab.create(&name, &["--subnet", "10.173.47.0/24", "--firewall"]);
    let container = TestNetns::new("nwc");
    let attached = lab.attach(&name, &container, None);
    let path = container.path();
    let deleted = std::process::Command::new("ip").args(["netns", "del", &container.name]).status().unwrap();
    assert!(deleted.success());
    let before = lab.ruleset();
    let (code, stdout, stderr) = lab.cnictl(&["network", "reload", "-o", "json"]);
    assert_eq!(code, 0, "reload: {stderr}");
    let rows: Value = serde_json::from_str(&stdout).expect("reload's JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["state"], "skipped");
    let detail = rows[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&path) && detail.contains(&format!("cnictl gc {name}")), "{detail}");
    assert_eq!(lab.ruleset(), before, "nothing re-applied for a gone attachment");
    let (code, _, stderr) = lab.cnictl(&["gc", &name]);
    assert_eq!(code, 0, "gc: {stderr}");
    drop(attached);
}
