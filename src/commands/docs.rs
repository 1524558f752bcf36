//! Shell completions and man pages, generated from the clap definitions in
//! `cli.rs` so they cannot drift from the CLI. `generate-docs` writes the
//! committed copies in `completions/` and `man/`; a test regenerates them
//! and fails when the committed ones are stale.
//!
//! The completion scripts are clap's, with a hook that asks `cnictl
//! __complete` for the names only this host knows (networks in the config
//! dir, named namespaces) and falls back to clap's completion otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use color_eyre::eyre::{Result, WrapErr};

use super::Context;
use crate::runtime::config::{conf_files, load_file};

/// The completion files and the shells they are for.
pub const COMPLETIONS: [(Shell, &str); 3] =
    [(Shell::Bash, "cnictl.bash"), (Shell::Zsh, "_cnictl"), (Shell::Fish, "cnictl.fish")];

/// bash: ask `cnictl __complete` first, else clap's `_cnictl`.
const BASH_HOOK: &str = r#"
# Names only this host knows (networks, namespaces), from cnictl itself.
_cnictl_names() {
    local cur="${COMP_WORDS[COMP_CWORD]}" names
    names=$("${COMP_WORDS[0]}" __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
    if [[ -n "$names" ]]; then
        local IFS=$'\n'
        COMPREPLY=( $(compgen -W "$names" -- "$cur") )
        return 0
    fi
    _cnictl "$@"
}
"#;

/// zsh: the same, as the function compdef registers.
const ZSH_HOOK: &str = r#"# Names only this host knows (networks, namespaces), from cnictl itself.
_cnictl_names() {
    local -a names
    names=("${(@f)$(${words[1]} __complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null)}")
    if [[ -n "${names[1]}" ]]; then
        compadd -a names
        return
    fi
    _cnictl "$@"
}

if [ "$funcstack[1]" = "_cnictl" ]; then
    compdef _cnictl_names cnictl
    _cnictl_names "$@"
else
    compdef _cnictl_names cnictl
fi
"#;

/// fish: one more completion, active where cnictl has names to offer.
const FISH_HOOK: &str = r#"
# Names only this host knows (networks, namespaces), from cnictl itself.
function __fish_cnictl_names
    set -l before (commandline -opc)
    set -l current (commandline -ct)
    set -l names ($before[1] __complete (count $before) $before "$current" 2>/dev/null)
    test -n "$names"; or return 1
    printf '%s\n' $names
end
complete -c cnictl -f -n "__fish_cnictl_names >/dev/null" -a "(__fish_cnictl_names)"
"#;

fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "cnictl", &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        Shell::Bash => {
            text = text.replace("complete -F _cnictl ", "complete -F _cnictl_names ");
            text.push_str(BASH_HOOK);
        }
        Shell::Zsh => {
            let tail = "if [ \"$funcstack[1]\" = \"_cnictl\" ]; then";
            if let Some(at) = text.rfind(tail) {
                text.truncate(at);
            }
            text.push_str(ZSH_HOOK);
        }
        Shell::Fish => text.push_str(FISH_HOOK),
        _ => {}
    }
    text.into_bytes()
}

/// `cnictl completions SHELL`: the script on stdout.
pub fn completions(shell: Shell) -> Result<ExitCode> {
    crate::render::write_out(&completion(shell))?;
    Ok(ExitCode::SUCCESS)
}

/// What an argument names, for completion.
#[derive(Debug, PartialEq, Eq)]
enum Names {
    Networks,
    Namespaces,
}

/// What the positional argument `id` of the verb `cmd` names.
fn names_of(cmd: &clap::Command, id: &str) -> Option<Names> {
    match id {
        "target" if matches!(cmd.get_name(), "inspect" | "port") => Some(Names::Namespaces),
        "network" | "target" | "networks" => Some(Names::Networks),
        "netns" => Some(Names::Namespaces),
        "names" if cmd.get_name() == "del" => Some(Names::Namespaces),
        _ => None,
    }
}

