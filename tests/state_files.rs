//! State files on the host: a symlink planted under a state file's name is
//! never followed (its target stays as it was), and a truncated file found
//! by DEL is removed and reported on stderr. One test per state directory:
//! host-local's store, tuning's saved settings, cnictl's result cache,
//! firewall's address records.
//! Subnet 10.217.0.0/24 belongs to this file.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::json;

const PRECIOUS: &str = "precious: must stay as it was\n";

/// A file outside every state directory that planted symlinks point at.
fn victim(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, PRECIOUS).unwrap();
    path
}

fn assert_untouched(victims: &[&Path]) {
    for v in victims {
        assert_eq!(fs::read_to_string(v).unwrap(), PRECIOUS, "{} was written through a symlink", v.display());
    }
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn host_local(command: &str, id: &str, conf: &str) -> Outcome {
    let env = cni_env(command, id, "/dev/null", "eth0", "/nonexistent");
    run_plugin(&PluginDir::new().plugin("host-local"), &env, conf)
}

#[test]
fn host_local_follows_no_symlink_and_del_sweeps_debris() {
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let network = unique("sf");
    let store = data.path().join(&network);
    fs::create_dir_all(&store).unwrap();
    let (last, lock, taken) =
        (victim(outside.path(), "last"), victim(outside.path(), "lock"), victim(outside.path(), "taken"));
    std::os::unix::fs::symlink(&last, store.join("last_reserved_ip.0")).unwrap();
    std::os::unix::fs::symlink(&lock, store.join("lock")).unwrap();
    std::os::unix::fs::symlink(&taken, store.join("10.217.0.2")).unwrap();
    // A reservation cut short by a kill (the reference writes in place) and a temporary file.
    fs::write(store.join("10.217.0.9"), "").unwrap();
    fs::write(store.join(".tmp-10.217.0.8"), "half").unwrap();
    let conf = json!({"cniVersion": "1.0.0", "name": network, "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.217.0.0/24", "dataDir": data.path()}})
    .to_string();

    let id = unique("ctr");
    let added = host_local("ADD", &id, &conf);
    assert_eq!(added.code, 0, "{}", added.stdout);
    assert_eq!(added.json["ips"][0]["address"], "10.217.0.3/24", "10.217.0.2 is taken by the symlink's name");
    assert_untouched(&[&last, &lock, &taken]);
    assert!(!is_symlink(&store.join("last_reserved_ip.0")) && !is_symlink(&store.join("lock")));
    assert_eq!(fs::read_to_string(store.join("last_reserved_ip.0")).unwrap(), "10.217.0.3");
    assert_eq!(fs::read_to_string(store.join("10.217.0.3")).unwrap(), format!("{id}\r\neth0"));

    let deleted = host_local("DEL", &id, &conf);
    assert_eq!(deleted.code, 0, "{}", deleted.stdout);
    for debris in ["10.217.0.2", "10.217.0.9", ".tmp-10.217.0.8"] {
        assert!(fs::symlink_metadata(store.join(debris)).is_err(), "{debris} was left");
        assert!(deleted.stderr.contains(debris), "DEL reports removing {debris}: {}", deleted.stderr);
    }
    assert!(fs::symlink_metadata(store.join("10.217.0.3")).is_err());
    assert_untouched(&[&last, &lock, &taken]);
}

