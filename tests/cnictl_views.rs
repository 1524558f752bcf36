//! The operator views and checks, read as scripts read them (`-o json`):
//! list, show, attachments, plugins, validate and doctor against a fixture
//! config dir and live attachments; and the committed completions and man
//! pages against what the CLI generates. Subnets 10.204.N.0/24 belong here.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A fixture config dir with a cache dir and our plugins.
struct Fixture {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    store: tempfile::TempDir,
    bridge: TestBridge,
}

impl Fixture {
    fn new() -> Fixture {
        let fixture = Fixture {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
            bridge: TestBridge::new(),
        };
        let alpha = json!({"cniVersion": "1.0.0", "name": "alpha", "plugins": [
            {"type": "bridge", "bridge": fixture.bridge.name, "isGateway": true,
             "ipam": {"type": "host-local", "subnet": "10.204.1.0/24", "dataDir": fixture.store.path()}},
            {"type": "loopback", "capabilities": {"portMappings": true, "bandwidth": false}}
        ]});
        fixture.write("10-alpha.conflist", &alpha.to_string());
        fixture.write(
            "20-beta.conf",
            r#"{"cniVersion": "0.4.0", "name": "beta", "type": "ptp",
                "ipam": {"type": "static", "addresses": [{"address": "10.204.2.5/24"}]}}"#,
        );
        fixture.write(
            "30-broken.conflist",
            "{\n  \"name\": \"broken\",\n  \"plugins\": [\n    {\"type\": 7}\n  ]\n}\n",
        );
        fixture.write(
            "40-alpha-again.conflist",
            r#"{"cniVersion": "1.0.0", "name": "alpha", "plugins": [{"type": "loopback"}]}"#,
        );
        std::fs::create_dir(fixture.conf.path().join("alpha")).unwrap();
        fixture
            .write("alpha/50-extra.conf", r#"{"type": "loopback", "note": "appended from the plugin dir"}"#);
        fixture
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.conf.path().join(name), text).unwrap();
    }

    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        run_cnictl(args, self.conf.path(), self.cache.path(), self.plugins.path())
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (_, stdout, stderr) = self.cnictl(&all);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} {stderr}"))
    }
}

