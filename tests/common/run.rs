//! Running plugins and cnictl the way runtimes do: the exec protocol with
//! only the CNI_* variables given, in the host netns or a test netns.

use super::*;

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
    run_cnictl_as(Command::new(cnictl()), args, conf_dir, cache_dir, cni_path, extra_env)
}

/// Runs `command` (cnictl, or cnictl inside a test's host netns) with
/// `args`, the fixture's config dir, cache and plugin path, no CNI_ARGS,
/// CAP_ARGS or CNI_IFNAME of the test process's own, and `extra_env` over
/// that: its exit code, stdout and stderr.
pub fn run_cnictl_as(
    mut command: Command,
    args: &[&str],
    conf_dir: &Path,
    cache_dir: &Path,
    cni_path: &Path,
    extra_env: &[(&str, &str)],
) -> (i32, String, String) {
    let out = command
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
