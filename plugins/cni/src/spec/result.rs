//! Plugin results in every spec version, and conversion between them.
//!
//! A result is held in one canonical form (the 1.1.0 shape). It is read
//! from any version's JSON and written as any version's JSON, following
//! libcni's conversions: 0.3.x/0.4.0 carry a per-IP `version`, 0.1.0/0.2.0
//! keep the first address of each family with its routes, 1.x drop an
//! empty `dns`.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use crate::error::{CniError, ErrorCode};
use crate::version;

/// An interface a plugin created or touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// The interface name.
    pub name: String,
    /// Its hardware address, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// MTU (1.1.0 results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The netns path when the interface lives in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// A vhost-user or similar socket path (1.1.0 results).
    #[serde(default, rename = "socketPath", skip_serializing_if = "Option::is_none")]
    pub socket_path: Option<String>,
    /// A PCI address for device plugins (1.1.0 results).
    #[serde(default, rename = "pciID", skip_serializing_if = "Option::is_none")]
    pub pci_id: Option<String>,
}

/// An address assigned to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// Index into the result's interfaces.
    pub interface: Option<usize>,
    /// The address with its prefix length, host bits kept.
    pub address: IpNetwork,
    /// The gateway for this address, if any.
    pub gateway: Option<IpAddr>,
}

/// A route to set up in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination network.
    pub dst: IpNetwork,
    /// Next hop; absent means the default gateway of the address family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
    /// Route MTU.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mtu: u32,
    /// Advertised MSS.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub advmss: u32,
    /// Route priority (metric).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: u32,
    /// Routing table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<i64>,
    /// Route scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Route {
    /// A route with only a destination and an optional gateway.
    pub fn new(dst: IpNetwork, gw: Option<IpAddr>) -> Route {
        Route { dst, gw, mtu: 0, advmss: 0, priority: 0, table: None, scope: None }
    }
}

/// DNS settings, as in resolv.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name server addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    pub nameservers: Vec<String>,
    /// The local domain.
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_as_empty")]
    pub domain: String,
    /// Search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    pub search: Vec<String>,
    /// Resolver options.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    pub options: Vec<String>,
}

impl Dns {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_empty()
            && self.search.is_empty()
            && self.options.is_empty()
    }
}

/// Deserializes JSON `null` as the type's default, as Go does for slices and strings.
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A plugin result in canonical (1.1.0) form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniResult {
    /// Interfaces created or used.
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    pub ips: Vec<IpConfig>,
    /// Routes to install.
    pub routes: Vec<Route>,
    /// DNS settings.
    pub dns: Dns,
}

#[derive(Deserialize)]
struct WireIpConfig {
    #[serde(default)]
    interface: Option<usize>,
    address: IpNetwork,
    #[serde(default)]
    gateway: Option<IpAddr>,
}

#[derive(Deserialize)]
struct WireCurrent {
    #[serde(default, deserialize_with = "null_as_empty")]
    interfaces: Vec<Interface>,
    #[serde(default, deserialize_with = "null_as_empty")]
    ips: Vec<WireIpConfig>,
    #[serde(default, deserialize_with = "null_as_empty")]
    routes: Vec<Route>,
    #[serde(default, deserialize_with = "null_as_empty")]
    dns: Dns,
}

#[derive(Deserialize)]
struct WireLegacyIp {
    ip: IpNetwork,
    #[serde(default)]
    gateway: Option<IpAddr>,
    #[serde(default, deserialize_with = "null_as_empty")]
    routes: Vec<Route>,
}

#[derive(Deserialize)]
struct WireLegacy {
    #[serde(default)]
    ip4: Option<WireLegacyIp>,
    #[serde(default)]
    ip6: Option<WireLegacyIp>,
    #[serde(default, deserialize_with = "null_as_empty")]
    dns: Dns,
}

fn is_legacy(version: &str) -> bool {
    matches!(version, "0.1.0" | "0.2.0")
}

fn decode_error(what: &str, err: impl std::fmt::Display) -> CniError {
    CniError::new(ErrorCode::Decoding, format!("failed to decode {what}: {err}"))
}

