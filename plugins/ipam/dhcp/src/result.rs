//! The CNI result a lease gives, built as the reference builds it, so a
//! runtime sees the same addresses and routes from either implementation.

use std::net::{IpAddr, Ipv4Addr};

use cni::error::{CniError, ErrorCode};
use cni::result::{CniResult, IpConfig, Route};
use ipnetwork::{IpNetwork, Ipv4Network};

use crate::lease::Lease;
use crate::message::{self, mask_prefix};

/// `RT_SCOPE_LINK`: the scope of an on-link route (option 121 with router 0.0.0.0).
pub const SCOPE_LINK: i64 = 253;

fn network(dst: Ipv4Addr, prefix: u8) -> Result<IpNetwork, CniError> {
    Ipv4Network::new(dst, prefix)
        .map(IpNetwork::V4)
        .map_err(|e| CniError::internal(format!("bad route destination {dst}/{prefix}: {e}")))
}

fn route(r: &message::Route) -> Result<Route, CniError> {
    let mut out = Route::new(network(r.dst, r.prefix)?, None);
    if r.router.is_unspecified() {
        out.scope = Some(SCOPE_LINK);
    } else {
        out.gw = Some(IpAddr::V4(r.router));
    }
    Ok(out)
}

/// The result of a lease: `ips[0]` is the address with the subnet mask's
/// prefix (a lease without a mask is an error, as in the reference) and
/// the first router as gateway. Routes are option 121's when the server
/// sent it (RFC 3442: the routers and option 33 are then ignored; a
/// 0.0.0.0 router makes an on-link route, scope link, no gateway), else
/// option 33's followed by a default route via the first router. A
/// `priority` other than 0 becomes every route's metric.
pub fn lease_result(lease: &Lease, priority: u32) -> Result<CniResult, CniError> {
    let mask = lease.mask.ok_or_else(|| {
        CniError::new(
            ErrorCode::Internal,
            format!("the DHCPACK for {} has no subnet mask (option 1)", lease.address),
        )
    })?;
    let prefix = mask_prefix(mask).ok_or_else(|| {
        CniError::new(
            ErrorCode::Internal,
            format!("the DHCPACK for {} has an invalid subnet mask {mask}", lease.address),
        )
    })?;
    let address = Ipv4Network::new(lease.address, prefix)
        .map(IpNetwork::V4)
        .map_err(|e| CniError::internal(format!("bad leased address {}/{prefix}: {e}", lease.address)))?;
    let gateway = lease.routers.first().map(|r| IpAddr::V4(*r));

    let mut routes = Vec::new();
    match &lease.classless_routes {
        Some(classless) if !classless.is_empty() => {
            for r in classless {
                routes.push(route(r)?);
            }
        }
        _ => {
            for r in &lease.static_routes {
                routes.push(route(r)?);
            }
            if let Some(gw) = gateway {
                routes.push(Route::new(network(Ipv4Addr::UNSPECIFIED, 0)?, Some(gw)));
            }
        }
    }
    for r in &mut routes {
        r.priority = priority;
    }
    Ok(CniResult {
        interfaces: Vec::new(),
        ips: vec![IpConfig { interface: None, address, gateway }],
        routes,
        dns: lease_dns(lease),
    })
}

