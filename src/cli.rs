//! The command line, declared once: clap parses it, and the same
//! definitions generate shell completions and man pages.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// The help heading of the options every verb accepts.
pub const GLOBAL_HEADING: &str = "Global options";

/// cnictl: run CNI plugins against network namespaces, as runtimes do.
#[derive(Debug, Parser)]
#[command(name = "cnictl", version, about, long_about = None)]
pub struct Cli {
    /// Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH].
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, default_value = "/etc/cni/net.d", value_name = "DIR")]
    pub conf_dir: PathBuf,

    /// Plugin search path, colon separated. Default: cnictl's own directory,
    /// /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH].
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, value_name = "DIRS")]
    pub cni_path: Option<String>,

    /// Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR].
    #[arg(long, global = true, help_heading = GLOBAL_HEADING, default_value = "/var/lib/cni", value_name = "DIR")]
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
        "add" => &["conf_dir", "cni_path", "cache_dir", "output"],
        "del" | "gc" | "run" | "docker-run" => &["conf_dir", "cni_path", "cache_dir"],
        "check" => &["conf_dir", "cni_path", "cache_dir", "output"],
        "status" => &["conf_dir", "cni_path"],
        "list" => &["conf_dir", "output"],
        "show" => &["conf_dir", "cache_dir", "output"],
        "attachments" => &["cache_dir", "output"],
        "inspect" | "port" => &["conf_dir", "cache_dir", "output"],
        "plugins" => &["cni_path", "output"],
        "validate" => &["conf_dir", "cni_path", "output"],
        "doctor" => &["conf_dir", "cni_path", "cache_dir", "output"],
        "log" => &["output"],
        "explain" => &["conf_dir", "cni_path", "output"],
        "netns list" => &["output"],
        "default-network install" => &["conf_dir"],
        "network create" => &["conf_dir", "output"],
        "network rm" => &["conf_dir", "cache_dir", "output"],
        "network reload" => &["conf_dir", "cni_path", "cache_dir", "output"],
        "network ls" => &["conf_dir", "output"],
        "network inspect" => &["conf_dir", "cache_dir", "output"],
        _ => &[],
    }
}

/// Gives `cmd` (the verb `path`) and its subcommands their own copy of each
/// global option, hidden where it does not apply. clap would otherwise
/// copy every global option into every subcommand's help.
fn scope_globals(mut cmd: clap::Command, path: &str, globals: &[Arg]) -> clap::Command {
    for global in globals {
        let shown = uses(path).contains(&global.get_id().as_str());
        cmd = cmd.arg(verb_specific(path, global.clone().hide(!shown)));
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for sub in subs {
        let sub_path = format!("{path} {sub}");
        cmd = cmd.mut_subcommand(&sub, |s| scope_globals(s, &sub_path, globals));
    }
    cmd
}

/// A global option as one verb documents it: `add` prints the CNI result
/// as JSON (as cnitool does) unless `-o table` asks for a table, so its
/// `--output` has no default to show.
fn verb_specific(path: &str, global: Arg) -> Arg {
    if path == "add" && global.get_id() == "output" {
        return global.hide_default_value(true).hide_possible_values(true).help(
            "How to print the result: `table`, a table of its interfaces and addresses; `json` \
             (and without -o) the CNI result, as cnitool prints it. With --dry-run, the plan: a \
             table unless `json`",
        );
    }
    global
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

/// Parses the process's arguments (help, version and usage errors exit
/// here), then takes what the command line leaves out from the
/// environment ([`FROM_ENV`]).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    let mut verb = Vec::new();
    let mut levels = vec![&matches];
    while let Some((name, sub)) = levels[levels.len() - 1].subcommand() {
        verb.push(name.to_string());
        levels.push(sub);
    }
    let given = |id: &str| on_command_line(&levels, id);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.verb = verb.join(" ");
    if let Err(e) = apply_env(&mut cli, &given) {
        e.exit();
    }
    if let Command::Add(AddArgs { attach: args, .. }) = &mut cli.command {
        args.output = given("output").then_some(cli.output);
    }
    cli
}

/// Options that fall back to an environment variable, as (arg id,
/// variable). They are read here rather than by clap's `env`: clap takes an
/// empty variable for an empty value (cnitool takes it for unset), and
/// shows an option it got from the environment in the usage line of a
/// usage error as if it were required.
pub const FROM_ENV: [(&str, &str); 6] = [
    ("conf_dir", "NETCONFPATH"),
    ("cni_path", "CNI_PATH"),
    ("cache_dir", "CNI_CACHE_DIR"),
    ("ifname", "CNI_IFNAME"),
    ("cni_args", "CNI_ARGS"),
    ("cap_args", "CAP_ARGS"),
];

/// Whether the option `id` was given on the command line, at any level
/// (a global option may come before or after its verb).
fn on_command_line(levels: &[&ArgMatches], id: &str) -> bool {
    levels.iter().any(|level| {
        level.ids().any(|present| present.as_str() == id)
            && level.value_source(id) == Some(ValueSource::CommandLine)
    })
}

/// The variable `var`, unless unset or empty (as cnitool reads it).
fn env_value(var: &str) -> Result<Option<String>, clap::Error> {
    match std::env::var(var) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidUtf8,
            format!("the environment variable {var} is not valid UTF-8\n"),
        )),
    }
}

