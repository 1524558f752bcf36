//! `cnictl default-network show|install`: the built-in network, to see or to edit.

use std::process::ExitCode;

use color_eyre::eyre::{bail, Result};

use super::Context;
use crate::cli::DefaultNetworkCommand;
use crate::runtime::default_network::{self, CONFLIST, FILE_NAME};

/// After `show` printed the built-in network: says on stderr when the
/// config dir's own copy is what `cnictl run` uses instead, and fails when
/// that copy is broken (`run` would fail too).
fn say_which_is_used(ctx: &Context) -> Result<()> {
    if let Some(list) = default_network::configured(&ctx.conf_dir)? {
        say!("cnictl: `cnictl run` uses {} instead of this built-in network", list.source.display());
    }
    Ok(())
}

/// Runs a `default-network` subcommand.
pub fn run(ctx: &Context, command: &DefaultNetworkCommand) -> Result<ExitCode> {
    match command {
        DefaultNetworkCommand::Show => {
            crate::render::write_out(CONFLIST.as_bytes())?;
            say_which_is_used(ctx)?;
        }
        DefaultNetworkCommand::Install { force } => {
            let path = ctx.conf_dir.join(FILE_NAME);
            // A dangling link counts too: writing would follow it.
            if path.symlink_metadata().is_ok() && !force {
                bail!("{} already exists; pass --force to replace it", path.display());
            }
            default_network::write_network_file(&path, CONFLIST.as_bytes(), *force)?;
            say!("cnictl: wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
