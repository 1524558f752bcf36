//! The netconf keys a plugin knows, so that `cnictl validate` can name a
//! key no plugin reads (`isGatway`) instead of letting the plugin ignore it
//! as the spec says it must.
//!
//! Each plugin crate keeps one list, `KEYS`, beside its parser: the keys it
//! reads besides the common ones, as paths (`vlanTrunk.minID` is a key of
//! the objects in `vlanTrunk`; arrays at any depth are looked through; an
//! IPAM plugin's paths start inside its `ipam` object). A key whose children
//! are not listed (`sysctl`, `runtimeConfig`, `args`) is free-form: what is
//! inside is not judged. The list cannot drift from the parser silently:
//! [`check_against_parser`] compares it, in each plugin's unit tests, with
//! the fields the parser's structs ask serde for ([`struct_fields`]).
//! Keys match as Go matches them ([`crate::gojson::fold_eq`]).

use serde::de::{self, Deserialize, Visitor};

use crate::conf::NetConf;
use crate::gojson::fold_eq;
use crate::result::{Dns, Route};

/// One plugin's list of known keys (see the module's doc for the form).
pub type Keys = &'static [&'static str];

/// Keys that every plugin object may carry: the common netconf keys
/// (`NetConf`, `dns`'s keys from `Dns`), and what a runtime injects.
pub fn common() -> Vec<String> {
    let mut keys: Vec<String> = struct_fields::<NetConf>().iter().map(|k| k.to_string()).collect();
    keys.extend(struct_fields::<Dns>().iter().map(|k| format!("dns.{k}")));
    keys
}

/// Keys every `ipam` object may carry besides its plugin's own: its type.
pub const IPAM_COMMON: Keys = &["type"];

/// [`IPAM_COMMON`] as [`check_against_parser`] takes it.
pub fn ipam_common() -> Vec<String> {
    IPAM_COMMON.iter().map(|k| k.to_string()).collect()
}

/// The keys of a route (`routes` of host-local and static), from the
/// result's `Route`, for IPAM plugins' lists.
pub fn route_fields() -> Vec<&'static str> {
    struct_fields::<Route>()
}

/// The fields a struct's derived `Deserialize` asks for, read by handing it
/// a deserializer that records them and stops: the parser's own view of
/// its keys, renames included.
pub fn struct_fields<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut fields = Vec::new();
    let _ = T::deserialize(FieldRecorder(&mut fields));
    fields
}

/// A deserializer that only records the field names of a struct.
struct FieldRecorder<'a>(&'a mut Vec<&'static str>);

impl<'de> de::Deserializer<'de> for FieldRecorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only struct fields are recorded"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The parent of a listed key: the longest other listed key it continues
/// with a dot (`vlanTrunk` of `vlanTrunk.minID`), "" for a top-level key,
/// which may itself hold dots (`cni.dev/valid-attachments`).
fn parent_of<'k>(listed: &[&'k str], key: &str) -> &'k str {
    listed
        .iter()
        .filter(|p| key.len() > p.len() + 1 && key.starts_with(**p) && key.as_bytes()[p.len()] == b'.')
        .max_by_key(|p| p.len())
        .copied()
        .unwrap_or("")
}

/// The keys listed directly under `parent` ("" for the top), or `None`
/// when nothing is listed there (free-form: not judged).
pub fn children<'k>(keys: impl IntoIterator<Item = &'k str>, parent: &str) -> Option<Vec<&'k str>> {
    let listed: Vec<&str> = keys.into_iter().collect();
    let found: Vec<&str> = listed
        .iter()
        .filter(|k| parent_of(&listed, k) == parent)
        .map(|k| if parent.is_empty() { *k } else { &k[parent.len() + 1..] })
        .collect();
    (!found.is_empty()).then_some(found)
}

/// The listed key `key` matches as Go's decoder would (exactly, else
/// case-insensitively), if any.
pub fn matching<'k>(listed: &[&'k str], key: &str) -> Option<&'k str> {
    listed.iter().find(|k| **k == key).or_else(|| listed.iter().find(|k| fold_eq(k, key))).copied()
}

/// Whether a parsed field at `path` is outside what `KEYS` has to list:
/// the common keys and what lies under the free-form `args`. Under
/// `runtimeConfig` KEYS lists the capabilities the plugin reads
/// (`runtimeConfig.mac`; an IPAM plugin's too, though its `runtimeConfig`
/// is the netconf's, not the `ipam` object's): lint judges no key there,
/// but tells a capability declared on a plugin that does not read it.
fn exempt(path: &str, common: &[String]) -> bool {
    let top = path.split('.').next().unwrap_or_default();
    common.iter().any(|c| c == path) || top == "args"
}

