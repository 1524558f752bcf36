//! Routes: add, delete and list, in the main table or another.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{is_exists, is_gone, nl_error, Netlink, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::kernel::error::KernelError;

/// RT_TABLE_MAIN: the table routes go to unless one is named, and the one
/// listings read as the host's routing.
pub const MAIN_TABLE: u32 = 254;

/// A route as plugins set and read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination network.
    pub dst: IpNetwork,
    /// Next hop, if any.
    pub gw: Option<IpAddr>,
    /// Output interface index.
    pub oif: u32,
    /// Scope (RT_SCOPE_*); `None` lets the kernel pick.
    pub scope: Option<u8>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// Metric.
    pub priority: u32,
    /// Routing table; `None` is the main table.
    pub table: Option<u32>,
}

impl RouteSpec {
    /// A route to `dst` through interface `oif`, everything else default.
    pub fn new(dst: IpNetwork, oif: u32) -> RouteSpec {
        RouteSpec { dst, gw: None, oif, scope: None, src: None, priority: 0, table: None }
    }

    /// The request; a delete leaves protocol and (unset) scope as wildcards.
    fn message(&self, delete: bool) -> RouteMessage {
        let mut message = RouteMessage::default();
        message.header.address_family =
            if self.dst.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = if delete { RouteProtocol::Unspec } else { RouteProtocol::Boot };
        message.header.kind = RouteType::Unicast;
        message.header.scope = match (self.scope, delete) {
            (Some(scope), _) => RouteScope::from(scope),
            // RT_SCOPE_NOWHERE: any scope.
            (None, true) => RouteScope::from(255u8),
            (None, false) => RouteScope::Universe,
        };
        message.header.destination_prefix_length = self.dst.prefix();
        message.attributes.push(RouteAttribute::Destination(RouteAddress::from(self.dst.network())));
        message.attributes.push(RouteAttribute::Oif(self.oif));
        if self.priority > 0 {
            message.attributes.push(RouteAttribute::Priority(self.priority));
        }
        match self.table {
            Some(table) if table > 255 => message.attributes.push(RouteAttribute::Table(table)),
            Some(table) => message.header.table = table as u8,
            None => {}
        }
        if let Some(gw) = self.gw {
            message.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(src) = self.src {
            message.attributes.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        message
    }

    /// The request adding this route (as [`Netlink::add_route`] sends it), for a batch.
    pub fn add_request(&self) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewRoute(self.message(false))
    }

    fn from_message(msg: &RouteMessage) -> Option<RouteSpec> {
        let mut dst_ip = None;
        let unspecified = IpNetwork::V4(ipnetwork::Ipv4Network::from(std::net::Ipv4Addr::UNSPECIFIED));
        let mut spec = RouteSpec::new(unspecified, 0);
        spec.scope = Some(u8::from(msg.header.scope));
        spec.table = Some(u32::from(msg.header.table));
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(addr) => dst_ip = address(addr),
                RouteAttribute::Gateway(addr) => spec.gw = address(addr),
                RouteAttribute::PrefSource(addr) => spec.src = address(addr),
                RouteAttribute::Oif(index) => spec.oif = *index,
                RouteAttribute::Priority(p) => spec.priority = *p,
                RouteAttribute::Table(t) => spec.table = Some(*t),
                _ => {}
            }
        }
        let dst_ip = match (dst_ip, msg.header.address_family) {
            (Some(ip), _) => ip,
            (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            (None, _) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        spec.dst = IpNetwork::new(dst_ip, msg.header.destination_prefix_length).ok()?;
        Some(spec)
    }
}

/// As `ip route` prints one: `default via 10.1.0.1 dev #4 metric 100`
/// (the interface by index: a route names it by index only).
impl std::fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.dst.prefix() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(gw) = self.gw {
            write!(f, " via {gw}")?;
        }
        if self.oif != 0 {
            write!(f, " dev #{}", self.oif)?;
        }
        if let Some(table) = self.table {
            write!(f, " table {table}")?;
        }
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        if self.priority != 0 {
            write!(f, " metric {}", self.priority)?;
        }
        Ok(())
    }
}

fn address(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

impl Netlink {
    /// Adds a route (failing if an identical one exists).
    pub fn add_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        self.request(route.add_request(), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|e| nl_error(&format!("add route {route}"), e))
    }

    /// Adds a route beside any with the same destination and metric, as
    /// the reference's `RouteAddEcmp` does (no NLM_F_EXCL): a second
    /// default route through another interface is appended (IPv4) or
    /// becomes a multipath sibling (IPv6). Only an identical route is
    /// refused, and that counts as done.
    pub fn append_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        match self.request(route.add_request(), NLM_F_CREATE) {
            Ok(()) => Ok(()),
            Err(e) if is_exists(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("add route {route}"), e)),
        }
    }

    /// Adds a route, or replaces one with the same destination, table and metric.
    pub fn replace_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        self.request(route.add_request(), NLM_F_CREATE | NLM_F_REPLACE)
            .map_err(|e| nl_error(&format!("replace route {route}"), e))
    }

    /// Deletes a route; one already gone is no error.
    pub fn del_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        match self.request(RouteNetlinkMessage::DelRoute(route.message(true)), 0) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("delete route {route}"), e)),
        }
    }

    /// Every route of one family in every table.
    pub fn routes(&self, ipv6: bool) -> Result<Vec<RouteSpec>, KernelError> {
        // The socket asks for strict checking: zero fields filter nothing.
        let mut request = RouteMessage::default();
        request.header.address_family = if ipv6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
        request.header.table = 0;
        request.header.protocol = RouteProtocol::Unspec;
        request.header.kind = RouteType::Unspec;
        request.header.scope = RouteScope::Universe;
        self.dump(RouteNetlinkMessage::GetRoute(request), "list routes", |a| match a {
            RouteNetlinkMessage::NewRoute(msg) => RouteSpec::from_message(&msg),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_print_as_ip_prints_them() {
        let mut route = RouteSpec::new("0.0.0.0/0".parse().unwrap(), 5);
        route.gw = Some("10.247.33.1".parse().unwrap());
        assert_eq!(route.to_string(), "default via 10.247.33.1 dev #5");
        let mut route = RouteSpec::new("fd00:1::/64".parse().unwrap(), 0);
        route.table = Some(100);
        route.priority = 10;
        assert_eq!(route.to_string(), "fd00:1::/64 table 100 metric 10");
    }
}
