//! cnictl drives a plugin chain end to end against a real network
//! namespace, keeps the libcni result cache, and cleans up after failures
//! and with GC.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

struct Network {
    _conf: tempfile::TempDir,
    conf_dir: std::path::PathBuf,
    cache: tempfile::TempDir,
    data: tempfile::TempDir,
    name: String,
    bytes: Vec<u8>,
}

fn network(version: &str, extra_plugins: Vec<Value>, subnet: &str) -> Network {
    let conf = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let name = unique("chain");
    let mut plugins = vec![
        json!({"type": "loopback"}),
        json!({"type": "host-local", "ipam": {"type": "host-local", "subnet": subnet, "dataDir": data.path()}}),
    ];
    plugins.extend(extra_plugins);
    let list = json!({"cniVersion": version, "name": name, "plugins": plugins});
    let bytes = serde_json::to_vec_pretty(&list).unwrap();
    std::fs::write(conf.path().join(format!("10-{name}.conflist")), &bytes).unwrap();
    Network {
        conf_dir: conf.path().to_path_buf(),
        _conf: conf,
        cache: tempfile::tempdir().unwrap(),
        data,
        name,
        bytes,
    }
}

impl Network {
    fn cnictl(&self, args: &[&str], plugins: &Path) -> (i32, String, String) {
        run_cnictl(args, &self.conf_dir, self.cache.path(), plugins)
    }

    fn store(&self) -> std::path::PathBuf {
        self.data.path().join(&self.name)
    }

    fn cache_files(&self) -> Vec<std::path::PathBuf> {
        cache_files(self.cache.path())
    }
}

#[test]
fn add_check_del_against_a_real_netns_with_a_libcni_cache() {
    let plugins = PluginDir::new();
    let net = network("1.0.0", vec![], "10.210.0.0/24");
    let ns = TestNetns::new("chain");

    let (code, stdout, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["cniVersion"], "1.0.0");
    assert_eq!(result["ips"][0]["address"], "10.210.0.2/24", "{stdout}");
    assert_eq!(reservations(&net.store()), ["10.210.0.2"]);

    // The cache entry: libcni's path, permissions and fields.
    let files = net.cache_files();
    assert_eq!(files.len(), 1);
    let netns_path = ns.path();
    let expected_id = {
        use sha2::Digest;
        let digest = sha2::Sha512::digest(netns_path.as_bytes());
        format!("cnitool-{}", digest[..10].iter().map(|b| format!("{b:02x}")).collect::<String>())
    };
    let file = net.cache.path().join("results").join(format!("{}-{expected_id}-eth0", net.name));
    assert_eq!(files[0], file);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&net.cache.path().join("results")), 0o700);
    let cached: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cached["kind"], "cniCacheV1");
    assert_eq!(cached["containerId"], expected_id.as_str());
    assert_eq!(cached["ifName"], "eth0");
    assert_eq!(cached["networkName"], net.name.as_str());
    assert_eq!(cached["netns"], netns_path.as_str());
    assert_eq!(cached["result"], result);
    let config =
        base64::engine::general_purpose::STANDARD.decode(cached["config"].as_str().unwrap()).unwrap();
    assert_eq!(config, net.bytes, "config holds the conflist bytes, base64 as Go encodes []byte");

    // lo is up inside the namespace.
    let link =
        std::process::Command::new("ip").args(["-n", &ns.name, "-j", "link", "show", "lo"]).output().unwrap();
    let link: Value = serde_json::from_slice(&link.stdout).unwrap();
    assert!(link[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"));

    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(reservations(&net.store()).is_empty());
    assert!(net.cache_files().is_empty(), "DEL removes the cache entry");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "a second DEL succeeds: {stderr}");
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], plugins.path());
    assert_ne!(code, 0, "CHECK without an attachment fails");
    assert!(stderr.contains("no cached result"), "{stderr}");
}

