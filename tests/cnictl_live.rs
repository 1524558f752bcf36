//! cnictl never frees, hides or misreports a live attachment: an
//! unreadable cache entry keeps its address through `gc` and shows in
//! `attachments`; `gc` through another cache than the runtime's keeps what
//! a live namespace holds; an attachment made through `/proc/PID/ns/net` is
//! found by its namespace's identity once the process is gone, and a path
//! that now leads to another namespace is refused; `check` uses the cached
//! capability args; `del --ifname` keeps the other interface's mappings;
//! gc below 1.1.0 says what it could not do; and as the user nobody every
//! verb that reads root's state says it needs root (exit 77).
//! Subnets 10.251.N.0/24 belong to this file.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A bridge network (bridge + host-local, and portmap on nftables when
/// `ports`) in a config dir of its own, with its own cache and store.
struct Net {
    _conf: tempfile::TempDir,
    conf_dir: std::path::PathBuf,
    cache: tempfile::TempDir,
    data: tempfile::TempDir,
    _bridge: TestBridge,
    name: String,
    plugins: PluginDir,
}

fn net(version: &str, n: u8, ports: Option<&str>) -> Net {
    let portmap = ports.map(
        |backend| json!({"type": "portmap", "backend": backend, "capabilities": {"portMappings": true}}),
    );
    net_chain(version, n, json!({}), portmap.into_iter().collect())
}

/// A bridge network with `bridge_keys` on the bridge plugin and `more` after it.
fn net_chain(version: &str, n: u8, bridge_keys: Value, more: Vec<Value>) -> Net {
    let conf = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let name = unique("live");
    let mut first = json!({"type": "bridge", "bridge": bridge.name, "isGateway": true,
        "ipam": {"type": "host-local", "subnet": format!("10.251.{n}.0/24"), "dataDir": data.path()}});
    for (key, value) in bridge_keys.as_object().into_iter().flatten() {
        first[key] = value.clone();
    }
    let mut plugins = vec![first];
    plugins.extend(more);
    let list = json!({"cniVersion": version, "name": name, "plugins": plugins});
    std::fs::write(conf.path().join(format!("10-{name}.conflist")), list.to_string()).unwrap();
    Net {
        conf_dir: conf.path().to_path_buf(),
        _conf: conf,
        cache: tempfile::tempdir().unwrap(),
        data,
        _bridge: bridge,
        name,
        plugins: PluginDir::new(),
    }
}

impl Net {
    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        self.cnictl_env(args, &[])
    }

    fn cnictl_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        run_cnictl_with(args, &self.conf_dir, self.cache.path(), self.plugins.path(), env)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.cnictl(args);
        assert_eq!(code, 0, "cnictl {args:?}: {stderr}");
        stdout
    }

    fn store(&self) -> std::path::PathBuf {
        self.data.path().join(&self.name)
    }

    fn cache_files(&self) -> Vec<std::path::PathBuf> {
        cache_files(self.cache.path())
    }

    /// Attaches `ns` as eth0 and eth1 (one container ID), a host port each.
    fn add_two_interfaces(&self, ns: &TestNetns, ports: [u16; 2]) {
        for (ifname, port) in ["eth0", "eth1"].into_iter().zip(ports) {
            let mapping = mapping(port);
            let env = [("CAP_ARGS", mapping.as_str()), ("CNI_IFNAME", ifname)];
            let (code, _, stderr) = self.cnictl_env(&["add", &self.name, &ns.name], &env);
            assert_eq!(code, 0, "{ifname}: {stderr}");
        }
    }
}

/// A test that fails leaves no rule or reservation behind: once its
/// namespaces are gone (declared after the network, they drop first), GC
/// (on 1.0.0, DEL of every cached attachment) takes what the network held.
impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.cnictl(&["gc", &self.name]);
    }
}

