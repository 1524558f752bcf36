//! Shared harness for the integration tests: built binaries, plugin
//! directories of links to the multicall binary, uniquely named network
//! namespaces removed on drop, and running plugins through the real exec
//! protocol. Tests need root.

#![allow(dead_code)]

pub mod dhcp;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Where cargo put the binaries (target/<profile>).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// A binary of the workspace build, by name; fails clearly when missing.
pub fn built(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// The multicall plugin binary.
pub fn multicall() -> PathBuf {
    built("cni-plugins")
}

/// The static release plugin binary (scripts/build-static; scripts/test
/// builds it before the tests).
pub fn static_binary() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-gnu/release/cni-plugins");
    assert!(path.exists(), "{} is missing: build it with scripts/build-static", path.display());
    path
}

/// The cnictl binary.
pub fn cnictl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cnictl"))
}

/// The reference plugins from Debian's containernetworking-plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// A unique short token for names of this test process.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}{}x{}", std::process::id() % 100_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// Fails early, and clearly, when not root.
pub fn require_root() {
    assert!(nix::unistd::Uid::effective().is_root(), "integration tests need root (network namespaces)");
}

/// A directory of links named after our plugin types, as an installation has.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
}

impl PluginDir {
    pub fn new() -> PluginDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in cni::BUILTIN_PLUGIN_TYPES {
            std::os::unix::fs::symlink(multicall(), dir.path().join(name)).expect("link plugin");
        }
        PluginDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn plugin(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A network namespace made for one test, deleted on drop.
pub struct TestNetns {
    pub name: String,
}

impl TestNetns {
    pub fn new(prefix: &str) -> TestNetns {
        require_root();
        let name = unique(prefix);
        let status = Command::new("ip").args(["netns", "add", &name]).status().expect("run ip netns add");
        assert!(status.success(), "ip netns add {name} failed");
        TestNetns { name }
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Runs a command inside this namespace; panics when it fails.
    pub fn exec(&self, args: &[&str]) {
        let status = in_netns(&self.name, args[0]).args(&args[1..]).status().expect("nsenter");
        assert!(status.success(), "{args:?} in {}", self.name);
    }

    /// A command's standard output, run inside this namespace.
    pub fn output(&self, args: &[&str]) -> String {
        let out = in_netns(&self.name, args[0]).args(&args[1..]).output().expect("nsenter");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs `f` on a thread that has entered this namespace (sockets it
    /// opens live there).
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let file = std::fs::File::open(self.path()).expect("open netns");
        std::thread::spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter netns");
            f()
        })
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

/// The outcome of one plugin run.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    /// What the plugin (or the command that ran it) said on stderr.
    pub stderr: String,
    pub json: Value,
}

/// Runs a plugin binary with the given CNI_* variables and stdin, with
/// nothing else from the test's CNI environment leaking in.
pub fn run_plugin(plugin: &Path, env: &[(&str, &str)], stdin: &str) -> Outcome {
    run_command(Command::new(plugin), env, stdin)
}

/// `run_plugin` with the plugin running in the test netns `host` (as its
/// host side), so the bridge, rules and traffic stay inside namespaces the
/// test made.
pub fn run_plugin_in(host: &TestNetns, plugin: &Path, env: &[(&str, &str)], stdin: &str) -> Outcome {
    run_command(in_netns(&host.name, plugin), env, stdin)
}

/// A command that runs `program` in the named netns. nsenter, not `ip
/// netns exec`: it needs no mount namespace of its own, so it also works in
/// the VM tier's initramfs (busybox has it too).
pub fn in_netns(name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/var/run/netns/{name}")).arg(full_path(program.as_ref()));
    cmd
}

/// A program's path as PATH finds it: busybox's nsenter would run its own
/// applet of the same name (its `ip`) before the PATH's.
fn full_path(program: &std::ffi::OsStr) -> PathBuf {
    let program = Path::new(program);
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

/// Runs `cmd` (a plugin, or a command that runs one) with the CNI_* variables
/// `env` and `stdin`, none of the test's own CNI environment leaking in.
pub fn run_command(mut cmd: Command, env: &[(&str, &str)], stdin: &str) -> Outcome {
    use std::io::Write;
    for var in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn plugin");
    let mut pipe = child.stdin.take().expect("stdin");
    let data = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait plugin");
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    Outcome { code: out.status.code().unwrap_or(-1), stdout, stderr, json }
}

/// The standard environment for one attachment.
pub fn cni_env<'a>(
    command: &'a str,
    id: &'a str,
    netns: &'a str,
    ifname: &'a str,
    path: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", id),
        ("CNI_NETNS", netns),
        ("CNI_IFNAME", ifname),
        ("CNI_PATH", path),
    ]
}

/// The reservation files (named by address) in a host-local store.
pub fn reservations(store: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(store)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// True when the reference plugins are installed.
pub fn have_reference() -> bool {
    Path::new(REFERENCE_DIR).join("host-local").exists()
}

/// Fails clearly when the reference plugins are missing (scripts/test installs them).
pub fn require_reference() {
    assert!(
        have_reference(),
        "the reference plugins are not installed in {REFERENCE_DIR}: install containernetworking-plugins"
    );
}

/// Runs cnictl with a config dir, cache dir and plugin path.
pub fn run_cnictl(
    args: &[&str],
    conf_dir: &Path,
    cache_dir: &Path,
    cni_path: &Path,
) -> (i32, String, String) {
    run_cnictl_with(args, conf_dir, cache_dir, cni_path, &[])
}

/// Runs cnictl as `run_cnictl` does, with extra environment variables.
pub fn run_cnictl_with(
    args: &[&str],
    conf_dir: &Path,
    cache_dir: &Path,
    cni_path: &Path,
    extra_env: &[(&str, &str)],
) -> (i32, String, String) {
    let out = Command::new(cnictl())
        .args(args)
        .env("NETCONFPATH", conf_dir)
        .env("CNI_CACHE_DIR", cache_dir)
        .env("CNI_PATH", cni_path)
        .env("NO_COLOR", "1")
        .env_remove("CNI_ARGS")
        .env_remove("CAP_ARGS")
        .env_remove("CNI_IFNAME")
        .envs(extra_env.iter().copied())
        .output()
        .expect("run cnictl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `cnictl doctor -o json`'s finding `check` for a host whose only netconf
/// is the conflist `list`, with extra environment variables.
pub fn doctor_finding(check: &str, list: &Value, plugins: &PluginDir, env: &[(&str, &str)]) -> Value {
    let netconfs = tempfile::tempdir().expect("conf dir");
    let cache = tempfile::tempdir().expect("cache dir");
    std::fs::write(netconfs.path().join("10-test.conflist"), list.to_string()).expect("conflist");
    let (_, stdout, _) =
        run_cnictl_with(&["doctor", "-o", "json"], netconfs.path(), cache.path(), plugins.path(), env);
    let findings: Value = serde_json::from_str(&stdout).expect("doctor JSON");
    let found = findings.as_array().and_then(|f| f.iter().find(|f| f["check"] == check)).cloned();
    found.unwrap_or_else(|| panic!("no {check:?} finding: {findings}"))
}

/// A bridge (and its `<name>.<vlan>` gateway links) removed on drop.
pub struct TestBridge {
    pub name: String,
}

impl TestBridge {
    pub fn new() -> TestBridge {
        TestBridge { name: unique("tb") }
    }
}

impl Drop for TestBridge {
    fn drop(&mut self) {
        let links = ip_json(None, &["link", "show"]);
        for link in links.as_array().cloned().unwrap_or_default() {
            let name = link["ifname"].as_str().unwrap_or_default().to_string();
            if name.starts_with(&format!("{}.", self.name)) {
                let _ = Command::new("ip").args(["link", "del", &name]).stderr(Stdio::null()).status();
            }
        }
        let _ = Command::new("ip").args(["link", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

/// `ip -j [-n NETNS] ARGS...` parsed; `Null` when the command fails.
pub fn ip_json(netns: Option<&str>, args: &[&str]) -> Value {
    let mut cmd = Command::new("ip");
    cmd.arg("-j");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(args).stderr(Stdio::null()).output().expect("run ip");
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// One link's details (`ip -j -d link show NAME`), `Null` when missing.
pub fn link_details(netns: Option<&str>, name: &str) -> Value {
    ip_json(netns, &["-d", "link", "show", name]).get(0).cloned().unwrap_or(Value::Null)
}

/// The global addresses (`a.b.c.d/len`) on a link.
pub fn link_addresses(netns: Option<&str>, name: &str) -> Vec<String> {
    let info = ip_json(netns, &["addr", "show", name]);
    info.get(0)
        .and_then(|l| l["addr_info"].as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or_default(), a["prefixlen"]))
        .collect()
}

/// Host links enslaved to `bridge`.
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    let links = ip_json(None, &["link", "show", "master", bridge]);
    links
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Pings `address` once from inside `netns` (the host when `None`),
/// retrying for a few seconds while IPv6 duplicate address detection runs.
pub fn ping(netns: Option<&str>, address: &str) -> bool {
    ping_with(netns, &[], address)
}

/// `ping` with extra options (`-I SOURCE`, `-I VRF`), retried the same way.
pub fn ping_with(netns: Option<&str>, options: &[&str], address: &str) -> bool {
    for _ in 0..30 {
        let mut cmd = match netns {
            Some(ns) => in_netns(ns, "ping"),
            None => Command::new("ping"),
        };
        let status = cmd
            .args(["-c1", "-W1"])
            .args(options)
            .arg(address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run ping");
        if status.success() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// nftables masquerade rules whose comment names `container_id`.
pub fn nft_masq_rules(container_id: &str) -> usize {
    let out = Command::new("nft")
        .args(["-j", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"])
        .stderr(Stdio::null())
        .output()
        .expect("run nft");
    masq_rules_in(&String::from_utf8_lossy(&out.stdout), container_id)
}

/// The masquerade rules of container `container_id` in an
/// `nft -j list chain inet cni_plugins_masquerade masq_checks` listing.
pub fn masq_rules_in(listing: &str, container_id: &str) -> usize {
    let listing: Value = serde_json::from_str(listing).unwrap_or(Value::Null);
    let needle = format!("id: {container_id}");
    listing["nftables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|item| item["rule"]["comment"].as_str().is_some_and(|c| c.ends_with(&needle)))
        .count()
}

/// Lines of `iptables-save -t nat` (or ip6tables) that mention `container_id`.
pub fn iptables_masq_lines(ipv6: bool, container_id: &str) -> usize {
    let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
    let out = Command::new(tool).args(["-t", "nat"]).output().expect("run iptables-save");
    let needle = format!("id: \\\"{container_id}\\\"");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&needle)).count()
}

/// An attachment made by a plugin; DEL'd by `del_plugin` on drop so that a
/// failing test leaves no netfilter rules or reservations behind.
pub struct Attachment<'a> {
    pub del_plugin: PathBuf,
    pub conf: String,
    pub id: String,
    pub netns: &'a TestNetns,
    pub ifname: String,
    pub cni_path: String,
}

impl<'a> Attachment<'a> {
    pub fn new(del_plugin: &Path, conf: &str, netns: &'a TestNetns, cni_path: &str) -> Attachment<'a> {
        Attachment {
            del_plugin: del_plugin.to_path_buf(),
            conf: conf.to_string(),
            id: unique("ctr"),
            netns,
            ifname: "eth0".to_string(),
            cni_path: cni_path.to_string(),
        }
    }

    /// Runs `command` with `plugin` (and CNI_PATH `path`) for this attachment.
    pub fn call(&self, plugin: &Path, command: &str, path: &str, stdin: &str) -> Outcome {
        let netns = self.netns.path();
        run_plugin(plugin, &cni_env(command, &self.id, &netns, &self.ifname, path), stdin)
    }

    /// ADD with `plugin`; panics with the plugin's output on failure.
    pub fn add(&self, plugin: &Path, path: &str) -> Value {
        let out = self.call(plugin, "ADD", path, &self.conf);
        assert_eq!(out.code, 0, "ADD failed: {}", out.stdout);
        out.json
    }

    /// The conf with `prevResult` set, for CHECK and DEL.
    pub fn with_prev(&self, result: &Value) -> String {
        with_prev(&self.conf, result)
    }
}

impl Drop for Attachment<'_> {
    fn drop(&mut self) {
        let _ = self.call(&self.del_plugin.clone(), "DEL", &self.cni_path.clone(), &self.conf.clone());
    }
}

/// A netconf (JSON text) with `prevResult` set, for CHECK and DEL.
pub fn with_prev(conf: &str, result: &Value) -> String {
    let mut conf: Value = serde_json::from_str(conf).expect("conf JSON");
    conf["prevResult"] = result.clone();
    conf.to_string()
}

/// A netconf with the keys of `extra` set on top (each test's variations of a base config).
pub fn with_keys(mut conf: Value, extra: &Value) -> Value {
    for (k, v) in extra.as_object().into_iter().flatten() {
        conf[k] = v.clone();
    }
    conf
}

/// A "host" netns of the test's own with a bridge network (gateway
/// `BASE.N.1`, default route, hairpin) and one container on it: meta
/// plugins chained after bridge run inside it, so their links, qdiscs,
/// rules and traffic stay in namespaces the test made.
pub struct HostLab {
    pub plugins: PluginDir,
    _store: tempfile::TempDir,
    pub host: TestNetns,
    pub container: TestNetns,
    pub base: String,
    pub n: u8,
    pub network: String,
    pub id: String,
    pub result: Value,
}

impl HostLab {
    /// `base` is the file's 10.x prefix ("10.230"); IPv6 uses fd00:x:N::/64.
    pub fn new(base: &str, n: u8) -> HostLab {
        let plugins = PluginDir::new();
        let store = tempfile::tempdir().expect("store dir");
        let host = TestNetns::new("labh");
        let container = TestNetns::new("labc");
        host.exec(&["ip", "link", "set", "lo", "up"]);
        container.exec(&["ip", "link", "set", "lo", "up"]);
        let network = unique("labn");
        let id = unique("labctr");
        let v6 = base.rsplit('.').next().unwrap_or("0");
        let conf = serde_json::json!({"cniVersion": "1.0.0", "name": network, "type": "bridge",
            "bridge": "labbr0", "isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("{base}.{n}.0/24")}],
                                                        [{"subnet": format!("fd00:{v6}:{n}::/64")}]],
                     "dataDir": store.path()}})
        .to_string();
        let path = plugins.path().to_str().expect("utf-8 path").to_string();
        let out = run_plugin_in(
            &host,
            &plugins.plugin("bridge"),
            &cni_env("ADD", &id, &container.path(), "eth0", &path),
            &conf,
        );
        assert_eq!(out.code, 0, "bridge ADD: {}", out.stdout);
        HostLab {
            plugins,
            _store: store,
            host,
            container,
            base: base.to_string(),
            n,
            network,
            id,
            result: out.json,
        }
    }

    pub fn gateway(&self) -> String {
        format!("{}.{}.1", self.base, self.n)
    }

    pub fn container_ip(&self) -> String {
        self.result["ips"][0]["address"]
            .as_str()
            .unwrap_or_default()
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The host end of the container's veth (from the bridge result).
    pub fn host_veth(&self) -> String {
        self.result["interfaces"][1]["name"].as_str().unwrap_or_default().to_string()
    }

    /// Runs `plugin` (with CNI_PATH `path`) in the host netns for the lab's container.
    pub fn call(&self, plugin: &Path, path: &str, command: &str, conf: &str) -> Outcome {
        run_plugin_in(
            &self.host,
            plugin,
            &cni_env(command, &self.id, &self.container.path(), "eth0", path),
            conf,
        )
    }

    /// Our plugin `name` for another container ID on the lab's netns.
    pub fn run_ours_as(&self, id: &str, name: &str, command: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        run_plugin_in(
            &self.host,
            &self.plugins.plugin(name),
            &cni_env(command, id, &self.container.path(), "eth0", path),
            conf,
        )
    }

    /// Our plugin `name`.
    pub fn run_ours(&self, name: &str, command: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        self.call(&self.plugins.plugin(name), path, command, conf)
    }

    /// The reference's plugin `name`.
    pub fn run_reference(&self, name: &str, command: &str, conf: &str) -> Outcome {
        self.call(&Path::new(REFERENCE_DIR).join(name), REFERENCE_DIR, command, conf)
    }
}

/// A host netns whose `mvm0` is one end of a veth to a peer netns on
/// `BASE.N.0/24` (the peer is `.100`), and a container netns: plugins that
/// make the container interface a child of a host link (macvlan, ipvlan)
/// run in the host netns, and the container pings the peer over it.
pub struct Wire {
    pub plugins: PluginDir,
    pub store: tempfile::TempDir,
    pub host: TestNetns,
    pub peer: TestNetns,
    pub container: TestNetns,
    pub base: String,
    pub n: u8,
}

impl Wire {
    pub fn new(base: &str, n: u8) -> Wire {
        let wire = Wire {
            plugins: PluginDir::new(),
            store: tempfile::tempdir().expect("store dir"),
            host: TestNetns::new("wireh"),
            peer: TestNetns::new("wirep"),
            container: TestNetns::new("wirec"),
            base: base.to_string(),
            n,
        };
        wire.host.exec(&["ip", "link", "add", "mvm0", "type", "veth", "peer", "name", "mvpeer"]);
        wire.host.exec(&["ip", "link", "set", "mvpeer", "netns", &wire.peer.name]);
        wire.host.exec(&["ip", "link", "set", "mvm0", "up"]);
        wire.peer.exec(&["ip", "addr", "add", &format!("{base}.{n}.100/24"), "dev", "mvpeer"]);
        wire.peer.exec(&["ip", "link", "set", "mvpeer", "up"]);
        wire
    }

    /// Runs `plugin` (CNI_PATH `path`) in the host netns for the container's `ifname`.
    pub fn call(&self, plugin: &Path, path: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        run_plugin_in(
            &self.host,
            plugin,
            &cni_env(command, "wirectr", &self.container.path(), ifname, path),
            conf,
        )
    }

    /// Our plugin `name`.
    pub fn ours(&self, name: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        self.call(
            &self.plugins.plugin(name),
            self.plugins.path().to_str().unwrap_or_default(),
            command,
            ifname,
            conf,
        )
    }

    /// The reference's plugin `name`.
    pub fn reference(&self, name: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        self.call(&Path::new(REFERENCE_DIR).join(name), REFERENCE_DIR, command, ifname, conf)
    }

    /// `ip -d -j link show NAME` in the container; Null when it does not exist.
    pub fn link(&self, name: &str) -> Value {
        let text = self.container.output(&["ip", "-d", "-j", "link", "show", name]);
        serde_json::from_str::<Value>(&text).map(|v| v[0].clone()).unwrap_or(Value::Null)
    }

    /// True when the container reaches the peer.
    pub fn pings_peer(&self) -> bool {
        ping(Some(&self.container.name), &format!("{}.{}.100", self.base, self.n))
    }
}
