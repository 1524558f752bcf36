//! host-local under load, and sharing one store with the reference
//! host-local in both directions.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

fn conf(name: &str, data: &Path, subnet: &str) -> String {
    json!({"cniVersion": "1.0.0", "name": name, "type": "host-local",
           "ipam": {"type": "host-local", "subnet": subnet, "dataDir": data}})
    .to_string()
}

fn run(plugin: &Path, command: &str, id: &str, path: &str, stdin: &str) -> Outcome {
    run_plugin(plugin, &cni_env(command, id, IPAM_ONLY_NETNS, "eth0", path), stdin)
}

fn address(out: &Outcome) -> String {
    out.json["ips"][0]["address"].as_str().unwrap_or_default().to_string()
}

fn out_v6(out: &Outcome) -> String {
    let address = out.json["ips"][1]["address"].as_str().unwrap_or_default();
    address.split('/').next().unwrap_or_default().to_string()
}

fn reference() -> PathBuf {
    Path::new(REFERENCE_DIR).join("host-local")
}

#[test]
fn sixty_four_concurrent_adds_fill_a_slash_26_exactly() {
    let plugins = PluginDir::new();
    let data = tempfile::tempdir().unwrap();
    let name = unique("load");
    let stdin = conf(&name, data.path(), "10.204.0.0/26");
    let path = plugins.path().to_str().unwrap().to_string();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (stdin, path, plugin) = (&stdin, &path, plugins.plugin("host-local"));
                s.spawn(move || run(&plugin, "ADD", &format!("ctr{i}"), path, stdin))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: Vec<&Outcome> = outcomes.iter().filter(|o| o.code == 0).collect();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.code != 0).collect();
    assert_eq!(ok.len(), 61, "61 usable addresses in a /26");
    assert_eq!(failed.len(), 3);
    for f in &failed {
        assert!(f.json["msg"].as_str().unwrap().contains("no IP addresses available"), "{}", f.stdout);
    }
    let handed: BTreeSet<String> = ok.iter().map(|o| address(o)).collect();
    assert_eq!(handed.len(), 61, "every address handed out once");
    for kept_back in ["10.204.0.0/26", "10.204.0.1/26", "10.204.0.63/26"] {
        assert!(!handed.contains(kept_back), "{kept_back} must not be handed out");
    }
    let store = data.path().join(&name);
    assert_eq!(reservations(&store).len(), 61);
    for i in 0..64 {
        assert_eq!(run(&plugins.plugin("host-local"), "DEL", &format!("ctr{i}"), &path, &stdin).code, 0);
    }
    assert!(reservations(&store).is_empty(), "DEL frees every address");
}

#[test]
fn reference_store_is_read_checked_and_released_by_ours_and_the_reverse() {
    require_reference();
    let plugins = PluginDir::new();
    let ours = plugins.plugin("host-local");
    let data = tempfile::tempdir().unwrap();
    let name = unique("share");
    let stdin = conf(&name, data.path(), "10.205.0.0/24");
    let path = plugins.path().to_str().unwrap().to_string();
    let store = data.path().join(&name);

    // Reference allocates; ours sees the reservation, refuses a duplicate,
    // allocates past it, checks it and releases it.
    let by_ref = run(&reference(), "ADD", "refctr", &path, &stdin);
    assert_eq!(by_ref.code, 0, "{}", by_ref.stdout);
    assert_eq!(run(&ours, "CHECK", "refctr", &path, &stdin).code, 0);
    let dup = run(&ours, "ADD", "refctr", &path, &stdin);
    assert_eq!(dup.code, 1, "a second ADD for the same attachment is refused: {}", dup.stdout);
    let by_ours = run(&ours, "ADD", "ourctr", &path, &stdin);
    assert_eq!(by_ours.code, 0, "{}", by_ours.stdout);
    assert_ne!(address(&by_ref), address(&by_ours));
    assert_eq!(run(&ours, "DEL", "refctr", &path, &stdin).code, 0);
    assert_eq!(run(&ours, "CHECK", "refctr", &path, &stdin).code, 1, "released");

    // Ours allocated; the reference checks and releases it.
    assert_eq!(run(&reference(), "CHECK", "ourctr", &path, &stdin).code, 0);
    assert_eq!(run(&reference(), "DEL", "ourctr", &path, &stdin).code, 0);
    assert!(reservations(&store).is_empty(), "{:?}", reservations(&store));
}

