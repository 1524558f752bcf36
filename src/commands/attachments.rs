//! `cnictl attachments` (`ps`): the live attachments libcni's result cache
//! records, and whether each one's namespace still exists.

use std::process::ExitCode;
use std::time::SystemTime;

use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::Context;
use crate::inspect;
use crate::render::{self, Format};
use crate::runtime::liveness;

/// Fails when the result cache exists but cannot be read (cnictl run
/// without root on a root-owned cache): the views would otherwise show "no
/// attachments" where there may be many. A missing cache is empty.
pub fn check_readable(ctx: &Context) -> Result<()> {
    let dir = ctx.cache_dir.join("results");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::report::io_needing_root("reading the result cache", &dir, e)),
    };
    let mut unreadable = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() {
            if let Err(e) = std::fs::File::open(&path) {
                unreadable.push((path, e));
            }
        }
    }
    match unreadable.into_iter().next() {
        None => Ok(()),
        Some((path, e)) => Err(crate::report::io_needing_root("reading the result cache", &path, e)),
    }
}

/// The cached attachments as JSON objects, optionally of one network only;
/// an error when the cache cannot be read ([`check_readable`]). Entries
/// that cannot be read are listed too (`unreadable` says why), never
/// dropped: GC keeps whatever they may belong to.
pub fn attachments(ctx: &Context, network: Option<&str>) -> Result<Vec<Value>> {
    check_readable(ctx)?;
    let now = SystemTime::now();
    let listing = ctx.runtime.cache.listing()?;
    let live = crate::netns::identity::live_namespaces();
    let mut found: Vec<Value> = listing
        .readable
        .into_iter()
        .filter(|(entry, _)| network.is_none_or(|n| entry.network == n))
        .map(|(entry, written)| {
            let age = written.and_then(|w| now.duration_since(w).ok()).map(|d| d.as_secs());
            let netns = entry.netns_path();
            let exists = !netns.is_empty() && liveness::namespace_state(&entry, &live).is_some();
            json!({
                "network": entry.network,
                "containerID": entry.container_id,
                "netns": netns,
                "ifname": entry.ifname,
                "ips": inspect::result_ips(entry.result.as_ref()),
                "ageSeconds": age,
                "netnsExists": exists,
            })
        })
        .collect();
    let unreadable = listing.unreadable.into_iter();
    found.extend(unreadable.filter(|u| network.is_none_or(|n| !u.candidates(n).is_empty())).map(|u| {
        json!({
            "file": u.path.display().to_string(),
            "unreadable": u.why,
        })
    }));
    Ok(found)
}

/// Rows for the attachments table.
pub fn rows(attachments: &[Value]) -> Vec<Vec<String>> {
    attachments
        .iter()
        .map(|a| {
            if let Some(why) = a["unreadable"].as_str() {
                let file = a["file"].as_str().unwrap_or_default();
                let name = std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned());
                let shown = name.unwrap_or_default();
                return vec![
                    shown,
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("unreadable: {why}"),
                ];
            }
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
    let all = attachments(ctx, None)?;
    let rows = rows(&all);
    render::print(format, &Value::Array(all), &HEADERS, rows, "no attachments in the result cache")?;
    Ok(ExitCode::SUCCESS)
}
