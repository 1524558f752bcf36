//! `cni::jsonpos`, the scanner that turns a key path into the line and
//! column of its value, so errors found after parsing (a wrong type in a
//! conflist, a key a plugin names) point into the operator's file; and
//! the key paths that plugin messages carry (`key_label`, `parse_path`,
//! `key_in_message`).
//!
//! Invariants: no panic on any JSON text; every value of the document is
//! located, and (without duplicate keys) the position is where that very
//! value starts; Go-style matching (`locate_go`) finds it too; a path
//! shown with `display` parses back, also out of a message.
#![no_main]

use cni::gojson::Node;
use cni::jsonpos::{
    display, key_in_message, key_label, locate, locate_go, locate_nearest_go, parse_path, Seg,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MAX_PATHS: usize = 200;

fn paths(value: &Value, at: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, Value)>) {
    if out.len() >= MAX_PATHS || at.len() > 8 {
        return;
    }
    out.push((at.clone(), value.clone()));
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(Seg::Key(k.clone()));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// Whether some object has two keys that are equal (`same`) as compared.
fn has_collision(node: &Node, same: &dyn Fn(&str, &str) -> bool) -> bool {
    match node {
        Node::Object(members) => {
            members.iter().enumerate().any(|(i, (a, _))| members[..i].iter().any(|(b, _)| same(a, b)))
                || members.iter().any(|(_, v)| has_collision(v, same))
        }
        Node::Array(items) => items.iter().any(|v| has_collision(v, same)),
        _ => false,
    }
}

/// The byte offset of a 1-based line and (character) column.
fn offset(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    let rest = String::from_utf8_lossy(&text[start..]);
    start + rest.chars().take(column - 1).map(char::len_utf8).sum::<usize>()
}

/// A key `display` and `parse_path` can carry (the path syntax has no
/// escapes for `.`, `[` and `]`); `key_label` quotes anything else.
fn plain(seg: &Seg) -> bool {
    match seg {
        Seg::Key(k) => !k.is_empty() && !k.contains(['.', '[', ']']),
        Seg::Index(_) => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(node) = serde_json::from_slice::<Node>(data) else { return };
    // The collision checks are quadratic in an object's size: bounded.
    let small = data.len() <= 16384;
    let unique = small && !has_collision(&node, &|a, b| a == b);
    let go_unique = unique && !has_collision(&node, &|a, b| cni::gojson::fold_eq(a, b));
    let mut all = Vec::new();
    paths(&value, &mut Vec::new(), &mut all);
    for (path, expected) in &all {
        let (line, column) = locate(data, path).unwrap_or_else(|| panic!("{} not located", display(path)));
        assert_eq!(locate_nearest_go(data, path, &[]), Some((line, column)), "{} exact keys", display(path));
        if go_unique {
            let go = locate_go(data, &[], path);
            assert_eq!(go, Some((line, column)), "{} located elsewhere as Go matches keys", display(path));
        }
        if unique {
            let at = offset(data, line, column);
            let found = serde_json::Deserializer::from_slice(&data[at..]).into_iter::<Value>().next();
            match found {
                Some(Ok(found)) => {
                    assert_eq!(&found, expected, "{} located at {line}:{column}", display(path))
                }
                other => {
                    panic!("{} located at {line}:{column}, where no value starts: {other:?}", display(path))
                }
            }
        }
        if !path.is_empty() && matches!(path.first(), Some(Seg::Key(_))) && path.iter().all(plain) {
            let shown = display(path);
            assert_eq!(parse_path(&shown).as_deref(), Some(path.as_slice()), "{shown} does not parse back");
            let msg = format!("failed to parse network config: {}: bad value", key_label(&shown));
            let (found, rest) = key_in_message(&msg).unwrap_or_else(|| panic!("no key in {msg}"));
            assert_eq!((found.as_slice(), rest.as_str()), (path.as_slice(), "bad value"), "{msg}");
        }
    }
});
