//! `cnictl add NET NETNS`: attach, print the result.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{print_json, runtime_conf, Context};
use crate::cli::AttachArgs;

/// Runs the chain's ADD and prints the result JSON.
pub fn run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    let rt = runtime_conf(args)?;
    let result = ctx.runtime.add(&list, &rt)?;
    print_json(&result);
    Ok(ExitCode::SUCCESS)
}
