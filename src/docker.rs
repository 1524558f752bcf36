//! Talking to Docker through its `docker` CLI (which honours `DOCKER_HOST`
//! and the CLI's own config), for `cnictl docker-run`.

use std::process::{Command, Stdio};

use color_eyre::eyre::{bail, eyre, Result};

/// Runs `docker ARGS...` and returns its trimmed stdout; a failure carries docker's stderr.
pub fn output(args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| eyre!("failed to run docker: {e} (is the docker CLI installed?)"))?;
    if !out.status.success() {
        bail!(
            "docker {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A container with no network that only holds a network namespace, as
/// the original `docker-run.sh` made; removed when dropped.
pub struct PauseContainer {
    /// Its full container ID.
    pub id: String,
    /// Its network namespace, `/proc/<pid>/ns/net`.
    pub netns: String,
}

impl PauseContainer {
    /// Starts one from `image`, which must have `/bin/sleep`. It is named
    /// (`cnictl-pause-<pid>-<time>`), so that one docker created but could
    /// not start (no /bin/sleep in the image) is removed, not left Created.
    pub fn start(image: &str) -> Result<PauseContainer> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos());
        let name = format!("cnictl-pause-{}-{:x}", std::process::id(), nanos.unwrap_or_default());
        let started = output(&[
            "run",
            "-d",
            "--name",
            &name,
            "--net=none",
            "--entrypoint",
            "/bin/sleep",
            image,
            "2147483647",
        ]);
        let id = match started {
            Ok(id) => id,
            Err(e) => {
                let _ = output(&["rm", "-f", &name]);
                return Err(e.wrap_err(format!("the pause image {image:?} must have /bin/sleep")));
            }
        };
        let mut pause = PauseContainer { id, netns: String::new() };
        let pid = output(&["inspect", "-f", "{{.State.Pid}}", &pause.id])?;
        match pid.parse::<u32>() {
            Ok(pid) if pid > 0 => {
                pause.netns = format!("/proc/{pid}/ns/net");
                Ok(pause)
            }
            _ => bail!("pause container {} is not running (pid {pid:?})", pause.id),
        }
    }
}

/// Stops the container whose ID docker wrote to `cidfile`, if it still
/// runs: after `docker run` returned (the CLI gave up on a container that
/// ignores the signals), it must not go on without its network.
pub fn stop_if_running(cidfile: &std::path::Path) {
    let Ok(id) = std::fs::read_to_string(cidfile) else { return };
    let id = id.trim();
    let running = output(&["inspect", "-f", "{{.State.Running}}", id]).is_ok_and(|r| r == "true");
    if id.is_empty() || !running {
        return;
    }
    eprintln!("cnictl: stopping container {id}, which outlived docker run, before its network goes");
    if let Err(e) = output(&["stop", "-t", "10", id]) {
        eprintln!("cnictl: warning: could not stop container {id}: {e:#}");
    }
}

impl Drop for PauseContainer {
    fn drop(&mut self) {
        if let Err(e) = output(&["rm", "-f", &self.id]) {
            eprintln!("cnictl: warning: could not remove pause container {}: {e:#}", self.id);
        }
    }
}