/// What word `index` of `words` (a command line, program first) names,
/// following the clap definitions: subcommands, options that take a value,
/// positionals in order. `None` where the shell's completion applies (options,
/// subcommand names, commands after `--`, new names).
fn wanted(words: &[String], index: usize) -> Option<Names> {
    let mut cmd = crate::cli::command();
    cmd.build();
    let mut cmd = &cmd;
    let mut positional = 0;
    let mut i = 1;
    while i < index.min(words.len()) {
        let word = words[i].as_str();
        if word == "--" {
            return None;
        }
        let option = if let Some(long) = word.strip_prefix("--") {
            (!long.contains('=')).then(|| cmd.get_arguments().find(|a| a.get_long() == Some(long))).flatten()
        } else if let Some(short) = word.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            cmd.get_arguments().find(|a| short.chars().next() == a.get_short())
        } else {
            None
        };
        if word.starts_with('-') {
            if option.is_some_and(|a| a.get_action().takes_values()) {
                if i + 1 == index {
                    let long = option.and_then(clap::Arg::get_long);
                    return (long == Some("net")).then_some(Names::Networks);
                }
                i += 1;
            }
        } else if let Some(sub) = cmd.find_subcommand(word) {
            cmd = sub;
            positional = 0;
        } else {
            positional += 1;
        }
        i += 1;
    }
    let current = words.get(index).map(String::as_str).unwrap_or_default();
    if current.starts_with('-') {
        return None;
    }
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().filter(|a| !a.is_hide_set()).collect();
    let arg = positionals
        .get(positional)
        .or_else(|| positionals.last().filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1)))?;
    if arg.is_trailing_var_arg_set() && positional > positionals.len().saturating_sub(1) {
        return None;
    }
    names_of(cmd, arg.get_id().as_str())
}

/// The config dir the command line names (`--conf-dir DIR`), else the one
/// cnictl itself was given (NETCONFPATH or the default).
fn conf_dir_of(words: &[String], default: &Path) -> PathBuf {
    for (i, word) in words.iter().enumerate() {
        if let Some(dir) = word.strip_prefix("--conf-dir=") {
            return PathBuf::from(dir);
        }
        if word == "--conf-dir" {
            if let Some(dir) = words.get(i + 1) {
                return PathBuf::from(dir);
            }
        }
    }
    default.to_path_buf()
}

