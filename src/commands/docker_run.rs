//! `cnictl docker-run [OPTIONS] [DOCKER-RUN-ARGS] IMAGE [CMD]`: the
//! successor of the original `scripts/docker-run.sh`.
//!
//! A pause container with `--net=none` holds a network namespace; the
//! network is ADDed to it (container ID: the pause container's); the real
//! container runs with `--net=container:<pause>`; afterwards, also after a
//! failure or a signal, the network is DELeted and the pause container removed.

use std::process::{Command, ExitCode};

use color_eyre::eyre::Result;

use super::{plugin_conf, run::choose_network, Context};
use crate::cli::{DockerRunArgs, PluginArgs};
use crate::docker::PauseContainer;
use crate::netns::exec;

/// Runs the container attached to the network and cleans up.
pub fn run(ctx: &Context, args: &DockerRunArgs) -> Result<ExitCode> {
    let list = choose_network(ctx, args.network.as_deref())?;
    exec::take_over_signals()?;
    let pause = PauseContainer::start(&args.pause_image)?;
    let plugin = PluginArgs {
        ifname: args.ifname.clone(),
        cni_args: args.cni_args.clone(),
        cap_args: args.cap_args.clone(),
    };
    let rt = plugin_conf(pause.netns.clone(), pause.id.clone(), &plugin)?;
    // A failed ADD has already deleted what it made; the pause container goes on drop.
    ctx.runtime.add(&list, &rt)?;
    let code = match exec::pending_signal() {
        Some(signal) => Ok(128 + signal),
        None => {
            let mut docker = Command::new("docker");
            docker.arg("run").arg(format!("--net=container:{}", pause.id)).args(&args.docker_args);
            exec::run_forwarding(docker, "docker")
        }
    };
    // Whatever happened to the container, the network and the pause container go.
    let detached = ctx.runtime.del(&list, &rt);
    drop(pause);
    let code = code?;
    detached?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
