//! Loading network configurations the way libcni does.
//!
//! In the config dir, `*.conflist` files are read first in sorted order,
//! then `*.conf` and `*.json`; the first whose `name` matches wins. A
//! single-plugin `.conf` becomes a one-plugin list. Unless
//! `loadOnlyInlinedPlugins` is set, `<dir>/<name>/*.conf` files are
//! appended to the chain. Errors name the file and the key at fault.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
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

fn read_bool(obj: &Map<String, Value>, key: &str, file: &Path) -> Result<bool> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => bail!("{}: key {key:?}: expected true or false, found {other}", file.display()),
    }
}

fn parse_json(bytes: &[u8], file: &Path) -> Result<Map<String, Value>> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| eyre!("{}:{}:{}: invalid JSON: {e}", file.display(), e.line(), e.column()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => bail!("{}: expected a JSON object at the top level", file.display()),
    }
}

/// The effective version of a list: the highest of `cniVersion` and
/// `cniVersions` entries that we support, as libcni picks it.
fn list_version(obj: &Map<String, Value>, file: &Path) -> Result<String> {
    let mut version = match obj.get("cniVersion") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => bail!("{}: key \"cniVersion\": expected a string, found {other}", file.display()),
    };
    if let Some(versions) = obj.get("cniVersions") {
        let Value::Array(items) = versions else {
            bail!("{}: key \"cniVersions\": expected an array of strings", file.display());
        };
        let mut candidates = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Value::String(v) = item else {
                bail!("{}: key \"cniVersions[{i}]\": expected a string, found {item}", file.display());
            };
            candidates.push(v.clone());
        }
        if !version.is_empty() {
            candidates.push(version.clone());
        }
        let mut best: Option<String> = None;
        for candidate in candidates {
            let newer = cni::version::compare(&candidate, cni::version::CURRENT)
                .map_err(|e| eyre!("{}: key \"cniVersions\": {e}", file.display()))?;
            if newer == std::cmp::Ordering::Greater {
                continue;
            }
            let better = match &best {
                None => true,
                Some(b) => cni::version::at_least(&candidate, b).unwrap_or(false),
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

fn check_plugin(plugin: &Map<String, Value>, file: &Path, at: &str) -> Result<()> {
    match plugin.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Ok(()),
        Some(Value::String(_)) | None => bail!("{}: {at}: missing key \"type\"", file.display()),
        Some(other) => bail!("{}: {at}: key \"type\": expected a string, found {other}", file.display()),
    }
}

/// Parses a conflist file's bytes (without the plugin-dir additions).
pub fn parse_conflist(bytes: &[u8], file: &Path) -> Result<NetworkList> {
    let obj = parse_json(bytes, file)?;
    let name = match obj.get("name") {
        Some(Value::String(n)) => n.clone(),
        None => bail!("{}: missing key \"name\"", file.display()),
        Some(other) => bail!("{}: key \"name\": expected a string, found {other}", file.display()),
    };
    let cni_version = list_version(&obj, file)?;
    let load_only_inlined = read_bool(&obj, "loadOnlyInlinedPlugins", file)?;
    let mut plugins = Vec::new();
    match obj.get("plugins") {
        None if load_only_inlined => {
            bail!("{}: \"loadOnlyInlinedPlugins\" is true but there is no \"plugins\" key", file.display())
        }
        None => {}
        Some(Value::Array(items)) => {
            if items.is_empty() {
                bail!("{}: key \"plugins\": the list is empty", file.display());
            }
            for (i, item) in items.iter().enumerate() {
                let Value::Object(plugin) = item else {
                    bail!("{}: key \"plugins[{i}]\": expected an object", file.display());
                };
                check_plugin(plugin, file, &format!("plugins[{i}]"))?;
                plugins.push(plugin.clone());
            }
        }
        Some(other) => bail!("{}: key \"plugins\": expected an array, found {other}", file.display()),
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
pub fn parse_single(bytes: &[u8], file: &Path) -> Result<NetworkList> {
    let plugin = parse_json(bytes, file)?;
    check_plugin(&plugin, file, "top level")?;
    let name = plugin.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = plugin.get("cniVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let list = serde_json::json!({"name": name, "cniVersion": version, "plugins": [Value::Object(plugin)]});
    parse_conflist(list.to_string().as_bytes(), file)
}

/// Config files in `dir` with one of `extensions`, sorted by path.
pub fn conf_files(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).wrap_err_with(|| format!("failed to read config dir {}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()).is_some_and(|x| extensions.contains(&x)))
        .collect();
    files.sort();
    Ok(files)
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).wrap_err_with(|| format!("failed to read {}", file.display()))
}

/// Loads a network file in full: a conflist plus its plugin-dir additions.
pub fn load_file(file: &Path) -> Result<NetworkList> {
    let bytes = read(file)?;
    let is_list = file.extension().and_then(|x| x.to_str()) == Some("conflist");
    let mut list = if is_list { parse_conflist(&bytes, file)? } else { parse_single(&bytes, file)? };
    if is_list && !list.load_only_inlined {
        let dir = file.parent().unwrap_or(Path::new(".")).join(&list.name);
        for extra in conf_files(&dir, &["conf"])? {
            let plugin = parse_json(&read(&extra)?, &extra)?;
            check_plugin(&plugin, &extra, "top level")?;
            list.plugins.push(plugin);
        }
    }
    if list.plugins.is_empty() {
        bail!("{}: network {:?} has no plugins", file.display(), list.name);
    }
    Ok(list)
}

/// Finds and loads the network `name` from `dir`.
pub fn load_network(dir: &Path, name: &str) -> Result<NetworkList> {
    for file in conf_files(dir, &["conflist"])? {
        let bytes = read(&file)?;
        if parse_conflist(&bytes, &file)?.name == name {
            return load_file(&file);
        }
    }
    for file in conf_files(dir, &["conf", "json"])? {
        let bytes = read(&file)?;
        if parse_single(&bytes, &file)?.name == name {
            return load_file(&file);
        }
    }
    bail!("no network named {name:?} in {}", dir.display())
}
