//! Running plugins as a runtime does (one exec per plugin, config on
//! stdin, CNI_* in the environment), timed, and making namespaces, and
//! running programs inside them.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One attachment's identity.
#[derive(Clone)]
pub struct Target {
    /// CNI_CONTAINERID.
    pub id: String,
    /// CNI_NETNS.
    pub netns: String,
}

/// What a plugin run gave.
pub struct Run {
    /// Wall time from spawn to exit.
    pub took: Duration,
    /// Parsed stdout (Null when not JSON).
    pub out: Value,
    /// Exit status was 0.
    pub ok: bool,
    /// What it wrote on stderr (the floor's errors; plugins answer on stdout).
    pub err: String,
}

/// `Command::new(program)` in a process group of its own, so that a
/// terminal's Ctrl-C reaches only the bench (see `interrupt`).
pub fn new_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.process_group(0);
    cmd
}

/// Runs `dir/<type>` with `command` on `target` and `conf` as stdin.
pub fn plugin(dir: &Path, path: &str, plugin_type: &str, command: &str, target: &Target, conf: &str) -> Run {
    run(new_command(dir.join(plugin_type)), path, command, target, conf)
}

/// [`plugin`], with the plugin run inside `host` instead of the bench's
/// own netns (as a runtime in that netns would run it). Entering the
/// netns happens between fork and exec, so the time is the plugin's own.
pub fn plugin_in(
    host: &Netns,
    dir: &Path,
    path: &str,
    plugin_type: &str,
    command: &str,
    target: &Target,
    conf: &str,
) -> Run {
    let mut cmd = new_command(dir.join(plugin_type));
    if host.enter(&mut cmd).is_err() {
        return Run::failed();
    }
    run(cmd, path, command, target, conf)
}

fn run(mut cmd: Command, path: &str, command: &str, target: &Target, conf: &str) -> Run {
    cmd.env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", &target.id)
        .env("CNI_NETNS", &target.netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", path)
        .env_remove("CNI_ARGS");
    run_program(cmd, conf)
}

impl Run {
    /// A run that could not start.
    pub fn failed() -> Run {
        Run { took: Duration::ZERO, out: Value::Null, ok: false, err: String::new() }
    }
}

/// Runs `cmd` with `stdin` written to it, timed from spawn to exit;
/// stdout parsed as JSON, stderr kept as text.
pub fn run_program(mut cmd: Command, stdin: &str) -> Run {
    let start = Instant::now();
    let child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let Ok(mut child) = child else {
        return Run { took: start.elapsed(), ..Run::failed() };
    };
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let output = child.wait_with_output();
    let took = start.elapsed();
    match output {
        Ok(out) => Run {
            took,
            ok: out.status.success(),
            out: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Err(_) => Run { took, ..Run::failed() },
    }
}

/// A network namespace for the benchmark, deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// `ip netns add NAME`.
    pub fn new(name: String) -> Netns {
        let _ = new_command("ip").args(["netns", "del", &name]).stderr(Stdio::null()).status();
        let status = new_command("ip").args(["netns", "add", &name]).status();
        assert!(status.map(|s| s.success()).unwrap_or(false), "ip netns add {name} failed");
        Netns { name }
    }

    /// Its path.
    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Its name, for `ip -n NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes `cmd` run inside this netns: setns(2) in the child before
    /// exec, as `nsenter --net=PATH` does, without nsenter's own exec.
    pub fn enter(&self, cmd: &mut Command) -> std::io::Result<()> {
        let file = std::fs::File::open(self.path())?;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes the setns syscall on a descriptor the closure owns (open
        // until the Command is dropped) and reads errno; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if setns(file.as_raw_fd(), CLONE_NEWNET) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Ok(())
    }

    /// Runs `ip -n NAME ARGS...`; panics if it fails (a setup step).
    pub fn ip(&self, args: &[&str]) {
        let status = new_command("ip").arg("-n").arg(&self.name).args(args).status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "ip -n {} {} failed",
            self.name,
            args.join(" ")
        );
    }
}

/// `CLONE_NEWNET` from <sched.h>.
const CLONE_NEWNET: std::os::raw::c_int = 0x4000_0000;

extern "C" {
    /// setns(2), from the C library std already links.
    fn setns(fd: std::os::raw::c_int, nstype: std::os::raw::c_int) -> std::os::raw::c_int;
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = new_command("ip").args(["netns", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

/// Deletes a link if it exists (bridges the benchmark made).
pub fn delete_link(name: &str) {
    let _ = new_command("ip").args(["link", "del", name]).stderr(Stdio::null()).status();
}

/// A directory of links named after our plugin types, pointing at the multicall binary.
pub fn our_plugin_dir(multicall: &Path, types: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cnictl-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp plugin dir");
    for t in types {
        std::os::unix::fs::symlink(multicall, dir.join(t)).expect("link plugin");
    }
    dir
}
