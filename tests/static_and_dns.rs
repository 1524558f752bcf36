//! static IPAM's address sources and CHECK, and host-local's DNS from a
//! resolv.conf file.

mod common;

use common::*;
use serde_json::json;

fn static_conf(extra: serde_json::Value) -> String {
    let conf = json!({
        "cniVersion": "1.0.0", "name": "staticnet", "type": "static",
        "ipam": {"type": "static", "addresses": [{"address": "10.220.0.5/24", "gateway": "10.220.0.1"}],
                 "routes": [{"dst": "0.0.0.0/0", "gw": "10.220.0.1"}]}
    });
    with_keys(conf, &extra).to_string()
}

#[test]
fn static_takes_addresses_from_config_args_runtime_config_and_cni_args() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let plugin = plugins.plugin("static");
    let env = cni_env("ADD", "c", IPAM_ONLY_NETNS, "eth0", &path);

    let out = run_plugin(&plugin, &env, &static_conf(json!({})));
    assert_eq!(out.json["ips"][0]["address"], "10.220.0.5/24", "{}", out.stdout);
    assert_eq!(out.json["ips"][0]["gateway"], "10.220.0.1");
    assert_eq!(out.json["routes"][0]["gw"], "10.220.0.1");

    let out = run_plugin(
        &plugin,
        &env,
        &static_conf(json!({"runtimeConfig": {"ips": ["10.220.0.9/24", "fd00:220::9/64"]}})),
    );
    assert_eq!(
        out.json["ips"][0]["address"], "10.220.0.9/24",
        "runtimeConfig.ips replace the config: {}",
        out.stdout
    );
    assert_eq!(out.json["ips"][1]["address"], "fd00:220::9/64");

    let out = run_plugin(&plugin, &env, &static_conf(json!({"args": {"cni": {"ips": ["10.220.0.10/24"]}}})));
    assert_eq!(out.json["ips"].as_array().unwrap().len(), 1, "{}", out.stdout);
    assert_eq!(out.json["ips"][0]["address"], "10.220.0.10/24");

    let mut with_args = env.clone();
    with_args.push(("CNI_ARGS", "IP=10.221.0.7/24;GATEWAY=10.221.0.1"));
    let out = run_plugin(&plugin, &with_args, &static_conf(json!({})));
    assert_eq!(out.json["ips"][1]["address"], "10.221.0.7/24", "{}", out.stdout);
    assert_eq!(out.json["ips"][1]["gateway"], "10.221.0.1");

    let bad = run_plugin(&plugin, &env, &static_conf(json!({"runtimeConfig": {"ips": ["10.220.0.9"]}})));
    assert_eq!(bad.json["code"], 7, "an address without a prefix is refused: {}", bad.stdout);
}

#[test]
fn static_check_compares_with_the_previous_result() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let env = cni_env("CHECK", "c", IPAM_ONLY_NETNS, "eth0", &path);
    let good = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.220.0.5/24", "gateway": "10.220.0.1"}]});
    let out = run_plugin(&plugins.plugin("static"), &env, &static_conf(json!({"prevResult": good})));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let wrong_gw =
        json!({"cniVersion": "1.0.0", "ips": [{"address": "10.220.0.5/24", "gateway": "10.220.0.254"}]});
    let out = run_plugin(&plugins.plugin("static"), &env, &static_conf(json!({"prevResult": wrong_gw})));
    assert_eq!(out.code, 1, "{}", out.stdout);
    let out = run_plugin(&plugins.plugin("static"), &env, &static_conf(json!({})));
    assert_eq!(out.code, 1, "CHECK needs a prevResult: {}", out.stdout);
}

#[test]
fn host_local_reports_dns_from_resolv_conf() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "# comment\nnameserver 10.222.0.53\nnameserver 10.222.0.54\ndomain example.test\nsearch a.test b.test\noptions ndots:2 edns0\n").unwrap();
    let conf = json!({"cniVersion": "1.0.0", "name": unique("dns"), "type": "host-local",
        "ipam": {"type": "host-local", "subnet": "10.222.0.0/24", "dataDir": dir.path(), "resolvConf": resolv}});
    let out = run_plugin(
        &plugins.plugin("host-local"),
        &cni_env("ADD", "c", IPAM_ONLY_NETNS, "eth0", &path),
        &conf.to_string(),
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.json["dns"],
        json!({"nameservers": ["10.222.0.53", "10.222.0.54"], "domain": "example.test",
               "search": ["a.test", "b.test"], "options": ["ndots:2", "edns0"]})
    );
}
