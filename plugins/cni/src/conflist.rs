//! Network configuration lists (conflists), as libcni reads them.
//!
//! Parsing only: the caller reads files. Errors are messages that name
//! the file, and the line and column or the key at fault, for an
//! operator to act on. A single-plugin `.conf` becomes a one-plugin list.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// A network: its chain of plugin configs and the list-level settings.
#[derive(Debug, Clone)]
pub struct NetworkList {
    /// Network name.
    pub name: String,
    /// The spec version for the whole chain.
    pub cni_version: String,
    /// Skip CHECK for this network.
    pub disable_check: bool,
    /// Skip GC for this network.
    pub disable_gc: bool,
    /// Do not append plugins from `<dir>/<name>/`.
    pub load_only_inlined: bool,
    /// Plugin configs, in chain order.
    pub plugins: Vec<Map<String, Value>>,
    /// The list's bytes as a conflist (cached with each attachment).
    pub bytes: Vec<u8>,
    /// The file it came from.
    pub source: PathBuf,
}

fn read_bool(obj: &Map<String, Value>, key: &str, file: &Path) -> Result<bool, String> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(format!("{}: key {key:?}: expected true or false, found {other}", file.display())),
    }
}

/// Parses bytes as a JSON object; errors give file, line and column.
pub fn parse_object(bytes: &[u8], file: &Path) -> Result<Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{}:{}:{}: invalid JSON: {e}", file.display(), e.line(), e.column()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(format!("{}: expected a JSON object at the top level", file.display())),
    }
}

/// The effective version of a list: the highest of `cniVersion` and
/// `cniVersions` entries that we support, as libcni picks it.
fn list_version(obj: &Map<String, Value>, file: &Path) -> Result<String, String> {
    let mut version = match obj.get("cniVersion") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!("{}: key \"cniVersion\": expected a string, found {other}", file.display()))
        }
    };
    if let Some(versions) = obj.get("cniVersions") {
        let Value::Array(items) = versions else {
            return Err(format!("{}: key \"cniVersions\": expected an array of strings", file.display()));
        };
        let mut candidates = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Value::String(v) = item else {
                return Err(format!(
                    "{}: key \"cniVersions[{i}]\": expected a string, found {item}",
                    file.display()
                ));
            };
            candidates.push(v.clone());
        }
        if !version.is_empty() {
            candidates.push(version.clone());
        }
        let mut best: Option<String> = None;
        for candidate in candidates {
            let newer = crate::version::compare(&candidate, crate::version::CURRENT)
                .map_err(|e| format!("{}: key \"cniVersions\": {e}", file.display()))?;
            if newer == std::cmp::Ordering::Greater {
                continue;
            }
            let better = match &best {
                None => true,
                Some(b) => crate::version::at_least(&candidate, b).unwrap_or(false),
            };
            if better {
                best = Some(candidate);
            }
        }
        if let Some(best) = best {
            version = best;
        }
    }
    Ok(version)
}

/// Checks that a plugin config has a string `type`.
pub fn check_plugin(plugin: &Map<String, Value>, file: &Path, at: &str) -> Result<(), String> {
    match plugin.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Ok(()),
        Some(Value::String(_)) | None => Err(format!("{}: {at}: missing key \"type\"", file.display())),
        Some(other) => {
            Err(format!("{}: {at}: key \"type\": expected a string, found {other}", file.display()))
        }
    }
}

/// Parses a conflist file's bytes (without the plugin-dir additions).
pub fn parse_conflist(bytes: &[u8], file: &Path) -> Result<NetworkList, String> {
    let obj = parse_object(bytes, file)?;
    let name = match obj.get("name") {
        Some(Value::String(n)) => n.clone(),
        None => return Err(format!("{}: missing key \"name\"", file.display())),
        Some(other) => {
            return Err(format!("{}: key \"name\": expected a string, found {other}", file.display()))
        }
    };
    let cni_version = list_version(&obj, file)?;
    let load_only_inlined = read_bool(&obj, "loadOnlyInlinedPlugins", file)?;
    let mut plugins = Vec::new();
    match obj.get("plugins") {
        None if load_only_inlined => {
            return Err(format!(
                "{}: \"loadOnlyInlinedPlugins\" is true but there is no \"plugins\" key",
                file.display()
            ))
        }
        None => {}
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(format!("{}: key \"plugins\": the list is empty", file.display()));
            }
            for (i, item) in items.iter().enumerate() {
                let Value::Object(plugin) = item else {
                    return Err(format!("{}: key \"plugins[{i}]\": expected an object", file.display()));
                };
                check_plugin(plugin, file, &format!("plugins[{i}]"))?;
                plugins.push(plugin.clone());
            }
        }
        Some(other) => {
            return Err(format!("{}: key \"plugins\": expected an array, found {other}", file.display()))
        }
    }
    Ok(NetworkList {
        name,
        cni_version,
        disable_check: read_bool(&obj, "disableCheck", file)?,
        disable_gc: read_bool(&obj, "disableGC", file)?,
        load_only_inlined,
        plugins,
        bytes: bytes.to_vec(),
        source: file.to_path_buf(),
    })
}

/// Turns a single-plugin `.conf` into a one-plugin list.
pub fn parse_single(bytes: &[u8], file: &Path) -> Result<NetworkList, String> {
    let plugin = parse_object(bytes, file)?;
    check_plugin(&plugin, file, "top level")?;
    let name = plugin.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = plugin.get("cniVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let list = serde_json::json!({"name": name, "cniVersion": version, "plugins": [Value::Object(plugin)]});
    parse_conflist(list.to_string().as_bytes(), file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NetworkList, String> {
        parse_conflist(text.as_bytes(), Path::new("/etc/cni/net.d/10-x.conflist"))
    }

    #[test]
    fn versions_flags_and_plugins() {
        let list = parse(
            r#"{"name":"x","cniVersion":"0.4.0","cniVersions":["1.0.0","9.9.9"],"disableCheck":"true","plugins":[{"type":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(list.cni_version, "1.0.0", "the highest version we know wins");
        assert!(list.disable_check && !list.disable_gc);
        assert_eq!(list.plugins.len(), 1);
        let err = parse(r#"{"name":"x","loadOnlyInlinedPlugins":true}"#).unwrap_err();
        assert!(err.contains("loadOnlyInlinedPlugins"), "{err}");
        let err = parse(r#"{"name":"x","plugins":[{"type":1}]}"#).unwrap_err();
        assert!(err.contains("10-x.conflist") && err.contains("\"type\""), "{err}");
        let err = parse("{\n\"name\": }").unwrap_err();
        assert!(err.contains("10-x.conflist:2:"), "{err}");
        let single =
            parse_single(br#"{"name":"s","cniVersion":"0.3.1","type":"bridge"}"#, Path::new("s.conf"))
                .unwrap();
        assert_eq!((single.name.as_str(), single.cni_version.as_str()), ("s", "0.3.1"));
        assert_eq!(single.plugins[0]["type"], "bridge");
    }
}
