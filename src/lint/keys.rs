//! Keys a plugin does not read: plugins ignore unknown keys (the spec says
//! they must), so a misspelt `isGatway` is silently no gateway. Each of
//! our plugin types is judged against its crate's `KEYS` plus the common
//! keys (`cni::known_keys`), its `ipam` object against its IPAM plugin's,
//! and a conflist's top level against `cni::conflist::LIST_KEYS` (there
//! only near misses: runtimes keep their own keys beside libcni's). Keys
//! match as Go's decoder matches them; a list's top level is read from a Go
//! map by libcni, so there only the exact spelling counts. Foreign plugin
//! types are not judged.

use cni::gojson::GoKeys;
use cni::jsonpos::Seg;
use cni::known_keys::{children, common, matching, Keys, IPAM_COMMON};
use serde_json::{Map, Value};

use super::{At, Lint};
use crate::runtime::capabilities::closest;
use crate::runtime::config::NetworkList;

/// The known keys of one of our plugin types, `None` for a foreign type.
pub fn plugin_keys(plugin_type: &str) -> Option<Keys> {
    Some(match plugin_type {
        "bridge" => bridge::KEYS,
        "ptp" => ptp::KEYS,
        "macvlan" => macvlan::KEYS,
        "ipvlan" => ipvlan::KEYS,
        "vlan" => vlan::KEYS,
        "host-device" => host_device::KEYS,
        "loopback" => loopback::KEYS,
        "dummy" => dummy::KEYS,
        "tap" => tap::KEYS,
        "host-local" => host_local::KEYS,
        "static" => r#static::KEYS,
        "dhcp" => dhcp::config::KEYS,
        "portmap" => portmap::KEYS,
        "bandwidth" => bandwidth::KEYS,
        "firewall" => firewall::KEYS,
        "tuning" => tuning::KEYS,
        "sbr" => sbr::KEYS,
        "vrf" => vrf::KEYS,
        _ => return None,
    })
}

/// The object being judged: its known keys, and how a finding names it.
struct Judge<'k> {
    known: Vec<&'k str>,
    owner: String,
    /// Match exactly only (a Go map), not as Go matches struct fields.
    exact: bool,
    /// Flag only keys close to a known one: a list's top level also holds
    /// what runtimes keep there (podman's `args` with its labels).
    near_misses_only: bool,
}

impl Judge<'_> {
    /// Judges the members of `object` (at `parent` among the known keys,
    /// at `path` in the file), descending into known keys that have listed
    /// children, through arrays at any depth.
    fn object(
        &self,
        object: &Map<String, Value>,
        parent: &str,
        path: &[Seg],
        at: Option<usize>,
        out: &mut Vec<Lint>,
    ) {
        let Some(listed) = children(self.known.iter().copied(), parent) else { return };
        for (key, value) in object {
            let mut here = path.to_vec();
            here.push(Seg::Key(key.clone()));
            let found =
                if self.exact { listed.iter().find(|k| **k == key).copied() } else { matching(&listed, key) };
            let Some(known) = found else {
                let near = closest(key, listed.iter().copied());
                if near.is_none() && self.near_misses_only {
                    continue;
                }
                let hint = near.map(|k| format!(" (did you mean {k}?)")).unwrap_or_default();
                let message = format!("unknown key {key} in {}{hint}", self.owner);
                out.push(Lint::warning(At { plugin: at, path: here }, message));
                continue;
            };
            // What a runtime fills in is not judged (KEYS lists there the
            // capabilities a plugin reads, for `super::capability_lints`).
            if parent.is_empty() && known == "runtimeConfig" {
                continue;
            }
            let child = if parent.is_empty() { known.to_string() } else { format!("{parent}.{known}") };
            self.value(value, &child, &here, at, out);
        }
    }

    fn value(&self, value: &Value, parent: &str, path: &[Seg], at: Option<usize>, out: &mut Vec<Lint>) {
        match value {
            Value::Object(object) => self.object(object, parent, path, at, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut here = path.to_vec();
                    here.push(Seg::Index(i));
                    self.value(item, parent, &here, at, out);
                }
            }
            _ => {}
        }
    }
}

/// An `ipam` object judged against its IPAM plugin's keys, when that
/// plugin is one of ours.
fn ipam_keys(plugin: &Map<String, Value>, index: usize, out: &mut Vec<Lint>) {
    let Some((written, Value::Object(ipam))) =
        plugin.iter().rev().find(|(k, _)| cni::gojson::fold_eq("ipam", k))
    else {
        return;
    };
    let ipam_type = ipam.go_get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(keys) = plugin_keys(ipam_type) else { return };
    // An IPAM plugin's `runtimeConfig.*` entries are the netconf's, not keys of `ipam`.
    let known: Vec<&str> =
        IPAM_COMMON.iter().chain(keys.iter()).copied().filter(|k| !k.starts_with("runtimeConfig")).collect();
    let judge =
        Judge { known, owner: format!("IPAM plugin {ipam_type}"), exact: false, near_misses_only: false };
    judge.object(ipam, "", &[Seg::Key(written.clone())], Some(index), out);
}

