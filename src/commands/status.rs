//! `cnictl status NET`: can the network take new attachments?

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::Context;
use crate::cli::NetworkArgs;

/// Runs STATUS on each plugin of the chain.
pub fn run(ctx: &Context, args: &NetworkArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    ctx.runtime.status(&list)?;
    Ok(ExitCode::SUCCESS)
}
