//! `cnictl validate [NET | FILE]`: a config read as libcni reads it (parse
//! errors name file, line, column and key), each plugin of its chain found
//! and answering VERSION with the config's version, its capabilities; and
//! each plugin of ours checking its own config as ADD would.
//!
//! Ours are told from others by asking: a VERSION call with
//! `cni::skel::VALIDATE_PROBE_ENV` set, which only ours answer with
//! `cni::skel::VALIDATE_MARKER`. Those then get `CNI_COMMAND=VALIDATE`
//! (ADD's config parsing and checks, nothing done); a plugin error naming
//! a key (`key "ipam.subnet"`) is mapped to its line and column in the file
//! it came from. Other plugins get only what libcni checks (VERSION).
//! [`check_chain`] is shared with `list`'s STATE column.
//!
//! Then lint (`crate::lint`): keys a plugin does not read, capabilities no
//! known plugin understands, subnets overlapping another network's or the
//! host's, tuning sysctls that do not exist. Every finding is reported,
//! each at its file, line and column. Warnings leave the config valid and
//! exit 0 unless `--strict`; an error (a sysctl ADD would fail to write)
//! makes it invalid.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cni::gojson::GoKeys;
use cni::invoke::{run_plugin_within, PluginExe};
use cni::jsonpos::{display, key_in_message, locate_nearest_go, Seg};
use cni::skel::{VALIDATE_COMMAND, VALIDATE_MARKER, VALIDATE_PROBE_ENV};
use cni::CniError;
use color_eyre::eyre::Result;
use serde::Serialize;
use serde_json::Value;

use super::Context;
use crate::inspect;
use crate::lint::{self, Severity};
use crate::render::{self, Cell, Format, Tone};
use crate::runtime::build_config;
use crate::runtime::config::{conf_files, load_file, load_network, NetworkList};

/// How long one plugin may take to answer VERSION or VALIDATE.
const CALL_LIMIT: Duration = Duration::from_secs(10);

fn load(ctx: &Context, target: &str) -> Result<NetworkList> {
    let path = Path::new(target);
    if path.is_file() {
        load_file(path)
    } else {
        load_network(&ctx.conf_dir, target)
    }
}

/// A plugin's stdout and whether it exited 0, or why it could not be run:
/// the CNI variables empty but for those of `env`.
fn call(exe: &PluginExe, env: &[(&str, &str)], stdin: &[u8]) -> Result<(bool, Vec<u8>), String> {
    let blank = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]
        .map(|v| (v, ""));
    let vars: Vec<(&str, &str)> = blank.into_iter().chain(env.iter().copied()).collect();
    let output = run_plugin_within(exe, &vars, stdin, Some(CALL_LIMIT)).map_err(|e| e.msg)?;
    Ok((output.status.success(), output.stdout))
}