/// Sets each option of [`FROM_ENV`] that the command line did not give
/// from its variable, when that is set and not empty.
fn apply_env(cli: &mut Cli, given: &dyn Fn(&str) -> bool) -> Result<(), clap::Error> {
    let mut values = std::collections::HashMap::new();
    for (id, var) in FROM_ENV {
        if !given(id) {
            if let Some(value) = env_value(var)? {
                values.insert(id, value);
            }
        }
    }
    if let Some(dir) = values.remove("conf_dir") {
        cli.conf_dir = PathBuf::from(dir);
    }
    if let Some(dir) = values.remove("cache_dir") {
        cli.cache_dir = PathBuf::from(dir);
    }
    if let Some(path) = values.remove("cni_path") {
        cli.cni_path = Some(path);
    }
    let (ifname, cni_args, cap_args) = match &mut cli.command {
        Command::Add(AddArgs { attach: a, .. })
        | Command::Del(a)
        | Command::Check(CheckArgs { attach: a, .. }) => {
            (&mut a.plugin.ifname, &mut a.plugin.cni_args, &mut a.plugin.cap_args)
        }
        Command::Run(r) => (&mut r.plugin.ifname, &mut r.plugin.cni_args, &mut r.plugin.cap_args),
        Command::Explain(e) => (&mut e.plugin.ifname, &mut e.plugin.cni_args, &mut e.plugin.cap_args),
        Command::DockerRun(d) => (&mut d.ifname, &mut d.cni_args, &mut d.cap_args),
        _ => return Ok(()),
    };
    if let Some(name) = values.remove("ifname") {
        *ifname = name;
    }
    if let Some(pairs) = values.remove("cni_args") {
        *cni_args = Some(pairs);
    }
    if let Some(json) = values.remove("cap_args") {
        *cap_args = Some(json);
    }
    Ok(())
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Attach a network namespace to a network (runs the chain's ADD), or
    /// with --dry-run say what the ADD would make, changing nothing.
    Add(AddArgs),
    /// Detach a network namespace from a network (runs the chain's DEL).
    Del(AttachArgs),
    /// Verify an attachment (runs the chain's CHECK; with --deep, also
    /// what decides whether its packets leave the host and return).
    Check(CheckArgs),
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
    /// Create, remove and reload networks (conflists in the config dir), as
    /// `podman network` does.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// List the networks in the config dir: file, version, plugins, subnets, state.
    #[command(visible_alias = "ls")]
    List,
    /// Show one network as it resolves, its capabilities and live attachments.
    Show {
        /// Network name.
        network: String,
    },
    /// List live attachments from the result cache.
    #[command(visible_alias = "ps")]
    Attachments(AttachmentsArgs),
    /// Show attachments as the kernel holds them: interfaces, host veth,
    /// port mappings against their rules, bandwidth, firewall, config drift.
    ///
    /// TARGET is a container ID or a unique prefix of one, a netns name or
    /// path, or an address of a cached result; every attachment it names
    /// is shown (a container on several networks, or with several
    /// interfaces). A network's name that names no attachment shows the
    /// network, as `show` does.
    Inspect {
        /// Container ID (or unique prefix), netns name or path, or address.
        target: String,
    },
    /// List an attachment's port mappings, or the host address and port
    /// that a private port is published on, as `podman port` prints them.
    ///
    /// A mapping whose DNAT rule is missing is still listed as cached, and
    /// named on standard error (`inspect` shows the rules).
    Port(PortArgs),
    /// List the plugins in the plugin path and the spec versions they support.
    Plugins,
    /// Check a network (by name) or a config file: parsing, plugins, versions, lint.
    Validate {
        /// A network name in the config dir, or a path to a config file.
        target: String,
        /// Exit non-zero on warnings too (unknown keys, overlapping subnets..), for CI.
        #[arg(long)]
        strict: bool,
    },
    /// Look for what keeps networks from working on this host, with fixes.
    Doctor,
    /// Show what the plugins did: every ADD, DEL, CHECK and GC (and each
    /// change of a STATUS answer), read back from the systemd journal.
    Log(LogArgs),
    /// Say what an ADD of a network would make, plugin by plugin, changing
    /// nothing: bridge, gateway, the address host-local would hand out,
    /// NAT backend, DNAT rules, tc limits (as `add --dry-run`, without a netns).
    ///
    /// Exits 1 when the plan finds the ADD would fail (a full range, a
    /// taken address, a config a plugin refuses), after printing it.
    Explain(ExplainArgs),
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

/// Arguments of `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this network's operations.
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Only the operations of containers whose ID starts with this.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Only one verb (ADD, DEL, CHECK, GC, STATUS).
    #[arg(long, value_name = "VERB")]
    pub verb: Option<String>,
    /// Only the calls that failed.
    #[arg(long)]
    pub failed: bool,
    /// From this time on, as journalctl reads it ("2026-12-06 03:00", "1 hour ago", "today").
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Up to this time, as journalctl reads it.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only the last N operations.
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Read this journald namespace's journal (journalctl --namespace).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Read the journal files in this directory (journalctl --directory), e.g. another node's.
    #[arg(long, value_name = "DIR")]
    pub directory: Option<PathBuf>,
}

/// Options passed to the plugins of an attachment.
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// Interface name inside the namespace [env: CNI_IFNAME].
    #[arg(short, long, default_value = "eth0")]
    pub ifname: String,
    /// CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS].
    #[arg(long = "args", value_name = "PAIRS")]
    pub cni_args: Option<String>,
    /// Capability arguments as a JSON object, e.g. '{"portMappings":[...]}' [env: CAP_ARGS].
    #[arg(long = "cap-args", value_name = "JSON")]
    pub cap_args: Option<String>,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Network name. Default: cnictl-default from the config dir, else the
    /// built-in network (bridge cni0, host-local 10.22.0.0/16).
    ///
    /// Without a name, the network cnictl-default is taken from the config
    /// dir when a file there holds it (`cnictl default-network install`
    /// writes one to edit), whatever other networks the config dir holds;
    /// else the built-in network: bridge cni0 as the gateway of host-local
    /// 10.22.0.0/16, with masquerading and a default route (`cnictl
    /// default-network show` prints it). A file meant for cnictl-default
    /// that cannot be read or parsed is an error, not a reason to fall back.
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
    /// Interface name inside the container [env: CNI_IFNAME].
    #[arg(long, default_value = "eth0")]
    pub ifname: String,
    /// CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS].
    #[arg(long = "args", value_name = "PAIRS")]
    pub cni_args: Option<String>,
    /// Capability arguments as a JSON object [env: CAP_ARGS].
    #[arg(long = "cap-args", value_name = "JSON")]
    pub cap_args: Option<String>,
    /// Image of the pause container (needs /bin/sleep; pulled when docker does not have it).
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

/// `network` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Write a new bridge network, NAME.conflist, into the config dir: a
    /// free subnet unless one is given, a bridge of its own, podman's chain.
    Create(NetworkCreateArgs),
    /// Remove a network with no attachments: its file, then its bridge and
    /// what its plugins left on the host after the last attachment.
    #[command(visible_alias = "remove")]
    Rm {
        /// Network name.
        network: String,
    },
    /// Re-apply the host-side rules of live attachments (masquerade, port
    /// mappings, firewall) after a firewall flush, as `podman network reload`.
    Reload {
        /// Network names. Default: every network of the config dir.
        networks: Vec<String>,
    },
    /// The networks of the config dir (as `cnictl list`).
    #[command(visible_alias = "list")]
    Ls,
    /// One network and its attachments (as `cnictl show`).
    Inspect {
        /// Network name.
        network: String,
    },
}

