//! Lint for `cnictl validate`: what leaves a config valid but is almost
//! certainly a mistake, found without running anything. Keys no plugin
//! reads ([`keys`]), capabilities no plugin knows, subnets that overlap
//! another network's or the host's ([`overlap`]), and tuning sysctls that
//! do not exist ([`sysctl`]). Every finding is returned, not only the
//! first, each with the place in the file it is about.

pub mod keys;
pub mod overlap;
pub mod sysctl;

use cni::jsonpos::Seg;
use serde::Serialize;

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

/// Capabilities declared that no known plugin understands, as lint findings.
fn capability_lints(list: &NetworkList) -> Vec<Lint> {
    capabilities::unknown_declared(list)
        .into_iter()
        .map(|unknown| {
            let path = vec![Seg::Key("capabilities".into()), Seg::Key(unknown.name.clone())];
            Lint::warning(At { plugin: Some(unknown.plugin), path }, unknown.to_string())
        })
        .collect()
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
