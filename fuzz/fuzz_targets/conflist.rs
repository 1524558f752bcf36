//! Conflist and single-plugin `.conf` files as cnictl reads them from the
//! config dir (`conflist::parse_conflist`, `parse_single`): any bytes an
//! operator or another tool left there.
//!
//! Invariants: no panic; an error names the file first (`file:line:col:`
//! or `file: `); a parsed list keeps the file's bytes (conflist) and every
//! plugin in it has a non-empty string `type`, as libcni requires.
#![no_main]

use std::path::Path;

use cni::conflist::{parse_conflist, parse_single, NetworkList};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "/etc/cni/net.d/10-fuzz.conflist";

fn check(outcome: &Result<NetworkList, String>) {
    match outcome {
        Ok(list) => {
            for plugin in &list.plugins {
                let kind = cni::gojson::get_in(plugin, "type").and_then(|t| t.as_str());
                assert!(kind.is_some_and(|t| !t.is_empty()), "a plugin without a type was accepted");
            }
        }
        Err(msg) => {
            assert!(msg.starts_with(&format!("{FILE}:")), "an error that does not name the file: {msg}")
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let file = Path::new(FILE);
    let list = parse_conflist(data, file);
    check(&list);
    if let Ok(list) = &list {
        assert_eq!(list.bytes, data, "the list's bytes are not the file's");
        assert_eq!(list.source, file);
    }
    let single = parse_single(data, file);
    check(&single);
    if let Ok(single) = &single {
        assert_eq!(single.plugins.len(), 1, "a .conf became a list of {}", single.plugins.len());
    }
});
