//! `cnictl plugins`: every plugin in the plugin path, where it is, and the
//! spec versions it answers VERSION with. A name found in two directories
//! is listed once, where lookup finds it (the first directory). Probing
//! runs files, so it is careful: in cnictl's own directory (searched by
//! default, and holding other programs) only our plugin types count, and
//! every probe is killed after a few seconds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cni::env::Command as Verb;
use cni::gojson::GoKeys;
use cni::invoke::{exec_plugin_within, is_executable_file, Invocation, PluginExe};
use cni::{BUILTIN_PLUGIN_TYPES, MULTICALL_BINARY};
use color_eyre::eyre::Result;
use serde::Serialize;
use serde_json::Value;

use super::Context;
use crate::render::{self, Cell, Format, Tone, View};

/// Executables next to plugins that are not plugins.
const NOT_PLUGINS: [&str; 2] = ["cnictl", MULTICALL_BINARY];

/// How long a plugin may take to answer VERSION.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// The plugins lookup would find, in lookup order. In `own_dir` (cnictl's
/// directory) only files named after our plugin types are taken.
pub fn found_plugins(dirs: &[PathBuf], own_dir: Option<&Path>) -> Vec<PluginExe> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for dir in dirs {
        let only_ours = own_dir == Some(dir.as_path());
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if NOT_PLUGINS.contains(&name.as_str())
                || (only_ours && !BUILTIN_PLUGIN_TYPES.contains(&name.as_str()))
                || !is_executable_file(&path)
                || !seen.insert(name.clone())
            {
                continue;
            }
            found.push(PluginExe { program: path, name });
        }
        let multicall = dir.join(MULTICALL_BINARY);
        if is_executable_file(&multicall) {
            for name in BUILTIN_PLUGIN_TYPES {
                if seen.insert(name.to_string()) {
                    found.push(PluginExe { program: multicall.clone(), name: name.to_string() });
                }
            }
        }
    }
    found
}

/// Asks one plugin for its versions.
pub fn versions(exe: &PluginExe, path: &str) -> Result<Vec<String>, String> {
    let call = Invocation { command: Verb::Version, container_id: "", netns: "", ifname: "", args: "", path };
    let out =
        exec_plugin_within(exe, br#"{"cniVersion":"1.1.0"}"#, &call, Some(PROBE_LIMIT)).map_err(|e| e.msg)?;
    let reply: Value = serde_json::from_slice(&out).map_err(|e| format!("VERSION printed no JSON: {e}"))?;
    supported_versions(&reply)
}

/// The `supportedVersions` of a VERSION answer.
pub fn supported_versions(reply: &Value) -> Result<Vec<String>, String> {
    let list = reply
        .go_get("supportedVersions")
        .and_then(Value::as_array)
        .ok_or("VERSION gave no supportedVersions")?;
    Ok(list.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

fn shown_path(exe: &PluginExe) -> String {
    let file = exe.program.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if file == exe.name {
        exe.program.display().to_string()
    } else {
        format!("{} (as {})", exe.program.display(), exe.name)
    }
}

/// One plugin of the plugin path.
#[derive(Debug, Serialize)]
struct PluginView {
    /// The type it answers as.
    name: String,
    /// The file run.
    path: String,
    /// Whether that file is our multicall binary.
    multicall: bool,
    /// The path as the table shows it (`(as TYPE)` for a multicall).
    #[serde(skip)]
    shown_path: String,
    /// Its answer to VERSION.
    #[serde(rename = "supportedVersions")]
    supported_versions: Option<Vec<String>>,
    /// Why it gave none.
    error: Option<String>,
}

/// The plugins view.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct PluginsView {
    plugins: Vec<PluginView>,
    #[serde(skip)]
    dirs: String,
}

impl View for PluginsView {
    fn headers(&self) -> &'static [&'static str] {
        &["plugin", "path", "versions"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.plugins
            .iter()
            .map(|p| {
                let versions = match (&p.supported_versions, &p.error) {
                    (Some(versions), _) => Cell::from(versions.join(" ")),
                    (None, error) => Cell::toned(
                        format!("error: {}", error.as_deref().unwrap_or("no answer")),
                        Tone::Alarm,
                    ),
                };
                vec![p.name.as_str().into(), p.shown_path.as_str().into(), versions]
            })
            .collect()
    }

    fn empty(&self) -> String {
        format!("no plugins in {}", self.dirs)
    }
}

/// Prints the plugins of the plugin path.
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let path = ctx.runtime.path.joined();
    let plugins = found_plugins(&ctx.runtime.path.dirs, ctx.runtime.path.own_dir.as_deref());
    let answers: Vec<Result<Vec<String>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plugins.iter().map(|p| scope.spawn(|| versions(p, &path))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("VERSION check panicked".into())))
            .collect()
    });
    let found = plugins
        .iter()
        .zip(answers)
        .map(|(exe, answer)| PluginView {
            name: exe.name.clone(),
            path: exe.program.display().to_string(),
            multicall: exe.program.file_name().and_then(|n| n.to_str()) == Some(MULTICALL_BINARY),
            shown_path: shown_path(exe),
            supported_versions: answer.as_ref().ok().cloned(),
            error: answer.err(),
        })
        .collect();
    let dirs: Vec<String> = ctx.runtime.path.dirs.iter().map(|d| d.display().to_string()).collect();
    render::show(format, &PluginsView { plugins: found, dirs: dirs.join(":") })?;
    Ok(ExitCode::SUCCESS)
}
