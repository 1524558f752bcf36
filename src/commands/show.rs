//! `cnictl show NET`: a network as it resolves (plugins appended from
//! `<dir>/<net>/` included), its capabilities, and its live attachments.

use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::attachments::{self, Attachments};
use super::Context;
use crate::inspect;
use crate::render::{self, Cell, Format, View};

/// A network as it resolves, with its live attachments.
#[derive(Debug, Serialize)]
struct NetworkView {
    name: String,
    file: String,
    #[serde(rename = "cniVersion")]
    cni_version: String,
    #[serde(rename = "disableCheck")]
    disable_check: bool,
    #[serde(rename = "disableGC")]
    disable_gc: bool,
    plugins: Vec<Map<String, Value>>,
    capabilities: Vec<String>,
    subnets: Vec<String>,
    attachments: Attachments,
}

/// Prints one network.
pub fn run(ctx: &Context, network: &str, format: Format) -> Result<ExitCode> {
    let list = ctx.network(network)?;
    let view = NetworkView {
        name: list.name.clone(),
        file: list.source.display().to_string(),
        cni_version: list.cni_version.clone(),
        disable_check: list.disable_check,
        disable_gc: list.disable_gc,
        plugins: list.plugins.clone(),
        capabilities: inspect::capabilities(&list),
        subnets: inspect::subnets(&list),
        attachments: attachments::attachments(ctx, Some(&list.name))?,
    };
    if format == Format::Json {
        render::print_json(&serde_json::to_value(&view)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let facts: Vec<Vec<Cell>> = [
        ("name", view.name.clone()),
        ("file", view.file.clone()),
        ("cniVersion", view.cni_version.clone()),
        ("plugins", inspect::plugin_types(&list).join(" > ")),
        ("subnets", view.subnets.join(", ")),
        (
            "capabilities",
            if view.capabilities.is_empty() { "-".into() } else { view.capabilities.join(", ") },
        ),
        ("disableCheck / disableGC", format!("{} / {}", view.disable_check, view.disable_gc)),
    ]
    .into_iter()
    .map(|(fact, value)| vec![fact.into(), value.into()])
    .collect();
    let mut out = render::table(&["", ""], facts);
    out.push_str("\n\n");
    for (i, plugin) in view.plugins.iter().enumerate() {
        let text = serde_json::to_string_pretty(plugin).unwrap_or_default();
        out.push_str(&format!("plugin {} of {}:\n{text}\n", i + 1, view.plugins.len()));
    }
    out.push('\n');
    let rows = view.attachments.rows();
    if rows.is_empty() {
        out.push_str("no live attachments");
    } else {
        out.push_str(&render::table(view.attachments.headers(), rows));
    }
    render::line(out)?;
    Ok(ExitCode::SUCCESS)
}
