//! The plan of tuning: the sysctls and link settings it would change in
//! the netns (each saved first, so DEL restores it).

use cni::gojson::GoKeys;
use serde_json::{Map, Value};

use super::{key_str, Input, Section};

/// tuning: sysctls, MAC, MTU, promiscuous and all-multicast modes, txqueuelen.
pub(super) fn tuning(input: &Input, plugin: &Map<String, Value>, section: &mut Section) {
    let sysctls: Vec<String> = plugin
        .go_get("sysctl")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} = {}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    section.put("sysctl", "sysctls (in the netns)", sysctls);
    let runtime_mac = plugin.go_get("runtimeConfig").and_then(|r| r.go_get("mac")).and_then(Value::as_str);
    let stdin: Value = serde_json::from_slice(&input.stdin(plugin)).unwrap_or_default();
    let injected_mac = stdin.go_get("runtimeConfig").and_then(|r| r.go_get("mac")).and_then(Value::as_str);
    let ifname = &input.rt.ifname;
    if let Some(mac) = injected_mac.or(runtime_mac).or_else(|| key_str(plugin, "mac")) {
        section.put("mac", &format!("MAC of {ifname}"), mac);
    }
    for (key, label) in
        [("mtu", "MTU"), ("txQLen", "txqueuelen"), ("promisc", "promiscuous"), ("allmulti", "all-multicast")]
    {
        if let Some(value) = plugin.go_get(key).filter(|v| !v.is_null()) {
            section.put(key, &format!("{label} of {ifname}"), value.clone());
        }
    }
    section.put("restoredBy", "undone by", "DEL, from the settings saved before the change");
}