#[test]
fn a_failing_plugin_undoes_the_whole_add() {
    let plugins = PluginDir::new();
    // The third plugin's address does not parse: it fails after
    // host-local has reserved one.
    let failing =
        json!({"type": "static", "ipam": {"type": "static", "addresses": [{"address": "not-an-address"}]}});
    let net = network("1.0.0", vec![failing], "10.211.0.0/24");
    let ns = TestNetns::new("fail");
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("plugin type=\"static\" failed (add)"), "{stderr}");
    assert!(stderr.contains(&net.name), "the error names the network: {stderr}");
    assert!(reservations(&net.store()).is_empty(), "host-local's reservation was released");
    assert!(net.cache_files().is_empty(), "no cache entry for a failed ADD");
}

#[test]
fn gc_keeps_live_attachments_and_removes_those_whose_netns_is_gone() {
    let plugins = PluginDir::new();
    let net = network("1.1.0", vec![], "10.212.0.0/24");
    let live = TestNetns::new("live");
    let doomed = TestNetns::new("doomed");
    for ns in [&live, &doomed] {
        let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(reservations(&net.store()).len(), 2);
    drop(doomed);
    let (code, _, stderr) = net.cnictl(&["gc", &net.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reservations(&net.store()), ["10.212.0.2"], "the live attachment keeps its address");
    assert_eq!(net.cache_files().len(), 1);
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &live.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = net.cnictl(&["status", &net.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = net.cnictl(&["del", &net.name, &live.name], plugins.path());
    assert_eq!(code, 0);
}

#[test]
fn chains_run_with_the_reference_plugins_too() {
    require_reference();
    let ours = PluginDir::new();
    let net = network("1.0.0", vec![], "10.213.0.0/24");
    let ns = TestNetns::new("ref");
    // Added by the reference plugins, deleted by ours: nothing left.
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], Path::new(REFERENCE_DIR));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reservations(&net.store()).len(), 1);
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], ours.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], ours.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(reservations(&net.store()).is_empty());
    // And the reverse.
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], ours.path());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], Path::new(REFERENCE_DIR));
    assert_eq!(code, 0, "{stderr}");
    assert!(reservations(&net.store()).is_empty());
    assert!(net.cache_files().is_empty());
}