/// `cnictl __complete INDEX WORDS...`: the names that fit, one a line.
/// Reads the config dir and /var/run/netns; runs no plugin.
pub fn complete_names(ctx: &Context, index: usize, words: &[String]) -> Result<ExitCode> {
    let names: Vec<String> = match wanted(words, index) {
        None => Vec::new(),
        Some(Names::Namespaces) => crate::netns::manage::list().unwrap_or_default(),
        Some(Names::Networks) => {
            let dir = conf_dir_of(words, &ctx.conf_dir);
            let mut names: Vec<String> = conf_files(&dir, &["conflist", "conf", "json"])
                .unwrap_or_default()
                .iter()
                .filter_map(|f| load_file(f).ok())
                .map(|n| n.name)
                .collect();
            names.sort();
            names.dedup();
            names
        }
    };
    crate::render::write_out(names.iter().map(|n| format!("{n}\n")).collect::<String>().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Examples for a verb's man page, as (what it does, the command line).
fn examples(path: &str) -> &'static [(&'static str, &'static str)] {
    match path {
        "cnictl" => &[
            ("Run a command in a fresh namespace on the default network:", "sudo cnictl run -- ip addr"),
            ("Attach a named namespace to the network mynet, then detach it:", "sudo cnictl netns add ns1\nsudo cnictl add mynet ns1\nsudo cnictl del mynet ns1"),
            ("See what is configured and what is attached:", "cnictl list\nsudo cnictl attachments -o json"),
            ("Look for host problems:", "sudo cnictl doctor"),
        ],
        "cnictl-add" => &[
            ("Attach ns1 to mynet as eth1:", "sudo cnictl add mynet ns1 --ifname eth1"),
            ("Publish a port through portmap:", "sudo cnictl add mynet ns1 --cap-args '{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}]}'"),
            ("See what that ADD would make first, changing nothing:", "sudo cnictl add --dry-run mynet ns1 --cap-args '{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}]}'"),
        ],
        "cnictl-explain" => &[
            ("What an ADD of mynet would make (bridge, address, rules, limits):", "sudo cnictl explain mynet"),
            ("With a port mapping, as JSON:", "sudo cnictl explain mynet --cap-args '{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}]}' -o json"),
        ],
        "cnictl-del" => &[("Detach ns1 from mynet:", "sudo cnictl del mynet ns1")],
        "cnictl-check" => &[
            ("Verify the attachment of ns1 to mynet:", "sudo cnictl check mynet ns1"),
            ("Why can its container not reach out? The data plane, each finding with its fix:", "sudo cnictl check --deep mynet ns1\nsudo cnictl check --deep mynet ns1 --to 10.0.0.53 -o json"),
        ],
        "cnictl-gc" => &[
            ("Remove mynet's attachments whose namespace is gone:", "sudo cnictl gc mynet"),
            ("Keep only one attachment:", "sudo cnictl gc mynet --valid 3f2a9c/eth0"),
        ],
        "cnictl-status" => &[("Ask whether mynet can take new attachments:", "sudo cnictl status mynet")],
        "cnictl-run" => &[
            ("A shell on the default network:", "sudo cnictl run -- sh"),
            ("One command on mynet, quietly:", "sudo cnictl run mynet --quiet -- ping -c1 10.22.0.1"),
        ],
        "cnictl-docker-run" => &[("An interactive container on mynet:", "sudo cnictl docker-run --net mynet -it alpine sh")],
        "cnictl-netns" => &[("Make, use and delete a namespace:", "sudo cnictl netns add ns1\nsudo cnictl netns exec ns1 ip link\nsudo cnictl netns delete ns1")],
        "cnictl-netns-add" => &[("Make ns1:", "sudo cnictl netns add ns1")],
        "cnictl-netns-del" => &[("Delete two namespaces:", "sudo cnictl netns delete ns1 ns2")],
        "cnictl-netns-list" => &[("The names, or JSON:", "cnictl netns ls\ncnictl netns list -o json")],
        "cnictl-netns-exec" => &[("Run ip inside ns1 (a -- before the command is optional):", "sudo cnictl netns exec ns1 ip addr")],
        "cnictl-default-network" => &[("See it, then install it to edit:", "cnictl default-network show\nsudo cnictl default-network install")],
        "cnictl-default-network-show" => &[("Print the conflist:", "cnictl default-network show")],
        "cnictl-default-network-install" => &[("Write it into the config dir:", "sudo cnictl default-network install")],
        "cnictl-network" => &[("Create a network, attach, remove it:", "sudo cnictl network create web --portmap --firewall\nsudo cnictl network rm web")],
        "cnictl-network-create" => &[("On a free subnet, or on one given (with IPv6 too):", "sudo cnictl network create web --portmap --firewall\nsudo cnictl network create db --subnet 10.89.40.0/24 --ipv6 --internal")],
        "cnictl-network-rm" => &[("Once nothing is attached:", "sudo cnictl network rm web")],
        "cnictl-network-reload" => &[("After a firewall flush, every network or some:", "sudo cnictl network reload\nsudo cnictl network reload web db")],
        "cnictl-network-ls" => &[("As podman network ls:", "cnictl network ls")],
        "cnictl-network-inspect" => &[("As podman network inspect:", "sudo cnictl network inspect web")],
        "cnictl-list" => &[("The networks, as a table or JSON:", "cnictl ls\ncnictl list -o json")],
        "cnictl-show" => &[("One network and its attachments:", "sudo cnictl show mynet\nsudo cnictl show mynet -o json")],
        "cnictl-attachments" => &[
            ("Every live attachment:", "sudo cnictl ps"),
            ("Who publishes host port 8080, and what is in ns1:", "sudo cnictl attachments --port 8080\nsudo cnictl ps --netns ns1 -o json"),
        ],
        "cnictl-inspect" => &[
            ("An attachment by container ID prefix, namespace or address:", "sudo cnictl inspect 3f2a9c\nsudo cnictl inspect ns1\nsudo cnictl inspect 10.22.0.5 -o json"),
        ],
        "cnictl-port" => &[
            ("The mappings of ns1, then where its port 80 is published:", "sudo cnictl port ns1\nsudo cnictl port ns1 80/tcp"),
            ("Every attachment's mappings:", "sudo cnictl port --all"),
        ],
        "cnictl-plugins" => &[("The plugins found and their versions:", "cnictl plugins")],
        "cnictl-validate" => &[
            ("A network by name, or a file:", "cnictl validate mynet\ncnictl validate ./10-mynet.conflist"),
            ("In CI, failing on lint warnings too:", "cnictl validate --strict ./10-mynet.conflist"),
        ],
        "cnictl-doctor" => &[("Every check (some need root):", "sudo cnictl doctor")],
        "cnictl-log" => &[
            ("What happened to one pod's network last night:", "sudo cnictl log --container 3f2a9c --since '2026-12-06 02:30' --until '2026-12-06 03:30'"),
            ("The last 20 failures on mynet, as JSON:", "sudo cnictl log --network mynet --failed -n 20 -o json"),
        ],
        "cnictl-completions" => &[("Install bash completion:", "cnictl completions bash > /etc/bash_completion.d/cnictl")],
        _ => &[],
    }
}

/// EXIT STATUS for a verb's man page.
fn exit_status(path: &str) -> Vec<(&'static str, &'static str)> {
    let mut codes = match path {
        "cnictl-run" | "cnictl-docker-run" | "cnictl-netns-exec" => vec![
            ("N", "The command's own exit status; 128+N when a signal N ended it."),
            ("126", "The command exists but cannot be executed (the network was still detached)."),
            ("127", "The command was not found (the network was still detached)."),
            ("1", "cnictl itself failed (network, namespace or container setup); the error is on standard error."),
        ],
        "cnictl-validate" => vec![
            ("0", "The config is valid (lint warnings may be listed)."),
            ("1", "It has problems (listed) or cannot be read; with --strict, lint warnings too."),
        ],
        "cnictl-check" => vec![
            ("0", "The plugins' CHECK passed (with --deep: no finding failed; warnings pass)."),
            ("1", "It failed, or (with --deep) a finding failed; the findings are on standard output."),
        ],
        "cnictl-doctor" => vec![
            ("0", "Every check passed."),
            ("1", "A check failed, or could not be made without root (status skip)."),
        ],
        _ => vec![("0", "Success."), ("1", "Failure; the error and a hint are on standard error.")],
    };
    codes.push(("2", "The command line is wrong (usage error)."));
    codes
        .push(("141", "Standard output was closed early (a pager or head quit): cnictl ends as by SIGPIPE."));
    codes
}

/// The variables, each used where its option is not given; set but empty,
/// as cnitool takes it, a variable counts as unset (`cli::FROM_ENV`).
const ENVIRONMENT: [(&str, &str); 7] = [
    ("NETCONFPATH", "The config dir, as --conf-dir (default /etc/cni/net.d). Empty counts as unset."),
    ("CNI_PATH", "The plugin search path, colon separated, as --cni-path. Empty counts as unset."),
    ("CNI_CACHE_DIR", "Where the result cache lives, as --cache-dir (default /var/lib/cni). Empty counts as unset."),
    ("CNI_IFNAME", "The interface name inside the namespace, as --ifname (default eth0). Empty counts as unset."),
    ("CNI_ARGS", "Arguments for the plugins, KEY=VALUE;KEY=VALUE, as --args."),
    ("CAP_ARGS", "Capability arguments as a JSON object, as --cap-args; a capability no plugin of the network declares is passed to none (add warns)."),
    ("NO_COLOR", "When set and not empty, no colour in errors and tables."),
];

const FILES: [(&str, &str); 6] = [
    ("/etc/cni/net.d", "Network configurations (*.conflist, *.conf, *.json), read in libcni's order; NET/ below it holds plugin entries appended to network NET."),
    ("/var/lib/cni/results", "The result cache: one file per attachment (network, container ID, interface)."),
    ("/var/lib/cni/networks", "host-local's address reservations, one directory per network."),
    ("/var/run/netns", "Named network namespaces, as ip netns keeps them."),
    ("/opt/cni/bin, /usr/libexec/cni, /usr/lib/cni", "Plugin directories searched after cnictl's own directory when CNI_PATH is not set."),
    ("/run/cni/dhcp.sock", "Where the dhcp IPAM plugin's daemon listens."),
];

/// Pairs as an indented list (.TP): a bold tag, its text.
fn tagged(roff: &mut Roff, heading: &str, items: &[(&str, &str)]) {
    roff.control("SH", [heading]);
    for (tag, text) in items {
        roff.control("TP", []);
        roff.text([bold(*tag)]);
        roff.text([roman(*text)]);
    }
}

/// The sections clap_mangen does not write: EXAMPLES, EXIT STATUS,
/// ENVIRONMENT, FILES, SEE ALSO.
fn extra_sections(path: &str, parent: Option<&str>, cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    let examples = examples(path);
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        for (what, lines) in examples {
            roff.text([roman(*what)]);
            roff.control("PP", []);
            roff.control("RS", ["4"]);
            roff.control("nf", []);
            for line in lines.lines() {
                roff.text([bold(line)]);
            }
            roff.control("fi", []);
            roff.control("RE", []);
            roff.control("PP", []);
        }
    }
    tagged(&mut roff, "EXIT STATUS", &exit_status(path));
    tagged(&mut roff, "ENVIRONMENT", &ENVIRONMENT);
    tagged(&mut roff, "FILES", &FILES);
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    if let Some(parent) = parent {
        see.push(format!("{parent}(1)"));
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        see.push(format!("{path}-{}(1)", sub.get_name()));
    }
    see.push("ip-netns(8)".into());
    let mut line = Vec::new();
    for (i, page) in see.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(italic(page.as_str()));
    }
    roff.text(line);
    roff
}

