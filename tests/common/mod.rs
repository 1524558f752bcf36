//! Shared harness for the integration tests: built binaries, plugin
//! directories of links to the multicall binary, uniquely named network
//! namespaces removed on drop, and running plugins through the real exec
//! protocol. Tests need root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Where cargo put the binaries (target/<profile>).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// The multicall plugin binary.
pub fn multicall() -> PathBuf {
    let path = bin_dir().join("cni-plugins");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
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
    pub json: Value,
}

/// Runs a plugin binary with the given CNI_* variables and stdin, with
/// nothing else from the test's CNI environment leaking in.
pub fn run_plugin(plugin: &Path, env: &[(&str, &str)], stdin: &str) -> Outcome {
    use std::io::Write;
    let mut cmd = Command::new(plugin);
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
    Outcome { code: out.status.code().unwrap_or(-1), stdout, json }
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
