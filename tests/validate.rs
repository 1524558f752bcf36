//! `cnictl validate` and `cnictl list` check what ADD would check: our
//! plugins run their ADD-side config checks through the VALIDATE verb (no
//! kernel, no disk), their errors point at file:line:column and the key;
//! other plugins only get VERSION (and never see VALIDATE); list's STATE
//! shows missing plugins, unsupported versions, rejected configs and
//! shadowed names. No network namespace is needed. Subnets 10.249.0.0/16.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// A config dir, a cache dir and our plugins.
struct Setup {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    store: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.conf.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        run_cnictl(args, self.conf.path(), self.cache.path(), self.plugins.path())
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, stdout, stderr) = self.cnictl(&all);
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} {stderr}"));
        (code, value)
    }

    fn data_dir(&self) -> String {
        self.store.path().to_str().unwrap().to_string()
    }
}

/// A bridge conflist written one key a line: `extra` is a line of bridge
/// keys, `ipam` the IPAM object.
fn bridge_conflist(name: &str, extra: &str, ipam: &str) -> String {
    format!(
        "{{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"{name}\",\n  \"plugins\": [\n    {{\n      \"type\": \"bridge\",\n      \"bridge\": \"{}\",\n{extra}      \"ipam\": {ipam}\n    }}\n  ]\n}}\n",
        unique("vbr")
    )
}

/// 1-based line and column of the one occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    assert_eq!(text.matches(needle).count(), 1, "{needle} once in {text}");
    let offset = text.find(needle).unwrap();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
    (line, column)
}

#[test]
fn validate_fails_on_what_add_rejects_naming_file_line_column_and_key() {
    let s = Setup::new();
    let data = s.data_dir();
    let ipam = |extra: &str| format!("{{\"type\": \"host-local\", \"dataDir\": \"{data}\", {extra}}}");
    let good_ipam = ipam("\"subnet\": \"10.249.9.0/24\"");
    // (file, bridge keys line, IPAM object, the bad value as written, its key path)
    let cases = [
        ("gw.conflist", "      \"isGateway\": \"yes\",\n", good_ipam.clone(), "\"yes\"", "isGateway"),
        ("mtu.conflist", "      \"mtu\": \"1500\",\n", good_ipam.clone(), "\"1500\"", "mtu"),
        (
            "prefix.conflist",
            "",
            ipam("\"ranges\": [[{\"subnet\": \"10.249.9.0/244\"}]]"),
            "\"10.249.9.0/244\"",
            "ipam.ranges[0][0].subnet",
        ),
        ("octet.conflist", "", ipam("\"subnet\": \"10.249.300.0/24\""), "\"10.249.300.0/24\"", "ipam.subnet"),
        (
            "hostbits.conflist",
            "",
            ipam("\"ranges\": [[{\"subnet\": \"10.249.9.5/24\"}]]"),
            "\"10.249.9.5/24\"",
            "ipam.ranges[0][0].subnet",
        ),
        ("folded.conflist", "      \"MTU\": \"1500\",\n", good_ipam.clone(), "\"1500\"", "mtu"),
    ];
    let path = s.plugins.path().to_str().unwrap().to_string();
    for (file, extra, ipam, value, key) in &cases {
        let text = bridge_conflist(&file.replace('.', "-"), extra, ipam);
        let written = s.write(&format!("bad/{file}"), &text);
        let (line, column) = position(&text, value);
        let expected = format!("{written}:{line}:{column}: plugins[0].{key}: ");

        let (code, stdout, stderr) = s.cnictl(&["validate", &written]);
        assert_eq!(code, 1, "{file}: {stdout} {stderr}");
        let problem = stdout
            .lines()
            .find_map(|l| l.strip_prefix("problem: "))
            .unwrap_or_else(|| panic!("{file}: no problem line in {stdout}"));
        assert!(problem.starts_with(&expected), "{file}: expected {expected:?}, got {problem:?}");

        let (code, report) = s.json(&["validate", &written]);
        assert_eq!((code, &report["valid"]), (1, &json!(false)), "{file}: {report}");
        assert_eq!(report["problems"][0], problem, "{file}: table and JSON agree");
        assert_eq!(report["plugins"][0]["checked"], "config", "{file}: {report}");

        // What validate says is what ADD says: the plugin ADD rejects the
        // key with the same words (host-local for the IPAM section: bridge
        // would open the netns before asking it).
        let conf: Value = serde_json::from_str(&text).unwrap();
        let mut stdin = conf["plugins"][0].clone();
        stdin["name"] = conf["name"].clone();
        stdin["cniVersion"] = conf["cniVersion"].clone();
        let plugin = if key.starts_with("ipam.") { "host-local" } else { "bridge" };
        let add = run_plugin(
            &s.plugins.plugin(plugin),
            &cni_env("ADD", "vctr", "/nonexistent/netns", "eth0", &path),
            &stdin.to_string(),
        );
        assert_eq!(add.code, 1, "{file}: {}", add.stdout);
        let msg = add.json["msg"].as_str().unwrap();
        let (_, tail) = msg
            .split_once(&format!("key \"{key}\": "))
            .unwrap_or_else(|| panic!("{file}: ADD names the key {key}: {msg}"));
        assert!(problem.ends_with(tail), "{file}: ADD said {msg:?}, validate {problem:?}");
    }
    assert!(std::fs::read_dir(s.store.path()).unwrap().next().is_none(), "validate wrote no store");

    // A good config validates, our plugins having checked it.
    let good =
        s.write("10-vgood.conflist", &bridge_conflist("vgood", "      \"isGateway\": true,\n", &good_ipam));
    let (code, stdout, stderr) = s.cnictl(&["validate", &good]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.lines().any(|l| l == "valid"), "{stdout}");
    let (code, report) = s.json(&["validate", "vgood"]);
    assert_eq!((code, &report["valid"]), (0, &json!(true)), "{report}");
    assert_eq!(report["plugins"][0]["checked"], "config");
    assert!(std::fs::read_dir(s.store.path()).unwrap().next().is_none(), "validate wrote no store");
}

