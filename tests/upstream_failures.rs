//! The ways nodes lose addresses, namespaces and traffic that the
//! reference's users report, reproduced against ours: a chained DEL that
//! fails in the middle still runs the DEL of every plugin before it
//! (containerd#12130: libcni stops, and host-local's reservation and
//! bridge's veth leak), reports the failure and keeps the cache entry so a
//! second DEL can finish.
//! Subnets 10.252.N.0/24 belong to this file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// A chained plugin whose ADD passes a minimal result on and whose DEL
/// fails while `switch` exists.
fn failing_del_plugin(dir: &Path, switch: &Path) {
    let script = dir.join("faildel");
    let body = format!(
        "#!/bin/sh\ncat >/dev/null\nif [ \"$CNI_COMMAND\" = DEL ] && [ -e {switch} ]; then\n\
         echo '{{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"injected DEL failure\"}}'\nexit 1\nfi\n\
         if [ \"$CNI_COMMAND\" = ADD ]; then echo '{{\"cniVersion\":\"1.0.0\"}}'; fi\nexit 0\n",
        switch = switch.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_del_that_fails_in_the_middle_of_the_chain_still_frees_what_the_plugins_before_it_hold() {
    let plugins = PluginDir::new();
    let scripts = tempfile::tempdir().unwrap();
    let switch = scripts.path().join("fail-now");
    std::fs::write(&switch, "").unwrap();
    failing_del_plugin(scripts.path(), &switch);
    let path = format!("{}:{}", plugins.path().display(), scripts.path().display());
    let (conf, cache, store) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bridge = TestBridge::new();
    let name = unique("upd");
    let list = json!({"cniVersion": "1.0.0", "name": name, "plugins": [
        {"type": "bridge", "bridge": bridge.name, "isGateway": true,
         "ipam": {"type": "host-local", "subnet": "10.252.1.0/24", "dataDir": store.path()}},
        {"type": "faildel"}]});
    std::fs::write(conf.path().join("10-upd.conflist"), list.to_string()).unwrap();
    let ns = TestNetns::new("upd");
    let cnictl = |args: &[&str]| run_cnictl(args, conf.path(), cache.path(), Path::new(&path));
    let (code, _, stderr) = cnictl(&["add", &name, &ns.name]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reservations(&store.path().join(&name)), ["10.252.1.2"]);
    assert_eq!(bridge_ports(&bridge.name).len(), 1);

    let (code, _, stderr) = cnictl(&["del", &name, &ns.name]);
    assert_eq!(code, 1, "the failure is reported: {stderr}");
    assert!(stderr.contains("injected DEL failure") && stderr.contains("faildel"), "{stderr}");
    assert!(reservations(&store.path().join(&name)).is_empty(), "bridge's DEL ran after faildel's failed");
    assert!(bridge_ports(&bridge.name).is_empty(), "the veth went");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null);
    assert_eq!(cache_files(cache.path()).len(), 1, "the cache entry stays for a second DEL");

    std::fs::remove_file(&switch).unwrap();
    let (code, _, stderr) = cnictl(&["del", &name, &ns.name]);
    assert_eq!(code, 0, "the second DEL finishes: {stderr}");
    assert!(cache_files(cache.path()).is_empty());
}

#[test]
fn of_two_concurrent_adds_of_one_attachment_one_wins_and_keeps_its_state() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conf = json!({"cniVersion": "1.0.0", "name": unique("upc"), "type": "bridge", "bridge": bridge.name,
        "isGateway": true, "ipam": {"type": "host-local", "subnet": "10.252.2.0/24", "dataDir": store.path()}})
    .to_string();
    let network = serde_json::from_str::<Value>(&conf).unwrap()["name"].as_str().unwrap().to_string();
    for trial in 0..6 {
        let ns = TestNetns::new("upc");
        let id = format!("race{trial}");
        let netns = ns.path();
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        run_plugin(
                            &plugins.plugin("bridge"),
                            &cni_env("ADD", &id, &netns, "eth0", &path),
                            &conf,
                        )
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let won: Vec<&Outcome> = outcomes.iter().filter(|o| o.code == 0).collect();
        assert!(
            !won.is_empty(),
            "trial {trial}: both failed: {:?}",
            outcomes.iter().map(|o| &o.stdout).collect::<Vec<_>>()
        );
        let address = won[0].json["ips"][0]["address"].as_str().unwrap().to_string();
        assert_eq!(
            link_addresses(Some(&ns.name), "eth0"),
            std::slice::from_ref(&address),
            "trial {trial}: the winner's state stays"
        );
        let held = reservations(&store.path().join(&network));
        assert_eq!(held, [address.split('/').next().unwrap().to_string()], "trial {trial}: one reservation");
        assert_eq!(bridge_ports(&bridge.name).len(), 1, "trial {trial}: one port");
        let del =
            run_plugin(&plugins.plugin("bridge"), &cni_env("DEL", &id, &ns.path(), "eth0", &path), &conf);
        assert_eq!(del.code, 0, "{}", del.stdout);
    }
}
