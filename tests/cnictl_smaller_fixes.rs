//! cnictl's smaller defects, each shown fixed: empty environment variables
//! count as unset; usage lines show only what the command line gave;
//! hidden compatibility arguments stay out of synopses; `add -o table`;
//! capability arguments no plugin declares are warned about; `netns exec`
//! and `netns list` tell files that are not namespaces; doctor asks for
//! IPv6 forwarding only where a network has IPv6. Subnets 10.225.N.0/24
//! belong to this file (inside namespaces the tests make: cnictl runs in a
//! "host" namespace of the test's own, its bridge network attaches another).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A config dir with one bridge network (static address 10.225.N.5/24,
/// gateway .1), a "host" namespace of the test's own that cnictl runs in
/// (so the bridge and the veth's host end live there), and a container
/// namespace; `extra` keys go on the bridge plugin.
struct LabNet {
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    plugins: PluginDir,
    host: TestNetns,
    container: TestNetns,
    name: String,
}

impl LabNet {
    fn new(n: u8, extra: Value) -> LabNet {
        let net = LabNet {
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            plugins: PluginDir::new(),
            host: TestNetns::new("cnsmallh"),
            container: TestNetns::new("cnsmallc"),
            name: unique("smallnet"),
        };
        let mut bridge = json!({"type": "bridge", "bridge": "smallbr0", "isGateway": true,
            "ipam": {"type": "static",
                     "addresses": [{"address": format!("10.225.{n}.5/24"), "gateway": format!("10.225.{n}.1")}]}});
        for (k, v) in extra.as_object().into_iter().flatten() {
            bridge[k] = v.clone();
        }
        let conflist = json!({"cniVersion": "1.0.0", "name": net.name, "plugins": [bridge]});
        std::fs::write(net.conf.path().join("10-small.conflist"), conflist.to_string()).unwrap();
        net
    }

    /// cnictl in the lab's host namespace, with `env` over the lab's own.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let command = in_netns(&self.host.name, cnictl());
        run_cnictl_as(command, args, self.conf.path(), self.cache.path(), self.plugins.path(), env)
    }
}

