//! tuning's sysctls that do not exist: tuning writes each key under
//! /proc/sys in the container's namespace, and ADD fails on a key that is
//! not there. Only keys tuning accepts (`cni::checked::SysctlKey`: net.*)
//! are checked, each in a new empty network namespace (what a container's
//! looks like; cnictl's own when it cannot make one), with the interface
//! component (`IFNAME` or a name, in `conf`/`neigh` keys) read as the
//! `default` entry every namespace has.

use std::path::Path;

use cni::checked::SysctlKey;
use cni::gojson::GoKeys;
use cni::jsonpos::Seg;
use cni::netns::Netns;
use serde_json::Value;

use super::{At, Lint, Severity};
use crate::runtime::capabilities::closest;
use crate::runtime::config::NetworkList;

/// The /proc/sys file that stands for `key` in any namespace: the
/// interface component of `net.ipv4.conf.IFNAME.x` and the like replaced
/// by `default`. `None` for a key tuning refuses (VALIDATE says why).
pub fn probe_file(key: &str) -> Option<String> {
    let file = SysctlKey::new("sysctl", key).ok()?.file("IFNAME").ok()?;
    let mut parts: Vec<String> = file.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    // proc sys net ipv4 conf IFNAME ...
    let per_interface = parts.len() > 6
        && matches!(parts[3].as_str(), "ipv4" | "ipv6")
        && matches!(parts[4].as_str(), "conf" | "neigh");
    if per_interface && parts[5] != "all" {
        parts[5] = "default".to_string();
    }
    Some(format!("/{}", parts.join("/")))
}

/// For each file, whether it exists, looked up in a new network namespace
/// (or this one when none can be made).
fn existing(files: &[String]) -> Vec<bool> {
    let look = || files.iter().map(|f| Path::new(f).exists()).collect::<Vec<bool>>();
    match Netns::temporary() {
        Ok(netns) => netns.run(|| Ok(look())).unwrap_or_else(|_| look()),
        Err(_) => look(),
    }
}

/// The entry of the file's directory nearest to its name, if one is close.
fn nearest_entry(file: &str) -> Option<String> {
    let path = Path::new(file);
    let name = path.file_name()?.to_str()?;
    let entries: Vec<String> = std::fs::read_dir(path.parent()?)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    closest(name, entries.iter().map(String::as_str)).map(str::to_string)
}

/// Every sysctl key of the chain's tuning plugins that does not exist.
pub fn missing_sysctls(list: &NetworkList) -> Vec<Lint> {
    let mut wanted = Vec::new();
    for (index, plugin) in list.plugins.iter().enumerate() {
        if plugin.go_get("type").and_then(Value::as_str) != Some("tuning") {
            continue;
        }
        let Some((written, Value::Object(sysctls))) =
            plugin.iter().rev().find(|(k, _)| cni::gojson::fold_eq("sysctl", k))
        else {
            continue;
        };
        for key in sysctls.keys() {
            if let Some(file) = probe_file(key) {
                wanted.push((index, written.clone(), key.clone(), file));
            }
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let files: Vec<String> = wanted.iter().map(|(_, _, _, file)| file.clone()).collect();
    let exists = existing(&files);
    wanted
        .into_iter()
        .zip(exists)
        .filter(|(_, exists)| !exists)
        .map(|((index, written, key, file), _)| {
            let hint = nearest_entry(&file).map(|e| format!("; did you mean {e}?")).unwrap_or_default();
            let message =
                format!("sysctl {key} does not exist in a container's namespace on this host ({file}){hint}");
            let path = vec![Seg::Key(written), Seg::Key(key)];
            Lint { severity: Severity::Error, at: At { plugin: Some(index), path }, message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_components_read_as_default() {
        assert_eq!(
            probe_file("net.ipv4.conf.IFNAME.rp_filter").as_deref(),
            Some("/proc/sys/net/ipv4/conf/default/rp_filter")
        );
        assert_eq!(
            probe_file("net.ipv6.conf.eth0.accept_ra").as_deref(),
            Some("/proc/sys/net/ipv6/conf/default/accept_ra")
        );
        assert_eq!(
            probe_file("net.ipv4.conf.all.forwarding").as_deref(),
            Some("/proc/sys/net/ipv4/conf/all/forwarding")
        );
        assert_eq!(probe_file("net.core.somaxconn").as_deref(), Some("/proc/sys/net/core/somaxconn"));
        assert_eq!(probe_file("kernel.hostname"), None);
    }
}
