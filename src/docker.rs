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
    /// Starts one from `image`, which must have `/bin/sleep`.
    pub fn start(image: &str) -> Result<PauseContainer> {
        let id = output(&["run", "-d", "--net=none", "--entrypoint", "/bin/sleep", image, "2147483647"])?;
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

impl Drop for PauseContainer {
    fn drop(&mut self) {
        if let Err(e) = output(&["rm", "-f", &self.id]) {
            eprintln!("cnictl: warning: could not remove pause container {}: {e:#}", self.id);
        }
    }
}
