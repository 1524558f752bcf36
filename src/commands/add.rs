//! `cnictl add NET NETNS`: attach, print the result.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::{print_json, runtime_conf, Context};
use crate::cli::AttachArgs;
use crate::runtime::capabilities;
use crate::runtime::config::NetworkList;
use crate::runtime::RuntimeConf;

/// Runs the chain's ADD and prints the result JSON.
pub fn run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    let rt = runtime_conf(args)?;
    warn_undeclared_capabilities(&list, &rt);
    let result = ctx.runtime.add(&list, &rt)?;
    print_json(&result);
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr which capability arguments no plugin of the chain
/// declares: libcni passes them to none, and the ADD goes on without them.
pub(super) fn warn_undeclared_capabilities(list: &NetworkList, rt: &RuntimeConf) {
    for warning in capabilities::undeclared_args(list, &rt.capability_args) {
        eprintln!("cnictl: warning: {warning}");
    }
}
