//! The plan of an ADD: what each plugin of a chain would make, said before
//! anything is made (`cnictl add --dry-run`, `cnictl explain`).
//!
//! Each plugin of ours is read with its own crate's checked config where
//! cnictl links one (bridge, host-local, portmap, firewall, bandwidth), so
//! the plan decides backends, addresses and buckets as the ADD will; the
//! others' keys are read as Go reads them. Only reads happen here: links
//! and addresses looked up over netlink, host-local's store listed, the
//! netfilter tools looked for. Nothing is reserved, made or cached. A
//! plugin not ours is named, and the plan says it cannot tell what it does.
//!
//! One module per plugin family: `link` (the plugins that make the
//! container interface), `ipam`, `netfilter` (ipMasq, portmap, firewall),
//! `tc` (bandwidth), `tuning`.

mod ipam;
mod link;
mod netfilter;
mod render;
mod tc;
mod tuning;

use std::net::IpAddr;

use cni::env::{CmdArgs, Command};
use cni::gojson::GoKeys;
use ipnetwork::IpNetwork;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::runtime::config::NetworkList;
use crate::runtime::plugins::PluginPath;
use crate::runtime::RuntimeConf;

pub use render::table;

/// The plan of one ADD: the attachment and a section per plugin (an IPAM
/// plugin gets a section of its own after the plugin that delegates to it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The network.
    pub network: String,
    /// The file it came from.
    pub file: String,
    /// The chain's spec version.
    pub cni_version: String,
    /// The container ID the names are derived from.
    pub container_id: String,
    /// False when no container was named (explain): names derived from
    /// the ID (portmap's chain, bandwidth's ifb) are for a placeholder.
    pub container_id_given: bool,
    /// The netns path (add --dry-run), if any.
    pub netns: Option<String>,
    /// The container interface.
    pub ifname: String,
    /// Always false: a plan changes nothing.
    pub changed: bool,
    /// True when some section finds the ADD would fail.
    pub would_fail: bool,
    /// The sections, in chain order.
    pub plugins: Vec<Section>,
}

/// What one plugin would make.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// The plugin type.
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// True for a plugin type of ours, whose ADD the plan can tell.
    pub ours: bool,
    /// For an IPAM plugin: the type of the plugin it is the IPAM of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam_of: Option<String>,
    /// What it would make, key by key.
    pub plan: Map<String, Value>,
    /// Why its ADD would fail, in its own words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The table's rows: label and text, in order.
    #[serde(skip)]
    rows: Vec<(String, String)>,
}

impl Section {
    fn new(plugin_type: &str) -> Section {
        Section {
            plugin_type: plugin_type.to_string(),
            ours: cni::BUILTIN_PLUGIN_TYPES.contains(&plugin_type),
            ipam_of: None,
            plan: Map::new(),
            problems: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Sets `key` to `value`; the table shows it under `label` as [`text_of`] words it.
    fn put(&mut self, key: &str, label: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        let text = text_of(&value);
        self.put_text(key, label, value, text);
    }

    /// Sets `key` to `value`, shown in the table as `text`.
    fn put_text(&mut self, key: &str, label: &str, value: impl Serialize, text: String) {
        self.plan.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        self.rows.push((label.to_string(), text));
    }

    /// Records why the ADD would fail.
    fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }
}

/// A JSON value as words for the table: strings as they are, booleans as
/// yes/no, lists a line per item, objects as `key value` pairs.
fn text_of(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        Value::Object(map) => {
            map.iter().map(|(k, v)| format!("{k} {}", text_of(v))).collect::<Vec<_>>().join(", ")
        }
    }
}

/// What the plan of a chain starts from.
pub struct Input<'a> {
    /// The network.
    pub list: &'a NetworkList,
    /// The attachment's runtime inputs (container ID, netns, ifname, args).
    pub rt: &'a RuntimeConf,
    /// False when the container ID is a placeholder.
    pub container_id_given: bool,
    /// Where the runtime would look for the plugins.
    pub path: &'a PluginPath,
}

impl Input<'_> {
    /// The arguments a plugin's ADD would get, with `stdin` its netconf.
    fn cmd_args(&self, stdin: Vec<u8>) -> CmdArgs {
        CmdArgs {
            command: Command::Add,
            container_id: self.rt.container_id.clone(),
            netns: self.rt.netns.clone(),
            ifname: self.rt.ifname.clone(),
            args: self.cni_args(),
            path: String::new(),
            stdin,
            config_version: self.list.cni_version.clone(),
        }
    }

    /// `CNI_ARGS` as the plugins get it.
    fn cni_args(&self) -> String {
        self.rt.args.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")
    }

    /// A plugin's netconf as the runtime would send it (name, version,
    /// runtimeConfig from the declared capabilities), without prevResult.
    fn stdin(&self, plugin: &Map<String, Value>) -> Vec<u8> {
        crate::runtime::build_config(self.list, plugin, None, Some(self.rt))
    }
}

