//! `cnictl attachments` (`ps`): the live attachments libcni's result cache
//! records, and whether each one's namespace still exists.

use std::process::ExitCode;
use std::time::SystemTime;

use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::Context;
use crate::inspect;
use crate::render::{self, Format};

/// The cached attachments as JSON objects, optionally of one network only.
pub fn attachments(ctx: &Context, network: Option<&str>) -> Vec<Value> {
    let now = SystemTime::now();
    ctx.runtime
        .cache
        .entries()
        .into_iter()
        .filter(|(entry, _)| network.is_none_or(|n| entry.network == n))
        .map(|(entry, written)| {
            let age = written.and_then(|w| now.duration_since(w).ok()).map(|d| d.as_secs());
            json!({
                "network": entry.network,
                "containerID": entry.container_id,
                "netns": entry.netns,
                "ifname": entry.ifname,
                "ips": inspect::result_ips(entry.result.as_ref()),
                "ageSeconds": age,
                "netnsExists": cni::netns::exists(&entry.netns),
            })
        })
        .collect()
}

/// Rows for the attachments table.
pub fn rows(attachments: &[Value]) -> Vec<Vec<String>> {
    attachments
        .iter()
        .map(|a| {
            let ips: Vec<&str> =
                a["ips"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            vec![
                a["network"].as_str().unwrap_or_default().to_string(),
                a["containerID"].as_str().unwrap_or_default().to_string(),
                a["netns"].as_str().unwrap_or_default().to_string(),
                a["ifname"].as_str().unwrap_or_default().to_string(),
                ips.join(", "),
                a["ageSeconds"].as_u64().map(render::age).unwrap_or_else(|| "-".into()),
                if a["netnsExists"] == true { "yes" } else { "gone" }.to_string(),
            ]
        })
        .collect()
}

/// The table's headers.
pub const HEADERS: [&str; 7] = ["network", "container id", "netns", "if", "ips", "age", "netns exists"];

/// Prints every cached attachment.
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let all = attachments(ctx, None);
    let rows = rows(&all);
    render::print(format, &Value::Array(all), &HEADERS, rows, "no attachments in the result cache");
    Ok(ExitCode::SUCCESS)
}
