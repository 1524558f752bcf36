//! What a network config says, summarized for the views: its plugin chain,
//! its subnets and the capabilities its plugins declare.

use std::collections::BTreeSet;

use cni::gojson::GoKeys;
use serde_json::{Map, Value};

use crate::runtime::config::NetworkList;

/// The type of each plugin in chain order.
pub fn plugin_types(list: &NetworkList) -> Vec<String> {
    list.plugins.iter().map(|p| p.go_get("type").and_then(Value::as_str).unwrap_or("?").to_string()).collect()
}

fn ipam_subnets(ipam: &Map<String, Value>, found: &mut Vec<String>) {
    if let Some(subnet) = ipam.go_get("subnet").and_then(Value::as_str) {
        found.push(subnet.to_string());
    }
    for set in ipam.go_get("ranges").and_then(Value::as_array).into_iter().flatten() {
        for range in set.as_array().into_iter().flatten() {
            if let Some(subnet) = range.go_get("subnet").and_then(Value::as_str) {
                found.push(subnet.to_string());
            }
        }
    }
    for address in ipam.go_get("addresses").and_then(Value::as_array).into_iter().flatten() {
        if let Some(addr) = address.go_get("address").and_then(Value::as_str) {
            found.push(addr.to_string());
        }
    }
}

/// The bridges the chain's `bridge` plugins name (bridge's default, cni0,
/// for one that names none), each once.
pub fn bridges(list: &NetworkList) -> Vec<String> {
    let mut found = Vec::new();
    for plugin in list.plugins.iter().filter(|p| p.go_get("type").and_then(Value::as_str) == Some("bridge")) {
        let name = plugin.go_get("bridge").and_then(Value::as_str).filter(|b| !b.is_empty());
        let name = name.unwrap_or(bridge::config::DEFAULT_BRIDGE).to_string();
        if !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// The subnets (host-local) and addresses (static) the chain's IPAM hands out.
pub fn subnets(list: &NetworkList) -> Vec<String> {
    let mut found = Vec::new();
    for plugin in &list.plugins {
        if let Some(ipam) = plugin.go_get("ipam").and_then(Value::as_object) {
            ipam_subnets(ipam, &mut found);
        }
    }
    found
}

/// The capabilities the chain's plugins declare (`capabilities: {"x": true}`).
pub fn capabilities(list: &NetworkList) -> Vec<String> {
    let mut found = BTreeSet::new();
    for plugin in &list.plugins {
        for (name, on) in plugin.go_get("capabilities").and_then(Value::as_object).into_iter().flatten() {
            if on.as_bool() == Some(true) {
                found.insert(name.clone());
            }
        }
    }
    found.into_iter().collect()
}

/// The addresses in a cached result (0.3.0 and later `ips`, or 0.1/0.2 `ip4`/`ip6`).
pub fn result_ips(result: Option<&Value>) -> Vec<String> {
    let Some(result) = result else { return Vec::new() };
    let ips = result.go_get("ips").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut found: Vec<String> = ips
        .iter()
        .filter_map(|ip| ip.go_get("address").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    for legacy in ["ip4", "ip6"] {
        if let Some(ip) = result.go_get(legacy).and_then(|v| v.go_get("ip")).and_then(Value::as_str) {
            found.push(ip.to_string());
        }
    }
    found
}

/// The host-side interfaces a cached result names (those without a
/// sandbox: a bridge's veth end, the bridge itself).
pub fn host_interfaces(result: Option<&Value>) -> Vec<String> {
    let interfaces = result.and_then(|r| r.get("interfaces")).and_then(Value::as_array);
    interfaces
        .into_iter()
        .flatten()
        .filter(|i| i.get("sandbox").and_then(Value::as_str).is_none_or(str::is_empty))
        .filter_map(|i| i.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_read_plugin_keys_as_go_does() {
        let text = br#"{"cniVersion": "1.0.0", "name": "n", "plugins": [
            {"Type": "bridge", "IPAM": {"type": "host-local", "Ranges": [[{"Subnet": "10.9.0.0/24"}]]}},
            {"type": "portmap", "Capabilities": {"portMappings": true}}]}"#;
        let list = cni::conflist::parse_conflist(text, std::path::Path::new("n.conflist")).unwrap();
        assert_eq!(plugin_types(&list), ["bridge", "portmap"]);
        assert_eq!(subnets(&list), ["10.9.0.0/24"]);
        assert_eq!(capabilities(&list), ["portMappings"]);
    }
}