#[test]
fn ours_and_the_reference_allocating_at_once_never_collide() {
    require_reference();
    let plugins = PluginDir::new();
    let data = tempfile::tempdir().unwrap();
    let name = unique("race");
    let stdin = conf(&name, data.path(), "10.206.0.0/26");
    let path = plugins.path().to_str().unwrap().to_string();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..48)
            .map(|i| {
                let plugin = if i % 2 == 0 { plugins.plugin("host-local") } else { reference() };
                let (stdin, path) = (&stdin, &path);
                s.spawn(move || run(&plugin, "ADD", &format!("ctr{i}"), path, stdin))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &outcomes {
        assert_eq!(o.code, 0, "{}", o.stdout);
    }
    let handed: BTreeSet<String> = outcomes.iter().map(address).collect();
    assert_eq!(handed.len(), 48, "no address handed out twice");
    assert_eq!(reservations(&data.path().join(&name)).len(), 48);
}

#[test]
fn gc_frees_what_is_not_valid_and_status_reports_exhaustion() {
    let plugins = PluginDir::new();
    let ours = plugins.plugin("host-local");
    let data = tempfile::tempdir().unwrap();
    let name = unique("gc");
    let path = plugins.path().to_str().unwrap().to_string();
    let mut base: serde_json::Value =
        serde_json::from_str(&conf(&name, data.path(), "10.207.0.0/29")).unwrap();
    base["cniVersion"] = json!("1.1.0");
    let stdin = base.to_string();
    for id in ["keep", "drop1", "drop2"] {
        assert_eq!(run(&ours, "ADD", id, &path, &stdin).code, 0);
    }
    let mut gc = base.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "keep", "ifname": "eth0"}]);
    let env = [("CNI_COMMAND", "GC"), ("CNI_PATH", path.as_str())];
    let out = run_plugin(&ours, &env, &gc.to_string());
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(reservations(&data.path().join(&name)).len(), 1);
    assert_eq!(run(&ours, "CHECK", "keep", &path, &stdin).code, 0);

    let status =
        |stdin: &str| run_plugin(&ours, &[("CNI_COMMAND", "STATUS"), ("CNI_PATH", path.as_str())], stdin);
    assert_eq!(status(&stdin).code, 0);
    for id in ["a", "b", "c", "d"] {
        assert_eq!(run(&ours, "ADD", id, &path, &stdin).code, 0);
    }
    // Full: STATUS still succeeds, as the reference's (a runtime polling it
    // would otherwise mark the node NotReady), and warns on stderr.
    let full = status(&stdin);
    assert_eq!(full.code, 0, "{}", full.stdout);
    assert!(full.stderr.contains("is full (5 of 5 addresses reserved)"), "{}", full.stderr);
}

#[test]
fn requested_addresses_from_every_source() {
    let plugins = PluginDir::new();
    let ours = plugins.plugin("host-local");
    let data = tempfile::tempdir().unwrap();
    let name = unique("req");
    let path = plugins.path().to_str().unwrap().to_string();
    let mut conf: serde_json::Value =
        serde_json::from_str(&conf(&name, data.path(), "10.208.0.0/24")).unwrap();
    conf["ipam"]["ranges"] = json!([[{"subnet": "fd00:208::/64"}]]);
    let stdin = conf.to_string();
    let mut env = cni_env("ADD", "viaenv", IPAM_ONLY_NETNS, "eth0", &path);
    env.push(("CNI_ARGS", "IgnoreUnknown=1;IP=10.208.0.77;K8S_POD_NAME=x"));
    let first = run_plugin(&ours, &env, &stdin);
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert_eq!(first.json["ips"][0]["address"], "10.208.0.77/24");
    assert!(out_v6(&first).starts_with("fd00:208::"), "dual stack: {}", first.stdout);

    let mut via_runtime = conf.clone();
    via_runtime["runtimeConfig"] = json!({"ips": ["10.208.0.78/24"]});
    let out = run(&ours, "ADD", "viaruntime", &path, &via_runtime.to_string());
    assert_eq!(out.json["ips"][0]["address"], "10.208.0.78/24", "{}", out.stdout);

    // Asking for a free v4 address and a taken v6 one fails as a whole:
    // the v4 address reserved first is given back.
    let taken_v6 = out_v6(&first);
    let mut via_args = conf.clone();
    via_args["args"] = json!({"cni": {"ips": ["10.208.0.79", taken_v6]}});
    let taken = run(&ours, "ADD", "viaargs", &path, &via_args.to_string());
    assert_eq!(taken.code, 1, "an address in use is refused: {}", taken.stdout);
    let left = reservations(&data.path().join(&name));
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(!left.contains(&"10.208.0.79".to_string()), "the refused ADD gave back its v4 address");
    let gateway = run(&ours, "ADD", "viagw", &path, &json!({"cniVersion": "1.0.0", "name": name, "type": "host-local", "args": {"cni": {"ips": ["10.208.0.1"]}}, "ipam": conf["ipam"]}).to_string());
    assert_eq!(gateway.code, 1, "{}", gateway.stdout);
}
