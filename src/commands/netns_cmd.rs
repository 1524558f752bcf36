//! `cnictl netns add|del|list|exec`: named namespaces as iproute2 keeps them.

use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::cli::NetnsCommand;
use crate::netns::{self, exec, manage};

/// Runs a `netns` subcommand.
pub fn run(command: &NetnsCommand) -> Result<ExitCode> {
    match command {
        NetnsCommand::Add { name } => {
            manage::create(name)?;
        }
        NetnsCommand::Del { names } => {
            for name in names {
                manage::delete(name)?;
            }
        }
        NetnsCommand::List => {
            for name in manage::list()? {
                println!("{name}");
            }
        }
        NetnsCommand::Exec { netns: target, command } => {
            let path = PathBuf::from(netns::resolve(target)?);
            exec::take_over_signals()?;
            let code = exec::run_in(&path, command)?;
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
    }
    Ok(ExitCode::SUCCESS)
}
