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

/// The option words of `docker run`'s arguments, as docker parses them:
/// those before the image (the image's own command may have options of
/// its own), the values of options that take one left out.
fn options(docker_args: &[String]) -> Vec<&str> {
    let mut found = Vec::new();
    let mut words = docker_args.iter();
    while let Some(word) = words.next() {
        if word == "--" || !word.starts_with('-') {
            break;
        }
        found.push(word.as_str());
        let takes_next = match word.strip_prefix("--") {
            Some(long) => !long.contains('=') && !LONG_SWITCHES.contains(&word.as_str()),
            // A cluster (`-dit`, `-p8080:80`): the first letter that takes a
            // value takes the rest of the word, or the next word.
            None => word
                .char_indices()
                .skip(1)
                .find(|(_, letter)| SHORT_WITH_VALUE.contains(*letter))
                .is_some_and(|(at, _)| at + 1 == word.len()),
        };
        if takes_next {
            words.next();
        }
    }
    found
}

/// Whether `docker run` would detach (`-d`, `--detach`, a cluster such as `-dit`).
pub fn detaches(docker_args: &[String]) -> bool {
    options(docker_args).iter().any(|word| match word.strip_prefix("--") {
        Some(long) => long == "detach" || long.strip_prefix("detach=").is_some_and(|v| v != "false"),
        None => word.chars().skip(1).take_while(|l| !SHORT_WITH_VALUE.contains(*l)).any(|l| l == 'd'),
    })
}

/// Whether the user gave `--cidfile` themselves (then docker writes theirs).
fn gives_cidfile(docker_args: &[String]) -> bool {
    options(docker_args).iter().any(|w| *w == "--cidfile" || w.starts_with("--cidfile="))
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
    super::add::warn_undeclared_capabilities(&list, &rt);
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
