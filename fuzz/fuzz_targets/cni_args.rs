//! `CNI_ARGS`, the `K=V;K=V` string a runtime passes (`CniArgs::parse`),
//! with the key sets our plugins know, and the container MAC read from it
//! (`cni_args_mac`, `requested_mac`).
//!
//! Invariants: no panic; a parse that succeeds holds only known keys, each
//! with the value of its last `K=V` pair; an unknown key fails the parse
//! unless `IgnoreUnknown` says true.
#![no_main]

use arbitrary::Arbitrary;
use cni::args::{cni_args_mac, requested_mac, CniArgs};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    raw: String,
    /// Which of the plugins' key sets, or the fuzzer's own keys.
    known: u8,
    extra: Vec<String>,
}

/// The keys our plugins and the runtimes' args use.
const KEY_SETS: &[&[&str]] = &[
    &["MAC"],
    &["IP"],
    &["IP", "GATEWAY"],
    &["K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"],
    &[],
];

fuzz_target!(|input: Input| {
    let extra: Vec<&str> = input.extra.iter().map(String::as_str).collect();
    let known: &[&str] = match KEY_SETS.get(input.known as usize) {
        Some(set) => set,
        None => &extra,
    };
    let _ = cni_args_mac(&input.raw);
    let _ = requested_mac(&[&input.raw]);
    let parsed = CniArgs::parse(&input.raw, known);
    if input.raw.is_empty() {
        assert!(parsed.is_ok(), "empty CNI_ARGS must parse");
        return;
    }
    // The pairs as the format defines them (every one must be exactly K=V).
    let pairs: Option<Vec<(&str, &str)>> = input
        .raw
        .split(';')
        .map(|p| {
            let mut kv = p.split('=');
            match (kv.next(), kv.next(), kv.next()) {
                (Some(k), Some(v), None) => Some((k, v)),
                _ => None,
            }
        })
        .collect();
    let Some(pairs) = pairs else {
        assert!(parsed.is_err(), "a malformed pair was accepted: {:?}", input.raw);
        return;
    };
    let Ok(args) = parsed else { return };
    let ignore = pairs
        .iter()
        .any(|(k, v)| *k == "IgnoreUnknown" && matches!(v.to_ascii_lowercase().as_str(), "1" | "true"));
    let unknown = pairs.iter().any(|(k, _)| *k != "IgnoreUnknown" && !known.contains(k));
    assert!(!unknown || ignore, "an unknown key was accepted without IgnoreUnknown: {:?}", input.raw);
    for key in known {
        let last = pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v).filter(|v| !v.is_empty());
        if *key == "IgnoreUnknown" {
            continue;
        }
        assert_eq!(args.get(key), last, "key {key} in {:?}", input.raw);
    }
    assert!(args.get("IgnoreUnknown").is_none() || known.contains(&"IgnoreUnknown"));
});
