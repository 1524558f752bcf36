//! Routes: add, delete and list, in the main table or another.

use std::net::IpAddr;

use futures::stream::TryStreamExt;
use ipnetwork::IpNetwork;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::RouteMessageBuilder;

use super::{is_gone, nl_error, Netlink};
use crate::kernel::error::KernelError;

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
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(self.dst.network(), self.dst.prefix())
            .unwrap_or_else(|_| RouteMessageBuilder::<IpAddr>::new())
            .output_interface(self.oif)
            .protocol(if delete { RouteProtocol::Unspec } else { RouteProtocol::Boot });
        match (self.scope, delete) {
            (Some(scope), _) => builder = builder.scope(RouteScope::from(scope)),
            (None, true) => builder = builder.scope(RouteScope::from(255u8)),
            (None, false) => {}
        }
        if self.priority > 0 {
            builder = builder.priority(self.priority);
        }
        if let Some(table) = self.table {
            builder = builder.table_id(table);
        }
        let mut message = builder.build();
        message.header.address_family =
            if self.dst.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
        if let Some(gw) = self.gw {
            message.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(src) = self.src {
            message.attributes.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        message
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
        let message = route.message(false);
        self.block(async { self.handle.route().add(message).execute().await })
            .map_err(|e| nl_error(&format!("add route {route}"), e))
    }

    /// Adds a route beside any with the same destination and metric, as
    /// the reference's `RouteAddEcmp` does (no NLM_F_EXCL): a second
    /// default route through another interface is appended (IPv4) or
    /// becomes a multipath sibling (IPv6). Only an identical route is
    /// refused, and that counts as done.
    pub fn append_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        use futures::StreamExt;
        use rtnetlink::packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST};
        use rtnetlink::packet_route::RouteNetlinkMessage;
        let mut request = NetlinkMessage::from(RouteNetlinkMessage::NewRoute(route.message(false)));
        request.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
        let mut handle = self.handle.clone();
        let outcome = self.block(async move {
            let mut replies = handle.request(request)?;
            while let Some(reply) = replies.next().await {
                if let rtnetlink::packet_core::NetlinkPayload::Error(err) = reply.payload {
                    return Err(rtnetlink::Error::NetlinkError(err));
                }
            }
            Ok(())
        });
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if super::is_exists(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("add route {route}"), e)),
        }
    }

    /// Adds a route, or replaces one with the same destination, table and metric.
    pub fn replace_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        let message = route.message(false);
        self.block(async { self.handle.route().add(message).replace().execute().await })
            .map_err(|e| nl_error(&format!("replace route {route}"), e))
    }

    /// Deletes a route; one already gone is no error.
    pub fn del_route(&self, route: &RouteSpec) -> Result<(), KernelError> {
        let message = route.message(true);
        match self.block(async { self.handle.route().del(message).execute().await }) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("delete route {route}"), e)),
        }
    }

    /// Every route of one family in every table.
    pub fn routes(&self, ipv6: bool) -> Result<Vec<RouteSpec>, KernelError> {
        let mut request = if ipv6 {
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().table_id(0).build()
        } else {
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().table_id(0).build()
        };
        // The socket asks for strict checking: zero fields filter nothing.
        request.header.protocol = RouteProtocol::Unspec;
        request.header.kind = rtnetlink::packet_route::route::RouteType::Unspec;
        request.header.scope = RouteScope::Universe;
        request.attributes.retain(|a| !matches!(a, RouteAttribute::Table(_)));
        self.block(async {
            let mut stream = self.handle.route().get(request).execute();
            let mut found = Vec::new();
            while let Some(msg) = stream.try_next().await.map_err(|e| nl_error("list routes", e))? {
                found.extend(RouteSpec::from_message(&msg));
            }
            Ok(found)
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