/// The capabilities `keys` reads (its `runtimeConfig.*` entries).
pub fn capabilities(keys: Keys) -> Vec<&'static str> {
    keys.iter().filter_map(|k| k.strip_prefix("runtimeConfig.")).filter(|k| !k.contains('.')).collect()
}

/// Checks a plugin's `keys` against its parser: `parsed` gives each struct
/// the parser reads with the path it sits at ("" for the top, `ranges` for
/// the objects in `ranges`) and its [`struct_fields`]. Every field read
/// must be listed (or be in `common`: [`common`] for a plugin's object,
/// [`ipam_common`] for an IPAM plugin's), and every listed key must be
/// read, or be in `reference_only`: keys the reference plugin accepts that
/// ours ignores, listed so that lint never flags what the reference reads.
pub fn check_against_parser(
    keys: Keys,
    common: &[String],
    parsed: &[(&str, Vec<&'static str>)],
    reference_only: &[&str],
) -> Result<(), String> {
    let mut read = Vec::new();
    for (at, fields) in parsed {
        for field in fields {
            read.push(if at.is_empty() { field.to_string() } else { format!("{at}.{field}") });
        }
    }
    let mut wrong = Vec::new();
    for path in &read {
        if !exempt(path, common) && !keys.contains(&path.as_str()) {
            wrong.push(format!("the parser reads {path:?}, which KEYS does not list"));
        }
    }
    for key in keys {
        if !read.iter().any(|r| r == key) && !reference_only.contains(key) {
            wrong.push(format!("KEYS lists {key:?}, which the parser does not read"));
        }
        if common.iter().any(|c| c == key) {
            wrong.push(format!("KEYS lists the common key {key:?}"));
        }
    }
    for key in reference_only {
        if !keys.contains(key) {
            wrong.push(format!("the reference-only key {key:?} is not in KEYS"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        #[serde(rename = "isGateway")]
        is_gateway: bool,
        mtu: u32,
    }

    #[test]
    fn fields_are_the_parsers_names() {
        assert_eq!(struct_fields::<Sample>(), ["isGateway", "mtu"]);
        let common = common();
        for key in
            ["cniVersion", "name", "type", "ipam", "dns", "capabilities", "prevResult", "runtimeConfig"]
        {
            assert!(common.iter().any(|c| c == key), "{key} missing from {common:?}");
        }
        assert!(common.iter().any(|c| c == "dns.nameservers"));
    }

    #[test]
    fn children_and_go_matching() {
        let keys = ["bridge", "vlanTrunk", "vlanTrunk.minID", "vlanTrunk.id"];
        assert_eq!(children(keys, ""), Some(vec!["bridge", "vlanTrunk"]));
        assert_eq!(children(keys, "vlanTrunk"), Some(vec!["minID", "id"]));
        assert_eq!(children(keys, "bridge"), None);
        let dotted = ["cni.dev/valid-attachments", "dns", "dns.nameservers"];
        assert_eq!(children(dotted, ""), Some(vec!["cni.dev/valid-attachments", "dns"]));
        assert_eq!(children(dotted, "dns"), Some(vec!["nameservers"]));
        assert_eq!(matching(&["isGateway"], "ISGATEWAY"), Some("isGateway"));
        assert_eq!(matching(&["isGateway"], "isGatway"), None);
        assert_eq!(
            capabilities(&["mtu", "runtimeConfig.mac", "runtimeConfig.portMappings"]),
            ["mac", "portMappings"]
        );
    }

    #[test]
    fn drift_is_caught_both_ways() {
        let parsed = [("", struct_fields::<Sample>())];
        let common = common();
        assert!(check_against_parser(&["isGateway", "mtu"], &common, &parsed, &[]).is_ok());
        let missing = check_against_parser(&["isGateway"], &common, &parsed, &[]).unwrap_err();
        assert!(missing.contains("\"mtu\""), "{missing}");
        let extra = check_against_parser(&["isGateway", "mtu", "bogus"], &common, &parsed, &[]).unwrap_err();
        assert!(extra.contains("\"bogus\""), "{extra}");
        assert!(check_against_parser(&["isGateway", "mtu", "ref"], &common, &parsed, &["ref"]).is_ok());
        let common_listed = check_against_parser(&["isGateway", "mtu", "name"], &common, &parsed, &[]);
        assert!(common_listed.unwrap_err().contains("common key \"name\""));
    }
}
