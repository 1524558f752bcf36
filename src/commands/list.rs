//! `cnictl list`: every network file in the config dir, whether it loads,
//! and what it holds, in libcni's order (a later file with the same
//! network name is shadowed by the earlier one). STATE says what would stop
//! the network from working: a file that does not load, a shadowed name,
//! and what `validate` finds (a missing plugin, a version a plugin does not
//! speak, a config one of our plugins rejects).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::{validate, Context};
use crate::inspect;
use crate::render::{self, Format};
use crate::runtime::config::{conf_files, load_file};

/// One config file as the list shows it, its `state` as the table's.
fn describe(ctx: &Context, file: &Path, first_by_name: &mut BTreeMap<String, PathBuf>) -> Value {
    match load_file(file) {
        Ok(list) => {
            let shadowed_by = match first_by_name.get(&list.name) {
                Some(first) => Some(first.display().to_string()),
                None => {
                    first_by_name.insert(list.name.clone(), file.to_path_buf());
                    None
                }
            };
            let (_, found) = validate::check_chain(ctx, &list);
            // Worded so that a terminal colours them (render's state words).
            let mut states: Vec<String> =
                shadowed_by.iter().map(|first| format!("warn: shadowed by {first}")).collect();
            states.extend(found.iter().map(|(_, state)| format!("problem: {state}")));
            let problems: Vec<&String> = found.iter().map(|(problem, _)| problem).collect();
            json!({
                "name": list.name,
                "file": file.display().to_string(),
                "cniVersion": list.cni_version,
                "plugins": inspect::plugin_types(&list),
                "subnets": inspect::subnets(&list),
                "loads": true,
                "error": null,
                "shadowedBy": shadowed_by,
                "problems": problems,
                "state": if states.is_empty() { "ok".to_string() } else { states.join("; ") },
            })
        }
        Err(e) => json!({
            "name": null,
            "file": file.display().to_string(),
            "cniVersion": null,
            "plugins": [],
            "subnets": [],
            "loads": false,
            "error": format!("{e:#}"),
            "shadowedBy": null,
            "problems": [format!("{e:#}")],
            "state": format!("error: {e:#}"),
        }),
    }
}

fn strings(value: &Value) -> String {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// A file of the config dir as the table shows it: its name (the list is
/// of that one directory; JSON has the full path).
fn in_conf_dir(ctx: &Context, file: &str) -> String {
    Path::new(file).strip_prefix(&ctx.conf_dir).map_or_else(|_| file.to_string(), |p| p.display().to_string())
}

/// Prints the networks of the config dir.
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let mut files = conf_files(&ctx.conf_dir, &["conflist"])?;
    files.extend(conf_files(&ctx.conf_dir, &["conf", "json"])?);
    let mut first_by_name = BTreeMap::new();
    let networks: Vec<Value> = files.iter().map(|f| describe(ctx, f, &mut first_by_name)).collect();
    let rows = networks
        .iter()
        .map(|n| {
            let state = n["state"].as_str().unwrap_or("ok").to_string();
            vec![
                n["name"].as_str().unwrap_or("-").to_string(),
                in_conf_dir(ctx, n["file"].as_str().unwrap_or_default()),
                n["cniVersion"].as_str().unwrap_or("-").to_string(),
                strings(&n["plugins"]).replace(", ", " > "),
                strings(&n["subnets"]),
                state,
            ]
        })
        .collect();
    let empty = format!("no networks in {}", ctx.conf_dir.display());
    render::print(
        format,
        &Value::Array(networks),
        &["name", "file", "version", "plugins", "subnets", "state"],
        rows,
        &empty,
    )?;
    Ok(ExitCode::SUCCESS)
}