impl CniResult {
    /// Reads a result of any supported version. The result's own
    /// `cniVersion` wins; `fallback` is used when it has none, as libcni
    /// does with the netconf's version.
    pub fn from_json(value: &serde_json::Value, fallback: &str) -> Result<CniResult, CniError> {
        let declared =
            crate::gojson::get(value, "cniVersion").and_then(|v| v.as_str()).filter(|v| !v.is_empty());
        let ver = declared.unwrap_or(fallback);
        if !version::is_supported(ver) {
            return Err(CniError::new(
                ErrorCode::IncompatibleVersion,
                format!("unsupported result version {ver:?}"),
            ));
        }
        if is_legacy(ver) {
            let wire: WireLegacy = crate::gojson::from_value(value).map_err(|e| decode_error("result", e))?;
            let mut result = CniResult { dns: wire.dns, ..Default::default() };
            for ip in [wire.ip4, wire.ip6].into_iter().flatten() {
                result.ips.push(IpConfig { interface: None, address: ip.ip, gateway: ip.gateway });
                result.routes.extend(ip.routes);
            }
            return Ok(result);
        }
        let wire: WireCurrent = crate::gojson::from_value(value).map_err(|e| decode_error("result", e))?;
        Ok(CniResult {
            interfaces: wire.interfaces,
            ips: wire
                .ips
                .into_iter()
                .map(|ip| IpConfig { interface: ip.interface, address: ip.address, gateway: ip.gateway })
                .collect(),
            routes: wire.routes,
            dns: wire.dns,
        })
    }

    /// Writes the result as the JSON of the given spec version.
    pub fn to_json(&self, ver: &str) -> Result<serde_json::Value, CniError> {
        if !version::is_supported(ver) {
            return Err(CniError::new(
                ErrorCode::IncompatibleVersion,
                format!("cannot convert result to unsupported version {ver:?}"),
            ));
        }
        if is_legacy(ver) {
            return self.to_legacy_json(ver);
        }
        let v1 = ver.starts_with("1.");
        let mut obj = serde_json::Map::new();
        obj.insert("cniVersion".into(), ver.into());
        if !self.interfaces.is_empty() {
            let interfaces = self.interfaces.iter().map(|i| {
                if v1 {
                    i.clone()
                } else {
                    Interface {
                        name: i.name.clone(),
                        mac: i.mac.clone(),
                        sandbox: i.sandbox.clone(),
                        ..Default::default()
                    }
                }
            });
            obj.insert("interfaces".into(), to_value(&interfaces.collect::<Vec<_>>())?);
        }
        if !self.ips.is_empty() {
            let ips = self.ips.iter().map(|ip| {
                let mut o = serde_json::Map::new();
                if !v1 {
                    let family = if ip.address.is_ipv4() { "4" } else { "6" };
                    o.insert("version".into(), family.into());
                }
                if let Some(index) = ip.interface {
                    o.insert("interface".into(), index.into());
                }
                o.insert("address".into(), ip.address.to_string().into());
                if let Some(gw) = ip.gateway {
                    o.insert("gateway".into(), gw.to_string().into());
                }
                serde_json::Value::Object(o)
            });
            obj.insert("ips".into(), serde_json::Value::Array(ips.collect()));
        }
        if !self.routes.is_empty() {
            obj.insert("routes".into(), to_value(&self.routes)?);
        }
        if !v1 || !self.dns.is_empty() {
            obj.insert("dns".into(), to_value(&self.dns)?);
        }
        Ok(serde_json::Value::Object(obj))
    }

