//! `cnictl explain NET`: the plan of an ADD of NET (`crate::plan`) for a
//! container not yet named: what each plugin would make, changing nothing.

use std::process::ExitCode;

use color_eyre::eyre::{eyre, Result};

use super::{add, plugin_conf, Context};
use crate::cli::ExplainArgs;
use crate::render::Format;

/// The container ID names are derived from when none is given.
const PLACEHOLDER_ID: &str = "cnictl-explain";

/// Prints the plan; exits 1 when the ADD would fail.
pub fn run(ctx: &Context, args: &ExplainArgs, format: Format) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    let id = args.container_id.clone().unwrap_or_else(|| PLACEHOLDER_ID.to_string());
    let rt = plugin_conf(String::new(), id, &args.plugin)?;
    cni::env::validate_container_id(&rt.container_id)
        .map_err(|e| eyre!("container ID {:?}: {e}", rt.container_id))?;
    cni::env::validate_interface_name(&rt.ifname)
        .map_err(|e| eyre!("interface name {:?}: {e}", rt.ifname))?;
    add::warn_undeclared_capabilities(&list, &rt);
    let input = crate::plan::Input {
        list: &list,
        rt: &rt,
        container_id_given: args.container_id.is_some(),
        path: &ctx.runtime.path,
    };
    add::print_plan(&crate::plan::plan(&input), format)
}