/// Arguments of `network create`.
#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// The network's name (also its file's: NAME.conflist).
    pub name: String,
    /// A subnet for host-local, e.g. 10.89.3.0/24; twice for IPv4 and IPv6.
    /// Default: the first free /24 of the pool.
    #[arg(long, value_name = "CIDR")]
    pub subnet: Vec<String>,
    /// The gateway of a --subnet (once per subnet, in order). Default: its first address.
    #[arg(long, value_name = "IP")]
    pub gateway: Vec<String>,
    /// Also an IPv6 subnet: a random free fdXX::/64 unless --subnet gives one.
    #[arg(long)]
    pub ipv6: bool,
    /// No way out: the bridge is no gateway, no masquerade, no default route.
    #[arg(long)]
    pub internal: bool,
    /// Add portmap (capability portMappings).
    #[arg(long)]
    pub portmap: bool,
    /// Add bandwidth (capability bandwidth).
    #[arg(long)]
    pub bandwidth: bool,
    /// Add firewall.
    #[arg(long)]
    pub firewall: bool,
    /// The bridge's name. Default: the first free cni-podmanN.
    #[arg(long, value_name = "NAME")]
    pub bridge: Option<String>,
    /// Where free IPv4 subnets are looked for, a /24 at a time. Default:
    /// podman's pools, 10.89.0.0/24 up to 10.255.255.0/24.
    #[arg(long, value_name = "CIDR")]
    pub subnet_pool: Option<String>,
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
    /// The `-o` given on the command line, if any: `add` prints the CNI
    /// result as JSON unless told `-o table` (set by [`parse`]).
    #[arg(skip)]
    pub output: Option<crate::render::Format>,
}

