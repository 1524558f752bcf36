//! Network configuration lists (conflists), as libcni reads them.
//!
//! Parsing only: the caller reads files. Errors are messages that name
//! the file, and the line and column or the key at fault, for an
//! operator to act on. A single-plugin `.conf` becomes a one-plugin list.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::jsonpos::{display, locate, Seg};

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

/// A config file's name and bytes, for errors that point into it.
pub struct Source<'a> {
    /// The file.
    pub file: &'a Path,
    /// Its contents.
    pub bytes: &'a [u8],
}

impl Source<'_> {
    /// `file:line:column: path: msg`, the position being that of the value
    /// at `path` (of the object that lacks it, for a missing key).
    pub fn error(&self, path: &[Seg], msg: impl std::fmt::Display) -> String {
        let mut place = self.file.display().to_string();
        let mut probe = path;
        loop {
            if let Some((line, column)) = locate(self.bytes, probe) {
                place = format!("{place}:{line}:{column}");
                break;
            }
            match probe.split_last() {
                Some((_, parent)) => probe = parent,
                None => break,
            }
        }
        if path.is_empty() {
            format!("{place}: {msg}")
        } else {
            format!("{place}: {}: {msg}", display(path))
        }
    }
}

fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

fn read_bool(obj: &Map<String, Value>, name: &str, src: &Source) -> Result<bool, String> {
    match obj.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(src.error(&[key(name)], format!("expected true or false, found {other}"))),
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
fn list_version(obj: &Map<String, Value>, src: &Source) -> Result<String, String> {
    let mut version = match obj.get("cniVersion") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(src.error(&[key("cniVersion")], format!("expected a string, found {other}")))
        }
    };
    if let Some(versions) = obj.get("cniVersions") {
        let Value::Array(items) = versions else {
            return Err(src.error(&[key("cniVersions")], "expected an array of strings"));
        };
        let mut candidates = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Value::String(v) = item else {
                return Err(src.error(
                    &[key("cniVersions"), Seg::Index(i)],
                    format!("expected a string, found {item}"),
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
                .map_err(|e| src.error(&[key("cniVersions")], e))?;
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

/// Checks that a plugin config (at `at` in the file) has a string `type`.
/// A plugin's keys are read as libcni reads them, into a Go struct (so
/// `"Type"` will do); the list's own keys are read from a Go map, exactly.
pub fn check_plugin(plugin: &Map<String, Value>, src: &Source, at: &[Seg]) -> Result<(), String> {
    let mut type_path = at.to_vec();
    type_path.push(key("type"));
    match crate::gojson::get_in(plugin, "type") {
        Some(Value::String(t)) if !t.is_empty() => Ok(()),
        Some(Value::String(_)) => Err(src.error(&type_path, "must not be empty")),
        None => Err(src.error(at, "missing key \"type\"")),
        Some(other) => Err(src.error(&type_path, format!("expected a string, found {other}"))),
    }
}

/// The keys of a conflist's top level that [`parse_conflist`] reads, as
/// libcni reads them (from a Go map: only exact spellings count). Lint
/// names any other key of a list.
pub const LIST_KEYS: &[&str] =
    &["cniVersion", "cniVersions", "name", "disableCheck", "disableGC", "loadOnlyInlinedPlugins", "plugins"];

/// Parses a conflist file's bytes (without the plugin-dir additions).
pub fn parse_conflist(bytes: &[u8], file: &Path) -> Result<NetworkList, String> {
    let obj = parse_object(bytes, file)?;
    let src = Source { file, bytes };
    let name = match obj.get("name") {
        Some(Value::String(n)) => n.clone(),
        None => return Err(src.error(&[], "missing key \"name\"")),
        Some(other) => return Err(src.error(&[key("name")], format!("expected a string, found {other}"))),
    };
    let cni_version = list_version(&obj, &src)?;
    let load_only_inlined = read_bool(&obj, "loadOnlyInlinedPlugins", &src)?;
    let mut plugins = Vec::new();
    match obj.get("plugins") {
        None if load_only_inlined => {
            return Err(src.error(&[key("loadOnlyInlinedPlugins")], "is true but there is no \"plugins\" key"))
        }
        None => {}
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(src.error(&[key("plugins")], "the list is empty"));
            }
            for (i, item) in items.iter().enumerate() {
                let at = [key("plugins"), Seg::Index(i)];
                let Value::Object(plugin) = item else {
                    return Err(src.error(&at, "expected an object"));
                };
                check_plugin(plugin, &src, &at)?;
                plugins.push(plugin.clone());
            }
        }
        Some(other) => return Err(src.error(&[key("plugins")], format!("expected an array, found {other}"))),
    }
    Ok(NetworkList {
        name,
        cni_version,
        disable_check: read_bool(&obj, "disableCheck", &src)?,
        disable_gc: read_bool(&obj, "disableGC", &src)?,
        load_only_inlined,
        plugins,
        bytes: bytes.to_vec(),
        source: file.to_path_buf(),
    })
}

/// Turns a single-plugin `.conf` into a one-plugin list.
pub fn parse_single(bytes: &[u8], file: &Path) -> Result<NetworkList, String> {
    let plugin = parse_object(bytes, file)?;
    let src = Source { file, bytes };
    check_plugin(&plugin, &src, &[])?;
    let name = match crate::gojson::get_in(&plugin, "name") {
        Some(Value::String(n)) => n.clone(),
        None => return Err(src.error(&[], "missing key \"name\"")),
        Some(other) => return Err(src.error(&[key("name")], format!("expected a string, found {other}"))),
    };
    let version = match crate::gojson::get_in(&plugin, "cniVersion") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(v)) => v.clone(),
        Some(other) => {
            return Err(src.error(&[key("cniVersion")], format!("expected a string, found {other}")))
        }
    };
    let list = serde_json::json!({"name": name, "cniVersion": version, "plugins": [Value::Object(plugin)]});
    parse_conflist(list.to_string().as_bytes(), file)
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_list_key_is_read_by_the_parser() {
        // A value of the wrong type for a key the parser reads is an error
        // naming it: so each listed key is one the parser reads.
        for key in LIST_KEYS {
            let text = format!(r#"{{"name": "n", "plugins": [{{"type": "bridge"}}], "{key}": {{}}}}"#);
            let error = parse_conflist(text.as_bytes(), Path::new("n.conflist")).err();
            assert!(error.as_deref().is_some_and(|e| e.contains(key)), "{key}: {error:?}");
        }
    }

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
        let err = parse("{\"name\":\"x\",\n \"plugins\":[{\"type\":1}]}").unwrap_err();
        assert!(
            err.starts_with("/etc/cni/net.d/10-x.conflist:2:21: plugins[0].type: expected a string"),
            "{err}"
        );
        let err = parse("{\"name\":\"x\",\n \"plugins\":[\n  {\"ipam\":{}}]}").unwrap_err();
        assert!(err.contains("10-x.conflist:3:3: plugins[0]: missing key \"type\""), "{err}");
        let err = parse("{\n\"name\": }").unwrap_err();
        assert!(err.contains("10-x.conflist:2:"), "{err}");
        let single =
            parse_single(br#"{"name":"s","cniVersion":"0.3.1","type":"bridge"}"#, Path::new("s.conf"))
                .unwrap();
        assert_eq!((single.name.as_str(), single.cni_version.as_str()), ("s", "0.3.1"));
        assert_eq!(single.plugins[0]["type"], "bridge");
    }
}
