//! Bad input gets the right spec error code, an error object on stdout,
//! a non-zero exit, and leaves no state behind.

mod common;

use common::*;
use serde_json::json;

struct Case {
    what: &'static str,
    env: Vec<(&'static str, String)>,
    stdin: String,
    code: u64,
}

fn good_conf(data: &str, name: &str) -> String {
    json!({"cniVersion": "1.0.0", "name": name, "type": "host-local",
           "ipam": {"type": "host-local", "subnet": "10.203.0.0/24", "dataDir": data}})
    .to_string()
}

#[test]
fn bad_input_matrix_for_host_local() {
    let plugins = PluginDir::new();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_string();
    let path = plugins.path().to_str().unwrap().to_string();
    let good = good_conf(&data_dir, "badnet");
    let base = |command: &str| -> Vec<(&'static str, String)> {
        vec![
            ("CNI_COMMAND", command.to_string()),
            ("CNI_CONTAINERID", "ctr1".to_string()),
            ("CNI_NETNS", IPAM_ONLY_NETNS.to_string()),
            ("CNI_IFNAME", "eth0".to_string()),
            ("CNI_PATH", path.clone()),
        ]
    };
    let without = |name: &str| base("ADD").into_iter().filter(|(k, _)| *k != name).collect::<Vec<_>>();
    let with = |name: &'static str, value: &str| {
        let mut env = base("ADD");
        env.retain(|(k, _)| *k != name);
        env.push((name, value.to_string()));
        env
    };
    let conf_with =
        |patch: serde_json::Value| with_keys(serde_json::from_str(&good).unwrap(), &patch).to_string();
    let cases = vec![
        Case {
            what: "missing CNI_CONTAINERID",
            env: without("CNI_CONTAINERID"),
            stdin: good.clone(),
            code: 4,
        },
        Case { what: "missing CNI_NETNS", env: without("CNI_NETNS"), stdin: good.clone(), code: 4 },
        Case { what: "missing CNI_IFNAME", env: without("CNI_IFNAME"), stdin: good.clone(), code: 4 },
        Case { what: "missing CNI_PATH", env: without("CNI_PATH"), stdin: good.clone(), code: 4 },
        Case { what: "unknown command", env: with("CNI_COMMAND", "FROB"), stdin: good.clone(), code: 4 },
        Case {
            what: "container ID with /",
            env: with("CNI_CONTAINERID", "a/b"),
            stdin: good.clone(),
            code: 4,
        },
        Case { what: "container ID ..", env: with("CNI_CONTAINERID", ".."), stdin: good.clone(), code: 4 },
        Case {
            what: "interface name too long",
            env: with("CNI_IFNAME", "abcdefghijklmnop"),
            stdin: good.clone(),
            code: 4,
        },
        Case { what: "interface name with /", env: with("CNI_IFNAME", "a/b"), stdin: good.clone(), code: 4 },
        Case { what: "interface name ..", env: with("CNI_IFNAME", ".."), stdin: good.clone(), code: 4 },
        Case { what: "unknown CNI_ARGS key", env: with("CNI_ARGS", "FOO=bar"), stdin: good.clone(), code: 4 },
        Case { what: "malformed JSON", env: base("ADD"), stdin: "{\"cniVersion\": ".to_string(), code: 6 },
        Case {
            what: "unsupported version",
            env: base("ADD"),
            stdin: conf_with(json!({"cniVersion": "9.9.9"})),
            code: 1,
        },
        Case {
            what: "version not a string",
            env: base("ADD"),
            stdin: conf_with(json!({"cniVersion": 1})),
            code: 6,
        },
        Case {
            what: "missing network name",
            env: base("ADD"),
            stdin: conf_with(json!({"name": null})),
            code: 7,
        },
        Case { what: "network name ..", env: base("ADD"), stdin: conf_with(json!({"name": ".."})), code: 7 },
        Case {
            what: "network name with /",
            env: base("ADD"),
            stdin: conf_with(json!({"name": "a/b"})),
            code: 7,
        },
        Case {
            what: "wrong type for ipam.ranges",
            env: base("ADD"),
            stdin: conf_with(
                json!({"ipam": {"type": "host-local", "ranges": "10.0.0.0/24", "dataDir": data_dir}}),
            ),
            code: 6,
        },
        Case {
            what: "subnet with host bits",
            env: base("ADD"),
            stdin: conf_with(
                json!({"ipam": {"type": "host-local", "subnet": "10.203.0.7/24", "dataDir": data_dir}}),
            ),
            code: 7,
        },
        Case { what: "missing ipam", env: base("ADD"), stdin: conf_with(json!({"ipam": null})), code: 7 },
        Case {
            what: "CHECK on 0.3.1",
            env: base("CHECK"),
            stdin: conf_with(json!({"cniVersion": "0.3.1"})),
            code: 1,
        },
        Case { what: "GC on 1.0.0", env: base("GC"), stdin: good.clone(), code: 1 },
    ];
    for case in &cases {
        let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = run_plugin(&plugins.plugin("host-local"), &env, &case.stdin);
        assert_eq!(out.code, 1, "{}: exit code; stdout {}", case.what, out.stdout);
        assert_eq!(out.json["code"], case.code, "{}: {}", case.what, out.stdout);
        assert!(
            out.json["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: no msg: {}",
            case.what,
            out.stdout
        );
        assert!(out.json.get("cniVersion").is_some(), "{}: no cniVersion: {}", case.what, out.stdout);
        assert!(reservations(&data.path().join("badnet")).is_empty(), "{}: left a reservation", case.what);
    }
    // The wrong type is reported with its key.
    let out = run_plugin(
        &plugins.plugin("host-local"),
        &[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c"),
            ("CNI_NETNS", IPAM_ONLY_NETNS),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", &path),
        ],
        &cases[17].stdin,
    );
    assert!(out.json["msg"].as_str().unwrap().contains("ipam.ranges"), "{}", out.stdout);
}

#[test]
fn version_works_with_placeholder_env_and_any_stdin() {
    let plugins = PluginDir::new();
    for name in cni::BUILTIN_PLUGIN_TYPES {
        let env = [
            ("CNI_COMMAND", "VERSION"),
            ("CNI_NETNS", "dummy"),
            ("CNI_IFNAME", "dummy"),
            ("CNI_PATH", "dummy"),
        ];
        let out = run_plugin(&plugins.plugin(name), &env, "this is not json");
        assert_eq!(out.code, 0, "{name}: {}", out.stdout);
        assert_eq!(out.json["cniVersion"], "1.1.0");
        let versions: Vec<&str> =
            out.json["supportedVersions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        // As the reference's: firewall starts at 0.4.0 (it needs CHECK),
        // bandwidth at 0.3.0, vrf at 0.3.1.
        let first = match *name {
            "firewall" => "0.4.0",
            "bandwidth" => "0.3.0",
            "vrf" => "0.3.1",
            _ => "0.1.0",
        };
        let expected: Vec<&str> =
            cni::version::SUPPORTED.iter().copied().skip_while(|v| *v != first).collect();
        assert_eq!(versions, expected, "{name}");
    }
}

#[test]
fn loopback_rejects_a_missing_netns_and_del_tolerates_it() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let conf = json!({"cniVersion": "1.0.0", "name": "lonet", "type": "loopback"}).to_string();
    let gone = format!("/var/run/netns/{}", unique("gone"));
    let add = run_plugin(&plugins.plugin("loopback"), &cni_env("ADD", "c", &gone, "eth0", &path), &conf);
    assert_eq!(add.code, 1);
    assert_eq!(add.json["code"], 3, "{}", add.stdout);
    let not_a_netns = tempfile::NamedTempFile::new().unwrap();
    let not_netns = run_plugin(
        &plugins.plugin("loopback"),
        &cni_env("ADD", "c", not_a_netns.path().to_str().unwrap(), "eth0", &path),
        &conf,
    );
    assert_eq!(not_netns.json["code"], 4, "{}", not_netns.stdout);
    let del = run_plugin(&plugins.plugin("loopback"), &cni_env("DEL", "c", &gone, "eth0", &path), &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
}

#[test]
fn multicall_under_an_unknown_name_answers_with_an_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("no-such-plugin");
    std::os::unix::fs::symlink(multicall(), &link).unwrap();
    let out = run_plugin(&link, &[("CNI_COMMAND", "VERSION")], "");
    assert_eq!(out.code, 1);
    assert_eq!(out.json["code"], 7, "{}", out.stdout);
}

#[test]
fn bridge_and_ptp_reject_bad_config_before_touching_anything() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ns = TestNetns::new("bad");
    let bridge = unique("tbad");
    let netns = ns.path();
    let env = cni_env("ADD", "ctrbad", &netns, "eth0", path);
    let base = |plugin: &str| {
        json!({"cniVersion": "1.0.0", "name": "badbr", "type": plugin, "bridge": bridge,
               "ipam": {"type": "host-local", "subnet": "10.203.9.0/24", "dataDir": store.path()}})
    };
    let cases = [
        ("bridge", json!({"vlan": 5000}), 7, "VLAN ID"),
        ("bridge", json!({"vlanTrunk": [{"minID": 30, "maxID": 20}]}), 7, "minID is greater"),
        ("bridge", json!({"hairpinMode": true, "promiscMode": true}), 7, "hairpin"),
        ("bridge", json!({"mtu": "big"}), 6, "mtu"),
        ("bridge", json!({"ipMasq": true, "ipMasqBackend": "ebtables"}), 7, "ipMasqBackend"),
        ("bridge", json!({"runtimeConfig": {"mac": "zz:zz"}}), 7, "MAC"),
        ("ptp", json!({"mtu": -1}), 6, "mtu"),
    ];
    for (plugin, patch, code, words) in cases {
        let conf = with_keys(base(plugin), &patch);
        let out = run_plugin(&plugins.plugin(plugin), &env, &conf.to_string());
        assert_eq!(
            (out.code, out.json["code"].as_u64()),
            (1, Some(code)),
            "{plugin} {patch}: {}",
            out.stdout
        );
        assert!(
            out.json["msg"].as_str().unwrap_or_default().contains(words),
            "{plugin} {patch}: {}",
            out.stdout
        );
        assert_eq!(link_details(None, &bridge), serde_json::Value::Null, "{plugin} {patch}: bridge made");
        assert_eq!(
            link_details(Some(&ns.name), "eth0"),
            serde_json::Value::Null,
            "{plugin} {patch}: veth made"
        );
        assert!(reservations(&store.path().join("badbr")).is_empty(), "{plugin} {patch}: reservation left");
    }
    // A netns that is gone: code 3, before any address is reserved.
    let gone = cni_env("ADD", "ctrbad", "/var/run/netns/no-such-netns-cnictl", "eth0", path);
    for plugin in ["bridge", "ptp"] {
        let out = run_plugin(&plugins.plugin(plugin), &gone, &base(plugin).to_string());
        assert_eq!(out.json["code"], 3, "{plugin}: {}", out.stdout);
        assert!(reservations(&store.path().join("badbr")).is_empty());
    }
    assert_eq!(link_details(None, &bridge), serde_json::Value::Null);
}
