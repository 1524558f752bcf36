//! `CNI_ARGS`: the `KEY=VALUE;KEY=VALUE` string a runtime passes.
//!
//! As in the reference, a plugin names the keys it understands; any other
//! key is an error unless the string itself says `IgnoreUnknown=1`.

use std::collections::BTreeMap;

use crate::error::{CniError, ErrorCode};

/// Parsed `CNI_ARGS`: the known keys with their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs {
    values: BTreeMap<String, String>,
}

/// The container MAC a call asks for: the last set of `candidates`
/// (lowest precedence first; see `cni_args_mac`), parsed. An unparsable
/// one is a config error that names it.
pub fn requested_mac(candidates: &[&str]) -> Result<Option<[u8; 6]>, CniError> {
    match candidates.iter().rev().find(|c| !c.is_empty()) {
        None => Ok(None),
        Some(text) => crate::spec::mac::parse_mac(text)
            .map(Some)
            .ok_or_else(|| CniError::config(format!("invalid args {text} for MAC addr"))),
    }
}

/// `MAC` from CNI_ARGS, "" when it is not there.
pub fn cni_args_mac(raw: &str) -> Result<String, CniError> {
    Ok(CniArgs::parse(raw, &["MAC"])?.get("MAC").unwrap_or_default().to_string())
}

impl CniArgs {
    /// Parses `raw`, accepting only `known` keys (plus `IgnoreUnknown`).
    pub fn parse(raw: &str, known: &[&str]) -> Result<CniArgs, CniError> {
        let mut values = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut ignore_unknown = false;
        if raw.is_empty() {
            return Ok(CniArgs { values });
        }
        for pair in raw.split(';') {
            let mut kv = pair.split('=');
            let (Some(key), Some(value), None) = (kv.next(), kv.next(), kv.next()) else {
                return Err(invalid(format!("CNI_ARGS: invalid pair {pair:?}")));
            };
            if key == "IgnoreUnknown" {
                ignore_unknown = parse_bool(value).ok_or_else(|| {
                    invalid(format!("CNI_ARGS: IgnoreUnknown must be a boolean, not {value:?}"))
                })?;
            } else if known.contains(&key) {
                values.insert(key.to_string(), value.to_string());
            } else {
                unknown.push(pair.to_string());
            }
        }
        if !unknown.is_empty() && !ignore_unknown {
            return Err(invalid(format!("CNI_ARGS: unknown args {unknown:?}")));
        }
        Ok(CniArgs { values })
    }

    /// The value of a known key, if given and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

fn invalid(msg: String) -> CniError {
    CniError::new(ErrorCode::InvalidEnvironment, msg)
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_and_ignore_unknown() {
        let a = CniArgs::parse("IP=10.0.0.5;K8S_POD_NAME=x;IgnoreUnknown=1", &["IP"]).unwrap();
        assert_eq!(a.get("IP"), Some("10.0.0.5"));
        assert!(CniArgs::parse("IP=10.0.0.5;FOO=bar", &["IP"]).is_err());
        assert!(CniArgs::parse("IP", &["IP"]).is_err());
        assert!(CniArgs::parse("IP=a=b", &["IP"]).is_err());
        assert!(CniArgs::parse("", &["IP"]).unwrap().get("IP").is_none());
    }
}
