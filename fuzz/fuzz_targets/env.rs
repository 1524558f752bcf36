//! The invocation a plugin gets: `command_from_env` over the CNI_*
//! variables (any values, any of them unset), and the validators of
//! container IDs, network names and interface names, whose output ends up
//! in file paths, chain names and kernel requests.
//!
//! Invariants: no panic; an accepted invocation has a CNI verb, every
//! variable its verb needs, and the container ID and interface name
//! passing their validators; each validator accepts exactly what the
//! reference's rules allow.
#![no_main]

use arbitrary::Arbitrary;
use cni::env::{
    command_from_env, validate_container_id, validate_interface_name, validate_network_name, Command,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    /// An index into the verbs (or past them: the fuzzer's own text).
    verb: u8,
    command: Option<String>,
    container_id: Option<String>,
    netns: Option<String>,
    ifname: Option<String>,
    args: Option<String>,
    path: Option<String>,
    name: String,
}

const VERBS: &[&str] = &["ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS", "VALIDATE", "add", ""];

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, the reference's pattern for IDs and names.
fn id_like(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn ifname_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

fuzz_target!(|input: Input| {
    let command = match VERBS.get(input.verb as usize) {
        Some(v) => Some(v.to_string()),
        None => input.command.clone(),
    };
    let getenv = |key: &str| match key {
        "CNI_COMMAND" => command.clone(),
        "CNI_CONTAINERID" => input.container_id.clone(),
        "CNI_NETNS" => input.netns.clone(),
        "CNI_IFNAME" => input.ifname.clone(),
        "CNI_ARGS" => input.args.clone(),
        "CNI_PATH" => input.path.clone(),
        _ => None,
    };
    if let Ok((verb, vars)) = command_from_env(&getenv) {
        assert_eq!(Some(verb.as_str()), command.as_deref());
        assert_eq!(Command::parse(verb.as_str()), Some(verb));
        let given = |v: &Option<String>| v.clone().unwrap_or_default();
        assert_eq!(vars.container_id, given(&input.container_id));
        assert_eq!(vars.netns, given(&input.netns));
        assert_eq!(vars.ifname, given(&input.ifname));
        assert_eq!(vars.args, given(&input.args));
        assert_eq!(vars.path, given(&input.path));
        if matches!(verb, Command::Add | Command::Check | Command::Del) {
            assert!(validate_container_id(&vars.container_id).is_ok(), "{vars:?}");
            assert!(validate_interface_name(&vars.ifname).is_ok(), "{vars:?}");
        }
        if matches!(verb, Command::Add | Command::Check) {
            assert!(!vars.netns.is_empty());
        }
        if verb != Command::Version {
            assert!(!vars.path.is_empty());
        }
    }
    for text in [&input.name, &given_or_empty(&input.container_id), &given_or_empty(&input.ifname)] {
        assert_eq!(validate_container_id(text).is_ok(), id_like(text), "container ID {text:?}");
        assert_eq!(validate_network_name(text).is_ok(), id_like(text), "network name {text:?}");
        assert_eq!(validate_interface_name(text).is_ok(), ifname_ok(text), "interface name {text:?}");
    }
});

fn given_or_empty(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}
