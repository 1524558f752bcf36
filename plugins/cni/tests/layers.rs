//! The spec layer stays the bottom layer: cnictl reads netconfs and
//! results through it, so it must not pull in the kernel, netfilter,
//! plugin or container layers. This reads every `crate::` path in
//! `src/spec/` and fails on one that leads out of it.

use std::path::Path;

/// Names under which the crate root re-exports modules of the other layers.
const ABOVE_SPEC: &[&str] = &[
    "kernel",
    "netfilter",
    "plugin",
    "container",
    "netlink",
    "netns",
    "sysctl",
    "nlattr",
    "ipmasq",
    "spoofcheck",
    "apply",
    "interface",
    "veth",
    "attachment_lock",
    "invoke",
    "ipam",
    "overlap",
    "rollback",
    "skel",
    "statefile",
];

/// Every `crate::NAME` in `text`, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push((n + 1, name));
            rest = tail;
        }
    }
    found
}

#[test]
fn spec_imports_nothing_from_the_layers_above_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spec");
    let mut offending = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, name) in crate_paths(&text) {
            if ABOVE_SPEC.contains(&name.as_str()) {
                offending.push(format!("{}:{line}: crate::{name}", path.display()));
            }
        }
    }
    assert!(files >= 10, "read only {files} files in {}", dir.display());
    assert!(offending.is_empty(), "spec reaches upward:\n{}", offending.join("\n"));
}

#[test]
fn the_check_sees_an_upward_path() {
    let paths = crate_paths("use crate::error::CniError;\nlet m = crate::netlink::parse_mac(t);");
    assert_eq!(paths, vec![(1, "error".to_string()), (2, "netlink".to_string())]);
    assert!(ABOVE_SPEC.contains(&paths[1].1.as_str()));
}