/// A netns holding an `eth0` (one end of a veth pair inside it) for tuning.
fn netns_with_eth0() -> TestNetns {
    let ns = TestNetns::new("sft");
    ns.exec(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    ns
}

fn tuning(ns: &TestNetns, command: &str, id: &str, conf: &str) -> Outcome {
    let path = ns.path();
    let env = cni_env(command, id, &path, "eth0", "/nonexistent");
    run_plugin(&PluginDir::new().plugin("tuning"), &env, conf)
}

#[test]
fn tuning_saves_through_no_symlink_and_del_drops_a_truncated_backup() {
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let ns = netns_with_eth0();
    let id = unique("ctr");
    let backup = data.path().join(format!("{id}_eth0.json"));
    let target = victim(outside.path(), "backup");
    std::os::unix::fs::symlink(&target, &backup).unwrap();
    let prev =
        json!({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": ns.path()}], "ips": []});
    let conf = json!({"cniVersion": "1.0.0", "name": "sfnet", "type": "tuning", "dataDir": data.path(),
        "mtu": 1280, "prevResult": prev})
    .to_string();

    let added = tuning(&ns, "ADD", &id, &conf);
    assert_eq!(added.code, 0, "{}", added.stdout);
    assert_untouched(&[&target]);
    assert!(!is_symlink(&backup), "the symlink was replaced by the backup");
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(&backup).unwrap()).unwrap();
    assert_eq!(saved["mtu"], 1500);

    // Cut the backup short, as a kill during a non-atomic write would.
    let text = fs::read(&backup).unwrap();
    fs::write(&backup, &text[..text.len() / 2]).unwrap();
    let deleted = tuning(&ns, "DEL", &id, &conf);
    assert_eq!(deleted.code, 0, "{}", deleted.stdout);
    assert!(deleted.stderr.contains("unreadable") && deleted.stderr.contains(&id), "{}", deleted.stderr);
    assert!(!backup.exists(), "DEL removes the truncated backup");

    // A symlink found by DEL is not read through, and goes.
    std::os::unix::fs::symlink(&target, &backup).unwrap();
    let deleted = tuning(&ns, "DEL", &id, &conf);
    assert_eq!(deleted.code, 0, "{}", deleted.stdout);
    assert!(deleted.stderr.contains("symbolic link"), "{}", deleted.stderr);
    assert!(fs::symlink_metadata(&backup).is_err());
    assert_untouched(&[&target]);
}

#[test]
fn cnictl_caches_through_no_symlink_and_del_drops_a_truncated_entry() {
    let outside = tempfile::tempdir().unwrap();
    let (conf, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plugins = PluginDir::new();
    let network = unique("sfc");
    fs::write(
        conf.path().join("10-sf.conflist"),
        json!({"cniVersion": "1.0.0", "name": network, "plugins": [{"type": "loopback"}]}).to_string(),
    )
    .unwrap();
    let ns = TestNetns::new("sfc");
    let id = unique("ctr");
    let results = cache.path().join("results");
    fs::create_dir_all(&results).unwrap();
    let entry = results.join(format!("{network}-{id}-eth0"));
    let target = victim(outside.path(), "cache");
    std::os::unix::fs::symlink(&target, &entry).unwrap();
    let cnictl = |verb: &str| {
        run_cnictl(
            &[verb, &network, &ns.name, "--container-id", &id],
            conf.path(),
            cache.path(),
            plugins.path(),
        )
    };

    let (code, _, stderr) = cnictl("add");
    assert_eq!(code, 0, "{stderr}");
    assert_untouched(&[&target]);
    assert!(!is_symlink(&entry));
    let cached: serde_json::Value = serde_json::from_slice(&fs::read(&entry).unwrap()).unwrap();
    assert_eq!(cached["kind"], "cniCacheV1");

    let text = fs::read(&entry).unwrap();
    fs::write(&entry, &text[..text.len() / 2]).unwrap();
    let (code, _, stderr) = cnictl("del");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cached result") && stderr.contains(&id), "{stderr}");
    assert!(!entry.exists(), "DEL removes the truncated entry");
    assert_untouched(&[&target]);
}

#[test]
fn firewall_records_through_no_symlink() {
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Its rules go into a host netns of the test's own.
    let host = TestNetns::new("sffh");
    let ns = TestNetns::new("sffc");
    let network = unique("sff");
    let id = unique("ctr");
    let records = data.path().join(&network);
    fs::create_dir_all(&records).unwrap();
    let record = records.join(format!("{id}_eth0"));
    let target = victim(outside.path(), "record");
    std::os::unix::fs::symlink(&target, &record).unwrap();
    let prev = json!({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": ns.path()}],
        "ips": [{"address": "10.217.0.40/24", "interface": 0}]});
    let conf = json!({"cniVersion": "1.0.0", "name": network, "type": "firewall", "backend": "iptables",
        "dataDir": data.path(), "prevResult": prev})
    .to_string();
    let plugins = PluginDir::new();
    let path = ns.path();
    let call = |command: &str| {
        run_plugin_in(
            &host,
            &plugins.plugin("firewall"),
            &cni_env(command, &id, &path, "eth0", "/nonexistent"),
            &conf,
        )
    };

    let added = call("ADD");
    assert_eq!(added.code, 0, "{}", added.stdout);
    assert_untouched(&[&target]);
    assert!(!is_symlink(&record));
    assert_eq!(fs::read_to_string(&record).unwrap(), "10.217.0.40/24\n");
    let deleted = call("DEL");
    assert_eq!(deleted.code, 0, "{}", deleted.stdout);
    assert!(fs::symlink_metadata(&record).is_err());
    assert!(
        !host.output(&["iptables-save", "-t", "filter"]).contains("10.217.0.40"),
        "DEL removed the rules"
    );
    assert_untouched(&[&target]);
}
