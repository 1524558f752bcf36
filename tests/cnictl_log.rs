//! The operation journal: our plugins write one entry per ADD, DEL, CHECK
//! and GC (and per change of a STATUS answer) to the systemd journal, and
//! `cnictl log` reads them back. Each test starts a journald of its own (a
//! journald namespace instance, `systemd-journald NS`), points the plugins
//! at its socket with CNICTL_JOURNAL_SOCKET and reads with `--namespace`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A journald namespace instance, stopped and its files removed on drop.
struct PrivateJournal {
    namespace: String,
    child: Child,
}

impl PrivateJournal {
    fn start() -> PrivateJournal {
        require_root();
        let namespace = unique("cnictl-log");
        let program = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("systemd-journald is installed (Debian package systemd)");
        let child = Command::new(program)
            .arg(&namespace)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start systemd-journald");
        let journal = PrivateJournal { namespace, child };
        assert!(
            wait_until(Duration::from_secs(10), || journal.socket().exists()),
            "journald {} made no socket",
            journal.namespace
        );
        journal
    }

    fn socket(&self) -> PathBuf {
        PathBuf::from(format!("/run/systemd/journal.{}/socket", self.namespace))
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("CNICTL_JOURNAL_SOCKET", self.socket().display().to_string())]
    }

    /// `cnictl log --namespace NS ARGS -o json`, once it lists at least
    /// `at_least` operations (journald takes datagrams asynchronously).
    fn log(&self, args: &[&str], at_least: usize) -> Vec<Value> {
        let mut last = Vec::new();
        wait_until(Duration::from_secs(10), || {
            let mut all = vec!["log", "--namespace", &self.namespace, "-o", "json"];
            all.extend_from_slice(args);
            let out = Command::new(cnictl()).args(&all).output().expect("run cnictl log");
            assert!(out.status.success(), "cnictl log: {}", String::from_utf8_lossy(&out.stderr));
            last = serde_json::from_slice::<Value>(&out.stdout)
                .expect("log JSON")
                .as_array()
                .cloned()
                .unwrap_or_default();
            last.len() >= at_least
        });
        last
    }
}

impl Drop for PrivateJournal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(format!("/run/systemd/journal.{}", self.namespace));
        let machine = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
        for root in ["/var/log/journal", "/run/log/journal"] {
            let _ = std::fs::remove_dir_all(format!("{root}/{}.{}", machine.trim(), self.namespace));
        }
    }
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A network in a config dir of its own.
struct Net {
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    _data: tempfile::TempDir,
    name: String,
}

impl Net {
    fn new(plugins: impl FnOnce(&Path) -> Vec<Value>) -> Net {
        let (conf, cache, data) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let name = unique("jnl");
        let net = Net { conf, cache, name, _data: data };
        net.write(plugins(net._data.path()));
        net
    }

    fn write(&self, plugins: Vec<Value>) {
        let list = json!({"cniVersion": "1.1.0", "name": self.name, "plugins": plugins});
        std::fs::write(self.conf.path().join(format!("10-{}.conflist", self.name)), list.to_string())
            .unwrap();
    }

    fn cnictl(&self, args: &[&str], plugins: &Path, env: &[(&str, String)]) -> (i32, String, String) {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_cnictl_with(args, self.conf.path(), self.cache.path(), plugins, &env)
    }
}

impl Drop for Net {
    /// Removes the STATUS answers the plugins kept for this network.
    fn drop(&mut self) {
        for plugin in cni::BUILTIN_PLUGIN_TYPES {
            let key = format!("{}\0{plugin}", self.name);
            let _ = std::fs::remove_file(
                Path::new(cni::journal::STATUS_DIR).join(cni::netfilter::hash_with_prefix(32, "", &key)),
            );
        }
    }
}

/// DELs the attachment on drop, whatever the test did.
struct Attached<'a> {
    net: &'a Net,
    plugins: &'a Path,
    netns: String,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let _ = self.net.cnictl(&["del", &self.net.name, &self.netns], self.plugins, &[]);
    }
}