/// VERSION, asked so that ours say they validate: the supported versions
/// and whether the plugin answers VALIDATE.
fn probe(exe: &PluginExe, path: &str) -> Result<(Vec<String>, bool), String> {
    let env = [("CNI_COMMAND", "VERSION"), ("CNI_PATH", path), (VALIDATE_PROBE_ENV, "1")];
    let (ok, out) = call(exe, &env, br#"{"cniVersion":"1.1.0"}"#)?;
    let reply: Value = serde_json::from_slice(&out).map_err(|e| format!("VERSION printed no JSON: {e}"))?;
    if !ok {
        let error = CniError::from_json(&reply).map(|e| e.to_string()).unwrap_or_else(|| reply.to_string());
        return Err(error);
    }
    let versions = super::plugins_cmd::supported_versions(&reply)?;
    Ok((versions, reply.get(VALIDATE_MARKER) == Some(&Value::Bool(true))))
}

/// Where plugin `index` of the list was written: its file, that file's
/// bytes and the path of the plugin's object in it (`plugins[i]` in a
/// conflist, the whole file for a `.conf` or a plugin-dir addition).
fn plugin_source(list: &NetworkList, index: usize) -> Option<(PathBuf, Vec<u8>, Vec<Seg>)> {
    let file = &list.source;
    let bytes = std::fs::read(file).ok()?;
    if file.extension().and_then(|x| x.to_str()) != Some("conflist") {
        return Some((file.clone(), bytes, Vec::new()));
    }
    let inline = cni::conflist::parse_conflist(&bytes, file).ok()?.plugins.len();
    if index < inline {
        return Some((file.clone(), bytes, vec![Seg::Key("plugins".into()), Seg::Index(index)]));
    }
    let dir = file.parent().unwrap_or(Path::new(".")).join(&list.name);
    let extra = conf_files(&dir, &["conf"]).ok()?.into_iter().nth(index - inline)?;
    let bytes = std::fs::read(&extra).ok()?;
    Some((extra, bytes, Vec::new()))
}

/// Where `key` (a path within plugin `index`'s object) is written, as
/// `FILE:LINE:COLUMN` (the nearest enclosing key's position when the key
/// itself is not in the file), and the key's full path from the file's top.
fn key_place(list: &NetworkList, index: usize, key: Vec<Seg>) -> Option<(String, Vec<Seg>)> {
    let (file, position, path) = key_position(list, Some(index), key)?;
    let place = match position {
        Some((line, column)) => format!("{}:{line}:{column}", file.display()),
        None => file.display().to_string(),
    };
    Some((place, path))
}

/// A key's file, its line and column there, and its path from the file's top.
type KeyPosition = (PathBuf, Option<(usize, usize)>, Vec<Seg>);

/// The file a key of plugin `index` (`None`: of the list's own object) is
/// in, its line and column there, and its full path from the file's top.
fn key_position(list: &NetworkList, index: Option<usize>, key: Vec<Seg>) -> Option<KeyPosition> {
    let (file, bytes, prefix) = match index {
        Some(index) => plugin_source(list, index)?,
        None => (list.source.clone(), std::fs::read(&list.source).ok()?, Vec::new()),
    };
    let position = locate_nearest_go(&bytes, &prefix, &key);
    let mut path = prefix;
    path.extend(key);
    Some((file, position, path))
}

/// `PLACE: KEY: message` as [`key_place`] finds them (`PLACE: message` for
/// the file's top), or `None` when the plugin's file cannot be read again.
fn at_key(list: &NetworkList, index: usize, key: Vec<Seg>, msg: &str) -> Option<String> {
    let (place, path) = key_place(list, index, key)?;
    Some(if path.is_empty() {
        format!("{place}: {msg}")
    } else {
        format!("{place}: {}: {msg}", display(&path))
    })
}

/// A plugin's config error as `FILE:LINE:COLUMN: KEY: message`, the
/// position being the key's when the message names one (else the plugin's).
fn locate_error(list: &NetworkList, index: usize, error: &CniError) -> String {
    let text = error.to_string();
    let (key, msg) = match key_in_message(&text) {
        Some((key, rest)) => (key, rest),
        None => (Vec::new(), text.clone()),
    };
    at_key(list, index, key, &msg)
        .unwrap_or_else(|| format!("{}: plugin {index}: {text}", list.source.display()))
}

/// One lint finding as `-o json` prints it: where (file, line, column, the
/// key's path from the file's top), how bad, and what.
#[derive(Debug, Serialize)]
struct LintView {
    severity: Severity,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    key: String,
    message: String,
    /// The finding as the text lists print it: `FILE:LINE:COLUMN: KEY: message`.
    text: String,
}

/// Lint's findings, each placed in the file it is about.
fn lint_findings(ctx: &Context, list: &NetworkList) -> Vec<LintView> {
    lint::lint(ctx, list)
        .into_iter()
        .map(|found| {
            let (file, position, path) = key_position(list, found.at.plugin, found.at.path.clone())
                .unwrap_or_else(|| (list.source.clone(), None, found.at.path.clone()));
            let mut place = file.display().to_string();
            if let Some((line, column)) = position {
                place = format!("{place}:{line}:{column}");
            }
            let key = display(&path);
            let text = if key.is_empty() {
                format!("{place}: {}", found.message)
            } else {
                format!("{place}: {key}: {}", found.message)
            };
            LintView {
                severity: found.severity,
                file: file.display().to_string(),
                line: position.map(|p| p.0),
                column: position.map(|p| p.1),
                key,
                message: found.message,
                text,
            }
        })
        .collect()
}

/// Runs VALIDATE on one of our plugins: `None` when it accepts the config.
fn validate_config(exe: &PluginExe, path: &str, stdin: &[u8]) -> Option<Result<CniError, String>> {
    let env = [("CNI_COMMAND", VALIDATE_COMMAND), ("CNI_PATH", path)];
    match call(exe, &env, stdin) {
        Err(e) => Some(Err(e)),
        Ok((true, _)) => None,
        Ok((false, out)) => Some(
            serde_json::from_slice::<Value>(&out)
                .ok()
                .as_ref()
                .and_then(CniError::from_json)
                .ok_or_else(|| format!("VALIDATE failed: {}", String::from_utf8_lossy(&out).trim())),
        ),
    }
}

/// One plugin of the chain as `validate` checked it.
#[derive(Debug, Default, Serialize)]
pub struct PluginCheck {
    /// Its place in the chain.
    index: usize,
    /// Its type.
    #[serde(rename = "type")]
    plugin_type: String,
    /// The file lookup found.
    path: Option<String>,
    /// Its answer to VERSION.
    #[serde(rename = "supportedVersions")]
    supported_versions: Option<Vec<String>>,
    /// How far the check went: `none`, `version`, `config` (ours, VALIDATE).
    checked: &'static str,
    /// What is wrong, in full.
    problem: Option<String>,
    /// The same in a few words, for `list`.
    state: Option<String>,
    /// The plugin's error code, when its VALIDATE refused the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u32>,
}

impl PluginCheck {
    fn fail(mut self, problem: String, state: String) -> PluginCheck {
        self.problem = Some(problem);
        self.state = Some(state);
        self
    }
}

/// One plugin of the chain: found? which versions? the config's among
/// them? and, for ours, does it accept its config?
fn check_plugin(ctx: &Context, list: &NetworkList, index: usize) -> PluginCheck {
    let plugin = &list.plugins[index];
    let plugin_type = plugin.go_get("type").and_then(Value::as_str).unwrap_or_default();
    let mut view =
        PluginCheck { index, plugin_type: plugin_type.to_string(), checked: "none", ..Default::default() };
    let exe = match ctx.runtime.path.find(plugin_type) {
        Err(e) => return view.fail(e.msg, format!("missing plugin {plugin_type}")),
        Ok(exe) => exe,
    };
    view.path = Some(exe.program.display().to_string());
    let path = ctx.runtime.path.joined();
    let (versions, ours) = match probe(&exe, &path) {
        Err(e) => return view.fail(format!("VERSION failed: {e}"), format!("{plugin_type}: VERSION failed")),
        Ok(answer) => answer,
    };
    view.checked = "version";
    // As libcni: a config without a version is 0.1.0.
    let wanted = if list.cni_version.is_empty() { "0.1.0" } else { list.cni_version.as_str() };
    if !versions.iter().any(|v| v == wanted) {
        let problem = format!("does not support cniVersion {wanted} (supports {})", versions.join(", "));
        view.supported_versions = Some(versions);
        return view.fail(problem, format!("{plugin_type} does not support cniVersion {wanted}"));
    }
    view.supported_versions = Some(versions);
    if !ours {
        return view;
    }
    view.checked = "config";
    match validate_config(&exe, &path, &build_config(list, plugin, None, None)) {
        None => view,
        Some(Err(e)) => view.fail(e, format!("{plugin_type}: VALIDATE failed")),
        Some(Ok(error)) => {
            let located = locate_error(list, index, &error);
            view.code = Some(error.code);
            view.fail(located.clone(), located)
        }
    }
}

/// A problem of one plugin as `validate` lists it: config errors stand on
/// their own (they start with the file's position), the rest name the plugin.
fn problem_text(plugin: &PluginCheck) -> Option<String> {
    let problem = plugin.problem.as_deref()?;
    if plugin.code.is_some() {
        return Some(problem.to_string());
    }
    Some(format!("plugin {} ({}): {problem}", plugin.index, plugin.plugin_type))
}

/// What is wrong with a loaded network: the network name, then each
/// plugin's check (see `check_plugin`), in chain order. Returns the plugin
/// views and the problems, each `(problem, short state)`.
pub fn check_chain(ctx: &Context, list: &NetworkList) -> (Vec<PluginCheck>, Vec<(String, String)>) {
    let mut problems = Vec::new();
    if let Err(e) = cni::env::validate_network_name(&list.name) {
        problems.push((e.msg.clone(), format!("bad name: {}", e.msg)));
    }
    let plugins: Vec<PluginCheck> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..list.plugins.len()).map(|i| scope.spawn(move || check_plugin(ctx, list, i))).collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(index, h)| {
                h.join().unwrap_or_else(|_| PluginCheck {
                    index,
                    checked: "none",
                    problem: Some("check panicked".into()),
                    ..Default::default()
                })
            })
            .collect()
    });
    for plugin in &plugins {
        if let Some(problem) = problem_text(plugin) {
            let state = plugin.state.clone().unwrap_or_else(|| "problem".into());
            problems.push((problem, state));
        }
    }
    (plugins, problems)
}

