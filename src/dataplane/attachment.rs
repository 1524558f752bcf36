//! What the data-plane check needs of one attachment, all from its cache
//! entry (what the ADD made, not what the config file says today): its
//! addresses, host veth and bridge, whether it masquerades (and on which
//! backend it was asked to), and its port mappings.

use std::net::IpAddr;
use std::path::Path;

use cni::gojson::GoKeys;
use cni::result::CniResult;
use ipnetwork::IpNetwork;
use serde_json::Value;

use crate::runtime::cache::CachedAttachment;

/// One port mapping of the cached capability args, as `inspect` and
/// `port` read them.
pub use crate::runtime::live_state::ports::Mapping as PortMapping;

/// An attachment as the check sees it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Network name.
    pub network: String,
    /// Container ID.
    pub container_id: String,
    /// Interface in the container.
    pub ifname: String,
    /// Its namespace path.
    pub netns: String,
    /// The main plugin's type (bridge, ptp, ...), if the chain has one.
    pub main_type: Option<String>,
    /// The bridge (bridge plugin).
    pub bridge: Option<String>,
    /// The host end of the container's veth.
    pub host_veth: Option<String>,
    /// The container's addresses, with their prefix lengths.
    pub addresses: Vec<IpNetwork>,
    /// The gateways of the result.
    pub gateways: Vec<IpAddr>,
    /// The families (IPv4: false, IPv6: true) the result gives a default
    /// route: without one the network means the container not to reach out.
    pub default_routes: Vec<bool>,
    /// ipMasq of the main plugin.
    pub ip_masq: bool,
    /// ipMasqBackend, when set.
    pub masq_backend: Option<String>,
    /// The portmap plugin's netconf, when it is in the chain.
    pub portmap: Option<Value>,
    /// The firewall plugin's netconf, when it is in the chain.
    pub firewall: Option<Value>,
    /// The cached portMappings.
    pub ports: Vec<PortMapping>,
}

impl Target {
    /// The attachment as `cnictl check` names it.
    pub fn name(&self) -> String {
        let id: String = self.container_id.chars().take(12).collect();
        format!("{}/{id}/{}", self.network, self.ifname)
    }

    /// The interface the container's packets arrive on at the host: the
    /// bridge, or (ptp) the host veth.
    pub fn ingress(&self) -> Option<&str> {
        self.bridge.as_deref().or(self.host_veth.as_deref())
    }
}

fn str_key<'a>(plugin: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    plugin.go_get(key).and_then(Value::as_str)
}

/// Reads a cache entry; an error says what the entry lacks.
pub fn from_cache(entry: &CachedAttachment, cache_file: &Path) -> Result<Target, String> {
    let list = cni::conflist::parse_conflist(&entry.config, cache_file)
        .or_else(|_| cni::conflist::parse_single(&entry.config, cache_file))
        .map_err(|e| format!("the cached config does not parse: {e}"))?;
    let raw = entry.result.as_ref().ok_or("the cache entry holds no result")?;
    let result =
        CniResult::from_json(raw, &list.cni_version).map_err(|e| format!("the cached result: {}", e.msg))?;
    let main = list
        .plugins
        .iter()
        .find(|p| matches!(str_key(p, "type"), Some("bridge" | "ptp")))
        .or_else(|| list.plugins.first());
    let main_type = main.and_then(|p| str_key(p, "type")).map(str::to_string);
    let bridge = match (main, main_type.as_deref()) {
        (Some(p), Some("bridge")) => {
            Some(str_key(p, "bridge").filter(|b| !b.is_empty()).unwrap_or("cni0").to_string())
        }
        _ => None,
    };
    let host_side = |i: &&cni::result::Interface| i.sandbox.as_deref().is_none_or(str::is_empty);
    let host_veth = result
        .interfaces
        .iter()
        .filter(host_side)
        .map(|i| i.name.clone())
        .find(|name| Some(name) != bridge.as_ref());
    let own = result.interfaces.iter().position(|i| !host_side(&i) && i.name == entry.ifname);
    let addresses = result
        .ips
        .iter()
        .filter(|ip| own.is_none() || ip.interface.is_none() || ip.interface == own)
        .map(|ip| ip.address)
        .collect();
    let gateways = result.ips.iter().filter_map(|ip| ip.gateway).collect();
    let default_routes =
        result.routes.iter().filter(|r| r.dst.prefix() == 0).map(|r| r.dst.is_ipv6()).collect();
    let portmap = list.plugins.iter().find(|p| str_key(p, "type") == Some("portmap"));
    Ok(Target {
        network: entry.network.clone(),
        container_id: entry.container_id.clone(),
        ifname: entry.ifname.clone(),
        netns: entry.netns_path(),
        main_type,
        bridge,
        host_veth,
        addresses,
        gateways,
        default_routes,
        ip_masq: main.and_then(|p| p.go_get("ipMasq")).and_then(Value::as_bool).unwrap_or(false),
        masq_backend: main.and_then(|p| str_key(p, "ipMasqBackend")).map(str::to_string),
        portmap: portmap.map(|p| Value::Object(p.clone())),
        firewall: list
            .plugins
            .iter()
            .find(|p| str_key(p, "type") == Some("firewall"))
            .map(|p| Value::Object(p.clone())),
        ports: crate::runtime::live_state::ports::cached_mappings(entry.capability_args.as_ref()),
    })
}
