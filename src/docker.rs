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
    /// Starts one from `image`, which must have `/bin/sleep`; the image is
    /// pulled first when docker does not have it ([`ensure_image`]). It is
    /// named (`cnictl-pause-<pid>-<time>`), so that one docker created but
    /// could not start (no /bin/sleep in the image) is removed, not left Created.
    pub fn start(image: &str) -> Result<PauseContainer> {
        ensure_image(image)?;
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
                return Err(not_started(image, e));
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

/// Makes sure docker has `image`, pulling it when it has not, so that an
/// image that cannot be had is said to be the problem (not what was to run
/// in it). Any other failure to ask (no daemon) is docker's own error.
pub fn ensure_image(image: &str) -> Result<()> {
    match output(&["image", "inspect", "--format", "{{.Id}}", image]) {
        Ok(_) => return Ok(()),
        Err(e) if !format!("{e:#}").to_lowercase().contains("no such image") => return Err(e),
        Err(_) => {}
    }
    say!("cnictl: pulling the pause image {image}");
    output(&["pull", "--quiet", image])
        .map(|_| ())
        .map_err(|e| e.wrap_err(format!("the pause image {image:?} could not be pulled")))
}

/// Why the pause container did not start: the image lacks `/bin/sleep`
/// when docker says so, else docker could not run the image.
fn not_started(image: &str, error: color_eyre::eyre::Report) -> color_eyre::eyre::Report {
    if format!("{error:#}").contains("/bin/sleep") {
        error.wrap_err(format!("the pause image {image:?} must have /bin/sleep"))
    } else {
        error.wrap_err(format!("the pause image {image:?} could not be run"))
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
    say!("cnictl: stopping container {id}, which outlived docker run, before its network goes");
    if let Err(e) = output(&["stop", "-t", "10", id]) {
        say!("cnictl: warning: could not stop container {id}: {e:#}");
    }
}

impl Drop for PauseContainer {
    fn drop(&mut self) {
        if let Err(e) = output(&["rm", "-f", &self.id]) {
            say!("cnictl: warning: could not remove pause container {}: {e:#}", self.id);
        }
    }
}
