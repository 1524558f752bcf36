//! `cnictl validate [NET | FILE]`: a config read as libcni reads it (parse
//! errors name file, line, column and key), each plugin of its chain found
//! and answering VERSION with the config's version, its capabilities.

use std::path::Path;
use std::process::ExitCode;

use cni::gojson::GoKeys;
use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::{plugins_cmd, Context};
use crate::inspect;
use crate::render::{self, Format};
use crate::runtime::config::{load_file, load_network, NetworkList};

fn load(ctx: &Context, target: &str) -> Result<NetworkList> {
    let path = Path::new(target);
    if path.is_file() {
        load_file(path)
    } else {
        load_network(&ctx.conf_dir, target)
    }
}

/// One plugin of the chain: found? which versions? the config's among them?
fn check_plugin(ctx: &Context, list: &NetworkList, index: usize) -> Value {
    let plugin_type = list.plugins[index].go_get("type").and_then(Value::as_str).unwrap_or_default();
    let mut view = json!({"index": index, "type": plugin_type, "path": null, "supportedVersions": null, "problem": null});
    match ctx.runtime.path.find(plugin_type) {
        Err(e) => view["problem"] = json!(e.msg),
        Ok(exe) => {
            view["path"] = json!(exe.program.display().to_string());
            match plugins_cmd::versions(&exe, &ctx.runtime.path.joined()) {
                Err(e) => view["problem"] = json!(format!("VERSION failed: {e}")),
                Ok(versions) => {
                    if !versions.contains(&list.cni_version) {
                        view["problem"] = json!(format!(
                            "does not support cniVersion {} (supports {})",
                            list.cni_version,
                            versions.join(", ")
                        ));
                    }
                    view["supportedVersions"] = json!(versions);
                }
            }
        }
    }
    view
}

/// Validates one network or file; exit 1 when anything is wrong.
pub fn run(ctx: &Context, target: &str, format: Format) -> Result<ExitCode> {
    let list = match load(ctx, target) {
        Ok(list) => list,
        Err(e) if format == Format::Json => {
            super::print_json(&json!({"valid": false, "network": null, "problems": [format!("{e:#}")]}));
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    let mut problems = Vec::new();
    if let Err(e) = cni::env::validate_network_name(&list.name) {
        problems.push(e.msg);
    }
    let plugins: Vec<Value> = (0..list.plugins.len()).map(|i| check_plugin(ctx, &list, i)).collect();
    for plugin in &plugins {
        if let Some(problem) = plugin["problem"].as_str() {
            problems.push(format!(
                "plugin {} ({}): {problem}",
                plugin["index"],
                plugin["type"].as_str().unwrap_or("?")
            ));
        }
    }
    let capabilities = inspect::capabilities(&list);
    let view = json!({
        "valid": problems.is_empty(),
        "network": list.name,
        "file": list.source.display().to_string(),
        "cniVersion": list.cni_version,
        "plugins": plugins,
        "capabilities": capabilities,
        "problems": problems,
    });
    if format == Format::Json {
        super::print_json(&view);
    } else {
        let rows = plugins
            .iter()
            .map(|p| {
                vec![
                    p["index"].to_string(),
                    p["type"].as_str().unwrap_or_default().to_string(),
                    p["path"].as_str().unwrap_or("-").to_string(),
                    p["problem"].as_str().map(|m| format!("problem: {m}")).unwrap_or_else(|| "ok".into()),
                ]
            })
            .collect();
        println!("{} ({}), cniVersion {}", list.name, list.source.display(), list.cni_version);
        println!("{}", render::table(&["#", "type", "plugin", "state"], rows));
        let caps = if capabilities.is_empty() { "none".to_string() } else { capabilities.join(", ") };
        println!("capabilities: {caps}");
        if problems.is_empty() {
            println!("valid");
        } else {
            for problem in &problems {
                println!("problem: {problem}");
            }
        }
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
