//! One module per verb; this one builds what they share from the global
//! options and dispatches.

mod add;
mod attachments;
mod check;
mod default_network;
mod del;
mod docker_run;
mod docs;
mod doctor;
mod explain;
mod gc;
pub(crate) mod inspect_cmd;
mod list;
mod log;
mod netns_cmd;
mod network;
mod plugins_cmd;
mod port;
mod run;
mod show;
pub(crate) mod status;
mod validate;

use std::process::ExitCode;

use color_eyre::eyre::{bail, Result, WrapErr};
use serde_json::{Map, Value};

use crate::cli::{AttachArgs, Cli, Command, PluginArgs};
use crate::netns;
use crate::runtime::cache::Cache;
use crate::runtime::config::{load_network, NetworkList};
use crate::runtime::plugins::PluginPath;
use crate::runtime::{Runtime, RuntimeConf};

/// Where libcni runtimes (containerd, CRI-O, podman 4, cnitool) keep their cache.
pub const DEFAULT_CACHE_DIR: &str = "/var/lib/cni";

/// What every command needs: where configs, plugins and the cache are.
pub struct Context {
    /// The config directory.
    pub conf_dir: std::path::PathBuf,
    /// The cache directory (results/ below it), for the views to tell an
    /// unreadable cache from an empty one.
    pub cache_dir: std::path::PathBuf,
    /// The runtime that runs chains.
    pub runtime: Runtime,
}

impl Context {
    fn from_cli(cli: &Cli) -> Context {
        Context {
            conf_dir: cli.conf_dir.clone(),
            cache_dir: cli.cache_dir.clone(),
            runtime: Runtime {
                path: PluginPath::new(cli.cni_path.as_deref()),
                cache: Cache::new(&cli.cache_dir),
            },
        }
    }

    /// The caches GC and doctor survey: the one given first (its stale
    /// entries are the ones GC deletes), then the runtimes' default when
    /// that is another, whose live attachments must be kept as well.
    pub fn surveyed_caches(&self) -> Vec<Cache> {
        let mut caches = vec![self.runtime.cache.clone()];
        let default = std::path::Path::new(DEFAULT_CACHE_DIR);
        let same = |a: &std::path::Path, b: &std::path::Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
        };
        if !same(&self.cache_dir, default) {
            caches.push(Cache::new(default));
        }
        caches
    }

    /// Loads a network by name from the config directory.
    pub fn network(&self, name: &str) -> Result<NetworkList> {
        load_network(&self.conf_dir, name)
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Context::from_cli(&cli);
    match &cli.command {
        Command::Add(args) => add::run(&ctx, args),
        Command::Del(args) => del::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args, cli.output),
        Command::Gc(args) => gc::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Run(args) => run::run(&ctx, args),
        Command::DockerRun(args) => docker_run::run(&ctx, args),
        Command::Netns(command) => netns_cmd::run(command, cli.output),
        Command::DefaultNetwork(command) => default_network::run(&ctx, command),
        Command::Network(command) => network::run(&ctx, command, cli.output),
        Command::List => list::run(&ctx, cli.output),
        Command::Show { network } => show::run(&ctx, network, cli.output),
        Command::Attachments(args) => attachments::run(&ctx, args, cli.output),
        Command::Inspect { target } => inspect_cmd::run(&ctx, target, cli.output),
        Command::Port(args) => port::run(&ctx, args, cli.output),
        Command::Plugins => plugins_cmd::run(&ctx, cli.output),
        Command::Validate { target, strict } => validate::run(&ctx, target, *strict, cli.output),
        Command::Doctor => doctor::run(&ctx, cli.output),
        Command::Log(args) => log::run(args, cli.output),
        Command::Explain(args) => explain::run(&ctx, args, cli.output),
        Command::Completions { shell } => docs::completions(*shell),
        Command::Complete { index, words } => docs::complete_names(&ctx, *index, words),
        Command::GenerateDocs { dir } => docs::generate(dir),
    }
}

/// Parses `CNI_ARGS` as cnitool does: `K=V` pairs split by `;`.
fn parse_cni_args(raw: &str) -> Result<Vec<(String, String)>> {
    raw.split(';')
        .map(|pair| match pair.split('=').collect::<Vec<_>>().as_slice() {
            [k, v] if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("invalid CNI_ARGS pair {pair:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// The runtime inputs for one attachment from the command line.
pub fn runtime_conf(args: &AttachArgs) -> Result<RuntimeConf> {
    let netns = netns::resolve(&args.netns)?;
    let container_id = args.container_id.clone().unwrap_or_else(|| netns::cnitool_container_id(&netns));
    plugin_conf(netns, container_id, &args.plugin)
}

/// The runtime inputs for an attachment of `netns` (a path) as `container_id`.
pub fn plugin_conf(netns: String, container_id: String, args: &PluginArgs) -> Result<RuntimeConf> {
    let cni_args = match args.cni_args.as_deref() {
        Some(raw) if !raw.is_empty() => parse_cni_args(raw)?,
        _ => Vec::new(),
    };
    let capability_args = match args.cap_args.as_deref() {
        Some(raw) if !raw.is_empty() => {
            match serde_json::from_str::<Value>(raw).wrap_err("CAP_ARGS is not valid JSON")? {
                Value::Object(map) => map,
                _ => bail!("CAP_ARGS must be a JSON object"),
            }
        }
        _ => Map::new(),
    };
    Ok(RuntimeConf { container_id, netns, ifname: args.ifname.clone(), args: cni_args, capability_args })
}
