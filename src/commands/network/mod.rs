//! `cnictl network create|rm|reload|ls|inspect`: the network lifecycle
//! podman and nerdctl offer (`create.rs` writes a conflist, `rm.rs` removes
//! one with what it left on the host, `reload.rs` re-applies live
//! attachments' host rules; `ls` and `inspect` are `list` and `show` under
//! podman's names); here what they share: the networks of the config dir
//! and the bridges they name.

mod create;
mod reload;
mod rm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::Context;
use crate::cli::NetworkCommand;
use crate::render::Format;
use crate::runtime::config::{load_file, network_files};

/// Runs a `network` subcommand.
pub fn run(ctx: &Context, command: &NetworkCommand, format: Format) -> Result<ExitCode> {
    match command {
        NetworkCommand::Create(args) => create::run(ctx, args, format),
        NetworkCommand::Rm { network } => rm::run(ctx, network, format),
        NetworkCommand::Reload { networks } => reload::run(ctx, networks, format),
        NetworkCommand::Ls => super::list::run(ctx, format),
        NetworkCommand::Inspect { network } => super::show::run(ctx, network, format),
    }
}

/// A network file of the config dir that loads.
pub struct Known {
    /// The network's name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// The bridges its chain names.
    pub bridges: Vec<String>,
}

/// Every network file of `dir` that loads, in libcni's order.
pub fn known_networks(dir: &Path) -> Result<Vec<Known>> {
    let files = network_files(dir)?;
    Ok(files
        .into_iter()
        .filter_map(|file| load_file(&file).ok().map(|list| (file, list)))
        .map(|(file, list)| Known { name: list.name.clone(), bridges: bridges(&list), file })
        .collect())
}

/// The bridge plugin's default bridge name.
pub use crate::inspect::bridges;