/// Every man page: `cnictl.1` and `cnictl-<verb>.1` (`cnictl-<verb>-<sub>.1`
/// for nested verbs), as (file name, contents).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = crate::cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    render(&root, "cnictl", None, &mut pages)?;
    Ok(pages)
}

/// `cmd` as its man page shows it. clap_mangen's synopsis lists hidden
/// positionals (gc's and status' NETNS, accepted for cnitool and ignored),
/// which clap's usage and the options section leave out; as hidden
/// options, which the synopsis leaves out too, they are gone from the page.
fn without_hidden_positionals(cmd: &clap::Command) -> clap::Command {
    let hidden: Vec<String> =
        cmd.get_positionals().filter(|a| a.is_hide_set()).map(|a| a.get_id().to_string()).collect();
    hidden.into_iter().fold(cmd.clone(), |cmd, id| cmd.mut_arg(id.clone(), |arg| arg.long(id)))
}

/// One page: clap_mangen's sections, ours, then the version.
fn render(
    cmd: &clap::Command,
    name: &str,
    parent: Option<&str>,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    let man = clap_mangen::Man::new(without_hidden_positionals(cmd));
    let preamble = Roff::new().render().len();
    let mut out = Vec::new();
    let mut section = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| -> Result<()> {
        let mut part = Vec::new();
        render(&mut part).wrap_err("failed to render a man page")?;
        let start = if out.is_empty() { 0 } else { preamble.min(part.len()) };
        out.extend_from_slice(&part[start..]);
        Ok(())
    };
    section(&|w| man.render_title(w))?;
    section(&|w| man.render_name_section(w))?;
    section(&|w| man.render_synopsis_section(w))?;
    section(&|w| man.render_description_section(w))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        section(&|w| man.render_options_section(w))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        section(&|w| man.render_subcommands_section(w))?;
    }
    let extra = extra_sections(name, parent, cmd);
    section(&|w| extra.to_writer(w))?;
    if cmd.get_version().is_some() || cmd.get_long_version().is_some() {
        section(&|w| man.render_version_section(w))?;
    }
    pages.push((format!("{name}.1"), out));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(sub, &format!("{name}-{}", sub.get_name()), Some(name), pages)?;
    }
    Ok(())
}

