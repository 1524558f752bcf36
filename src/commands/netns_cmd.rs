//! `cnictl netns add|del|list|exec`: named namespaces as iproute2 keeps them.
//! `list` prints one name a line as `ip netns list` does, or JSON with `-o json`.

use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::cli::NetnsCommand;
use crate::netns::{self, exec, manage};
use crate::render::{self, Format};

/// A named namespace as `netns list -o json` shows it.
#[derive(Debug, Serialize)]
struct NamedNetns {
    name: String,
    path: String,
}

/// Runs a `netns` subcommand.
pub fn run(command: &NetnsCommand, format: Format) -> Result<ExitCode> {
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
            let names = manage::list()?;
            if format == Format::Json {
                let view: Vec<NamedNetns> = names
                    .iter()
                    .map(|n| NamedNetns {
                        name: n.clone(),
                        path: manage::named_path(n).display().to_string(),
                    })
                    .collect();
                render::print_json(&serde_json::to_value(view)?)?;
            } else {
                render::write_out(names.iter().map(|n| format!("{n}\n")).collect::<String>().as_bytes())?;
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