/// Filters of `attachments`: each given one must match.
#[derive(Debug, Args)]
pub struct AttachmentsArgs {
    /// Only attachments of this network.
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Only attachments of this namespace: a name under /var/run/netns or a path.
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Option<String>,
    /// Only the attachment that has this address in its cached result.
    #[arg(long, value_name = "ADDR")]
    pub ip: Option<std::net::IpAddr>,
    /// Only attachments publishing this host port.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// Arguments of `port`.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// Container ID (or unique prefix), netns name or path, or address.
    #[arg(required_unless_present = "all")]
    pub target: Option<String>,
    /// Only the mappings of this container port, as PORT or PORT/PROTO (tcp unless named).
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub private_port: Option<String>,
    /// Every cached attachment's mappings, each line led by its short container ID.
    #[arg(short, long, conflicts_with_all = ["target", "private_port"])]
    pub all: bool,
}

/// Arguments of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The attachment.
    #[command(flatten)]
    pub attach: AttachArgs,
    /// Print what each plugin of the chain would make (bridge, veth,
    /// addresses, rules, limits) and change nothing: no reservation, link,
    /// rule, cache entry or netns. The netns must exist, as for the ADD.
    /// Exits 1 when the ADD would fail.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Network name, as in its configuration file.
    pub network: String,
    /// Plugin options, as the ADD would get them.
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Container ID the per-container names (portmap's chain, bandwidth's
    /// ifb, rule comments) are derived from. Default: a placeholder.
    #[arg(long, value_name = "ID")]
    pub container_id: Option<String>,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The attachment.
    #[command(flatten)]
    pub attach: AttachArgs,
    /// After the plugins' CHECK, check the data plane of the attachment
    /// from its cached result: forwarding and rp_filter sysctls, the routes
    /// the kernel picks (asked of it; no packet is sent), the FORWARD
    /// hook's policy and rules (iptables and nftables), its masquerade
    /// rule, the host veth and bridge, each port mapping's DNAT rule. Each
    /// finding comes with its fix; exit 1 when one fails.
    #[arg(long)]
    pub deep: bool,
    /// With --deep: the outside address whose route is looked up (no
    /// packet is sent to it). Default: 192.0.2.1 and 2001:db8::1
    /// (documentation addresses, routed as any address outside the host).
    #[arg(long, value_name = "ADDR", requires = "deep")]
    pub to: Vec<std::net::IpAddr>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The run help's words about the built-in network, and the network.
    #[test]
    fn run_help_describes_the_built_in_network() {
        let cmd = command();
        let run = cmd.find_subcommand("run").expect("run");
        let network = run.get_arguments().find(|a| a.get_id() == "network").expect("network");
        let conflist: serde_json::Value =
            serde_json::from_str(crate::runtime::default_network::CONFLIST).expect("conflist");
        let plugin = &conflist["plugins"][0];
        let bridge = plugin["bridge"].as_str().expect("bridge");
        let subnet = plugin["ipam"]["subnet"].as_str().expect("subnet");
        for help in [network.get_help(), network.get_long_help()] {
            let help = help.expect("help").to_string();
            assert!(help.contains(bridge) && help.contains(subnet), "{help}");
            assert!(!help.contains("holds no networks"), "{help}");
        }
        let long = network.get_long_help().expect("long help").to_string();
        assert_eq!(plugin["ipMasq"], true);
        assert!(long.contains("masquerading") && long.contains("default route"), "{long}");
        assert!(long.contains("whatever other networks"), "{long}");
    }

    #[test]
    fn add_documents_its_own_output() {
        let cmd = command();
        let add = cmd.find_subcommand("add").expect("add");
        let output = add.get_arguments().find(|a| a.get_id() == "output").expect("output");
        assert!(!output.is_hide_set());
        assert!(output.get_help().expect("help").to_string().contains("as cnitool prints it"));
    }
}