#[test]
fn list_shows_every_file_in_libcni_order_with_its_state() {
    let fx = Fixture::new();
    let list = fx.json(&["list"]);
    let files: Vec<&str> = list.as_array().unwrap().iter().map(|n| n["file"].as_str().unwrap()).collect();
    let names: Vec<&str> =
        files.iter().map(|f| Path::new(f).file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(names, ["10-alpha.conflist", "30-broken.conflist", "40-alpha-again.conflist", "20-beta.conf"]);
    assert_eq!(list[0]["name"], "alpha");
    assert_eq!(
        list[0]["plugins"],
        json!(["bridge", "loopback", "loopback"]),
        "plugin-dir additions included"
    );
    assert_eq!(list[0]["subnets"], json!(["10.204.1.0/24"]));
    assert_eq!(list[0]["loads"], true);
    assert_eq!(list[1]["loads"], false);
    assert!(
        list[1]["error"].as_str().unwrap().contains("30-broken.conflist:4:14: plugins[0].type"),
        "{}",
        list[1]
    );
    assert_eq!(list[2]["shadowedBy"].as_str().map(|f| f.ends_with("10-alpha.conflist")), Some(true));
    assert_eq!(list[3]["cniVersion"], "0.4.0");
    assert_eq!(list[3]["subnets"], json!(["10.204.2.5/24"]));
    let (code, table, _) = fx.cnictl(&["list"]);
    assert_eq!(code, 0);
    assert!(table.lines().next().unwrap().contains("NAME"), "{table}");
}

#[test]
fn show_and_attachments_report_live_attachments_and_vanished_namespaces() {
    let fx = Fixture::new();
    let ns = TestNetns::new("view");
    let (code, _, stderr) = fx.cnictl(&["add", "alpha", &ns.name, "--container-id", "viewctr"]);
    assert_eq!(code, 0, "{stderr}");
    let show = fx.json(&["show", "alpha"]);
    assert_eq!(show["name"], "alpha");
    assert_eq!(show["plugins"].as_array().unwrap().len(), 3);
    assert_eq!(show["plugins"][2]["note"], "appended from the plugin dir");
    assert_eq!(show["capabilities"], json!(["portMappings"]), "only capabilities set to true");
    assert_eq!(show["attachments"][0]["containerID"], "viewctr");

    let attachments = fx.json(&["attachments"]);
    assert_eq!(attachments.as_array().unwrap().len(), 1);
    let a = &attachments[0];
    assert_eq!((a["network"].as_str(), a["ifname"].as_str()), (Some("alpha"), Some("eth0")));
    assert_eq!(a["netns"], ns.path().as_str());
    assert!(a["ips"][0].as_str().unwrap().starts_with("10.204.1."), "{a}");
    assert_eq!(a["netnsExists"], true);
    assert!(a["ageSeconds"].as_u64().unwrap() < 60);
    let (_, ps, _) = fx.cnictl(&["ps"]);
    assert!(ps.contains("viewctr"), "ps is an alias: {ps}");

    // The namespace goes away behind cnictl's back: the views say so, doctor suggests gc.
    drop(ns);
    assert_eq!(fx.json(&["attachments"])[0]["netnsExists"], false);
    let doctor = fx.json(&["doctor"]);
    let stale = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detail"].as_str().unwrap().contains("namespace that is gone"));
    assert_eq!(stale.map(|f| f["fix"].clone()), Some(json!("cnictl gc alpha")), "{doctor}");
    let (code, _, stderr) = fx.cnictl(&["gc", "alpha"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fx.json(&["attachments"]), json!([]));
}

/// A directory with `refonly`: the reference's dhcp plugin under a name
/// we do not carry (it answers VERSION whatever its name), for the views
/// of plugins only another implementation has.
fn reference_only_plugin() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(Path::new(REFERENCE_DIR).join("dhcp"), dir.path().join("refonly")).unwrap();
    dir
}

#[test]
fn plugins_lists_ours_and_the_reference_with_their_versions() {
    require_reference();
    let plugins = PluginDir::new();
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let other = reference_only_plugin();
    let path = format!("{}:{}:{REFERENCE_DIR}", plugins.path().display(), other.path().display());
    let (code, stdout, stderr) =
        run_cnictl(&["plugins", "-o", "json"], conf.path(), cache.path(), Path::new(&path));
    assert_eq!(code, 0, "{stderr}");
    let found: Value = serde_json::from_str(&stdout).unwrap();
    let by_name = |name: &str| found.as_array().unwrap().iter().find(|p| p["name"] == name).cloned().unwrap();
    let bridge = by_name("bridge");
    assert!(
        bridge["path"].as_str().unwrap().starts_with(plugins.path().to_str().unwrap()),
        "ours first: {bridge}"
    );
    assert!(bridge["supportedVersions"].as_array().unwrap().contains(&json!("1.1.0")));
    // dhcp is ours too now; `refonly` (the reference's dhcp under another
    // name) is one we do not carry: found in its own directory.
    assert!(by_name("dhcp")["path"].as_str().unwrap().starts_with(plugins.path().to_str().unwrap()));
    let refonly = by_name("refonly");
    assert_eq!(refonly["path"], format!("{}/refonly", other.path().display()));
    assert!(!refonly["supportedVersions"].as_array().unwrap().contains(&json!("1.1.0")));
    assert_eq!(found.as_array().unwrap().iter().filter(|p| p["name"] == "bridge").count(), 1, "listed once");
}

#[test]
fn validate_names_file_line_column_and_key() {
    let fx = Fixture::new();
    let broken = [
        ("a.conflist", "{\n  \"name\": \"n\",\n  \"plugins\": [\n    {\"type\": \"bridge\"},\n    {\"type\": 7}\n  ]\n}\n", "a.conflist:5:14: plugins[1].type: expected a string"),
        ("b.conflist", "{\n  \"name\": \"n\",\n  \"cniVersion\": 1.0,\n  \"plugins\": [{\"type\": \"bridge\"}]\n}\n", "b.conflist:3:17: cniVersion: expected a string"),
        ("c.conflist", "{\n  \"name\": \"n\",\n  \"plugins\": [\n    {\"bridge\": \"x\"}\n  ]\n}\n", "c.conflist:4:5: plugins[0]: missing key \"type\""),
        ("d.conflist", "{\n  \"name\": \"n\",\n  \"plugins\": [\n    {\"type\": \"bridge\",}\n  ]\n}\n", "d.conflist:4:23: invalid JSON"),
        ("e.conf", "{\n  \"name\": 5,\n  \"type\": \"bridge\"\n}\n", "e.conf:2:11: name: expected a string"),
        ("f.conflist", "{\"name\": \"n\", \"disableCheck\": 3, \"plugins\": [{\"type\": \"x\"}]}", "f.conflist:1:31: disableCheck: expected true or false"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (file, text, expected) in broken {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let (code, stdout, stderr) = fx.cnictl(&["validate", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{file}");
        assert!(stderr.contains(expected), "{file}: expected {expected:?} in {stderr} {stdout}");
        let report = fx.json(&["validate", path.to_str().unwrap()]);
        assert_eq!(report["valid"], false);
        assert!(report["problems"][0].as_str().unwrap().contains(expected), "{report}");
    }
    let good = fx.json(&["validate", "alpha"]);
    assert_eq!(good["valid"], true, "{good}");
    assert_eq!(good["capabilities"], json!(["portMappings"]));
    assert!(good["plugins"][0]["path"].as_str().unwrap().contains(fx.plugins.path().to_str().unwrap()));

    // A broken file earlier in the dir does not stop lookup by name.
    fx.write("60-gamma.conflist", r#"{"cniVersion": "1.0.0", "name": "gamma", "plugins": [{"type": "bridge"}, {"type": "no-such-plugin"}]}"#);
    let missing = fx.json(&["validate", "gamma"]);
    assert_eq!(missing["valid"], false);
    assert!(missing["problems"][0].as_str().unwrap().contains("plugin 1 (no-such-plugin)"), "{missing}");
}

#[test]
fn validate_catches_a_version_a_plugin_does_not_speak() {
    require_reference();
    let fx = Fixture::new();
    fx.write(
        "70-old.conflist",
        r#"{"cniVersion": "1.1.0", "name": "old", "plugins": [{"type": "bridge"}, {"type": "refonly"}]}"#,
    );
    let conf = fx.conf.path();
    let other = reference_only_plugin();
    let path = format!("{}:{}", fx.plugins.path().display(), other.path().display());
    let old = conf.join("70-old.conflist");
    let args = ["validate", old.to_str().unwrap(), "-o", "json"];
    let (code, stdout, _) = run_cnictl(&args, conf, fx.cache.path(), Path::new(&path));
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("refonly") && problems.contains("does not support cniVersion 1.1.0"),
        "{report}"
    );
    assert_eq!(report["plugins"][0]["problem"], Value::Null, "ours speaks 1.1.0");
}

#[test]
fn doctor_reports_missing_plugins_and_unowned_bridge_ports() {
    let fx = Fixture::new();
    fx.write(
        "60-gamma.conflist",
        r#"{"cniVersion": "1.0.0", "name": "gamma", "plugins": [{"type": "no-such-plugin"}]}"#,
    );
    let dhcp_dir = tempfile::tempdir().unwrap();
    let dhcp_socket = dhcp_dir.path().join("dhcp.sock");
    fx.write(
        "80-epsilon.conflist",
        &json!({"cniVersion": "1.0.0", "name": "epsilon", "plugins": [{"type": "macvlan", "master": "lo",
                "ipam": {"type": "dhcp", "daemonSocketPath": dhcp_socket}}]})
        .to_string(),
    );
    fx.write(
        "70-delta.conflist",
        r#"{"cniVersion": "1.0.0", "name": "delta", "plugins": [{"type": "bridge"}, {"type": "bandwidth"}]}"#,
    );
    // A port on alpha's bridge that no attachment made.
    let orphan = unique("orph");
    let ip =
        |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
    ip(&["link", "add", &fx.bridge.name, "type", "bridge"]);
    ip(&["link", "add", &orphan, "type", "veth", "peer", "name", &format!("{orphan}p")]);
    ip(&["link", "set", &orphan, "master", &fx.bridge.name]);
    let (code, stdout, _) = fx.cnictl(&["doctor", "-o", "json"]);
    let _ = Command::new("ip").args(["link", "del", &orphan]).status();
    assert_eq!(code, 1, "a missing plugin fails the check");
    let findings: Value = serde_json::from_str(&stdout).unwrap();
    let find = |words: &str| {
        findings.as_array().unwrap().iter().find(|f| f["detail"].as_str().unwrap().contains(words)).cloned()
    };
    let missing = find("no-such-plugin").expect("missing plugin reported");
    assert_eq!(missing["status"], "fail");
    let port = find(&format!("{orphan} is a port of")).expect("unowned port reported");
    assert_eq!(port["fix"], format!("ip link del {orphan} (if no other runtime owns it)"));
    let broken = find("30-broken.conflist:4:14").expect("broken config reported");
    assert_eq!(broken["status"], "fail");
    assert!(find("forwarding").is_some());
    let shaping = find("ifb, tbf, ingress, u32 and mirred").expect("bandwidth's kernel needs probed");
    assert_eq!(shaping["status"], "ok", "{shaping}");
    let dhcp = find("no dhcp daemon answers").expect("the missing dhcp daemon reported");
    assert_eq!(dhcp["status"], "fail", "{dhcp}");
    let dhcp_finding = |fx: &Fixture| {
        let (_, stdout, _) = fx.cnictl(&["doctor", "-o", "json"]);
        let findings: Value = serde_json::from_str(&stdout).unwrap();
        findings.as_array().unwrap().iter().find(|f| f["check"] == "dhcp daemon").cloned().unwrap()
    };
    // Something that listens but does not answer: a warning, within 2 s.
    let listener = std::os::unix::net::UnixListener::bind(&dhcp_socket).unwrap();
    let started = std::time::Instant::now();
    let silent = dhcp_finding(&fx);
    assert_eq!(silent["status"], "warn", "{silent}");
    assert!(silent["detail"].as_str().unwrap().contains("does not answer as a dhcp daemon"), "{silent}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    drop(listener);
    std::fs::remove_file(&dhcp_socket).unwrap();
    // Our daemon there, our plugin on the path: ok.
    let leases = dhcp_dir.path().join("leases");
    let mut daemon = Command::new(fx.plugins.plugin("dhcp"))
        .args(["daemon", "-socketpath", dhcp_socket.to_str().unwrap(), "-leasedir", leases.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::os::unix::net::UnixStream::connect(&dhcp_socket).is_ok()
    });
    let ours = dhcp_finding(&fx);
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(up, "our dhcp daemon did not listen");
    assert_eq!(ours["status"], "ok", "{ours}");
    assert!(ours["detail"].as_str().unwrap().contains("cnictl's dhcp daemon"), "{ours}");
    assert!(ours["detail"].as_str().unwrap().contains("epsilon"), "{ours}");
}

#[test]
fn committed_completions_and_man_pages_match_the_cli() {
    let out = tempfile::tempdir().unwrap();
    let status =
        Command::new(cnictl()).args(["generate-docs", out.path().to_str().unwrap()]).status().unwrap();
    assert!(status.success());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["completions", "man"] {
        let mut generated: Vec<String> = std::fs::read_dir(out.path().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        generated.sort();
        let mut committed: Vec<String> = std::fs::read_dir(repo.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        committed.sort();
        assert_eq!(generated, committed, "{sub}/ is stale: run `cnictl generate-docs .`");
        for file in generated {
            let fresh = std::fs::read(out.path().join(sub).join(&file)).unwrap();
            let old = std::fs::read(repo.join(sub).join(&file)).unwrap();
            assert!(fresh == old, "{sub}/{file} is stale: run `cargo run -- generate-docs .`");
        }
    }
}

#[test]
fn errors_say_what_failed_and_what_to_do_next() {
    let fx = Fixture::new();
    let (code, _, stderr) = fx.cnictl(&["add", "nosuch", "x"]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("cnictl: error: no network named \"nosuch\""), "{stderr}");
    assert!(
        stderr.contains("files that could not be read:") && stderr.contains("30-broken.conflist:4:14"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: `cnictl list`"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "NO_COLOR: no escape sequences: {stderr:?}");

    let ns = TestNetns::new("hint");
    let conf = fx.conf.path();
    let (code, _, stderr) =
        run_cnictl(&["add", "alpha", &ns.name], conf, fx.cache.path(), Path::new("/nonexistent"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "network \"alpha\": plugin type=\"bridge\" failed (add): failed to find plugin \"bridge\""
        ) && stderr.contains("(CNI error code 4)"),
        "network, plugin, verb, the plugin's message and code: {stderr}"
    );
    assert!(stderr.contains("hint: install the plugin"), "{stderr}");

    let broken = fx.conf.path().join("30-broken.conflist");
    let (_, _, stderr) = fx.cnictl(&["validate", broken.to_str().unwrap()]);
    assert!(stderr.contains(&format!("{}:4:14", broken.display())), "{stderr}");
    // A hint never sends the user back to the command that printed it.
    assert!(!stderr.contains("hint: `cnictl validate"), "{stderr}");
}
