//! `cnictl run [NET] -- CMD...`: the successor of `priv-net-run.sh`.
//!
//! Makes a private netns with lo up, ADDs the network, runs the command
//! inside with the terminal and stdio, forwards signals, and always DELs
//! and removes the namespace afterwards: after the command exits, after a
//! failed ADD, and when cnictl is interrupted. Exits with the command's code.

use cni::gojson::GoKeys;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{plugin_conf, Context};
use crate::cli::RunArgs;
use crate::netns::{self, exec, manage::TempNetns};
use crate::runtime::config::{load_network, NetworkList};
use crate::runtime::default_network;

/// The network to use: the one named, else `cnictl-default` from the
/// config dir when it has one, else the built-in network, whatever other
/// networks the config dir holds (another tool's, podman's for one, are
/// not ours to pick). A broken `cnictl-default` file is an error
/// (`default_network::configured`), never a silent fall back.
pub fn choose_network(ctx: &Context, name: Option<&str>) -> Result<NetworkList> {
    if let Some(name) = name {
        return load_network(&ctx.conf_dir, name);
    }
    match default_network::configured(&ctx.conf_dir)? {
        Some(list) => Ok(list),
        None => default_network::network(),
    }
}

/// A unique namespace name for this run.
fn netns_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos());
    format!("cnictl-run-{}-{:08x}", std::process::id(), nanos.unwrap_or_default())
}

fn addresses(result: &serde_json::Value) -> String {
    let ips = result.go_get("ips").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    ips.iter().filter_map(|ip| ip.go_get("address").and_then(|a| a.as_str())).collect::<Vec<_>>().join(", ")
}

/// Runs the command attached to the network and cleans up.
pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let list = choose_network(ctx, args.network.as_deref())?;
    exec::take_over_signals()?;
    let netns = TempNetns::create(&netns_name())?;
    let path = netns.path().display().to_string();
    let rt = plugin_conf(path.clone(), netns::cnitool_container_id(&path), &args.plugin)?;
    super::add::warn_undeclared_capabilities(&list, &rt);
    // A failed ADD has already deleted what it made; the netns goes on drop.
    let result = ctx.runtime.add(&list, &rt)?;
    if !args.quiet {
        say!("cnictl: {} attached to {} ({})", path, list.name, addresses(&result));
    }
    let code = match exec::pending_signal() {
        Some(signal) => Ok(128 + signal),
        None => exec::run_in(netns.path(), &args.command),
    };
    // Whatever happened to the command, the network and the netns go.
    let detached = ctx.runtime.del(&list, &rt);
    drop(netns);
    let code = code?;
    detached?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