#[test]
fn operator_errors_name_the_file_and_key() {
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let broken = conf.path().join("10-broken.conflist");
    std::fs::write(&broken, "{\n  \"name\": \"broken\",\n  \"plugins\": [\n    {\"type\": 5}\n  ]\n}\n")
        .unwrap();
    let (code, _, stderr) =
        run_cnictl(&["add", "broken", "x"], conf.path(), cache.path(), Path::new("/nonexistent"));
    assert_eq!(code, 1);
    assert!(stderr.contains("10-broken.conflist:4:14: plugins[0].type: expected a string"), "{stderr}");
    std::fs::write(&broken, "{\n  \"name\": \"broken\",\n  \"plugins\": [\n").unwrap();
    let (_, _, stderr) =
        run_cnictl(&["add", "broken", "x"], conf.path(), cache.path(), Path::new("/nonexistent"));
    assert!(stderr.contains("10-broken.conflist:4:"), "line and column: {stderr}");
    std::fs::write(&broken, r#"{"name": "broken", "plugins": [{"type": "../evil"}]}"#).unwrap();
    let ns = TestNetns::new("evil");
    let (code, _, stderr) =
        run_cnictl(&["add", "broken", &ns.name], conf.path(), cache.path(), Path::new("/nonexistent"));
    assert_eq!(code, 1);
    assert!(stderr.contains("must be a plain name"), "{stderr}");
}

#[test]
fn capabilities_cni_args_and_plugin_dir_additions_reach_the_plugins() {
    let plugins = PluginDir::new();
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let name = unique("caps");
    // The conflist has no plugins of its own: they come from <dir>/<name>/.
    std::fs::write(
        conf.path().join("20-caps.conflist"),
        json!({"cniVersion": "1.0.0", "name": name}).to_string(),
    )
    .unwrap();
    std::fs::create_dir(conf.path().join(&name)).unwrap();
    let ipam = json!({"type": "host-local", "subnet": "10.214.0.0/24", "dataDir": data.path()});
    std::fs::write(
        conf.path().join(&name).join("10-ipam.conf"),
        json!({"type": "host-local", "capabilities": {"ips": true}, "ipam": ipam}).to_string(),
    )
    .unwrap();
    let ns = TestNetns::new("caps");
    let cnictl_with = |args: &[&str], extra: &[(&str, &str)]| {
        run_cnictl_with(args, conf.path(), cache.path(), plugins.path(), extra)
    };
    let (code, stdout, stderr) = cnictl_with(
        &["add", &name, &ns.name, "--ifname", "net1"],
        &[("CAP_ARGS", r#"{"ips": ["10.214.0.50/24"]}"#)],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("10.214.0.50/24"), "runtimeConfig.ips reached host-local: {stdout}");
    let (code, stdout, stderr) = cnictl_with(
        &["add", &name, &ns.name, "--ifname", "net2", "--args", "IgnoreUnknown=1;IP=10.214.0.60"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("10.214.0.60/24"), "CNI_ARGS reached host-local: {stdout}");
    let (code, _, stderr) = cnictl_with(&["add", &name, &ns.name, "--args", "broken"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid CNI_ARGS pair"), "{stderr}");
    for ifname in ["net1", "net2"] {
        let (code, _, stderr) = cnictl_with(&["del", &name, &ns.name, "--ifname", ifname], &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    assert!(reservations(&data.path().join(&name)).is_empty());
}

/// Deletes a cnictl attachment on drop, so a failing test leaves no rules.
struct CnictlAttachment<'a> {
    conf: &'a Path,
    cache: &'a Path,
    plugins: &'a Path,
    network: String,
    netns: String,
}

impl Drop for CnictlAttachment<'_> {
    fn drop(&mut self) {
        let _ = run_cnictl(&["del", &self.network, &self.netns], self.conf, self.cache, self.plugins);
    }
}

#[test]
fn go_cased_capability_args_reach_ipam_portmap_and_bandwidth_as_containerd_sends_them() {
    // CAP_ARGS as containerd's go-cni fills runtimeConfig: Go field names.
    let plugins = PluginDir::new();
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let name = unique("gocase");
    let list = json!({"cniVersion": "1.0.0", "name": name, "plugins": [
        {"type": "bridge", "bridge": bridge.name, "isGateway": true, "capabilities": {"ipRanges": true},
         "ipam": {"type": "host-local", "dataDir": data.path()}},
        {"type": "portmap", "backend": "nftables", "capabilities": {"portMappings": true}},
        {"type": "bandwidth", "capabilities": {"bandwidth": true}},
    ]});
    std::fs::write(conf.path().join("10-gocase.conflist"), list.to_string()).unwrap();
    let ns = TestNetns::new("gocase");
    let attachment = CnictlAttachment {
        conf: conf.path(),
        cache: cache.path(),
        plugins: plugins.path(),
        network: name.clone(),
        netns: ns.name.clone(),
    };
    let cap_args = json!({
        "ipRanges": [[{"Subnet": "10.215.0.0/24", "RangeStart": "10.215.0.77", "RangeEnd": "10.215.0.78",
                       "Gateway": "10.215.0.1"}]],
        "portMappings": [{"HostPort": 20150, "ContainerPort": 8080, "Protocol": "tcp", "HostIP": ""}],
        "bandwidth": {"IngressRate": 10_000_000, "IngressBurst": 4_294_967_295u64,
                      "EgressRate": 10_000_000, "EgressBurst": 4_294_967_295u64},
    })
    .to_string();
    let (code, stdout, stderr) = run_cnictl_with(
        &["add", &name, &ns.name, "-o", "json"],
        conf.path(),
        cache.path(),
        plugins.path(),
        &[("CAP_ARGS", &cap_args)],
    );
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap_or_default();
    let address = result["ips"][0]["address"].as_str().unwrap_or_default();
    assert!(
        ["10.215.0.77/24", "10.215.0.78/24"].contains(&address),
        "ipRanges' RangeStart/RangeEnd: {stdout}"
    );
    let rules = Command::new("nft").args(["list", "table", "ip", "cni_hostport"]).output().unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(rules.contains("tcp dport 20150 dnat to"), "the HostPort mapping: {rules}");
    let host_veth = result["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"].as_str().is_some_and(|n| n.starts_with("veth")))
        .and_then(|i| i["name"].as_str())
        .unwrap_or_default()
        .to_string();
    let qdiscs = Command::new("tc").args(["qdisc", "show", "dev", &host_veth]).output().unwrap();
    let qdiscs = String::from_utf8_lossy(&qdiscs.stdout);
    assert!(qdiscs.contains("qdisc tbf 1: root") && qdiscs.contains("rate 10Mbit"), "IngressRate: {qdiscs}");

    drop(attachment);
    let rules = Command::new("nft").args(["list", "table", "ip", "cni_hostport"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&rules.stdout).contains("dport 20150"), "DEL removed the mapping");
    assert!(reservations(&data.path().join(&name)).is_empty(), "DEL freed the address");
}

#[test]
fn a_second_add_of_a_live_attachment_is_refused_and_the_first_stays_intact() {
    let plugins = PluginDir::new();
    let bridge = TestBridge::new();
    let net = network("1.0.0", vec![], "10.216.0.0/24");
    // A bridge network instead of the loopback + host-local one.
    let conflist = json!({"cniVersion": "1.0.0", "name": net.name, "plugins": [
        {"type": "bridge", "bridge": bridge.name, "isGateway": true,
         "ipam": {"type": "host-local", "subnet": "10.216.0.0/24", "dataDir": net.data.path()}}]});
    std::fs::write(net.conf_dir.join(format!("10-{}.conflist", net.name)), conflist.to_string()).unwrap();
    let ns = TestNetns::new("live");
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let before = (link_addresses(Some(&ns.name), "eth0"), reservations(&net.store()), net.cache_files());
    assert_eq!(before.0.len(), 1, "{before:?}");

    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 1, "a second ADD is refused");
    assert!(stderr.contains("already attached") && stderr.contains("cnictl del"), "{stderr}");
    let after = (link_addresses(Some(&ns.name), "eth0"), reservations(&net.store()), net.cache_files());
    assert_eq!(after, before, "the first attachment's interface, address, reservation and cache entry stay");
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "the first attachment still checks: {stderr}");

    // An interface of that name made by someone else: refused, nothing made.
    let other = TestNetns::new("live");
    other.exec(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer"]);
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &other.name], plugins.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("already has an interface eth0"), "{stderr}");
    assert!(
        other.output(&["ip", "link", "show", "eth0"]).contains("eth0@eth0peer"),
        "the foreign eth0 stays"
    );
    assert_eq!(reservations(&net.store()), before.1, "no reservation for the refused ADD");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn check_del_and_gc_use_the_cached_config_once_the_network_file_is_gone() {
    let plugins = PluginDir::new();
    let net = network("1.0.0", vec![], "10.216.1.0/24");
    let (ns, gone) = (TestNetns::new("nofile"), TestNetns::new("nofile"));
    for ns in [&ns, &gone] {
        let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
        assert_eq!(code, 0, "{stderr}");
    }
    std::fs::remove_file(net.conf_dir.join(format!("10-{}.conflist", net.name))).unwrap();
    let (code, _, stderr) = net.cnictl(&["check", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("using the config cached with the attachment"), "says so: {stderr}");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reservations(&net.store()).len(), 1, "DEL freed its address, not the other's");
    drop(gone);
    let (code, _, stderr) = net.cnictl(&["gc", &net.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(reservations(&net.store()).is_empty(), "GC freed the vanished netns's address");
    assert!(net.cache_files().is_empty(), "no cache entries left");
}

#[test]
fn gc_without_a_network_collects_every_network() {
    let plugins = PluginDir::new();
    let first = network("1.1.0", vec![], "10.216.2.0/24");
    let second = network("1.1.0", vec![], "10.216.3.0/24");
    // Both networks in the first's config dir, sharing its cache.
    std::fs::write(first.conf_dir.join(format!("20-{}.conflist", second.name)), &second.bytes).unwrap();
    let mut kept = Vec::new();
    for net in [&first, &second] {
        let (live, gone) = (TestNetns::new("gcall"), TestNetns::new("gcall"));
        for ns in [&live, &gone] {
            let (code, _, stderr) = first.cnictl(&["add", &net.name, &ns.name], plugins.path());
            assert_eq!(code, 0, "{stderr}");
        }
        drop(gone);
        kept.push(live);
    }
    let (code, _, stderr) = first.cnictl(&["gc"], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    for net in [&first, &second] {
        assert_eq!(
            reservations(&net.store()).len(),
            1,
            "{}: the vanished netns's address freed, the live one kept",
            net.name
        );
    }
    assert_eq!(first.cache_files().len(), 2, "the two live attachments stay cached");
    for (net, ns) in [&first, &second].into_iter().zip(&kept) {
        let (code, _, stderr) = first.cnictl(&["del", &net.name, &ns.name], plugins.path());
        assert_eq!(code, 0, "{stderr}");
    }
}

#[test]
fn status_succeeds_on_a_full_range_warns_and_shows_the_fill() {
    let plugins = PluginDir::new();
    // A /30 leaves one address to hand out (.1 is the gateway).
    let net = network("1.1.0", vec![], "10.219.0.0/30");
    let (code, stdout, stderr) = net.cnictl(&["status", &net.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    let row =
        |out: &str| out.lines().find(|l| l.contains("10.219.0.1-10.219.0.2")).unwrap_or_default().to_string();
    let empty = row(&stdout);
    assert!(empty.split_whitespace().eq(["host-local", "10.219.0.1-10.219.0.2", "0", "1", "0%"]), "{stdout}");
    let ns = TestNetns::new("full");
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    // Full: STATUS still succeeds (a runtime polling it keeps the node
    // Ready), host-local warns, and the table says so.
    let (code, stdout, stderr) = net.cnictl(&["status", &net.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("host-local: warning: network")
            && stderr.contains("range set 10.219.0.1-10.219.0.2 is full"),
        "{stderr}"
    );
    assert!(
        row(&stdout).split_whitespace().eq(["host-local", "10.219.0.1-10.219.0.2", "1", "0", "full"]),
        "{stdout}"
    );
    let other = TestNetns::new("full");
    let (code, _, stderr) = net.cnictl(&["add", &net.name, &other.name], plugins.path());
    assert_eq!(code, 1, "ADD fails on a full range: {stderr}");
    let (code, _, stderr) = net.cnictl(&["del", &net.name, &ns.name], plugins.path());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_plugins_stderr_reaches_cnictls_on_add_check_and_del() {
    let plugins = PluginDir::new();
    let talker = plugins.path().join("talker");
    std::fs::write(
        &talker,
        "#!/bin/sh\necho \"said on $CNI_COMMAND\" >&2\ncat >/dev/null\n\
         if [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"cniVersion\": \"1.0.0\"}'; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(&talker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let net = network("1.0.0", vec![json!({"type": "talker"})], "10.219.1.0/24");
    let ns = TestNetns::new("talk");
    for verb in ["add", "check", "del"] {
        let (code, _, stderr) = net.cnictl(&[verb, &net.name, &ns.name], plugins.path());
        assert_eq!(code, 0, "{verb}: {stderr}");
        let line = format!("talker: said on {}", verb.to_uppercase());
        assert!(stderr.lines().any(|l| l == line), "{verb}: {line:?} in {stderr:?}");
    }
}