#[test]
fn empty_environment_variables_count_as_unset() {
    require_root();
    let net = LabNet::new(1, json!({}));
    let ns = &net.container;
    // Read-only views with every variable empty: the defaults, no usage error.
    for args in [&["list", "-o", "json"][..], &["attachments", "-o", "json"], &["plugins", "-o", "json"]] {
        let out = Command::new(cnictl())
            .args(args)
            .env("NETCONFPATH", "")
            .env("CNI_CACHE_DIR", "")
            .env("CNI_PATH", "")
            .env("CNI_IFNAME", "")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(serde_json::from_slice::<Value>(&out.stdout).is_ok(), "{args:?}: {stderr}");
    }
    // An ADD with CNI_IFNAME and CNI_PATH empty: eth0, and the plugins
    // next to cnictl (its default path).
    let (code, stdout, stderr) =
        net.run(&["add", &net.name, &ns.name], &[("CNI_IFNAME", ""), ("CNI_PATH", "")]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert_eq!(link_addresses(Some(&ns.name), "eth0"), ["10.225.1.5/24"]);
    let (code, _, stderr) = net.run(&["del", &net.name, &ns.name], &[("CNI_IFNAME", ""), ("CNI_PATH", "")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(link_details(Some(&ns.name), "eth0"), Value::Null);
}

#[test]
fn usage_errors_show_only_what_the_command_line_gave() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("NETCONFPATH", dir.path().to_str().unwrap()),
        ("CNI_CACHE_DIR", dir.path().to_str().unwrap()),
        ("CNI_PATH", "/nonexistent"),
        ("CNI_IFNAME", "eth1"),
        ("CNI_ARGS", "A=b"),
        ("CAP_ARGS", "{}"),
    ];
    for (args, usage) in [
        (&["add"][..], "Usage: cnictl add <NETWORK> <NETNS>"),
        (&["check", "mynet"], "Usage: cnictl check <NETWORK> <NETNS>"),
        (&["status"], "Usage: cnictl status <NETWORK>"),
        (&["run", "mynet"], "Usage: cnictl run <NETWORK> -- <COMMAND>..."),
    ] {
        let out = Command::new(cnictl()).args(args).envs(env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.lines().any(|l| l.starts_with(usage)), "{args:?}: {stderr}");
        for option in ["--conf-dir", "--cache-dir", "--cni-path", "--ifname", "--args", "--cap-args"] {
            assert!(!stderr.contains(option), "{args:?}: {option} in {stderr}");
        }
    }
    // Given on the command line, an option is still in the usage line.
    let out = Command::new(cnictl()).args(["add", "--ifname", "eth2"]).envs(env).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: cnictl add --ifname <IFNAME>"));
}

/// The SYNOPSIS line of a committed man page.
fn synopsis(page: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(format!("{page}.1"));
    let text = std::fs::read_to_string(path).unwrap();
    text.split(".SH SYNOPSIS\n").nth(1).and_then(|s| s.lines().next()).unwrap().to_string()
}

#[test]
fn gc_and_status_take_a_netns_for_cnitool_but_do_not_show_it() {
    for page in ["cnictl-gc", "cnictl-status"] {
        let line = synopsis(page);
        assert!(!line.contains("NETNS"), "{page}: {line}");
        assert!(line.contains("NETWORK"), "{page}: {line}");
    }
    let dir = tempfile::tempdir().unwrap();
    for verb in ["gc", "status"] {
        let help = Command::new(cnictl()).args([verb, "--help"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&help.stdout).contains("NETNS"), "{verb}");
        // `cnitool status NET NETNS` still parses: the error is the network's.
        let out = Command::new(cnictl())
            .args([verb, "--conf-dir", dir.path().to_str().unwrap(), "nosuchnet", "/var/run/netns/x"])
            .env("CNI_CACHE_DIR", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {stderr}");
        assert!(stderr.contains("nosuchnet"), "{verb}: {stderr}");
    }
}

#[test]
fn run_help_and_man_page_say_what_the_default_network_is() {
    let help = Command::new(cnictl()).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/cnictl-run.1"))
        .unwrap()
        .replace("\\-", "-");
    let shown: Value = serde_json::from_slice(
        &Command::new(cnictl())
            .args(["default-network", "show"])
            .env("NETCONFPATH", "/nonexistent")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bridge = shown["plugins"][0]["bridge"].as_str().unwrap();
    let subnet = shown["plugins"][0]["ipam"]["subnet"].as_str().unwrap();
    for (what, text) in [("run --help", &help), ("cnictl-run(1)", &page)] {
        assert!(text.contains(bridge) && text.contains(subnet), "{what}: {text}");
        assert!(text.contains("whatever other networks"), "{what}: {text}");
        assert!(!text.contains("holds no networks"), "{what}: {text}");
    }
}

#[test]
fn add_prints_a_table_when_asked_and_json_otherwise() {
    require_root();
    let net = LabNet::new(2, json!({}));
    let ns = &net.container;
    let (code, stdout, stderr) =
        net.run(&["add", &net.name, &ns.name, "-o", "table", "--ifname", "eth0"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].split_whitespace().eq(["INTERFACE", "NETNS", "MAC", "ADDRESS", "GATEWAY"]), "{stdout}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[3], row[4]),
        ("eth0", ns.name.as_str(), "10.225.2.5/24", "10.225.2.1"),
        "{stdout}"
    );
    // Without -o, and with -o json before the verb: the CNI result.
    let (code, stdout, stderr) = net.run(&["add", &net.name, &ns.name, "--ifname", "eth1"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["ips"][0]["address"], "10.225.2.5/24");
    let (code, stdout, stderr) =
        net.run(&["-o", "json", "add", &net.name, &ns.name, "--ifname", "eth2"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(serde_json::from_str::<Value>(&stdout).is_ok(), "{stdout}");
    for ifname in ["eth0", "eth1", "eth2"] {
        assert_eq!(net.run(&["del", &net.name, &ns.name, "--ifname", ifname], &[]).0, 0);
    }
}

#[test]
fn add_warns_of_capability_arguments_no_plugin_declares() {
    require_root();
    // bridge ignores runtimeConfig.portMappings: no rules, whatever is passed.
    let net = LabNet::new(3, json!({"capabilities": {"portMappings": true}}));
    let ns = &net.container;
    let typo = r#"{"portMapping": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]}"#;
    let (code, stdout, stderr) = net.run(&["add", &net.name, &ns.name], &[("CAP_ARGS", typo)]);
    assert_eq!(code, 0, "the ADD still happens: {stderr}");
    assert!(serde_json::from_str::<Value>(&stdout).is_ok(), "stdout is still the result: {stdout}");
    let warning =
        stderr.lines().find(|l| l.starts_with("cnictl: warning: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(warning.contains("\"portMapping\""), "names the key: {warning}");
    assert!(warning.contains("declares portMappings"), "names what the chain declares: {warning}");
    assert!(warning.contains("did you mean \"portMappings\""), "{warning}");
    assert_eq!(net.run(&["del", &net.name, &ns.name], &[]).0, 0);
    // Spelt as declared: not a word.
    let right = typo.replace("portMapping\"", "portMappings\"");
    let (code, _, stderr) = net.run(&["add", &net.name, &ns.name], &[("CAP_ARGS", right.as_str())]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(net.run(&["del", &net.name, &ns.name], &[]).0, 0);
}

/// A plain file where a namespace is expected, removed on drop.
struct NotANamespace {
    path: PathBuf,
}

impl Drop for NotANamespace {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn netns_exec_and_list_tell_files_that_are_not_namespaces() {
    require_root();
    let real = TestNetns::new("cnsmall");
    let fake = NotANamespace { path: Path::new("/var/run/netns").join(unique("cnsfake")) };
    std::fs::write(&fake.path, "").unwrap();
    let name = fake.path.file_name().unwrap().to_str().unwrap().to_string();
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let out = Command::new(cnictl())
        .args(["netns", "exec", &name, "touch", ran.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a network namespace") && stderr.contains(&name), "{stderr}");
    assert!(
        !stderr.contains("cannot execute") && !stderr.contains("touch"),
        "the command is not blamed: {stderr}"
    );
    assert!(!ran.exists());
    // Another kind of namespace is not a network namespace either.
    let out = Command::new(cnictl()).args(["netns", "exec", "/proc/self/ns/uts", "true"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a network namespace"));

    let listed = Command::new(cnictl()).args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.lines().any(|l| l == real.name), "{listed}");
    assert!(!listed.lines().any(|l| l == name), "{listed}");
    let json: Value = serde_json::from_slice(
        &Command::new(cnictl()).args(["netns", "list", "-o", "json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert!(!json.as_array().unwrap().iter().any(|n| n["name"] == name.as_str()), "{json}");
}

/// doctor's IPv6 forwarding findings, run in `ns` (sysctls are per netns)
/// for a config dir holding `networks`.
fn ipv6_forwarding_findings(ns: &TestNetns, networks: &[Value]) -> Vec<Value> {
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for (i, net) in networks.iter().enumerate() {
        std::fs::write(conf.path().join(format!("{i}0-net.conflist")), net.to_string()).unwrap();
    }
    let out = in_netns(&ns.name, cnictl())
        .args(["doctor", "-o", "json"])
        .env("NETCONFPATH", conf.path())
        .env("CNI_CACHE_DIR", cache.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "ip forwarding" && f["detail"].as_str().unwrap().contains("IPv6"))
        .cloned()
        .collect()
}

#[test]
fn doctor_asks_for_ipv6_forwarding_only_where_a_network_has_ipv6() {
    require_root();
    let ns = TestNetns::new("cnsmall");
    // A new namespace starts with IPv6 forwarding off.
    assert_eq!(ns.output(&["cat", "/proc/sys/net/ipv6/conf/all/forwarding"]).trim(), "0");
    let v4 = json!({"cniVersion": "1.0.0", "name": "smallv4", "plugins": [{"type": "ptp",
        "ipam": {"type": "host-local", "subnet": "10.225.4.0/24", "dataDir": "/nonexistent"}}]});
    let v6 = json!({"cniVersion": "1.0.0", "name": "smallv6", "plugins": [{"type": "ptp",
        "ipam": {"type": "static", "addresses": [{"address": "fd00:225:4::5/64"}]}}]});
    for networks in [vec![], vec![v4.clone()]] {
        let found = ipv6_forwarding_findings(&ns, &networks);
        assert!(found.iter().all(|f| f["status"] != "warn"), "{networks:?}: {found:?}");
    }
    let found = ipv6_forwarding_findings(&ns, &[v4, v6]);
    let warned = found.iter().find(|f| f["status"] == "warn").unwrap_or_else(|| panic!("{found:?}"));
    assert!(warned["detail"].as_str().unwrap().contains("smallv6"), "{warned}");
    assert!(!warned["detail"].as_str().unwrap().contains("smallv4"), "{warned}");
    assert_eq!(warned["fix"], "sysctl -w net.ipv6.conf.all.forwarding=1");
}
