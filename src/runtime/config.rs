//! Finding and reading network configurations the way libcni does (the
//! parsing itself is `cni::conflist`).
//!
//! In the config dir, `*.conflist` files are read first in sorted order,
//! then `*.conf` and `*.json`; the first whose `name` matches wins. A
//! single-plugin `.conf` becomes a one-plugin list. Unless
//! `loadOnlyInlinedPlugins` is set, `<dir>/<name>/*.conf` files are
//! appended to the chain. Errors name the file and the key at fault.

use std::path::{Path, PathBuf};

use cni::conflist::{check_plugin, parse_conflist, parse_object, parse_single, Source};
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

pub use cni::conflist::NetworkList;

/// No file of the config dir names the network: what `cnictl list` answers.
#[derive(Debug)]
pub struct NoSuchNetwork {
    /// The name looked for.
    pub name: String,
    /// The config dir.
    pub dir: PathBuf,
    /// Why each file that could not be read was skipped.
    pub unreadable: Vec<String>,
}

impl std::fmt::Display for NoSuchNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no network named {:?} in {}", self.name, self.dir.display())?;
        if !self.unreadable.is_empty() {
            write!(f, "; files that could not be read:\n    {}", self.unreadable.join("\n    "))?;
        }
        Ok(())
    }
}

impl std::error::Error for NoSuchNetwork {}

/// A network file that does not parse: what `cnictl validate FILE` explains.
#[derive(Debug)]
pub struct BadConfigFile(pub String);

impl std::fmt::Display for BadConfigFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadConfigFile {}

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

/// Every network file in `dir` in libcni's order: the `*.conflist` files,
/// then the `*.conf` and `*.json` ones, each group sorted by path.
pub fn network_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = conf_files(dir, &["conflist"])?;
    files.extend(conf_files(dir, &["conf", "json"])?);
    Ok(files)
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).wrap_err_with(|| format!("failed to read {}", file.display()))
}

/// Loads a network file in full: a conflist plus its plugin-dir additions.
pub fn load_file(file: &Path) -> Result<NetworkList> {
    let bytes = read(file)?;
    let is_list = file.extension().and_then(|x| x.to_str()) == Some("conflist");
    let parsed = if is_list { parse_conflist(&bytes, file) } else { parse_single(&bytes, file) };
    let mut list = parsed.map_err(|e| BadConfigFile(e.to_string()))?;
    if is_list && !list.load_only_inlined {
        let dir = file.parent().unwrap_or(Path::new(".")).join(&list.name);
        for extra in conf_files(&dir, &["conf"])? {
            let bytes = read(&extra)?;
            let plugin = parse_object(&bytes, &extra).map_err(|e| BadConfigFile(e.to_string()))?;
            check_plugin(&plugin, &Source { file: &extra, bytes: &bytes }, &[])
                .map_err(|e| BadConfigFile(e.to_string()))?;
            list.plugins.push(plugin);
        }
    }
    if list.plugins.is_empty() {
        bail!("{}: network {:?} has no plugins", file.display(), list.name);
    }
    Ok(list)
}

/// Finds and loads the network `name` from `dir`. Unlike libcni, a file
/// that cannot be read does not stop the search; if the network is not
/// found, the error lists those files too.
pub fn load_network(dir: &Path, name: &str) -> Result<NetworkList> {
    let mut unreadable = Vec::new();
    let mut candidates = conf_files(dir, &["conflist"])?;
    candidates.extend(conf_files(dir, &["conf", "json"])?);
    for file in candidates {
        // A file that cannot be read (a dangling link, no permission) is
        // listed, not fatal.
        let bytes = match read(&file) {
            Ok(bytes) => bytes,
            Err(e) => {
                unreadable.push(format!("{e:#}"));
                continue;
            }
        };
        let is_list = file.extension().and_then(|x| x.to_str()) == Some("conflist");
        let parsed = if is_list { parse_conflist(&bytes, &file) } else { parse_single(&bytes, &file) };
        match parsed {
            Ok(list) if list.name == name => return load_file(&file),
            Ok(_) => {}
            Err(e) => unreadable.push(e),
        }
    }
    Err(NoSuchNetwork { name: name.to_string(), dir: dir.to_path_buf(), unreadable }.into())
}

/// The network `name` for DEL, CHECK and GC: its file in `dir`, or, when
/// that is gone or unreadable, the config libcni's cache kept with one of
/// its attachments (this one when `attachment` names it), said on stderr.
/// An attachment must stay removable after its network's file is deleted.
pub fn load_network_or_cached(
    dir: &Path,
    cache: &super::cache::Cache,
    name: &str,
    attachment: Option<(&str, &str)>,
) -> Result<NetworkList> {
    let error = match load_network(dir, name) {
        Ok(list) => return Ok(list),
        Err(e) => e,
    };
    let own = attachment.and_then(|(id, ifname)| cache.load(name, id, ifname));
    let entry = own.or_else(|| cache.list().into_iter().find(|e| e.network == name));
    let Some(entry) = entry else { return Err(error) };
    let source = cache.path(name, &entry.container_id, &entry.ifname);
    let parsed = parse_conflist(&entry.config, &source).or_else(|_| parse_single(&entry.config, &source));
    let list = parsed.map_err(|e| eyre!("{error:#}; and the cached config does not parse either: {e}"))?;
    say!("cnictl: {error:#}; using the config cached with the attachment ({})", source.display());
    Ok(list)
}