#[test]
fn validate_points_into_single_plugin_files_and_plugin_dir_additions() {
    let s = Setup::new();
    let conf = "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"vsingle\",\n  \"type\": \"ptp\",\n  \"ipam\": {\n    \"type\": \"host-local\",\n    \"subnet\": \"10.249.10.0/24\",\n    \"rangeStart\": \"10.249.11.5\"\n  }\n}\n";
    let file = s.write("20-vsingle.conf", conf);
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 1, "{report}");
    let (line, column) = position(conf, "\"10.249.11.5\"");
    let expected = format!(
        "{file}:{line}:{column}: ipam.rangeStart: invalid range set 0: RangeStart 10.249.11.5 not in network"
    );
    assert!(report["problems"][0].as_str().unwrap().starts_with(&expected), "{report}");

    // The plugin-dir addition is reported in its own file; an IPAM plugin
    // that cannot be found is named by its key.
    s.write(
        "30-vextra.conflist",
        r#"{"cniVersion": "1.0.0", "name": "vextra", "plugins": [{"type": "loopback"}]}"#,
    );
    let extra = s.write(
        "vextra/10-more.conf",
        "{\n  \"type\": \"dummy\",\n  \"ipam\": {\"type\": \"no-such-ipam\"}\n}\n",
    );
    let (code, report) = s.json(&["validate", "vextra"]);
    assert_eq!(code, 1, "{report}");
    let (line, column) = position(&std::fs::read_to_string(&extra).unwrap(), "\"no-such-ipam\"");
    let expected = format!("{extra}:{line}:{column}: ipam.type: failed to find plugin \"no-such-ipam\"");
    assert!(report["problems"][0].as_str().unwrap().starts_with(&expected), "{report}");
}

