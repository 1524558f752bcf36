//! `cni::gojson`, the layer under every typed parse that applies Go's key
//! rules: `from_slice` into the crate's spec types, and `get`, which code
//! reading netconfs as `Value`s uses instead of `Value::get`.
//!
//! Invariants: no panic; into a `Value`, `from_slice` reads exactly what
//! serde_json reads (maps keep their keys as written); `get` returns the
//! exact key's value when there is one, else the value of a key equal as
//! Go folds case, and nothing when no key folds to the field; `fold_eq` is
//! reflexive and symmetric; a struct is never read from an array.
#![no_main]

use cni::conf::{Attachment, DelConf, NetConf};
use cni::gojson::{fold_eq, from_slice, get, Node};
use cni::result::{Dns, Interface, Route};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The field names our structs use, and a few that fold specially.
const FIELDS: &[&str] =
    &["cniVersion", "name", "type", "ipam", "prevResult", "dns", "mtu", "kind", "ips", "routes"];

fuzz_target!(|data: &[u8]| {
    let _ = from_slice::<NetConf>(data);
    let _ = from_slice::<DelConf>(data);
    let _ = from_slice::<Vec<Attachment>>(data);
    let _ = from_slice::<Vec<Interface>>(data);
    let _ = from_slice::<Vec<Route>>(data);
    let dns = from_slice::<Dns>(data);
    let attachment = from_slice::<Attachment>(data);
    if matches!(serde_json::from_slice(data), Ok(Value::Array(_))) {
        // Go's decoder refuses an array for a struct ("cannot unmarshal
        // array into Go value of type ..."); serde would fill it by position.
        assert!(dns.is_err() && attachment.is_err(), "a struct was read from an array");
    }
    let _ = from_slice::<Node>(data);

    let ours = from_slice::<Value>(data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "gojson and serde_json read different values"),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "gojson and serde_json disagree on whether this is JSON: {:?} vs {:?}",
            ours.is_ok(),
            theirs.is_ok()
        ),
    }
    let Ok(value) = theirs else { return };
    let Value::Object(map) = &value else {
        assert!(get(&value, "name").is_none(), "get found a key in a non-object");
        return;
    };
    // Bounded, so a document of many keys stays fast.
    let keys: Vec<&str> = map.keys().map(String::as_str).take(64).collect();
    for field in FIELDS.iter().copied().chain(keys.iter().copied()) {
        let found = get(&value, field);
        match map.get(field) {
            Some(exact) => assert_eq!(found, Some(exact), "get({field:?}) passed over the exact key"),
            None => {
                let folded: Vec<&Value> =
                    map.iter().filter(|(k, _)| fold_eq(field, k)).map(|(_, v)| v).collect();
                match found {
                    None => assert!(folded.is_empty(), "get({field:?}) missed a key that folds to it"),
                    Some(v) => {
                        assert!(folded.contains(&v), "get({field:?}) returned a value of no folding key")
                    }
                }
            }
        }
    }
    for a in &keys {
        assert!(fold_eq(a, a));
        for b in &keys {
            assert_eq!(fold_eq(a, b), fold_eq(b, a), "fold_eq({a:?}, {b:?}) is not symmetric");
        }
    }
});
