//! The two ends of an attachment's interface as the kernel has them now:
//! the container interface read inside its namespace (MAC, addresses,
//! routes, gateways) and the host end of its veth (index, state, master
//! bridge and the bridge port's STP state).

use std::path::Path;

use cni::netlink::{Link, LinkKind, Netlink};
use serde::Serialize;

/// A route of the container interface.
#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    /// Destination, `default` for 0.0.0.0/0 and ::/0.
    pub dst: String,
    /// Next hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Preferred source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Metric.
    pub metric: u32,
}

impl RouteView {
    /// As `ip route` words it: `default via 10.1.0.1`, `10.1.0.0/24 src 10.1.0.2`.
    pub fn text(&self) -> String {
        let mut text = self.dst.clone();
        if let Some(via) = &self.via {
            text.push_str(&format!(" via {via}"));
        }
        if let Some(src) = &self.src {
            text.push_str(&format!(" src {src}"));
        }
        if self.metric > 0 {
            text.push_str(&format!(" metric {}", self.metric));
        }
        text
    }
}

/// The container's interface, read in its namespace.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerInterface {
    /// Its name (the attachment's ifname).
    pub name: String,
    /// Its index in the container's namespace.
    pub index: u32,
    /// Hardware address.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Administratively up.
    pub up: bool,
    /// Every address on it, link-local ones included.
    pub addresses: Vec<String>,
    /// The main table's routes through it.
    pub routes: Vec<RouteView>,
    /// The next hops of its default routes.
    pub gateways: Vec<String>,
    /// The veth peer's index on the host, when it is a veth.
    #[serde(skip)]
    pub peer_index: Option<u32>,
}

/// What reading the container side found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ContainerSide {
    /// The interface, as read.
    Found(ContainerInterface),
    /// The namespace is there but has no interface of that name.
    NoInterface,
    /// The namespace could not be entered or read (the reason).
    Unreadable {
        /// Why.
        error: String,
    },
    /// No live namespace to read.
    NoNamespace,
}

/// RT_TABLE_MAIN: the table `ip route` shows.
const MAIN_TABLE: u32 = 254;

/// Reads interface `ifname` inside the namespace at `netns`.
pub fn container_side(netns: Option<&Path>, ifname: &str) -> ContainerSide {
    let Some(netns) = netns else { return ContainerSide::NoNamespace };
    let opened = cni::netns::Netns::open(&netns.display().to_string());
    let read = opened.and_then(|ns| {
        ns.with_netlink(|nl| {
            let Some(link) = nl.link_by_name(ifname)? else { return Ok(None) };
            let addresses = nl.addresses(link.index)?.iter().map(ToString::to_string).collect();
            let mut routes = Vec::new();
            for ipv6 in [false, true] {
                routes.extend(
                    nl.routes(ipv6)?
                        .into_iter()
                        .filter(|r| r.oif == link.index && r.table.is_none_or(|t| t == MAIN_TABLE)),
                );
            }
            Ok(Some((link, addresses, routes)))
        })
    });
    match read {
        Ok(Some((link, addresses, routes))) => {
            let routes: Vec<RouteView> = routes
                .into_iter()
                .map(|r| RouteView {
                    dst: if r.dst.prefix() == 0 { "default".into() } else { r.dst.to_string() },
                    via: r.gw.map(|g| g.to_string()),
                    src: r.src.map(|s| s.to_string()),
                    metric: r.priority,
                })
                .collect();
            let gateways =
                routes.iter().filter(|r| r.dst == "default").filter_map(|r| r.via.clone()).collect();
            ContainerSide::Found(ContainerInterface {
                name: link.name,
                index: link.index,
                mac: link.mac,
                mtu: link.mtu,
                up: link.up,
                addresses,
                routes,
                gateways,
                peer_index: link.peer_index.filter(|i| *i > 0),
            })
        }
        Ok(None) => ContainerSide::NoInterface,
        Err(e) => ContainerSide::Unreadable { error: e.to_string() },
    }
}

/// The host end of the container's veth.
#[derive(Debug, Clone, Serialize)]
pub struct HostVeth {
    /// Its name on the host.
    pub name: String,
    /// Its index on the host.
    pub index: u32,
    /// Hardware address.
    pub mac: Option<String>,
    /// Administratively up.
    pub up: bool,
    /// Operationally up (carrier).
    #[serde(rename = "operUp")]
    pub oper_up: bool,
    /// MTU.
    pub mtu: u32,
    /// The bridge it is a port of.
    pub master: Option<String>,
    /// The bridge port's STP state (`forwarding`, `disabled`, ...).
    #[serde(rename = "portState")]
    pub port_state: Option<String>,
    /// Whether it is the container interface's peer (false: found only by
    /// the name the cached result gives, the container side unread).
    #[serde(rename = "peerOfContainer")]
    pub peer_of_container: bool,
}

/// The host end: the container interface's veth peer when it was read,
/// else the veth among the result's host interfaces. `None` when neither
/// is on the host.
pub fn host_veth(container: &ContainerSide, host_interfaces: &[String]) -> Option<HostVeth> {
    let nl = Netlink::open().ok()?;
    let peer = match container {
        ContainerSide::Found(found) => found.peer_index.and_then(|i| nl.link_by_index(i).ok().flatten()),
        _ => None,
    };
    let (link, peer_of_container) = match peer {
        Some(link) => (link, true),
        None => {
            let named = host_interfaces.iter().filter_map(|name| nl.link_by_name(name).ok().flatten());
            (named.into_iter().find(|l| l.kind == LinkKind::Veth)?, false)
        }
    };
    let master = link.master.and_then(|m| nl.link_by_index(m).ok().flatten()).map(|m| m.name);
    Some(host_view(link, master, peer_of_container))
}

fn host_view(link: Link, master: Option<String>, peer_of_container: bool) -> HostVeth {
    let port_state = master.as_ref().and_then(|_| port_state(&link.name));
    HostVeth {
        port_state,
        master,
        name: link.name,
        index: link.index,
        mac: link.mac,
        up: link.up,
        oper_up: link.oper_up,
        mtu: link.mtu,
        peer_of_container,
    }
}

/// A bridge port's STP state as the bridge driver numbers it
/// (`/sys/class/net/<port>/brport/state`, BR_STATE_*).
fn port_state(port: &str) -> Option<String> {
    if port.contains('/') {
        return None;
    }
    let raw = std::fs::read_to_string(Path::new("/sys/class/net").join(port).join("brport/state")).ok()?;
    Some(stp_state(raw.trim()).to_string())
}

fn stp_state(raw: &str) -> &str {
    match raw {
        "0" => "disabled",
        "1" => "listening",
        "2" => "learning",
        "3" => "forwarding",
        "4" => "blocking",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_states_as_the_bridge_driver_numbers_them() {
        assert_eq!(stp_state("3"), "forwarding");
        assert_eq!(stp_state("0"), "disabled");
        assert_eq!(stp_state("9"), "9");
    }

    #[test]
    fn routes_are_worded_as_ip_route_words_them() {
        let route = RouteView { dst: "default".into(), via: Some("10.1.0.1".into()), src: None, metric: 0 };
        assert_eq!(route.text(), "default via 10.1.0.1");
    }
}
