//! `cnictl netns add|del|list|exec`: named namespaces as iproute2 keeps them.
//! `list` prints one name a line as `ip netns list` does, or JSON with `-o json`.

use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde_json::{json, Value};

use crate::cli::NetnsCommand;
use crate::netns::{self, exec, manage};
use crate::render::{self, Format};

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
                let view: Vec<Value> = names
                    .iter()
                    .map(|n| json!({"name": n, "path": manage::named_path(n).display().to_string()}))
                    .collect();
                crate::render::print_json(&Value::Array(view))?;
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