#[test]
fn value_checks_of_our_plugins_name_their_key() {
    let s = Setup::new();
    let text = "{\"cniVersion\": \"1.0.0\", \"name\": \"vkeys\", \"plugins\": [\n  {\"type\": \"bridge\", \"vlanTrunk\": [{\"id\": 10}, {\"id\": 5000}],\n   \"ipam\": {\"type\": \"static\", \"addresses\": [{\"address\": \"10.249.30.5\"}]}}]}\n";
    let file = s.write("10-vkeys.conflist", text);
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 1, "{report}");
    let (line, column) = position(text, "{\"id\": 5000}");
    let expected = format!("{file}:{line}:{column}: plugins[0].vlanTrunk[1]: incorrect trunk id parameter");
    assert_eq!(report["problems"][0], expected.as_str(), "{report}");

    let fixed = text.replace("5000", "50");
    let file = s.write("10-vkeys.conflist", &fixed);
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 1, "{report}");
    let (line, column) = position(&fixed, "\"10.249.30.5\"");
    let expected = format!(
        "{file}:{line}:{column}: plugins[0].ipam.addresses[0].address: the 'address' field is expected to be in CIDR notation"
    );
    assert!(report["problems"][0].as_str().unwrap().starts_with(&expected), "{report}");

    let file = s.write("10-vkeys.conflist", &fixed.replace("10.249.30.5", "10.249.30.5/24"));
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_null_member_counts_as_absent_as_in_go() {
    // Go's decoder leaves a field as it was for null; podman and hand-made
    // files write "runtimeConfig": null and the like.
    let s = Setup::new();
    let text = "{\"cniVersion\": \"1.0.0\", \"name\": \"vnull\", \"plugins\": [\n  {\"type\": \"tap\", \"runtimeConfig\": null, \"mtu\": null, \"mac\": null,\n   \"ipam\": {\"type\": \"static\", \"routes\": null, \"addresses\": [{\"address\": \"10.249.31.5/24\", \"gateway\": null}]}}]}\n";
    let file = s.write("10-vnull.conflist", text);
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 0, "{report}");
}

/// A plugin of others: answers VERSION, logs every call, and fails any
/// other command (a VALIDATE would show in the log).
fn foreign_plugin(dir: &Path, log: &Path) {
    let script = format!(
        "#!/bin/sh\necho \"$CNI_COMMAND\" >> {}\ncase \"$CNI_COMMAND\" in\n  VERSION) echo '{{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}}' ;;\n  *) echo '{{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"unexpected\"}}'; exit 1 ;;\nesac\n",
        log.display()
    );
    let path = dir.join("foreign");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn other_plugins_get_only_version_and_never_validate() {
    let s = Setup::new();
    let log = s.store.path().join("calls.log");
    foreign_plugin(s.plugins.path(), &log);
    // foreign's own keys are its business: only VERSION is checked.
    let file = s.write(
        "10-vforeign.conflist",
        r#"{"cniVersion": "1.0.0", "name": "vforeign", "plugins": [{"type": "loopback"}, {"type": "foreign", "mtu": "not ours to judge"}]}"#,
    );
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["plugins"][0]["checked"], "config");
    assert_eq!(report["plugins"][1]["checked"], "version");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.lines().all(|l| l == "VERSION") && !calls.is_empty(), "{calls}");

    // A version it does not speak is caught.
    let file = s.write(
        "20-vforeign-new.conflist",
        r#"{"cniVersion": "1.1.0", "name": "vforeignnew", "plugins": [{"type": "foreign"}]}"#,
    );
    let (code, report) = s.json(&["validate", &file]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("plugin 0 (foreign): does not support cniVersion 1.1.0"),
        "{report}"
    );
    assert!(std::fs::read_to_string(&log).unwrap().lines().all(|l| l == "VERSION"));

    // Were VALIDATE ever sent to the reference's plugins, they would refuse it and do nothing.
    if have_reference() {
        let out = run_plugin(
            &Path::new(REFERENCE_DIR).join("bridge"),
            &cni_env("VALIDATE", "vctr", "/nonexistent/netns", "eth0", REFERENCE_DIR),
            r#"{"cniVersion": "1.0.0", "name": "n", "type": "bridge"}"#,
        );
        assert_eq!((out.code, &out.json["code"]), (1, &json!(4)), "{}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap().contains("unknown CNI_COMMAND"), "{}", out.stdout);
    }
}

