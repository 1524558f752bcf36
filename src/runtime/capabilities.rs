//! Capability names checked against what the chain declares and what
//! plugins understand. libcni passes a capability argument only to the
//! plugins whose config declares it (`capabilities: {"portMappings": true}`),
//! and drops the rest without a word: a misspelt `portMapping` in CAP_ARGS,
//! or declared in a config, leaves the container without its port
//! mappings while ADD succeeds. These warnings say so.

use serde_json::{Map, Value};

use super::config::NetworkList;

/// The capabilities the reference plugins, ours and the runtimes'
/// conventions know (the CNI conventions document's list).
pub const KNOWN: [&str; 11] = [
    "portMappings",
    "bandwidth",
    "ipRanges",
    "mac",
    "ips",
    "dns",
    "infinibandGUID",
    "deviceID",
    "aliases",
    "cgroupPath",
    "io.kubernetes.cri.pod-annotations",
];

/// The capabilities the chain's plugins declare (set to `true`), in chain
/// order, each once.
fn declared(list: &NetworkList) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (_, name) in declarations(list) {
        if !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// Each capability declared `true`, with the index of the plugin declaring it.
fn declarations(list: &NetworkList) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, plugin) in list.plugins.iter().enumerate() {
        let caps = cni::gojson::get_in(plugin, "capabilities").and_then(Value::as_object);
        for (name, on) in caps.into_iter().flatten() {
            if on.as_bool() == Some(true) {
                found.push((index, name.clone()));
            }
        }
    }
    found
}

/// Warnings for capability arguments that no plugin of the chain declares:
/// libcni passes them to no plugin. Each names the key, the capabilities the
/// chain does declare, and the closest of those when the key is a near miss.
pub fn undeclared_args(list: &NetworkList, args: &Map<String, Value>) -> Vec<String> {
    let declared = declared(list);
    args.keys()
        .filter(|key| !declared.contains(key))
        .map(|key| {
            let what = if declared.is_empty() {
                "it declares none".to_string()
            } else {
                format!("it declares {}", declared.join(", "))
            };
            let guess = closest(key, declared.iter().map(String::as_str))
                .map(|name| format!("; did you mean {name:?}?"))
                .unwrap_or_default();
            format!(
                "capability argument {key:?} is passed to no plugin: no plugin of network {:?} declares it \
                 ({what}){guess}",
                list.name
            )
        })
        .collect()
}

/// A capability a plugin config declares that no known plugin understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCapability {
    /// The index of the declaring plugin in the chain.
    pub plugin: usize,
    /// The capability as declared.
    pub name: String,
    /// The known capability it is a near miss of, if any.
    pub suggestion: Option<&'static str>,
}

impl std::fmt::Display for UnknownCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "capability {:?} is understood by no known plugin", self.name)?;
        match self.suggestion {
            Some(known) => write!(f, "; did you mean {known:?}?"),
            None => write!(f, " (a runtime passes it only if it knows it too)"),
        }
    }
}

/// The capabilities declared in the chain's configs that are not in
/// [`KNOWN`], each with the closest known name when it is a near miss.
pub fn unknown_declared(list: &NetworkList) -> Vec<UnknownCapability> {
    declarations(list)
        .into_iter()
        .filter(|(_, name)| !KNOWN.contains(&name.as_str()))
        .map(|(plugin, name)| {
            let suggestion = closest(&name, KNOWN.iter().copied());
            UnknownCapability { plugin, name, suggestion }
        })
        .collect()
}

/// The candidate nearest to `name` when it is a near miss: at most two
/// edits away (one for names of four characters or fewer, where two edits
/// make anything look alike), a swap of neighbours counting as one.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if name.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// The edit distance between `a` and `b`: insertions, deletions,
/// substitutions and swaps of neighbours, one each (a case change too).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> NetworkList {
        cni::conflist::parse_conflist(text.as_bytes(), std::path::Path::new("n.conflist")).unwrap()
    }

    #[test]
    fn distances_count_swaps_as_one_edit() {
        assert_eq!(distance("portMapping", "portMappings"), 1);
        assert_eq!(distance("bandwith", "bandwidth"), 1);
        assert_eq!(distance("dsn", "dns"), 1);
        assert_eq!(distance("mac", "mac"), 0);
        assert_eq!(distance("", "ips"), 3);
    }

    #[test]
    fn undeclared_arguments_name_the_key_and_what_the_chain_declares() {
        let net = list(
            r#"{"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge"},
                {"type": "portmap", "Capabilities": {"portMappings": true, "ips": false}}]}"#,
        );
        let args: Map<String, Value> =
            serde_json::from_str(r#"{"portMapping": [], "portMappings": [], "ips": []}"#).unwrap();
        let warnings = undeclared_args(&net, &args);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("\"ips\"") && warnings[0].contains("declares portMappings"));
        assert!(!warnings[0].contains("did you mean"), "{}", warnings[0]);
        assert!(
            warnings[1].contains("\"portMapping\"") && warnings[1].contains("did you mean \"portMappings\"")
        );
        let none = list(r#"{"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge"}]}"#);
        assert!(undeclared_args(&none, &args)[0].contains("declares none"));
    }

    #[test]
    fn unknown_declarations_get_the_closest_known_name() {
        let net = list(
            r#"{"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge", "capabilities": {"mac": true}},
                {"type": "portmap", "capabilities": {"portMapping": true, "custom": true, "bandwith": false}}]}"#,
        );
        let found = unknown_declared(&net);
        assert_eq!(
            found,
            [
                UnknownCapability { plugin: 1, name: "custom".into(), suggestion: None },
                UnknownCapability { plugin: 1, name: "portMapping".into(), suggestion: Some("portMappings") },
            ]
        );
        assert!(found[1].to_string().contains("did you mean \"portMappings\""));
    }
}
