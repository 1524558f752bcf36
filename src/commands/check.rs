//! `cnictl check NET NETNS`: verify an attachment.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{runtime_conf, Context};
use crate::cli::AttachArgs;

/// Runs the chain's CHECK against the cached result.
pub fn run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    ctx.runtime.check(&list, &runtime_conf(args)?)?;
    Ok(ExitCode::SUCCESS)
}