/// `cnictl generate-docs DIR`: writes DIR/completions and DIR/man.
pub fn generate(dir: &Path) -> Result<ExitCode> {
    let write = |path: &Path, data: &[u8]| -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .wrap_err_with(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(path, data).wrap_err_with(|| format!("failed to write {}", path.display()))
    };
    for (shell, file) in COMPLETIONS {
        write(&dir.join("completions").join(file), &completion(shell))?;
    }
    let man = dir.join("man");
    if man.exists() {
        std::fs::remove_dir_all(&man).wrap_err_with(|| format!("failed to clear {}", man.display()))?;
    }
    for (file, data) in man_pages()? {
        write(&man.join(file), &data)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
        if line.ends_with(' ') {
            words.pop();
            words.push(String::new());
        }
        words
    }

    fn at_end(line: &str) -> Option<Names> {
        let w = words(line);
        wanted(&w, w.len() - 1)
    }

    #[test]
    fn completion_follows_the_verbs_arguments() {
        assert_eq!(at_end("cnictl add "), Some(Names::Networks));
        assert_eq!(at_end("cnictl add my"), Some(Names::Networks));
        assert_eq!(at_end("cnictl add mynet "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl add -i eth1 mynet "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl add mynet ns1 "), None);
        assert_eq!(at_end("cnictl --conf-dir /x show "), Some(Names::Networks));
        assert_eq!(at_end("cnictl inspect "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl port "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl netns delete a "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl netns exec "), Some(Names::Namespaces));
        assert_eq!(at_end("cnictl netns exec ns1 "), None);
        assert_eq!(at_end("cnictl netns add "), None);
        assert_eq!(at_end("cnictl docker-run --net "), Some(Names::Networks));
        assert_eq!(at_end("cnictl run mynet -- "), None);
        assert_eq!(at_end("cnictl "), None);
        assert_eq!(at_end("cnictl add --"), None);
        assert_eq!(conf_dir_of(&words("cnictl --conf-dir /x show"), Path::new("/d")), Path::new("/x"));
    }

    #[test]
    fn each_shell_script_gets_its_hook() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = String::from_utf8(completion(shell)).unwrap();
            assert!(text.contains("__complete"), "{shell:?}");
        }
        let bash = String::from_utf8(completion(Shell::Bash)).unwrap();
        assert!(!bash.contains("complete -F _cnictl "), "bash registers the hook, not clap's function");
        let zsh = String::from_utf8(completion(Shell::Zsh)).unwrap();
        assert_eq!(zsh.matches("if [ \"$funcstack[1]\" = \"_cnictl\" ]").count(), 1);
    }
}
