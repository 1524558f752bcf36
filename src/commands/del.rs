//! `cnictl del NET NETNS`: detach.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{runtime_conf, Context};
use crate::cli::AttachArgs;

/// Runs the chain's DEL (in reverse) and drops the cache entry.
pub fn run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    ctx.runtime.del(&list, &runtime_conf(args)?)?;
    Ok(ExitCode::SUCCESS)
}