fn plugins_of<'a>(ops: &'a [Value], verb: &str) -> Vec<&'a str> {
    let mut found: Vec<&str> =
        ops.iter().filter(|o| o["command"] == verb).filter_map(|o| o["plugin"].as_str()).collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn a_chains_add_check_and_del_are_journalled_and_read_back_by_cnictl_log() {
    let journal = PrivateJournal::start();
    let plugins = PluginDir::new();
    let bridge = TestBridge::new();
    let net = Net::new(|data| {
        vec![
            json!({"type": "bridge", "bridge": bridge.name, "isGateway": true, "ipMasq": true,
                   "ipam": {"type": "host-local", "subnet": "10.175.1.0/24", "dataDir": data}}),
            json!({"type": "portmap", "capabilities": {"portMappings": true}}),
            json!({"type": "firewall"}),
        ]
    });
    let ns = TestNetns::new("jnl");
    let cap = r#"{"portMappings":[{"hostPort":20175,"containerPort":80,"protocol":"tcp"}]}"#;
    let guard = Attached { net: &net, plugins: plugins.path(), netns: ns.name.clone() };
    let env = journal.env();
    let (code, _, stderr) =
        net.cnictl(&["add", &net.name, &ns.name, "--cap-args", cap], plugins.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], plugins.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    let attached: Value =
        serde_json::from_str(&net.cnictl(&["attachments", "-o", "json"], plugins.path(), &[]).1).unwrap();
    let container = attached[0]["containerID"].as_str().unwrap().to_string();
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    drop(guard);

    // Four plugins each ADD and DEL (host-local runs in bridge's process),
    // and at least the three of the chain CHECK.
    let ops = journal.log(&["--network", &net.name], 11);
    let chain = ["bridge", "firewall", "host-local", "portmap"];
    assert_eq!(plugins_of(&ops, "ADD"), chain, "{ops:#?}");
    assert_eq!(plugins_of(&ops, "DEL"), chain, "{ops:#?}");
    for plugin in ["bridge", "firewall", "portmap"] {
        assert!(plugins_of(&ops, "CHECK").contains(&plugin), "{plugin} CHECK: {ops:#?}");
    }
    for op in &ops {
        assert_eq!(op["network"], net.name.as_str());
        assert_eq!(op["containerID"], container.as_str(), "{op}");
        assert_eq!(op["ifname"], "eth0");
        assert_eq!(op["outcome"], "ok", "{op}");
        assert!(op["durationUsec"].as_u64().is_some_and(|us| us > 0), "{op}");
        assert!(op["pid"].as_u64().is_some(), "journald records the sender: {op}");
    }
    let add = ops.iter().find(|o| o["command"] == "ADD" && o["plugin"] == "bridge").unwrap();
    assert_eq!(add["ips"], json!(["10.175.1.2/24"]), "{add}");
    let first_add = ops.iter().position(|o| o["command"] == "ADD").unwrap();
    let first_del = ops.iter().position(|o| o["command"] == "DEL").unwrap();
    assert!(first_add < first_del, "oldest first");

    // The filters.
    let dels = journal.log(&["--network", &net.name, "--verb", "del"], 4);
    assert!(
        dels.iter().all(|o| o["command"] == "DEL")
            && dels.len() == ops.iter().filter(|o| o["command"] == "DEL").count()
    );
    let prefix = &container[..12];
    assert_eq!(journal.log(&["--container", prefix], ops.len()).len(), ops.len());
    assert!(journal.log(&["--container", "no-such-container"], 0).is_empty());
    let last = journal.log(&["--network", &net.name, "-n", "2"], 2);
    assert_eq!(last, ops[ops.len() - 2..].to_vec());
    assert!(journal.log(&["--network", &net.name, "--failed"], 0).is_empty());

    // The table.
    let out = Command::new(cnictl())
        .args(["log", "--namespace", &journal.namespace, "--network", &net.name])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.to_lowercase().contains("outcome") && table.contains("10.175.1.2/24"), "{table}");
    assert_eq!(table.lines().filter(|l| l.contains(" DEL ")).count(), dels.len(), "{table}");
}

#[test]
fn failures_carry_their_error_status_is_journalled_on_change_and_the_switch_turns_it_off() {
    let journal = PrivateJournal::start();
    let plugins = PluginDir::new();
    let bridge = TestBridge::new();
    let bridge_conf = |data: &Path| {
        json!({"type": "bridge", "bridge": bridge.name,
               "ipam": {"type": "host-local", "subnet": "10.175.2.0/24", "dataDir": data}})
    };
    let net = Net::new(|data| vec![bridge_conf(data)]);
    let env = journal.env();

    // STATUS: three answers alike are one entry; a change is another, and
    // the way back a third. While the config is broken, an ADD fails too.
    for _ in 0..3 {
        assert_eq!(net.cnictl(&["status", &net.name], plugins.path(), &env).0, 0);
    }
    let statuses = |n| journal.log(&["--network", &net.name, "--verb", "STATUS"], n);
    let bridge_statuses =
        |ops: Vec<Value>| ops.into_iter().filter(|o| o["plugin"] == "bridge").collect::<Vec<_>>();
    assert_eq!(bridge_statuses(statuses(1)).len(), 1);
    net.write(vec![json!({"type": "bridge", "bridge": bridge.name, "mtu": "not a number",
                           "ipam": {"type": "host-local", "subnet": "10.175.2.0/24"}})]);
    for _ in 0..2 {
        assert_ne!(net.cnictl(&["status", &net.name], plugins.path(), &env).0, 0);
    }
    let ns = TestNetns::new("jnlf");
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path(), &env);
    assert_ne!(code, 0, "{stderr}");
    net.write(vec![bridge_conf(net._data.path())]);
    assert_eq!(net.cnictl(&["status", &net.name], plugins.path(), &env).0, 0);
    let seen = bridge_statuses(statuses(3));
    let outcomes: Vec<&str> = seen.iter().filter_map(|o| o["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["ok", "error", "ok"], "{seen:#?}");

    // The failed ADD: its error object's code and message, as the runtime saw them.
    let failed: Vec<Value> = journal
        .log(&["--network", &net.name, "--failed"], 3)
        .into_iter()
        .filter(|o| o["command"] == "ADD")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!((&failed[0]["plugin"], &failed[0]["outcome"]), (&json!("bridge"), &json!("error")));
    let msg = failed[0]["errorMsg"].as_str().unwrap();
    assert!(!msg.is_empty() && stderr.contains(msg), "the message the runtime saw: {msg:?} in {stderr}");
    assert!(failed[0]["errorCode"].as_u64().is_some_and(|c| c > 0));

    // Switched off: a STATUS change on another network writes nothing.
    let quiet = Net::new(|data| vec![bridge_conf(data)]);
    let mut off = env.clone();
    off.push(("CNICTL_JOURNAL", "off".to_string()));
    assert_eq!(quiet.cnictl(&["status", &quiet.name], plugins.path(), &off).0, 0);
    // Written after the quiet one: once it shows, the quiet one would have.
    assert_eq!(net.cnictl(&["gc", &net.name], plugins.path(), &env).0, 0);
    let gc = journal.log(&["--network", &net.name, "--verb", "GC"], 1);
    assert!(!gc.is_empty());
    assert!(journal.log(&["--network", &quiet.name], 0).is_empty(), "CNICTL_JOURNAL=off");
}