/// Every key of the list that the plugin reading it does not know.
pub fn unknown_keys(list: &NetworkList) -> Vec<Lint> {
    let mut out = Vec::new();
    if is_conflist(list) {
        if let Ok(top) = cni::conflist::parse_object(&list.bytes, &list.source) {
            let judge = Judge {
                known: cni::conflist::LIST_KEYS.to_vec(),
                owner: "the network list".to_string(),
                exact: true,
                near_misses_only: true,
            };
            judge.object(&top, "", &[], None, &mut out);
        }
    }
    let common = common();
    for (index, plugin) in list.plugins.iter().enumerate() {
        let plugin_type = plugin.go_get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some(keys) = plugin_keys(plugin_type) {
            let mut known: Vec<&str> = common.iter().map(String::as_str).collect();
            known.extend(keys.iter().copied());
            // A `.conf` file is a plugin and a list at once: libcni reads
            // the list's keys from it too.
            if !is_conflist(list) {
                known.extend(cni::conflist::LIST_KEYS.iter().filter(|k| **k != "plugins"));
            }
            let judge = Judge {
                known,
                owner: format!("plugin {plugin_type}"),
                exact: false,
                near_misses_only: false,
            };
            // `ipam` is judged on its own, against its plugin's keys.
            let without_ipam: Map<String, Value> = plugin
                .iter()
                .filter(|(k, _)| !cni::gojson::fold_eq("ipam", k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            judge.object(&without_ipam, "", &[], Some(index), &mut out);
        }
        ipam_keys(plugin, index, &mut out);
    }
    out
}

/// Whether the list came from a conflist (else a single-plugin `.conf`).
fn is_conflist(list: &NetworkList) -> bool {
    list.source.extension().and_then(|x| x.to_str()) == Some("conflist")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> NetworkList {
        cni::conflist::parse_conflist(text.as_bytes(), std::path::Path::new("n.conflist")).unwrap()
    }

    /// The fuzz seeds hold a netconf for every plugin type of ours, with
    /// every key its tests use, and the conflists of Kubernetes and podman:
    /// none of their keys may be flagged.
    #[test]
    fn the_seed_configs_of_every_plugin_type_lint_clean() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut checked = 0;
        for dir in ["plugin_config", "conflist", "netconf"] {
            for entry in std::fs::read_dir(corpus.join(dir)).unwrap().flatten() {
                let bytes = std::fs::read(entry.path()).unwrap();
                let Some(start) = bytes.iter().position(|b| *b == b'{') else { continue };
                let text = &bytes[start..];
                let path = entry.path();
                let list = if path.extension().is_some_and(|x| x == "conflist") {
                    cni::conflist::parse_conflist(text, &path)
                } else {
                    cni::conflist::parse_single(text, &path.with_extension("conf"))
                };
                // The fuzz seeds include broken files on purpose.
                let Ok(mut list) = list else { continue };
                list.bytes = text.to_vec();
                let found: Vec<String> = unknown_keys(&list).into_iter().map(|l| l.message).collect();
                assert!(found.is_empty(), "{}: {found:?}", entry.path().display());
                checked += 1;
            }
        }
        assert!(checked >= 25, "only {checked} seed configs read");
    }

    #[test]
    fn every_builtin_type_has_its_keys() {
        for plugin_type in cni::BUILTIN_PLUGIN_TYPES {
            assert!(plugin_keys(plugin_type).is_some(), "{plugin_type} has no KEYS in plugin_keys");
        }
        assert!(plugin_keys("calico").is_none());
    }

    #[test]
    fn misspelt_keys_get_the_nearest_known_one() {
        let net = list(
            r#"{"cniVersion": "1.0.0", "name": "n", "plugin": 1, "args": {"podman_labels": {}}, "plugins": [
                {"type": "bridge", "isGatway": true, "IsDefaultGateway": true, "mystery": 1,
                 "vlanTrunk": [{"mnID": 1, "maxID": 2}],
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.0.0/24", "gatway": "10.1.0.1"}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "tuning", "sysctl": {"net.whatever": "1"}},
                {"type": "someone-elses", "anything": 1}]}"#,
        );
        let found: Vec<String> = unknown_keys(&net).into_iter().map(|l| l.message).collect();
        assert_eq!(
            found,
            [
                "unknown key plugin in the network list (did you mean plugins?)",
                "unknown key isGatway in plugin bridge (did you mean isGateway?)",
                "unknown key mystery in plugin bridge",
                "unknown key mnID in plugin bridge (did you mean minID?)",
                "unknown key gatway in IPAM plugin host-local (did you mean gateway?)",
            ]
        );
    }
}
