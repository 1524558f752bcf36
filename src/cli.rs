//! The command line, declared once: clap parses it, and the same
//! definitions generate shell completions and man pages.

use std::path::PathBuf;

use clap::{Arg, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The help heading of the options every verb accepts.
pub const GLOBAL_HEADING: &str = "Global options";

/// cnictl: run CNI plugins against network namespaces, as runtimes do.
#[derive(Debug, Parser)]
#[command(name = "cnictl", version, about, long_about = None)]
pub struct Cli {
    /// Directory holding network configurations (*.conflist, *.conf, *.json).
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, env = "NETCONFPATH", default_value = "/etc/cni/net.d", value_name = "DIR")]
    pub conf_dir: PathBuf,

    /// Plugin search path, colon separated. Default: cnictl's own directory,
    /// /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni.
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, env = "CNI_PATH", value_name = "DIRS")]
    pub cni_path: Option<String>,

    /// Where the result cache lives (results/ below it).
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, env = "CNI_CACHE_DIR", default_value = "/var/lib/cni", value_name = "DIR")]
    pub cache_dir: PathBuf,

    /// Output of the views: aligned columns, or JSON for scripts.
    #[arg(short, long, global = true, help_heading = GLOBAL_HEADING, value_enum, default_value = "table", value_name = "FORMAT")]
    pub output: crate::render::Format,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// The verb as typed to the parser (`add`, `netns list`), for messages.
    #[arg(skip)]
    pub verb: String,
}

/// Which global options a verb uses (by arg id); its help, man page and
/// completions show only those. The others are still accepted, and ignored.
fn uses(verb: &str) -> &'static [&'static str] {
    match verb {
        "add" | "del" | "check" | "gc" | "run" | "docker-run" => &["conf_dir", "cni_path", "cache_dir"],
        "status" => &["conf_dir", "cni_path"],
        "list" => &["conf_dir", "output"],
        "show" => &["conf_dir", "cache_dir", "output"],
        "attachments" => &["cache_dir", "output"],
        "plugins" => &["cni_path", "output"],
        "validate" => &["conf_dir", "cni_path", "output"],
        "doctor" => &["conf_dir", "cni_path", "cache_dir", "output"],
        "netns list" => &["output"],
        "default-network install" => &["conf_dir"],
        _ => &[],
    }
}

