//! `cnictl default-network show|install`: the built-in network, to see or to edit.

use std::io::Write;
use std::process::ExitCode;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::Context;
use crate::cli::DefaultNetworkCommand;
use crate::runtime::default_network::{CONFLIST, FILE_NAME};

/// Runs a `default-network` subcommand.
pub fn run(ctx: &Context, command: &DefaultNetworkCommand) -> Result<ExitCode> {
    match command {
        DefaultNetworkCommand::Show => print!("{CONFLIST}"),
        DefaultNetworkCommand::Install { force } => {
            let path = ctx.conf_dir.join(FILE_NAME);
            if path.exists() && !force {
                bail!("{} already exists; pass --force to replace it", path.display());
            }
            std::fs::create_dir_all(&ctx.conf_dir)
                .wrap_err_with(|| format!("failed to create {}", ctx.conf_dir.display()))?;
            let mut file = std::fs::File::create(&path)
                .wrap_err_with(|| format!("failed to write {}", path.display()))?;
            file.write_all(CONFLIST.as_bytes())
                .wrap_err_with(|| format!("failed to write {}", path.display()))?;
            eprintln!("cnictl: wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