/// The nftables DNAT rules of host port `port` (table ip cni_hostport).
fn dnat_rules(port: u16) -> usize {
    let out =
        Command::new("nft").args(["list", "chain", "ip", "cni_hostport", "hostports"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| l.contains(&format!("dport {port} dnat"))).count()
}

fn mapping(port: u16) -> String {
    json!({"portMappings": [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]}).to_string()
}

#[test]
fn an_unreadable_cache_entry_keeps_its_address_through_gc_and_shows_in_attachments() {
    let net = net("1.1.0", 1, None);
    let (first, second) = (TestNetns::new("lvu"), TestNetns::new("lvv"));
    net.ok(&["add", &net.name, &first.name]);
    // A runtime killed while writing the entry: half a file.
    let file = net.cache_files().pop().unwrap();
    let text = std::fs::read(&file).unwrap();
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();

    let listed: Value = serde_json::from_str(&net.ok(&["attachments", "-o", "json"])).unwrap();
    let unreadable: Vec<&Value> =
        listed.as_array().unwrap().iter().filter(|a| a["unreadable"].is_string()).collect();
    assert_eq!(unreadable.len(), 1, "shown as unreadable, not dropped: {listed}");
    assert_eq!(unreadable[0]["file"], file.display().to_string());
    let table = net.ok(&["attachments"]);
    assert!(table.contains("unreadable"), "{table}");

    let plan = net.ok(&["gc", "--dry-run", &net.name]);
    assert!(!plan.contains("would free") && !plan.contains("would delete"), "{plan}");
    assert!(plan.contains("cannot be read"), "the plan says why it keeps: {plan}");
    let (code, _, stderr) = net.cnictl(&["gc", &net.name]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot be read"), "gc warns: {stderr}");
    assert_eq!(reservations(&net.store()), ["10.251.1.2"], "the live address stays reserved");
    assert_eq!(link_addresses(Some(&first.name), "eth0"), ["10.251.1.2/24"]);
    let added: Value = serde_json::from_str(&net.ok(&["add", &net.name, &second.name])).unwrap();
    assert_eq!(added["ips"][0]["address"], "10.251.1.3/24", "the next container gets another address");
}

#[test]
fn gc_through_another_cache_keeps_what_a_live_namespace_holds() {
    let net = net("1.1.0", 2, Some("nftables"));
    let ns = TestNetns::new("lvc");
    let (code, _, stderr) = net.cnictl_env(&["add", &net.name, &ns.name], &[("CAP_ARGS", &mapping(18251))]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(dnat_rules(18251), 1);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(cnictl())
        .args(["gc", &net.name])
        .env("NETCONFPATH", &net.conf_dir)
        .env("CNI_CACHE_DIR", elsewhere.path())
        .env("CNI_PATH", net.plugins.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(reservations(&net.store()), ["10.251.2.2"], "the reservation of a live namespace stays");
    assert_eq!(dnat_rules(18251), 1, "and so does its port mapping");
    net.ok(&["del", &net.name, &ns.name]);
    assert_eq!(dnat_rules(18251), 0);
}

/// A process holding a namespace of its own, which a named netns also holds.
struct Holder {
    child: std::process::Child,
}

impl Holder {
    fn spawn(ns: &TestNetns) -> Holder {
        let child = Command::new("ip").args(["netns", "exec", &ns.name, "sleep", "600"]).spawn().unwrap();
        // Wait until the child has entered the namespace.
        let target = std::fs::metadata(ns.path()).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
        for _ in 0..200 {
            let path = format!("/proc/{}/ns/net", child.id());
            if std::fs::metadata(&path).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).ok() == Some(target)
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Holder { child }
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.child.id())
    }

    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.end();
    }
}

#[test]
fn an_attachment_made_through_proc_is_found_by_its_namespace_once_the_process_is_gone() {
    let net = net("1.0.0", 3, None);
    let ns = TestNetns::new("lvp");
    let mut holder = Holder::spawn(&ns);
    let path = holder.path();
    net.ok(&["add", &net.name, &path]);
    assert_eq!(link_addresses(Some(&ns.name), "eth0"), ["10.251.3.2/24"]);
    holder.end();
    assert!(!Path::new(&path).exists());
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &path]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("lives on as {}", ns.path())), "{stderr}");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null, "the interface went with the address");
    assert!(reservations(&net.store()).is_empty());
}

#[test]
fn a_path_that_now_leads_to_another_namespace_is_refused_and_gc_frees_without_entering_it() {
    let net = net("1.1.0", 4, None);
    let name = unique("lvr");
    let made = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    made(&["netns", "add", &name]);
    let _cleanup = TestNetns { name: name.clone() };
    net.ok(&["add", &net.name, &name]);
    // The namespace goes; another is made under the same name, with an eth0 of its own.
    made(&["netns", "del", &name]);
    made(&["netns", "add", &name]);
    made(&["-n", &name, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &name]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("now leads to another network namespace"), "{stderr}");
    assert_eq!(reservations(&net.store()), ["10.251.4.2"], "nothing changed");
    assert_ne!(link_details(Some(&name), "eth0"), Value::Null, "the new namespace's eth0 stays");
    let plan = net.ok(&["gc", "--dry-run", &net.name]);
    assert!(plan.contains("would delete attachment"), "{plan}");
    let (code, _, stderr) = net.cnictl(&["gc", &net.name]);
    assert_eq!(code, 0, "{stderr}");
    assert!(reservations(&net.store()).is_empty(), "gc freed the gone attachment's address: {stderr}");
    assert_ne!(link_details(Some(&name), "eth0"), Value::Null, "without touching the new namespace");
    assert!(net.cache_files().is_empty());
}

