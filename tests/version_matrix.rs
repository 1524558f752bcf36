//! For every spec version, the results of our host-local, static and
//! loopback have the shape the spec gives for that version, and the same
//! shape as the reference plugins' results for the same input (values
//! such as addresses aside).

mod common;

use common::*;
use serde_json::{json, Value};

/// The structure of a JSON value: keys and nesting, not values. An empty
/// `dns` object is dropped: the reference v1.1.1 prints one in 1.x
/// results, current libcni omits it, and the spec allows both.
fn skeleton(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !(k.as_str() == "dns" && v.as_object().is_some_and(|m| m.is_empty())))
                .map(|(k, v)| (k.clone(), skeleton(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::String(_) => json!("s"),
        Value::Number(_) => json!(0),
        other => other.clone(),
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

fn reference_supports(version: &str) -> bool {
    have_reference() && version != "1.1.0"
}

/// Checks the spec's shape for `version` on a result with one IPv4 address,
/// a gateway and routes (and, with `dns`, DNS settings).
fn assert_spec_shape(version: &str, out: &Value, dns: bool) {
    assert_eq!(out["cniVersion"], version, "{out}");
    match version {
        "0.1.0" | "0.2.0" => {
            assert_eq!(keys(out), ["cniVersion", "dns", "ip4"], "{version}: {out}");
            assert_eq!(keys(&out["ip4"]), ["gateway", "ip", "routes"], "{version}: {out}");
        }
        "0.3.0" | "0.3.1" | "0.4.0" => {
            assert_eq!(keys(out), ["cniVersion", "dns", "ips", "routes"], "{version}: {out}");
            assert_eq!(keys(&out["ips"][0]), ["address", "gateway", "version"], "{version}: {out}");
            assert_eq!(out["ips"][0]["version"], "4");
        }
        _ => {
            let mut want = vec!["cniVersion", "ips", "routes"];
            if dns {
                want.insert(1, "dns");
            }
            assert_eq!(keys(out), want, "{version}: {out}");
            assert_eq!(keys(&out["ips"][0]), ["address", "gateway"], "{version}: {out}");
        }
    }
}

/// Runs the reference plugin on the same input and compares shapes.
fn assert_same_shape_as_reference(
    plugin: &str,
    env: &[(&str, &str)],
    conf: &str,
    ours: &Outcome,
    version: &str,
) {
    let theirs = run_plugin(&std::path::Path::new(REFERENCE_DIR).join(plugin), env, conf);
    assert_same_skeleton(plugin, version, ours, &theirs);
}

/// The reference's run succeeded and its result has the shape of ours.
fn assert_same_skeleton(plugin: &str, version: &str, ours: &Outcome, theirs: &Outcome) {
    assert_eq!(theirs.code, 0, "{plugin} {version}: {}", theirs.stdout);
    assert_eq!(
        skeleton(&ours.json),
        skeleton(&theirs.json),
        "{plugin} {version}: ours {} reference {}",
        ours.json,
        theirs.json
    );
}

#[test]
fn host_local_results_in_every_version() {
    let plugins = PluginDir::new();
    let data = tempfile::tempdir().unwrap();
    let path = plugins.path().to_str().unwrap().to_string();
    for (i, version) in cni::version::SUPPORTED.iter().enumerate() {
        let conf = |dir: &str| {
            json!({
                "cniVersion": version, "name": unique("vm"), "type": "host-local",
                "ipam": {"type": "host-local", "subnet": "10.201.0.0/24", "dataDir": dir,
                         "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.9.0.0/16", "gw": "10.201.0.1"}]}
            })
            .to_string()
        };
        let ours_dir = data.path().join(format!("ours{i}"));
        let id = format!("ctr{i}");
        let env = cni_env("ADD", &id, IPAM_ONLY_NETNS, "eth0", &path);
        let ours = run_plugin(&plugins.plugin("host-local"), &env, &conf(ours_dir.to_str().unwrap()));
        assert_eq!(ours.code, 0, "{version}: {}", ours.stdout);
        assert_spec_shape(version, &ours.json, false);
        if reference_supports(version) {
            let ref_dir = data.path().join(format!("ref{i}"));
            assert_same_shape_as_reference(
                "host-local",
                &env,
                &conf(ref_dir.to_str().unwrap()),
                &ours,
                version,
            );
        }
    }
}

#[test]
fn static_results_in_every_version() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    for version in cni::version::SUPPORTED {
        let conf = json!({
            "cniVersion": version, "name": "staticnet", "type": "static",
            "ipam": {"type": "static", "addresses": [{"address": "10.202.0.5/24", "gateway": "10.202.0.1"}],
                     "routes": [{"dst": "0.0.0.0/0"}], "dns": {"nameservers": ["10.202.0.53"], "search": ["example"]}}
        })
        .to_string();
        let env = cni_env("ADD", "ctr", IPAM_ONLY_NETNS, "eth0", &path);
        let ours = run_plugin(&plugins.plugin("static"), &env, &conf);
        assert_eq!(ours.code, 0, "{version}: {}", ours.stdout);
        assert_spec_shape(version, &ours.json, true);
        assert_eq!(ours.json["dns"]["nameservers"][0], "10.202.0.53");
        if reference_supports(version) {
            assert_same_shape_as_reference("static", &env, &conf, &ours, version);
        }
    }
}