/// Gives `cmd` (the verb `path`) and its subcommands their own copy of each
/// global option, hidden where it does not apply. clap would otherwise
/// copy every global option into every subcommand's help.
fn scope_globals(mut cmd: clap::Command, path: &str, globals: &[Arg]) -> clap::Command {
    for global in globals {
        let shown = uses(path).contains(&global.get_id().as_str());
        cmd = cmd.arg(global.clone().hide(!shown));
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for sub in subs {
        let sub_path = format!("{path} {sub}");
        cmd = cmd.mut_subcommand(&sub, |s| scope_globals(s, &sub_path, globals));
    }
    cmd
}

/// The full command definition: the derive's, with the global options
/// scoped to the verbs that use them. Parsing, completions and man pages
/// all start here.
pub fn command() -> clap::Command {
    let mut root = Cli::command();
    let globals: Vec<Arg> = root.get_arguments().filter(|a| a.is_global_set()).cloned().collect();
    let verbs: Vec<String> = root.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for verb in verbs {
        root = root.mut_subcommand(&verb, |s| scope_globals(s, &verb, &globals));
    }
    root
}

/// Parses the process's arguments (help, version and usage errors exit here).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    let mut verb = Vec::new();
    let mut level = &matches;
    while let Some((name, sub)) = level.subcommand() {
        verb.push(name.to_string());
        level = sub;
    }
    match Cli::from_arg_matches(&matches) {
        Ok(mut cli) => {
            cli.verb = verb.join(" ");
            cli
        }
        Err(e) => e.exit(),
    }
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Attach a network namespace to a network (runs the chain's ADD).
    Add(AttachArgs),
    /// Detach a network namespace from a network (runs the chain's DEL).
    Del(AttachArgs),
    /// Verify an attachment (runs the chain's CHECK).
    Check(AttachArgs),
    /// Delete the stale attachments of a network, or of every network, and let the plugins clean up.
    Gc(GcArgs),
    /// Ask a network's plugins whether they can serve new attachments.
    Status(NetworkArgs),
    /// Run a command in a new network namespace attached to a network, then
    /// detach and remove the namespace (also on failure and on signals).
    Run(RunArgs),
    /// Run a Docker container on a CNI network: a pause container holds the
    /// namespace, the network is added to it, the container joins it; all
    /// is removed when the container exits.
    DockerRun(DockerRunArgs),
    /// Manage named network namespaces (/var/run/netns, as `ip netns`).
    #[command(subcommand)]
    Netns(NetnsCommand),
    /// Show or install the network `cnictl run` uses when none is named.
    #[command(subcommand)]
    DefaultNetwork(DefaultNetworkCommand),
    /// List the networks in the config dir: file, version, plugins, subnets, state.
    #[command(visible_alias = "ls")]
    List,
    /// Show one network as it resolves, its capabilities and live attachments.
    #[command(visible_alias = "inspect")]
    Show {
        /// Network name.
        network: String,
    },
    /// List live attachments from the result cache.
    #[command(visible_alias = "ps")]
    Attachments,
    /// List the plugins in the plugin path and the spec versions they support.
    Plugins,
    /// Check a network (by name) or a config file: parsing, plugins, versions.
    Validate {
        /// A network name in the config dir, or a path to a config file.
        target: String,
    },
    /// Look for what keeps networks from working on this host, with fixes.
    Doctor,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Names for the shell completion scripts: the networks, namespaces..
    /// that fit word INDEX of WORDS (the command line being completed), one
    /// a line; nothing where the shell's own completion applies.
    #[command(name = "__complete", hide = true)]
    Complete {
        /// Which word is being completed (0 is the program).
        index: usize,
        /// The words of the command line.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Write completions (bash, zsh, fish) and man pages into DIR/completions and DIR/man.
    #[command(hide = true)]
    GenerateDocs {
        /// The repository root (or any directory).
        dir: PathBuf,
    },
}

/// Options passed to the plugins of an attachment.
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// Interface name inside the namespace.
    #[arg(short, long, env = "CNI_IFNAME", default_value = "eth0")]
    pub ifname: String,
    /// CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE.
    #[arg(long = "args", env = "CNI_ARGS", value_name = "PAIRS")]
    pub cni_args: Option<String>,
    /// Capability arguments as a JSON object, e.g. '{"portMappings":[...]}'.
    #[arg(long = "cap-args", env = "CAP_ARGS", value_name = "JSON")]
    pub cap_args: Option<String>,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Network name. Default: the network named cnictl-default in the config
    /// dir, else the built-in one if the config dir holds no networks.
    pub network: Option<String>,
    /// Plugin options.
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Print nothing but the command's own output.
    #[arg(short, long)]
    pub quiet: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Arguments of `docker-run`: cnictl's own options come first and are long
/// only, so that everything from the first other word on goes to `docker run`.
#[derive(Debug, Args)]
pub struct DockerRunArgs {
    /// Network name. Default: as for `run`.
    #[arg(long = "net", value_name = "NET")]
    pub network: Option<String>,
    /// Interface name inside the container.
    #[arg(long, env = "CNI_IFNAME", default_value = "eth0")]
    pub ifname: String,
    /// CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE.
    #[arg(long = "args", env = "CNI_ARGS", value_name = "PAIRS")]
    pub cni_args: Option<String>,
    /// Capability arguments as a JSON object.
    #[arg(long = "cap-args", env = "CAP_ARGS", value_name = "JSON")]
    pub cap_args: Option<String>,
    /// Image of the pause container (needs /bin/sleep).
    #[arg(long, default_value = "busybox:latest", value_name = "IMAGE")]
    pub pause_image: String,
    /// `docker run` arguments, the image and its command.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "DOCKER-RUN-ARGS"
    )]
    pub docker_args: Vec<String>,
}

/// `netns` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetnsCommand {
    /// Create a named network namespace (with lo down, as `ip netns add`).
    Add {
        /// Its name.
        name: String,
    },
    /// Delete named network namespaces.
    #[command(visible_alias = "delete")]
    Del {
        /// Their names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List named network namespaces.
    #[command(visible_alias = "ls")]
    List,
    /// Run a command inside a named namespace (or a netns path), as
    /// `ip netns exec NAME COMMAND...`; a `--` before the command is optional.
    Exec {
        /// The namespace: a name under /var/run/netns or a path.
        netns: String,
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

/// `default-network` subcommands.
#[derive(Debug, Subcommand)]
pub enum DefaultNetworkCommand {
    /// Print the default network's conflist.
    Show,
    /// Write it into the config dir as 99-cnictl-default.conflist, to edit.
    Install {
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// Arguments naming one attachment.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Network name, as in its configuration file.
    pub network: String,
    /// Network namespace: a name under /var/run/netns or a path.
    pub netns: String,
    /// Plugin options.
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Container ID. Default: derived from the netns path as cnitool does.
    #[arg(long, value_name = "ID")]
    pub container_id: Option<String>,
}

/// Arguments for GC.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The network; without one, every network of the config dir and of
    /// the result cache.
    pub network: Option<String>,
    /// Accepted for cnitool compatibility; ignored.
    #[arg(hide = true)]
    pub netns: Option<String>,
    /// An attachment to keep, as CONTAINER_ID/IFNAME (repeatable). Without
    /// any, every cached attachment whose netns still exists is kept.
    #[arg(long = "valid", value_name = "ID/IFNAME")]
    pub valid: Vec<String>,
    /// List what would be removed, and why, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments naming a network.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Network name.
    pub network: String,
    /// Accepted for cnitool compatibility; ignored.
    #[arg(hide = true)]
    pub netns: Option<String>,
}