#[test]
fn check_uses_the_cached_port_mappings_and_del_ifname_keeps_the_other_interfaces() {
    let net = net("1.0.0", 5, Some("nftables"));
    let ns = TestNetns::new("lvk");
    net.add_two_interfaces(&ns, [18252, 18253]);
    assert_eq!((dnat_rules(18252), dnat_rules(18253)), (1, 1));
    net.ok(&["check", &net.name, &ns.name]);
    // The DNAT of eth0 goes behind cnictl's back: CHECK, without CAP_ARGS, sees it.
    let out = Command::new("nft")
        .args(["-a", "list", "chain", "ip", "cni_hostport", "hostports"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let line = listing.lines().find(|l| l.contains("dport 18252 dnat")).unwrap();
    let handle = line.rsplit("handle ").next().unwrap().trim();
    let mut deleted = Command::new("nft");
    deleted.args(["delete", "rule", "ip", "cni_hostport", "hostports", "handle", handle]);
    assert!(deleted.status().unwrap().success());
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name]);
    assert_eq!(code, 1, "CHECK finds the missing mapping: {stderr}");
    assert!(stderr.contains("portmap"), "{stderr}");

    net.ok(&["del", "--ifname", "eth1", &net.name, &ns.name]);
    assert_eq!(dnat_rules(18253), 0, "eth1's mapping went");
    let (code, _, stderr) = net.cnictl_env(&["check", &net.name, &ns.name], &[("CAP_ARGS", &mapping(18252))]);
    assert_eq!(code, 1, "eth0's was deleted by hand above: {stderr}");
    net.ok(&["del", &net.name, &ns.name]);
}

#[test]
fn del_ifname_keeps_the_other_interfaces_mappings_on_iptables() {
    let net = net("1.0.0", 6, Some("iptables"));
    let ns = TestNetns::new("lvi");
    net.add_two_interfaces(&ns, [18254, 18255]);
    let saved = || {
        String::from_utf8_lossy(&Command::new("iptables-save").args(["-t", "nat"]).output().unwrap().stdout)
            .to_string()
    };
    let dnat = |port: u16| {
        let rule = format!("--dport {port} -j DNAT --to-destination 10.251.6.");
        saved().lines().filter(|l| l.contains(&rule)).count()
    };
    assert_eq!((dnat(18254), dnat(18255)), (1, 1), "the second ADD keeps the first's mapping:\n{}", saved());
    net.ok(&["check", &net.name, &ns.name]);
    net.ok(&["del", "--ifname", "eth1", &net.name, &ns.name]);
    assert_eq!((dnat(18254), dnat(18255)), (1, 0), "only eth1's mapping went");
    net.ok(&["check", &net.name, &ns.name]);
    net.ok(&["del", &net.name, &ns.name]);
    assert_eq!(dnat(18254), 0);
    assert!(!saved().contains(&net.name), "nothing of the network is left");
}

#[test]
fn gc_below_1_1_0_deletes_stale_cached_attachments_and_says_what_it_cannot_free() {
    let net = net("1.0.0", 7, None);
    let (live, gone, foreign) = (TestNetns::new("lvl"), TestNetns::new("lvg"), TestNetns::new("lvf"));
    net.ok(&["add", &net.name, &live.name]);
    net.ok(&["add", &net.name, &gone.name]);
    // Made through another cache, which gc does not read: only the store knows it.
    let other = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        run_cnictl(&["add", &net.name, &foreign.name], &net.conf_dir, other.path(), net.plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reservations(&net.store()).len(), 3);
    drop(gone);
    drop(foreign);
    let plan = net.ok(&["gc", "--dry-run", &net.name]);
    assert!(plan.contains("would delete attachment") && plan.contains("10.251.7.3"), "{plan}");
    assert!(plan.contains("would keep 10.251.7.4") && plan.contains("no GC verb"), "{plan}");
    assert_eq!(reservations(&net.store()).len(), 3, "a dry run changes nothing");
    let said = net.ok(&["gc", &net.name]);
    assert!(said.contains("removed stale attachment"), "{said}");
    assert!(said.contains("freed 10.251.7.3"), "{said}");
    assert!(said.contains("no GC verb") && said.contains("10.251.7.4"), "{said}");
    assert_eq!(reservations(&net.store()), ["10.251.7.2", "10.251.7.4"]);
    let doctor: Value = serde_json::from_str(&net.ok(&["doctor", "-o", "json"])).unwrap();
    let stale = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detail"].as_str().unwrap_or_default().contains("10.251.7.4"));
    let fix = stale.map(|f| f["fix"].as_str().unwrap_or_default().to_string()).unwrap_or_default();
    assert!(
        fix.contains("no GC verb"),
        "doctor does not send the operator to a gc that cannot help: {doctor}"
    );
    net.ok(&["del", &net.name, &live.name]);
}