/// The result's `dns` from options 6, 15 and 119 (the reference returns
/// none: cni#86).
fn lease_dns(lease: &Lease) -> cni::result::Dns {
    cni::result::Dns {
        nameservers: lease.dns_servers.iter().map(ToString::to_string).collect(),
        domain: lease.domain_name.clone().unwrap_or_default(),
        search: lease.search_domains.clone(),
        options: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> Lease {
        Lease {
            address: Ipv4Addr::new(10, 228, 0, 23),
            routers: vec![Ipv4Addr::new(10, 228, 0, 1), Ipv4Addr::new(10, 228, 0, 2)],
            static_routes: vec![message::Route::new(
                Ipv4Addr::new(10, 0, 0, 0),
                8,
                Ipv4Addr::new(10, 228, 0, 3),
            )
            .unwrap()],
            ..Lease::for_tests(120, 0)
        }
    }

    fn json(result: &CniResult) -> serde_json::Value {
        result.to_json("1.1.0").unwrap()
    }

    #[test]
    fn static_routes_then_default_via_first_router() {
        let r = json(&lease_result(&lease(), 0).unwrap());
        assert_eq!(r["ips"], serde_json::json!([{"address": "10.228.0.23/24", "gateway": "10.228.0.1"}]));
        assert_eq!(
            r["routes"],
            serde_json::json!([
                {"dst": "10.0.0.0/8", "gw": "10.228.0.3"},
                {"dst": "0.0.0.0/0", "gw": "10.228.0.1"},
            ])
        );
    }

    #[test]
    fn classless_routes_replace_static_and_default() {
        let mut l = lease();
        l.classless_routes = Some(vec![
            message::Route::new(Ipv4Addr::new(10, 228, 128, 0), 17, Ipv4Addr::new(10, 228, 0, 1)).unwrap(),
            message::Route::new(Ipv4Addr::new(10, 228, 64, 0), 18, Ipv4Addr::UNSPECIFIED).unwrap(),
        ]);
        let r = json(&lease_result(&l, 0).unwrap());
        assert_eq!(r["ips"][0]["gateway"], "10.228.0.1", "the gateway is still the first router");
        assert_eq!(
            r["routes"],
            serde_json::json!([
                {"dst": "10.228.128.0/17", "gw": "10.228.0.1"},
                {"dst": "10.228.64.0/18", "scope": 253},
            ])
        );
        // An empty option 121 is no routes at all: fall back to 33 + 3.
        l.classless_routes = Some(vec![]);
        assert_eq!(json(&lease_result(&l, 0).unwrap())["routes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn dns_from_options_6_15_119() {
        let mut l = lease();
        assert!(json(&lease_result(&l, 0).unwrap()).get("dns").is_none_or(|d| d == &serde_json::json!({})));
        l.dns_servers = vec![Ipv4Addr::new(10, 228, 0, 1)];
        l.domain_name = Some("lan.test".into());
        l.search_domains = vec!["lan.test".into(), "test".into()];
        assert_eq!(
            json(&lease_result(&l, 0).unwrap())["dns"],
            serde_json::json!({"nameservers": ["10.228.0.1"], "domain": "lan.test", "search": ["lan.test", "test"]})
        );
    }

    #[test]
    fn no_router_no_default_route() {
        let mut l = lease();
        l.routers.clear();
        l.static_routes.clear();
        let r = json(&lease_result(&l, 0).unwrap());
        assert!(r["ips"][0].get("gateway").is_none());
        assert!(r.get("routes").is_none_or(|v| v.as_array().is_some_and(|a| a.is_empty())), "{r}");
    }

    #[test]
    fn priority_is_every_routes_metric() {
        let mut l = lease();
        let r = lease_result(&l, 50).unwrap();
        assert!(r.routes.len() == 2 && r.routes.iter().all(|r| r.priority == 50));
        l.classless_routes =
            Some(vec![message::Route::new(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(10, 228, 0, 1)).unwrap()]);
        let r = lease_result(&l, 7).unwrap();
        assert_eq!(r.routes.len(), 1);
        assert_eq!(r.routes[0].priority, 7);
        assert_eq!(json(&r)["routes"][0]["priority"], 7);
    }

    #[test]
    fn missing_or_broken_mask_is_an_error() {
        let mut l = lease();
        l.mask = None;
        let e = lease_result(&l, 0).unwrap_err();
        assert!(e.msg.contains("no subnet mask"), "{}", e.msg);
        l.mask = Some(Ipv4Addr::new(255, 0, 255, 0));
        assert!(lease_result(&l, 0).unwrap_err().msg.contains("invalid subnet mask"));
    }
}