#[test]
fn list_state_shows_missing_plugins_versions_rejected_configs_and_shadowed_names() {
    let s = Setup::new();
    let data = s.data_dir();
    let ipam =
        format!("{{\"type\": \"host-local\", \"dataDir\": \"{data}\", \"subnet\": \"10.249.20.0/24\"}}");
    s.write("10-lgood.conflist", &bridge_conflist("lgood", "", &ipam));
    s.write(
        "20-lmissing.conflist",
        r#"{"cniVersion": "1.0.0", "name": "lmissing", "plugins": [{"type": "no-such-plugin"}]}"#,
    );
    s.write(
        "30-lold.conflist",
        r#"{"cniVersion": "0.3.1", "name": "lold", "plugins": [{"type": "firewall"}]}"#,
    );
    let bad_text = bridge_conflist("lbad", "      \"mtu\": \"1500\",\n", &ipam);
    let bad = s.write("40-lbad.conflist", &bad_text);
    let first = s.write(
        "50-lgood-again.conflist",
        r#"{"cniVersion": "1.0.0", "name": "lgood", "plugins": [{"type": "loopback"}]}"#,
    );
    let _ = first;
    s.write("60-lbroken.conflist", "{\"name\": ");

    let (code, list) = s.json(&["list"]);
    assert_eq!(code, 0, "{list}");
    let state = |file: &str| -> String {
        let entry = list.as_array().unwrap().iter().find(|n| n["file"].as_str().unwrap().ends_with(file));
        entry.unwrap_or_else(|| panic!("{file} listed: {list}"))["state"].as_str().unwrap().to_string()
    };
    assert_eq!(state("10-lgood.conflist"), "ok");
    assert_eq!(state("20-lmissing.conflist"), "problem: missing plugin no-such-plugin");
    assert_eq!(state("30-lold.conflist"), "problem: firewall does not support cniVersion 0.3.1");
    let (line, column) = position(&bad_text, "\"1500\"");
    assert!(
        state("40-lbad.conflist").starts_with(&format!("problem: {bad}:{line}:{column}: plugins[0].mtu: ")),
        "{list}"
    );
    assert!(state("50-lgood-again.conflist").starts_with("warn: shadowed by "), "{list}");
    assert!(state("50-lgood-again.conflist").ends_with("10-lgood.conflist"), "{list}");
    assert!(state("60-lbroken.conflist").starts_with("error: "), "{list}");
    let missing = list.as_array().unwrap().iter().find(|n| n["name"] == "lmissing").unwrap();
    assert!(missing["problems"][0].as_str().unwrap().contains("plugin 0 (no-such-plugin)"), "{missing}");

    // The table says the same.
    let (code, table, stderr) = s.cnictl(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    let flat: String = table.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "missing plugin no-such-plugin",
        "firewall does not support cniVersion 0.3.1",
        "plugins[0].mtu",
        "shadowed by",
    ] {
        assert!(flat.contains(expected), "{expected:?} in {table}");
    }
}

#[test]
fn capabilities_no_known_plugin_understands_are_warnings_with_the_closest_name() {
    let s = Setup::new();
    let text = "{\"cniVersion\": \"1.0.0\", \"name\": \"vcaps\", \"plugins\": [\n  {\"type\": \"loopback\"},\n  {\"type\": \"portmap\", \"capabilities\": {\"portMapping\": true, \"io.example/own\": true}}\n]}\n";
    let file = s.write("10-vcaps.conflist", text);
    let (code, report) = s.json(&["validate", "vcaps"]);
    assert_eq!((code, &report["valid"]), (0, &json!(true)), "warnings leave it valid: {report}");
    let warnings: Vec<&str> =
        report["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(warnings.len(), 2, "{report}");
    let typo = warnings.iter().find(|w| w.contains("\"portMapping\"")).unwrap();
    let (line, column) = position(text, "true, ");
    let expected = format!("{file}:{line}:{column}: plugins[1].capabilities.portMapping: ");
    assert!(typo.starts_with(&expected), "{typo}");
    assert!(typo.contains("did you mean \"portMappings\"?"), "{typo}");
    let own = warnings.iter().find(|w| w.contains("io.example/own")).unwrap();
    assert!(!own.contains("did you mean"), "no near miss: {own}");
    // The table says the same, and still "valid".
    let (code, stdout, _) = s.cnictl(&["validate", "vcaps"]);
    assert_eq!(code, 0);
    assert!(stdout.lines().any(|l| l == format!("warning: {typo}")), "{stdout}");
    assert!(stdout.lines().any(|l| l == "valid"), "{stdout}");
    // Known names, well spelt: no warnings.
    s.write(
        "10-vcaps.conflist",
        &text.replace("\"portMapping\"", "\"portMappings\"").replace(", \"io.example/own\": true", ""),
    );
    let (_, report) = s.json(&["validate", "vcaps"]);
    assert_eq!(report["warnings"], json!([]), "{report}");
}