#[test]
fn as_nobody_each_verb_that_reads_roots_state_says_it_needs_root() {
    let net = net("1.1.0", 8, None);
    let ns = TestNetns::new("lvn");
    net.ok(&["add", &net.name, &ns.name]);
    // nobody may reach the config and the cache dir, not the results (0700) or the store.
    for dir in [net.conf_dir.as_path(), net.cache.path(), net.data.path()] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    for file in std::fs::read_dir(&net.conf_dir).unwrap().flatten() {
        std::fs::set_permissions(file.path(), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(net.store(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    for args in [
        vec!["check", &net.name, &ns.name],
        vec!["del", &net.name, &ns.name],
        vec!["gc", &net.name],
        vec!["status", &net.name],
    ] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(cnictl())
            .args(&args)
            .env("NETCONFPATH", &net.conf_dir)
            .env("CNI_CACHE_DIR", net.cache.path())
            .env("CNI_PATH", net.plugins.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{args:?}: {stderr}");
        assert!(stderr.contains("needs root"), "{args:?}: {stderr}");
    }
    assert_eq!(reservations(&net.store()), ["10.251.8.2"], "nothing was freed");
    net.ok(&["del", &net.name, &ns.name]);
}

#[test]
fn gc_dry_run_names_the_rules_and_devices_a_gone_attachment_left_and_gc_removes_them() {
    let portmap = json!({"type": "portmap", "backend": "iptables", "capabilities": {"portMappings": true}});
    let bandwidth = json!({"type": "bandwidth", "egressRate": 1000000, "egressBurst": 100000});
    let net =
        net_chain("1.1.0", 9, json!({"ipMasq": true, "ipMasqBackend": "nftables"}), vec![portmap, bandwidth]);
    let ns = TestNetns::new("lvd");
    let (code, stdout, stderr) =
        net.cnictl_env(&["add", &net.name, &ns.name], &[("CAP_ARGS", &mapping(18256))]);
    assert_eq!(code, 0, "{stderr}");
    let id: Value = serde_json::from_str(&net.ok(&["attachments", "-o", "json"])).unwrap();
    let id = id[0]["containerID"].as_str().unwrap().to_string();
    assert!(stdout.contains("10.251.9.2"), "{stdout}");
    drop(ns);
    // doctor names what the gone attachment still holds, as gc's plan does.
    let (_, doctor, _) = net.cnictl(&["doctor", "-o", "json"]);
    let doctor: Value = serde_json::from_str(&doctor).unwrap();
    let gone = doctor.as_array().unwrap().iter().find_map(|f| {
        f["detail"]
            .as_str()
            .filter(|d| d.contains("namespace that is gone") && d.contains(&id))
            .map(str::to_string)
    });
    let gone = gone.unwrap_or_else(|| panic!("doctor does not name {id}: {doctor}"));
    assert!(gone.contains("reservation 10.251.9.2") && gone.contains("ifb device bwp"), "{gone}");
    assert!(gone.contains("--to-destination 10.251.9.2:80"), "{gone}");
    let plan = net.ok(&["gc", "--dry-run", &net.name]);
    assert!(plan.contains("would delete attachment"), "{plan}");
    assert!(plan.contains("reservation 10.251.9.2"), "{plan}");
    assert!(
        plan.contains("iptables nat rule") && plan.contains("--to-destination 10.251.9.2:80"),
        "the DNAT: {plan}"
    );
    assert!(
        plan.contains("nftables rule in inet cni_plugins_masquerade masq_checks"),
        "the masquerade: {plan}"
    );
    assert!(plan.contains("ifb device bwp"), "the ifb: {plan}");
    let saved = || {
        String::from_utf8_lossy(&Command::new("iptables-save").args(["-t", "nat"]).output().unwrap().stdout)
            .to_string()
    };
    assert!(saved().contains(&id), "a dry run changes nothing");
    net.ok(&["gc", &net.name]);
    let after = net.ok(&["gc", "--dry-run", &net.name]);
    assert!(after.contains("nothing stale"), "{after}");
    assert!(!saved().contains(&id), "the rules went with gc");
    assert!(
        !plan.lines().filter(|l| l.contains("ifb device")).any(|l| {
            let name = l.split_whitespace().nth(2).unwrap_or_default();
            Path::new("/sys/class/net").join(name).exists()
        }),
        "the ifb went with gc"
    );
}
