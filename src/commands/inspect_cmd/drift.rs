//! The config an attachment was made with (its cache entry) against the
//! network's file now: the same, changed (and where), or the file gone.

use serde::Serialize;
use serde_json::Value;

use super::super::Context;
use crate::runtime::cache::CachedAttachment;

/// How the cached config compares with the current file.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// `same`, `changed`, `file gone` or `unreadable`.
    pub state: &'static str,
    /// The network's file, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What differs (`changed`), or why the file cannot be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// Compares `entry`'s cached config with its network as it loads now.
pub fn drift(ctx: &Context, entry: &CachedAttachment) -> Drift {
    let list = match ctx.network(&entry.network) {
        Ok(list) => list,
        Err(e) if e.chain().any(|c| c.is::<crate::runtime::config::NoSuchNetwork>()) => {
            return Drift { state: "file gone", file: None, details: Vec::new() }
        }
        Err(e) => return Drift { state: "unreadable", file: None, details: vec![format!("{e:#}")] },
    };
    let file = Some(list.source.display().to_string());
    let cached = serde_json::from_slice::<Value>(&entry.config).unwrap_or(Value::Null);
    let now = serde_json::from_slice::<Value>(&list.bytes).unwrap_or(Value::Null);
    let details = differences(&cached, &now);
    Drift { state: if details.is_empty() { "same" } else { "changed" }, file, details }
}

/// Where two conflists differ: top-level keys, then each plugin by position.
fn differences(cached: &Value, now: &Value) -> Vec<String> {
    if cached == now {
        return Vec::new();
    }
    let (Some(a), Some(b)) = (cached.as_object(), now.as_object()) else {
        return vec!["the cached config is not a JSON object".into()];
    };
    let mut found = Vec::new();
    let keys = a.keys().chain(b.keys()).filter(|k| *k != "plugins");
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if seen.insert(key.clone()) && a.get(key) != b.get(key) {
            found.push(format!("{key}: {} -> {}", shown(a.get(key)), shown(b.get(key))));
        }
    }
    let empty = Vec::new();
    let plugins = |o: &serde_json::Map<String, Value>| {
        o.get("plugins").and_then(Value::as_array).unwrap_or(&empty).clone()
    };
    let (pa, pb) = (plugins(a), plugins(b));
    for i in 0..pa.len().max(pb.len()) {
        let kind = |p: Option<&Value>| {
            p.and_then(|p| p.get("type")).and_then(Value::as_str).unwrap_or("?").to_string()
        };
        match (pa.get(i), pb.get(i)) {
            (Some(x), Some(y)) if x != y => {
                let (Some(x), Some(y)) = (x.as_object(), y.as_object()) else { continue };
                let mut changed: Vec<&String> =
                    x.keys().chain(y.keys()).filter(|k| x.get(*k) != y.get(*k)).collect();
                changed.sort();
                changed.dedup();
                let names: Vec<&str> = changed.iter().map(|k| k.as_str()).collect();
                found.push(format!("plugin {} ({}): {} changed", i + 1, kind(pb.get(i)), names.join(", ")));
            }
            (Some(_), None) => found.push(format!("plugin {} ({}) removed", i + 1, kind(pa.get(i)))),
            (None, Some(_)) => found.push(format!("plugin {} ({}) added", i + 1, kind(pb.get(i)))),
            _ => {}
        }
    }
    found
}

fn shown(value: Option<&Value>) -> String {
    value.map(Value::to_string).unwrap_or_else(|| "(none)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_key_and_the_plugin() {
        let a = json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge", "mtu": 1400}, {"type": "portmap"}]});
        let b = json!({"cniVersion": "1.1.0", "name": "n", "plugins": [{"type": "bridge", "mtu": 1500}]});
        assert_eq!(
            differences(&a, &b),
            [
                "cniVersion: \"1.0.0\" -> \"1.1.0\"",
                "plugin 1 (bridge): mtu changed",
                "plugin 2 (portmap) removed"
            ]
        );
        assert!(differences(&a, &a).is_empty());
    }
}
