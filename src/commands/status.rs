//! `cnictl status NET`: can the network take new attachments, and how
//! full are its address ranges?
//!
//! STATUS of host-local succeeds when a range is full (as the reference's,
//! so that a runtime polling STATUS does not mark the node NotReady over
//! leaked reservations); the operator still needs to see the fill, so
//! this command prints it for every host-local range set of the chain.

use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde_json::{Map, Value};

use super::Context;
use crate::cli::NetworkArgs;
use crate::render;
use crate::runtime::config::NetworkList;

/// Runs STATUS on each plugin of the chain, then shows the range fill.
pub fn run(ctx: &Context, args: &NetworkArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    // A store this user may not read would fail host-local's STATUS with
    // code 50, as if the plugin could not serve: say it needs root instead.
    crate::runtime::liveness::reservations(&list)?;
    ctx.runtime.status(&list)?;
    let rows: Vec<Vec<render::Cell>> =
        range_fill(&list).into_iter().map(|(plugin, fill)| fill_row(&plugin, &fill)).collect();
    if !rows.is_empty() {
        render::line(render::table(&["PLUGIN", "RANGE SET", "RESERVED", "FREE", "USED"], rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The fill of every host-local range set in the chain, with the type of
/// the plugin whose `ipam` section it is. A store that cannot be read is
/// left out (STATUS has already said what it could).
pub fn range_fill(list: &NetworkList) -> Vec<(String, host_local::RangeFill)> {
    let mut found = Vec::new();
    for plugin in &list.plugins {
        if !is_host_local_ipam(plugin) {
            continue;
        }
        let conf = crate::runtime::build_config(list, plugin, None, None);
        let ptype = crate::runtime::plugin_type(plugin);
        for fill in host_local::fill(&conf).unwrap_or_default() {
            found.push((ptype.clone(), fill));
        }
    }
    found
}

fn is_host_local_ipam(plugin: &Map<String, Value>) -> bool {
    let ipam = cni::gojson::get_in(plugin, "ipam").and_then(Value::as_object);
    ipam.and_then(|i| cni::gojson::get_in(i, "type")).and_then(Value::as_str) == Some("host-local")
}

/// One table row: reserved and free counts and the share used (`full`
/// when nothing is left).
fn fill_row(plugin: &str, fill: &host_local::RangeFill) -> Vec<render::Cell> {
    let free = fill.capacity.saturating_sub(fill.reserved);
    let used = if fill.is_full() {
        render::Cell::toned("full", render::Tone::Alarm)
    } else {
        // Whole percent, rounded down: 99% never reads as 100%.
        format!("{}%", fill.reserved.saturating_mul(100) / fill.capacity.max(1)).into()
    };
    vec![
        plugin.into(),
        fill.range_set.as_str().into(),
        fill.reserved.to_string().into(),
        free.to_string().into(),
        used,
    ]
}
