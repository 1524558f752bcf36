//! Lint for `cnictl validate`: what leaves a config valid but is almost
//! certainly a mistake, found without running anything. Keys no plugin
//! reads ([`keys`]), capabilities no plugin knows, subnets that overlap
//! another network's or the host's ([`overlap`]), and tuning sysctls that
//! do not exist ([`sysctl`]). Every finding is returned, not only the
//! first, each with the place in the file it is about.

pub mod keys;
pub mod overlap;
pub mod sysctl;

use cni::gojson::GoKeys;
use cni::jsonpos::Seg;
use cni::known_keys;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::commands::Context;
use crate::runtime::capabilities;
use crate::runtime::config::NetworkList;

/// How much a finding matters: a warning leaves the config valid (`validate
/// --strict` fails on it), an error makes it invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Valid, but likely not what was meant.
    Warning,
    /// ADD would fail.
    Error,
}

/// Where a finding points: a key of plugin `plugin` of the chain (`None`:
/// of the list's own object), by its path within that object.
#[derive(Debug, Clone, PartialEq)]
pub struct At {
    /// The plugin's index in the chain, `None` for the list's top level.
    pub plugin: Option<usize>,
    /// The key's path inside that object.
    pub path: Vec<Seg>,
}

/// One thing lint found.
#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    /// Warning or error.
    pub severity: Severity,
    /// The key it is about.
    pub at: At,
    /// What is wrong, naming both sides where there are two.
    pub message: String,
}

impl Lint {
    fn warning(at: At, message: String) -> Lint {
        Lint { severity: Severity::Warning, at, message }
    }
}

/// The capabilities plugin `plugin` of ours reads: its own
/// `runtimeConfig` keys and its IPAM plugin's (an IPAM plugin gets the
/// same netconf). `None` for a foreign plugin.
fn reads(plugin: &Map<String, Value>) -> Option<Vec<&'static str>> {
    let plugin_type = plugin.go_get("type").and_then(Value::as_str).unwrap_or_default();
    let mut found = known_keys::capabilities(keys::plugin_keys(plugin_type)?);
    let ipam_type = plugin.go_get("ipam").and_then(|i| i.go_get("type")).and_then(Value::as_str);
    if let Some(ipam) = ipam_type.and_then(keys::plugin_keys) {
        found.extend(known_keys::capabilities(ipam));
    }
    Some(found)
}

/// Our plugin types that read capability `name`.
fn readers_of(name: &str) -> Vec<&'static str> {
    cni::BUILTIN_PLUGIN_TYPES
        .iter()
        .copied()
        .filter(|t| keys::plugin_keys(t).is_some_and(|k| known_keys::capabilities(k).contains(&name)))
        .collect()
}

/// Capabilities declared that no known plugin understands, and known ones
/// declared on a plugin of ours that does not read them (the runtime
/// passes them there, and to no plugin that would use them unless it
/// declares them too), as lint findings.
fn capability_lints(list: &NetworkList) -> Vec<Lint> {
    let mut out: Vec<Lint> = capabilities::unknown_declared(list)
        .into_iter()
        .map(|unknown| {
            let path = vec![Seg::Key("capabilities".into()), Seg::Key(unknown.name.clone())];
            Lint::warning(At { plugin: Some(unknown.plugin), path }, unknown.to_string())
        })
        .collect();
    for (index, plugin) in list.plugins.iter().enumerate() {
        let Some(reads) = reads(plugin) else { continue };
        let plugin_type = plugin.go_get("type").and_then(Value::as_str).unwrap_or_default();
        let Some((written, Value::Object(declared))) =
            plugin.iter().rev().find(|(k, _)| cni::gojson::fold_eq("capabilities", k))
        else {
            continue;
        };
        for (name, on) in declared {
            let readers = readers_of(name);
            if on.as_bool() != Some(true) || reads.contains(&name.as_str()) || readers.is_empty() {
                continue;
            }
            let message = format!(
                "capability {name} is declared by plugin {plugin_type}, which does not read it (read by {})",
                readers.join(", ")
            );
            let path = vec![Seg::Key(written.clone()), Seg::Key(name.clone())];
            out.push(Lint::warning(At { plugin: Some(index), path }, message));
        }
    }
    out
}

/// Everything lint finds in a loaded network, in a stable order: keys,
/// capabilities, overlaps, sysctls.
pub fn lint(ctx: &Context, list: &NetworkList) -> Vec<Lint> {
    let mut found = keys::unknown_keys(list);
    found.extend(capability_lints(list));
    found.extend(overlap::overlaps(ctx, list));
    found.extend(sysctl::missing_sysctls(list));
    found
}
