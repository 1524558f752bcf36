//! `cnictl check NET NETNS`: verify an attachment.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{runtime_conf, Context};
use crate::cli::AttachArgs;
use crate::runtime::config::load_network_or_cached;

/// Runs the chain's CHECK against the cached result.
pub fn run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let rt = runtime_conf(args)?;
    let attachment = Some((rt.container_id.as_str(), rt.ifname.as_str()));
    let list = load_network_or_cached(&ctx.conf_dir, &ctx.runtime.cache, &args.network, attachment)?;
    ctx.runtime.check(&list, &rt)?;
    Ok(ExitCode::SUCCESS)
}
