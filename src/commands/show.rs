//! `cnictl show NET`: a network as it resolves (plugins appended from
//! `<dir>/<net>/` included), its capabilities, and its live attachments.

use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::{attachments, Context};
use crate::inspect;
use crate::render::{self, Format};

/// Prints one network.
pub fn run(ctx: &Context, network: &str, format: Format) -> Result<ExitCode> {
    let list = ctx.network(network)?;
    let live = attachments::attachments(ctx, Some(&list.name))?;
    let view = json!({
        "name": list.name,
        "file": list.source.display().to_string(),
        "cniVersion": list.cni_version,
        "disableCheck": list.disable_check,
        "disableGC": list.disable_gc,
        "plugins": list.plugins,
        "capabilities": inspect::capabilities(&list),
        "subnets": inspect::subnets(&list),
        "attachments": live,
    });
    if format == Format::Json {
        crate::render::print_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    let capabilities = inspect::capabilities(&list);
    let facts = vec![
        vec!["name".to_string(), list.name.clone()],
        vec!["file".to_string(), list.source.display().to_string()],
        vec!["cniVersion".to_string(), list.cni_version.clone()],
        vec!["plugins".to_string(), inspect::plugin_types(&list).join(" > ")],
        vec!["subnets".to_string(), inspect::subnets(&list).join(", ")],
        vec![
            "capabilities".to_string(),
            if capabilities.is_empty() { "-".into() } else { capabilities.join(", ") },
        ],
        vec!["disableCheck / disableGC".to_string(), format!("{} / {}", list.disable_check, list.disable_gc)],
    ];
    let mut out = render::table(&["", ""], facts);
    out.push_str("\n\n");
    for (i, plugin) in list.plugins.iter().enumerate() {
        let text = serde_json::to_string_pretty(&Value::Object(plugin.clone())).unwrap_or_default();
        out.push_str(&format!("plugin {} of {}:\n{text}\n", i + 1, list.plugins.len()));
    }
    out.push('\n');
    let rows = attachments::rows(&live);
    if rows.is_empty() {
        out.push_str("no live attachments");
    } else {
        out.push_str(&render::table(&attachments::HEADERS, rows));
    }
    render::line(out)?;
    Ok(ExitCode::SUCCESS)
}