    fn to_legacy_json(&self, ver: &str) -> Result<serde_json::Value, CniError> {
        let first = |v4: bool| self.ips.iter().find(|ip| ip.address.is_ipv4() == v4);
        let (ip4, ip6) = (first(true), first(false));
        if ip4.is_none() && ip6.is_none() {
            return Err(CniError::new(
                ErrorCode::IncompatibleVersion,
                format!("cannot convert result to version {ver}: it has no IP address"),
            ));
        }
        let legacy_ip = |ip: &IpConfig, v4: bool| {
            let mut o = serde_json::Map::new();
            o.insert("ip".into(), ip.address.to_string().into());
            if let Some(gw) = ip.gateway {
                o.insert("gateway".into(), gw.to_string().into());
            }
            let routes: Vec<serde_json::Value> = self
                .routes
                .iter()
                .filter(|r| r.dst.is_ipv4() == v4)
                .map(|r| {
                    let mut ro = serde_json::Map::new();
                    ro.insert("dst".into(), r.dst.to_string().into());
                    if let Some(gw) = r.gw {
                        ro.insert("gw".into(), gw.to_string().into());
                    }
                    serde_json::Value::Object(ro)
                })
                .collect();
            if !routes.is_empty() {
                o.insert("routes".into(), serde_json::Value::Array(routes));
            }
            serde_json::Value::Object(o)
        };
        let mut obj = serde_json::Map::new();
        obj.insert("cniVersion".into(), ver.into());
        if let Some(ip) = ip4 {
            obj.insert("ip4".into(), legacy_ip(ip, true));
        }
        if let Some(ip) = ip6 {
            obj.insert("ip6".into(), legacy_ip(ip, false));
        }
        obj.insert("dns".into(), to_value(&self.dns)?);
        Ok(serde_json::Value::Object(obj))
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, CniError> {
    serde_json::to_value(value).map_err(|e| CniError::internal(format!("failed to encode result: {e}")))
}

/// Pretty-prints JSON with four-space indents, as the reference plugins do.
pub fn to_pretty(value: &serde_json::Value) -> Vec<u8> {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing a Value into a Vec cannot fail.
    let _ = value.serialize(&mut ser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> CniResult {
        CniResult::from_json(
            &json!({
                "cniVersion": "1.0.0",
                "interfaces": [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:ff", "mtu": 1400, "sandbox": "/var/run/netns/x"}],
                "ips": [
                    {"interface": 0, "address": "10.1.2.3/24", "gateway": "10.1.2.1"},
                    {"interface": 0, "address": "10.9.9.9/16"},
                    {"interface": 0, "address": "fd00::5/64", "gateway": "fd00::1"}
                ],
                "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00::1", "mtu": 1300}],
            }),
            "1.0.0",
        )
        .unwrap()
    }

    #[test]
    fn go_cased_results_read_as_libcni_reads_them() {
        // A result (or cached result) whose keys Go would take: any case.
        let result = CniResult::from_json(
            &json!({"CNIVersion": "1.0.0", "IPs": [{"Address": "10.1.2.3/24", "Gateway": "10.1.2.1"}],
                    "Routes": [{"Dst": "0.0.0.0/0", "GW": "10.1.2.1"}],
                    "DNS": {"Nameservers": ["10.1.2.1"], "Domain": "cluster.local", "Search": ["svc"],
                            "Options": ["ndots:5"]}}),
            "0.1.0",
        )
        .unwrap();
        assert_eq!(result.ips[0].address.to_string(), "10.1.2.3/24");
        assert_eq!(result.routes[0].gw.map(|g| g.to_string()).as_deref(), Some("10.1.2.1"));
        assert_eq!(result.dns.nameservers, ["10.1.2.1"]);
        assert_eq!(
            (result.dns.domain.as_str(), result.dns.search.len(), result.dns.options.len()),
            ("cluster.local", 1, 1)
        );
    }

    #[test]
    fn one_zero_drops_empty_dns_and_ip_version() {
        let out = sample().to_json("1.0.0").unwrap();
        assert!(out.get("dns").is_none());
        assert!(out["ips"][0].get("version").is_none());
        assert_eq!(out["interfaces"][0]["mtu"], 1400);
        assert_eq!(out["ips"][0]["address"], "10.1.2.3/24");
    }

    #[test]
    fn zero_four_adds_ip_version_and_keeps_dns() {
        let out = sample().to_json("0.4.0").unwrap();
        assert_eq!(out["ips"][0]["version"], "4");
        assert_eq!(out["ips"][2]["version"], "6");
        assert_eq!(out["dns"], json!({}));
        assert!(out["interfaces"][0].get("mtu").is_none());
        assert_eq!(out["routes"][1]["mtu"], 1300);
    }

    #[test]
    fn zero_two_keeps_first_address_per_family_with_its_routes() {
        let out = sample().to_json("0.2.0").unwrap();
        assert_eq!(out["ip4"]["ip"], "10.1.2.3/24");
        assert_eq!(out["ip4"]["routes"], json!([{"dst": "0.0.0.0/0"}]));
        assert_eq!(out["ip6"]["ip"], "fd00::5/64");
        assert_eq!(out["ip6"]["routes"], json!([{"dst": "::/0", "gw": "fd00::1"}]));
        assert!(out.get("ips").is_none());
    }

    #[test]
    fn zero_two_needs_an_address() {
        let err = CniResult::default().to_json("0.2.0").unwrap_err();
        assert_eq!(err.code, 1);
    }

    #[test]
    fn legacy_round_trips_through_current() {
        let legacy = json!({"cniVersion": "0.2.0", "ip4": {"ip": "10.0.0.2/8", "gateway": "10.0.0.1", "routes": [{"dst": "0.0.0.0/0"}]}, "dns": {}});
        let parsed = CniResult::from_json(&legacy, "0.2.0").unwrap();
        assert_eq!(parsed.ips.len(), 1);
        assert_eq!(parsed.routes.len(), 1);
        assert_eq!(parsed.to_json("0.2.0").unwrap(), legacy);
    }

    #[test]
    fn missing_version_falls_back() {
        let parsed = CniResult::from_json(&json!({"ip4": {"ip": "10.0.0.2/8"}}), "0.1.0").unwrap();
        assert_eq!(parsed.ips[0].address.to_string(), "10.0.0.2/8");
        assert!(CniResult::from_json(&json!({"cniVersion": "9.9.9"}), "1.0.0").is_err());
    }
}