/// What `validate` found, as `-o json` prints it.
#[derive(Debug, Serialize)]
struct ValidateView {
    valid: bool,
    network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(rename = "cniVersion", skip_serializing_if = "Option::is_none")]
    cni_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugins: Option<Vec<PluginCheck>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities: Option<Vec<String>>,
    problems: Vec<String>,
    warnings: Vec<String>,
    /// Lint's findings in full (their text is also in `problems` or `warnings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    lint: Option<Vec<LintView>>,
}

/// Validates one network or file; exit 1 when anything is wrong, or with
/// `strict` when lint warns.
pub fn run(ctx: &Context, target: &str, strict: bool, format: Format) -> Result<ExitCode> {
    let list = match load(ctx, target) {
        Ok(list) => list,
        Err(e) if format == Format::Json => {
            let view = ValidateView {
                valid: false,
                network: None,
                file: None,
                cni_version: None,
                plugins: None,
                capabilities: None,
                problems: vec![format!("{e:#}")],
                warnings: Vec::new(),
                lint: None,
            };
            render::print_json(&serde_json::to_value(&view)?)?;
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    let (plugins, found) = check_chain(ctx, &list);
    let mut problems: Vec<String> = found.into_iter().map(|(problem, _)| problem).collect();
    let capabilities = inspect::capabilities(&list);
    let findings = lint_findings(ctx, &list);
    let of = |severity| findings.iter().filter(move |f| f.severity == severity).map(|f| f.text.clone());
    let warnings: Vec<String> = of(Severity::Warning).collect();
    problems.extend(of(Severity::Error));
    let valid = problems.is_empty();
    let passes = valid && (!strict || warnings.is_empty());
    let code = if passes { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    if format == Format::Json {
        let view = ValidateView {
            valid,
            network: Some(list.name.clone()),
            file: Some(list.source.display().to_string()),
            cni_version: Some(list.cni_version.clone()),
            plugins: Some(plugins),
            capabilities: Some(capabilities),
            problems,
            warnings,
            lint: Some(findings),
        };
        render::print_json(&serde_json::to_value(&view)?)?;
        return Ok(code);
    }
    let rows = plugins
        .iter()
        .map(|p| {
            let state = match (&p.problem, p.checked) {
                (Some(_), _) => Cell::toned(
                    format!("problem: {}", p.state.as_deref().unwrap_or("see below")),
                    Tone::Alarm,
                ),
                (None, "config") => "ok (config checked)".into(),
                (None, _) => "ok (version checked)".into(),
            };
            vec![
                p.index.to_string().into(),
                p.plugin_type.as_str().into(),
                p.path.as_deref().unwrap_or("-").into(),
                state,
            ]
        })
        .collect();
    outln!("{} ({}), cniVersion {}", list.name, list.source.display(), list.cni_version);
    render::line(render::table(&["#", "type", "plugin", "state"], rows))?;
    let caps = if capabilities.is_empty() { "none".to_string() } else { capabilities.join(", ") };
    outln!("capabilities: {caps}");
    for warning in &warnings {
        outln!("warning: {warning}");
    }
    if valid {
        outln!("valid");
    }
    for problem in &problems {
        outln!("problem: {problem}");
    }
    if valid && strict && !warnings.is_empty() {
        outln!("strict: {} warning(s) fail the check", warnings.len());
    }
    Ok(code)
}
