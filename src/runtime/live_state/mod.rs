//! An attachment's live state: what the kernel holds for a cached
//! attachment now, read back and set beside what its cache entry says.
//! The container interface in its namespace, the host veth and its bridge
//! port, each port mapping against its DNAT rule, the bandwidth limits, the
//! firewall's rules. Read only: nothing here changes state. `inspect` and
//! `port` show it; a data-plane check can build on the same readers.
//!
//! The host's rules are read once ([`Rules`]) for every attachment looked at.

pub mod firewall;
pub mod links;
pub mod ports;
pub mod shaping;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use cni::gojson::GoKeys;
use cni::netfilter::Owner;
use serde::Serialize;
use serde_json::Value;

use super::cache::CachedAttachment;
pub use super::footprint::Rules;
use super::liveness;
use crate::netns::identity::{find_live, NetnsId};

/// Where an attachment's namespace is now.
#[derive(Debug, Clone, Serialize)]
pub struct NetnsState {
    /// The path the cache entry records.
    pub path: String,
    /// Whether the namespace lives (by its recorded identity when there is one).
    pub exists: bool,
    /// Where it lives when that is not the recorded path.
    #[serde(rename = "movedTo", skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// Why it may be live, as gc, doctor and `attachments` judge it
    /// ([`liveness::namespace_state`]); none when it is gone. An entry
    /// that records no namespace may be live with none found.
    #[serde(rename = "mayBeLive", skip_serializing_if = "Option::is_none")]
    pub may_be_live: Option<String>,
}

impl NetnsState {
    /// The path to read the namespace at, when it lives.
    pub fn live_path(&self) -> Option<&Path> {
        self.exists.then(|| Path::new(self.moved_to.as_deref().unwrap_or(&self.path)))
    }
}

/// Finds the namespace of `entry` among the `live` ones
/// ([`crate::netns::identity::live_namespaces`]) as
/// [`liveness::namespace_state`] does (by its recorded identity, else by
/// its path), and where it lives now when that is known.
pub fn netns_state(entry: &CachedAttachment, live: &[(NetnsId, PathBuf)]) -> NetnsState {
    let path = entry.netns_path();
    let may_be_live = liveness::namespace_state(entry, live);
    let now: Option<PathBuf> = match (&may_be_live, entry.netns_identity) {
        (None, _) => None,
        _ if path.is_empty() => None,
        (Some(_), Some(id)) => find_live(live, &id).cloned(),
        (Some(_), None) => Some(PathBuf::from(&path)),
    };
    let moved_to = now.as_ref().filter(|p| p.as_path() != Path::new(&path)).map(|p| p.display().to_string());
    NetnsState { exists: now.is_some(), moved_to, path, may_be_live }
}

/// What the kernel holds for one attachment.
#[derive(Debug, Clone, Serialize)]
pub struct LiveState {
    /// Its namespace.
    pub netns: NetnsState,
    /// The container interface, read in the namespace.
    #[serde(rename = "containerInterface")]
    pub container: links::ContainerSide,
    /// The host end of its veth.
    #[serde(rename = "hostVeth")]
    pub host_veth: Option<links::HostVeth>,
    /// The port mappings and their rules (empty when none were asked for).
    #[serde(rename = "portMappings")]
    pub ports: Vec<ports::MappingState>,
    /// The bandwidth limits, when the chain has the bandwidth plugin.
    pub bandwidth: Option<shaping::Shaping>,
    /// The firewall's rules, when the chain has the firewall plugin.
    pub firewall: Option<firewall::FirewallState>,
}

/// The plugins of a cached config (a conflist's `plugins`, or a single
/// netconf), as JSON values.
pub fn cached_plugins(entry: &CachedAttachment) -> Vec<Value> {
    let Ok(config) = serde_json::from_slice::<Value>(&entry.config) else { return Vec::new() };
    match config.go_get("plugins").and_then(Value::as_array) {
        Some(plugins) => plugins.clone(),
        None => vec![config],
    }
}

/// The first plugin of `kind` among `plugins`.
pub fn plugin_of<'a>(plugins: &'a [Value], kind: &str) -> Option<&'a Value> {
    plugins.iter().find(|p| p.go_get("type").and_then(Value::as_str) == Some(kind))
}

/// The addresses of the cached result (without their prefix lengths).
pub fn result_addresses(entry: &CachedAttachment) -> Vec<IpAddr> {
    crate::inspect::result_ips(entry.result.as_ref())
        .iter()
        .filter_map(|a| a.split('/').next().and_then(|ip| ip.parse().ok()))
        .collect()
}

/// Reads the live state of `entry`, with the host's `rules` read once by the caller.
pub fn read(entry: &CachedAttachment, live: &[(NetnsId, PathBuf)], rules: &Rules) -> LiveState {
    let netns = netns_state(entry, live);
    let container = links::container_side(netns.live_path(), &entry.ifname);
    let host_interfaces = crate::inspect::host_interfaces(entry.result.as_ref());
    let host_veth = links::host_veth(&container, &host_interfaces);
    let plugins = cached_plugins(entry);
    let addresses = result_addresses(entry);
    let mappings = ports::cached_mappings(entry.capability_args.as_ref());
    let ports = if mappings.is_empty() {
        Vec::new()
    } else {
        let backend =
            ports::backend(plugin_of(&plugins, "portmap"), &entry.network, &entry.container_id, rules);
        ports::check(&mappings, backend, &entry.network, &entry.container_id, &addresses, rules)
    };
    let bandwidth_plugin = plugin_of(&plugins, "bandwidth");
    let bandwidth = bandwidth_plugin.map(|plugin| {
        let configured = shaping::configured(entry.capability_args.as_ref(), Some(plugin));
        let ifb = bandwidth::ifb_name(&entry.network, &entry.container_id);
        shaping::read(host_veth.as_ref().map(|v| v.index), &ifb, configured)
    });
    let owner = Owner { network: &entry.network, ifname: &entry.ifname, container_id: &entry.container_id };
    let firewall =
        plugin_of(&plugins, "firewall").map(|plugin| firewall::read(plugin, &owner, &addresses, rules));
    LiveState { netns, container, host_veth, ports, bandwidth, firewall }
}
