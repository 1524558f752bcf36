//! `cnictl docker-run [OPTIONS] [DOCKER-RUN-ARGS] IMAGE [CMD]`: the
//! successor of the original `scripts/docker-run.sh`.
//!
//! A pause container with `--net=none` holds a network namespace; the
//! network is ADDed to it (container ID: the pause container's); the real
//! container runs with `--net=container:<pause>`; afterwards, also after a
//! failure or a signal, the network is DELeted and the pause container removed.

use std::process::{Command, ExitCode};

use color_eyre::eyre::{bail, Result};

use super::{plugin_conf, run::choose_network, Context};
use crate::cli::{DockerRunArgs, PluginArgs};
use crate::docker::PauseContainer;
use crate::netns::exec;

/// `docker run` flags that take a value as the next word (or glued on:
/// `-p8080:80`); the short ones, and the long ones that are not switches.
const SHORT_WITH_VALUE: &str = "acehlmpuvw";
const LONG_SWITCHES: [&str; 13] = [
    "--detach",
    "--interactive",
    "--tty",
    "--rm",
    "--privileged",
    "--init",
    "--read-only",
    "--publish-all",
    "--sig-proxy",
    "--oom-kill-disable",
    "--no-healthcheck",
    "--disable-content-trust",
    "--quiet",
];

/// Whether `docker run` would detach (`-d`, `--detach`, a cluster such as
/// `-dit`), judged from the options before the image, as docker parses
/// them: the image's own command may have a `-d` of its own.
pub fn detaches(docker_args: &[String]) -> bool {
    let mut words = docker_args.iter();
    while let Some(word) = words.next() {
        if word == "--" || !word.starts_with('-') {
            return false;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = long.split_once('=').map_or((long, None), |(n, v)| (n, Some(v)));
            if name == "detach" {
                return value.is_none_or(|v| v != "false");
            }
            if value.is_none() && !LONG_SWITCHES.contains(&word.as_str()) {
                words.next();
            }
            continue;
        }
        for (at, letter) in word.char_indices().skip(1) {
            if letter == 'd' {
                return true;
            }
            if SHORT_WITH_VALUE.contains(letter) {
                if at + 1 == word.len() {
                    words.next();
                }
                break;
            }
        }
    }
    false
}

/// Whether the user gave `--cidfile` themselves (then docker writes theirs).
fn gives_cidfile(docker_args: &[String]) -> bool {
    docker_args
        .iter()
        .take_while(|w| w.starts_with('-'))
        .any(|w| w == "--cidfile" || w.starts_with("--cidfile="))
}

/// Runs the container attached to the network and cleans up.
pub fn run(ctx: &Context, args: &DockerRunArgs) -> Result<ExitCode> {
    if detaches(&args.docker_args) {
        bail!(
            "docker-run keeps the network only while `docker run` runs, and -d/--detach returns at once \
             (the container would be left with only lo): run it in the foreground, or attach a \
             detached container yourself with `cnictl add NET /proc/PID/ns/net`"
        );
    }
    let list = choose_network(ctx, args.network.as_deref())?;
    exec::take_over_signals()?;
    let pause = PauseContainer::start(&args.pause_image)?;
    let plugin = PluginArgs {
        ifname: args.ifname.clone(),
        cni_args: args.cni_args.clone(),
        cap_args: args.cap_args.clone(),
    };
    let rt = plugin_conf(pause.netns.clone(), pause.id.clone(), &plugin)?;
    // docker writes the app container's ID here (it refuses an existing file).
    let cidfile = std::env::temp_dir().join(format!("cnictl-docker-run-{}.cid", pause.id));
    let _ = std::fs::remove_file(&cidfile);
    // A failed ADD has already deleted what it made; the pause container goes on drop.
    ctx.runtime.add(&list, &rt)?;
    let code = match exec::pending_signal() {
        Some(signal) => Ok(128 + signal),
        None => {
            let mut docker = Command::new("docker");
            docker.arg("run").arg(format!("--net=container:{}", pause.id));
            if !gives_cidfile(&args.docker_args) {
                docker.arg("--cidfile").arg(&cidfile);
            }
            docker.args(&args.docker_args);
            exec::run_forwarding(docker, "docker")
        }
    };
    crate::docker::stop_if_running(&cidfile);
    let _ = std::fs::remove_file(&cidfile);
    // Whatever happened to the container, the network and the pause container go.
    let detached = ctx.runtime.del(&list, &rt);
    drop(pause);
    let code = code?;
    detached?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::detaches;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn detach_is_found_among_the_options_only() {
        for line in
            ["-d busybox", "-dit busybox sh", "--detach busybox", "-e A=1 -d busybox", "--name x -d img"]
        {
            assert!(detaches(&words(line)), "{line}");
        }
        for line in [
            "-it busybox sh",
            "busybox ls -d /",
            "--detach=false busybox",
            "-e -d busybox",
            "--detach-keys ctrl-x busybox",
            "-p 80:80 --rm img",
            "-- busybox -d",
        ] {
            assert!(!detaches(&words(line)), "{line}");
        }
    }
}
