//! `cnictl run`, `cnictl netns` and the default network, end to end: exit
//! codes, signals, and nothing left behind (namespace, link, reservation,
//! cache entry). Subnets 10.203.N.0/24 belong to this file.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A config dir holding one bridge network on its own bridge and subnet.
struct RunSetup {
    plugins: PluginDir,
    conf_dir: tempfile::TempDir,
    cache: tempfile::TempDir,
    store: tempfile::TempDir,
    bridge: TestBridge,
    name: String,
}

impl RunSetup {
    fn new(subnet: &str, extra_plugin: Option<serde_json::Value>) -> RunSetup {
        let setup = RunSetup {
            plugins: PluginDir::new(),
            conf_dir: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
            bridge: TestBridge::new(),
            name: unique("runnet"),
        };
        let mut plugins = vec![json!({"type": "bridge", "bridge": setup.bridge.name, "isGateway": true,
            "ipMasq": true, "ipam": {"type": "host-local", "subnet": subnet, "dataDir": setup.store.path()}})];
        plugins.extend(extra_plugin);
        let conflist = json!({"cniVersion": "1.0.0", "name": setup.name, "plugins": plugins});
        std::fs::write(setup.conf_dir.path().join("10-run.conflist"), conflist.to_string()).unwrap();
        setup
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(cnictl());
        cmd.args(args)
            .env("NETCONFPATH", self.conf_dir.path())
            .env("CNI_CACHE_DIR", self.cache.path())
            .env("CNI_PATH", self.plugins.path())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Nothing of any run is left: no namespace of cnictl's, port, reservation or cache entry.
    fn assert_clean(&self, pid: u32) {
        let prefix = format!("cnictl-run-{pid}-");
        let left: Vec<String> = std::fs::read_dir("/var/run/netns")
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert!(!left.iter().any(|n| n.starts_with(&prefix)), "namespace left: {left:?}");
        assert!(bridge_ports(&self.bridge.name).is_empty(), "bridge port left");
        assert!(reservations(&self.store.path().join(&self.name)).is_empty(), "reservation left");
        let cached = std::fs::read_dir(self.cache.path().join("results")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(cached, 0, "cache entry left");
    }
}

#[test]
fn run_passes_the_exit_code_and_cleans_up() {
    require_root();
    let setup = RunSetup::new("10.203.1.0/24", None);
    let child = setup
        .command(&[
            "run",
            &setup.name,
            "--",
            "sh",
            "-c",
            "ip -o -4 addr show eth0; ping -c1 -W2 10.203.1.1 >/dev/null && exit 7",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout: {stdout} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("inet 10.203.1."), "the command ran inside the attached netns: {stdout}");
    setup.assert_clean(pid);
}

#[test]
fn sigterm_is_forwarded_and_cleanup_still_happens() {
    require_root();
    let setup = RunSetup::new("10.203.2.0/24", None);
    let child = setup.command(&["run", "-q", &setup.name, "--", "sleep", "30"]).spawn().unwrap();
    let pid = child.id();
    let started = Instant::now();
    while bridge_ports(&setup.bridge.name).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the attachment never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(143), "128 + SIGTERM, from the command killed by the forwarded signal");
    assert!(started.elapsed() < Duration::from_secs(20), "sleep was not interrupted");
    setup.assert_clean(pid);
}

#[test]
fn a_failing_add_runs_no_command_and_leaves_nothing() {
    require_root();
    let setup = RunSetup::new("10.203.3.0/24", Some(json!({"type": "no-such-plugin"})));
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let child = setup
        .command(&["run", &setup.name, "--", "touch", ran.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-plugin"), "the error names the missing plugin: {stderr}");
    assert!(!ran.exists(), "the command must not run without its network");
    setup.assert_clean(pid);
}

#[test]
fn netns_add_list_exec_del_are_compatible_with_iproute2() {
    require_root();
    let name = unique("cnsx");
    let setup = RunSetup::new("10.203.4.0/24", None);
    let run = |args: &[&str]| setup.command(args).output().unwrap();
    assert!(run(&["netns", "add", &name]).status.success());
    let listed = String::from_utf8_lossy(&run(&["netns", "list"]).stdout).to_string();
    assert!(listed.lines().any(|l| l == name), "{listed}");
    let ip_listed =
        String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
            .to_string();
    assert!(ip_listed.contains(&name), "iproute2 sees it: {ip_listed}");
    // A fresh namespace has only lo, and it is down (as with `ip netns add`).
    let links = ip_json(Some(&name), &["link", "show"]);
    assert_eq!(links.as_array().map(Vec::len), Some(1));
    assert_eq!(links[0]["operstate"], "DOWN");
    let again = run(&["netns", "add", &name]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // add/del take the name; exec runs inside it and sees its links in /sys too.
    let added = run(&["add", &setup.name, &name]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let exec = run(&["netns", "exec", &name, "--", "sh", "-c", "ls /sys/class/net; exit 3"]);
    assert_eq!(exec.status.code(), Some(3));
    let sys_links = String::from_utf8_lossy(&exec.stdout).to_string();
    assert!(sys_links.lines().any(|l| l == "eth0"), "/sys shows the netns's links: {sys_links}");
    assert!(run(&["del", &setup.name, &name]).status.success());
    assert!(bridge_ports(&setup.bridge.name).is_empty());

    assert!(run(&["netns", "del", &name]).status.success());
    assert!(!Path::new("/var/run/netns").join(&name).exists());
    let missing = run(&["netns", "del", &name]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn the_default_network_is_shown_installed_and_used_beside_another_tools_network() {
    require_root();
    let plugins = PluginDir::new();
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let shown = Command::new(cnictl())
        .args(["--conf-dir", empty.path().to_str().unwrap(), "default-network", "show"])
        .output()
        .unwrap();
    let conflist: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(conflist["name"], "cnictl-default");
    assert_eq!(conflist["plugins"][0]["bridge"], "cni0");
    assert_eq!(conflist["plugins"][0]["ipam"]["subnet"], "10.22.0.0/16");

    // Another tool's network in the config dir (as podman keeps one in
    // /etc/cni/net.d): the README's quick start still runs on the built-in one.
    let podman = json!({"cniVersion": "0.4.0", "name": "podman", "plugins": [{"type": "bridge",
        "bridge": "cni-podman0", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.203.30.0/24"}]]}}]});
    std::fs::write(empty.path().join("87-podman-bridge.conflist"), podman.to_string()).unwrap();
    let had_cni0 = link_details(None, "cni0") != serde_json::Value::Null;
    let out = Command::new(cnictl())
        .args(["run", "-q", "--", "sh", "-c", "ip -o -4 addr show eth0; ip route show default"])
        .env("NETCONFPATH", empty.path())
        .env("CNI_CACHE_DIR", cache.path())
        .env("CNI_PATH", plugins.path())
        .output()
        .unwrap();
    if !had_cni0 {
        let _ = Command::new("ip").args(["link", "del", "cni0"]).status();
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("inet 10.22."), "{stdout}");
    assert!(stdout.contains("default via 10.22.0.1"), "{stdout}");

    let conf_dir = tempfile::tempdir().unwrap();
    let install = |force: bool| {
        let mut args = vec!["--conf-dir", conf_dir.path().to_str().unwrap(), "default-network", "install"];
        if force {
            args.push("--force");
        }
        Command::new(cnictl()).args(args).output().unwrap()
    };
    assert!(install(false).status.success());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(conf_dir.path().join("99-cnictl-default.conflist")).unwrap())
            .unwrap();
    assert_eq!(written, conflist);
    let again = install(false);
    assert_eq!(again.status.code(), Some(1), "an existing file is not overwritten without --force");
    assert!(install(true).status.success());
}

#[test]
fn ctrl_c_at_a_terminal_stops_the_command_and_cleans_up() {
    require_root();
    use std::io::Write;
    let setup = RunSetup::new("10.203.5.0/24", None);
    // `script` gives the run a terminal; a ^C typed into it reaches the
    // foreground process group (cnictl and the command) from the kernel.
    let cnictl_cmd = format!("{} run -q {} -- sleep 30", cnictl().display(), setup.name);
    let mut child = Command::new("script")
        .args(["-qfec", &cnictl_cmd, "/dev/null"])
        .env("NETCONFPATH", setup.conf_dir.path())
        .env("CNI_CACHE_DIR", setup.cache.path())
        .env("CNI_PATH", setup.plugins.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while bridge_ports(&setup.bridge.name).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the attachment never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130), "the command died of the terminal's SIGINT");
    assert!(started.elapsed() < Duration::from_secs(20), "sleep was interrupted");
    assert!(bridge_ports(&setup.bridge.name).is_empty(), "the network was deleted");
    assert!(reservations(&setup.store.path().join(&setup.name)).is_empty());
    let cached = std::fs::read_dir(setup.cache.path().join("results")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(cached, 0);
}

#[test]
fn a_command_that_cannot_start_exits_127_or_126_and_leaves_nothing() {
    require_root();
    let setup = RunSetup::new("10.203.20.0/24", None);
    let script = setup.store.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    for (command, code, says) in [
        ("/nonexistent/command".to_string(), 127, "command not found"),
        (script.display().to_string(), 126, "cannot execute"),
    ] {
        let child = setup
            .command(&["run", &setup.name, "--", &command])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{command}: {stderr}");
        assert!(stderr.contains(says), "{command}: {stderr}");
        assert!(stderr.contains("attached to"), "the command ran attached: {stderr}");
        assert!(!stderr.contains("hint"), "no misleading hint: {stderr}");
        setup.assert_clean(pid);
    }
}

#[test]
fn a_broken_default_network_file_is_an_error_never_the_built_in_network() {
    require_root();
    // No plugins at all: a run that fell back to the built-in network
    // would fail to find bridge (and make nothing), not name the file.
    let no_plugins = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run = |conf_dir: &Path| {
        Command::new(cnictl())
            .args(["run", "--", "true"])
            .env("NETCONFPATH", conf_dir)
            .env("CNI_CACHE_DIR", cache.path())
            .env("CNI_PATH", no_plugins.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let trailing_comma = "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"cnictl-default\",\n  \"plugins\": [\n    {\"type\": \"bridge\",}\n  ]\n}\n";
    let wrong_type = "{\"cniVersion\": \"1.0.0\", \"name\": \"cnictl-default\", \"plugins\": 7}";
    // (file name, content or None for a dangling link, what the error says)
    let cases = [
        ("99-cnictl-default.conflist", Some(trailing_comma), ":5:"),
        ("50-mine.conflist", Some(wrong_type), "plugins"),
        ("99-cnictl-default.conflist", None, "No such file"),
    ];
    for (file, content, says) in cases {
        let conf = tempfile::tempdir().unwrap();
        let path = conf.path().join(file);
        match content {
            Some(text) => std::fs::write(&path, text).unwrap(),
            None => std::os::unix::fs::symlink(conf.path().join("gone.conflist"), &path).unwrap(),
        }
        let out = run(conf.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{file}: names the file: {stderr}");
        assert!(stderr.contains(says), "{file}: says what is wrong ({says}): {stderr}");
        assert!(
            !stderr.contains("failed to find plugin"),
            "{file}: fell back to the built-in network: {stderr}"
        );
    }
    // Truly absent: the built-in network it is (here: its bridge plugin is missing).
    let conf = tempfile::tempdir().unwrap();
    let stderr = String::from_utf8_lossy(&run(conf.path()).stderr).to_string();
    assert!(stderr.contains("cnictl-default") && stderr.contains("failed to find plugin"), "{stderr}");
}