#[test]
fn loopback_results_in_every_version() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let ns = TestNetns::new("vmlo");
    let netns = ns.path();
    for version in cni::version::SUPPORTED {
        let conf = json!({"cniVersion": version, "name": "lonet", "type": "loopback"}).to_string();
        let env = cni_env("ADD", "ctr", &netns, "eth0", &path);
        let ours = run_plugin(&plugins.plugin("loopback"), &env, &conf);
        assert_eq!(ours.code, 0, "{version}: {}", ours.stdout);
        let out = &ours.json;
        assert_eq!(out["cniVersion"], *version);
        match *version {
            "0.1.0" | "0.2.0" => {
                assert_eq!(out["ip4"]["ip"], "127.0.0.1/8", "{out}");
                assert!(out.get("interfaces").is_none());
            }
            "0.3.0" | "0.3.1" | "0.4.0" => {
                assert_eq!(out["interfaces"][0]["name"], "lo");
                assert_eq!(out["interfaces"][0]["sandbox"], netns.as_str());
                assert_eq!(out["ips"][0]["version"], "4");
                assert_eq!(out["ips"][0]["interface"], 0);
            }
            _ => {
                assert_eq!(out["interfaces"][0]["mac"], "00:00:00:00:00:00");
                assert!(out["ips"][0].get("version").is_none());
                assert!(out.get("dns").is_none());
            }
        }
        // The reference prints its 1.x shape whatever the version asked
        // for, so shapes are compared where the spec and it agree: 1.0.0.
        if *version == "1.0.0" && have_reference() {
            assert_same_shape_as_reference("loopback", &env, &conf, &ours, version);
        }
    }
    let up =
        std::process::Command::new("ip").args(["-n", &ns.name, "-j", "link", "show", "lo"]).output().unwrap();
    let links: Value = serde_json::from_slice(&up.stdout).unwrap();
    assert!(links[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"), "lo is not up: {links}");
    let env = cni_env("DEL", "ctr", &netns, "eth0", &path);
    let conf = json!({"cniVersion": "1.0.0", "name": "lonet", "type": "loopback"}).to_string();
    assert_eq!(run_plugin(&plugins.plugin("loopback"), &env, &conf).code, 0);
    let check =
        run_plugin(&plugins.plugin("loopback"), &cni_env("CHECK", "ctr", &netns, "eth0", &path), &conf);
    assert_eq!(check.code, 1, "CHECK must fail once lo is down: {}", check.stdout);
}

/// bridge and ptp: every version's result has the reference's shape for the
/// same kind of config (each side on its own bridge and subnet).
#[test]
fn bridge_and_ptp_results_in_every_version() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    for plugin in ["bridge", "ptp"] {
        for (i, version) in cni::version::SUPPORTED.iter().enumerate() {
            let store = tempfile::tempdir().unwrap();
            let conf = |side: usize| {
                let bridge = TestBridge::new();
                let conf = json!({
                    "cniVersion": version, "name": unique("vmn"), "type": plugin, "bridge": bridge.name,
                    "isGateway": true, "ipMasq": true, "ipMasqBackend": "iptables",
                    "ipam": {"type": "host-local", "subnet": format!("10.207.{}.0/24", i * 2 + side),
                             "dataDir": store.path(), "routes": [{"dst": "0.0.0.0/0"}]}
                });
                (bridge, conf.to_string())
            };
            let (_ours_bridge, ours_conf) = conf(0);
            let ns = TestNetns::new("vmb");
            let att = Attachment::new(&plugins.plugin(plugin), &ours_conf, &ns, &path);
            let ours = att.call(&plugins.plugin(plugin), &path, "ADD", &ours_conf);
            assert_eq!(ours.code, 0, "{plugin} {version}: {}", ours.stdout);
            assert_spec_shape_with_interfaces(version, &ours.json);
            if reference_supports(version) {
                let (_ref_bridge, ref_conf) = conf(1);
                let ref_ns = TestNetns::new("vmr");
                let reference = std::path::Path::new(REFERENCE_DIR).join(plugin);
                let theirs_att = Attachment::new(&plugins.plugin(plugin), &ref_conf, &ref_ns, &path);
                let theirs = theirs_att.call(&reference, REFERENCE_DIR, "ADD", &ref_conf);
                assert_same_skeleton(plugin, version, &ours, &theirs);
            }
        }
    }
}

/// As `assert_spec_shape`, for main plugins: 0.3.0 and later carry interfaces.
fn assert_spec_shape_with_interfaces(version: &str, out: &Value) {
    assert_eq!(out["cniVersion"], version, "{out}");
    match version {
        "0.1.0" | "0.2.0" => {
            assert_eq!(keys(&out["ip4"]), ["gateway", "ip", "routes"], "{version}: {out}");
            assert!(out.get("interfaces").is_none(), "{version}: {out}");
        }
        _ => {
            assert!(out["interfaces"].as_array().is_some_and(|i| !i.is_empty()), "{version}: {out}");
            assert!(out["ips"][0]["interface"].is_number(), "{version}: {out}");
            assert_eq!(out["ips"][0].get("version").is_some(), version.starts_with("0."), "{version}: {out}");
        }
    }
}