/// What the chain has made so far, as the plan follows it.
#[derive(Default)]
struct Chain {
    /// The container's addresses, with their gateways; `None` once a
    /// plugin not ours (or dhcp) decides them.
    addresses: Option<Vec<(IpNetwork, Option<IpAddr>)>>,
    /// A veth pair joins the container to the host (bandwidth needs one).
    host_veth: bool,
    /// The bridge the container is on (firewall's ingressPolicy).
    bridge: Option<String>,
}

impl Chain {
    /// The addresses known so far (none when unknown).
    fn known_addresses(&self) -> Vec<IpNetwork> {
        self.addresses.iter().flatten().map(|(a, _)| *a).collect()
    }
}

/// The plan of an ADD of `input`'s network.
pub fn plan(input: &Input) -> Plan {
    let mut chain = Chain { addresses: Some(Vec::new()), ..Chain::default() };
    let mut sections = Vec::new();
    for plugin in &input.list.plugins {
        let plugin_type = crate::runtime::plugin_type(plugin);
        let mut section = Section::new(&plugin_type);
        let mut ipam_section = None;
        match plugin_type.as_str() {
            "bridge" => link::bridge(input, plugin, &mut chain, &mut section, &mut ipam_section),
            "ptp" => link::ptp(input, plugin, &mut chain, &mut section, &mut ipam_section),
            "macvlan" | "ipvlan" | "vlan" | "host-device" | "tap" | "dummy" => {
                link::child(input, plugin, &mut section);
                ipam_section = ipam::plan(input, plugin, &plugin_type, &mut chain);
            }
            "loopback" => link::loopback(&mut section),
            "sbr" | "vrf" => link::routing(input, plugin, &mut section),
            "portmap" => netfilter::portmap(input, plugin, &chain, &mut section),
            "firewall" => netfilter::firewall(input, plugin, &chain, &mut section),
            "bandwidth" => tc::bandwidth(input, plugin, &chain, &mut section),
            "tuning" => tuning::tuning(input, plugin, &mut section),
            _ => foreign(plugin, &mut chain, &mut section),
        }
        sections.push(section);
        sections.extend(ipam_section);
    }
    for section in &mut sections {
        if let Err(e) = input.path.find(&section.plugin_type) {
            section.problem(format!("the plugin cannot be run: {}", e.msg));
        }
    }
    Plan {
        network: input.list.name.clone(),
        file: input.list.source.display().to_string(),
        cni_version: input.list.cni_version.clone(),
        container_id: input.rt.container_id.clone(),
        container_id_given: input.container_id_given,
        netns: Some(input.rt.netns.clone()).filter(|n| !n.is_empty()),
        ifname: input.rt.ifname.clone(),
        changed: false,
        would_fail: sections.iter().any(|s| !s.problems.is_empty()),
        plugins: sections,
    }
}

/// A plugin not ours: its type, and that nothing can be said of it. What
/// it hands on (addresses) is unknown from here on.
fn foreign(plugin: &Map<String, Value>, chain: &mut Chain, section: &mut Section) {
    let note = format!("not ours: cannot say what a {:?} plugin makes", section.plugin_type);
    section.ours = false;
    section.put("note", "plan", note);
    if plugin.go_get("ipam").is_some() {
        chain.addresses = None;
    }
}

/// A string key of a plugin's config, as Go reads it.
fn key_str<'a>(plugin: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    plugin.go_get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A link looked up on the host, read only; `None` when there is none or
/// netlink cannot be asked.
fn host_link(name: &str) -> Option<(cni::netlink::Link, Vec<IpNetwork>)> {
    let nl = cni::netlink::Netlink::open().ok()?;
    let link = nl.link_by_name(name).ok()??;
    let addresses = nl.addresses(link.index).unwrap_or_default();
    Some((link, addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words_in_the_table() {
        assert_eq!(text_of(&serde_json::json!(true)), "yes");
        assert_eq!(text_of(&serde_json::json!(["a", "b"])), "a\nb");
        assert_eq!(text_of(&serde_json::json!([])), "none");
        assert_eq!(text_of(&serde_json::json!({"rate": 5})), "rate 5");
    }

    #[test]
    fn a_foreign_plugin_is_named_and_not_guessed() {
        let mut section = Section::new("calico");
        let mut chain = Chain { addresses: Some(Vec::new()), ..Chain::default() };
        let plugin = serde_json::json!({"type": "calico", "ipam": {"type": "calico-ipam"}});
        foreign(plugin.as_object().unwrap_or(&Map::new()), &mut chain, &mut section);
        assert!(!section.ours);
        assert!(chain.addresses.is_none(), "the addresses are no longer known");
        assert_eq!(section.plan["note"], "not ours: cannot say what a \"calico\" plugin makes");
    }
}
