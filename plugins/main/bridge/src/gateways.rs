//! The reference's `calcGateways`, as a pure function: fills in the
//! result's gateways, adds the default routes of `isDefaultGateway`, and
//! says which gateway networks the bridge must carry.

use std::net::IpAddr;

use cni::result::Route;
use cni::CniResult;
use ipnetwork::IpNetwork;

/// The gateway networks (gateway address with the subnet's prefix) the
/// bridge gets, per family.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Gateways {
    /// IPv4 gateways.
    pub v4: Vec<IpNetwork>,
    /// IPv6 gateways.
    pub v6: Vec<IpNetwork>,
}

/// The first address of the subnet: the gateway when IPAM names none.
fn first_host(address: &IpNetwork) -> IpAddr {
    match address.network() {
        IpAddr::V4(net) => IpAddr::V4((u32::from(net).wrapping_add(1)).into()),
        IpAddr::V6(net) => IpAddr::V6((u128::from(net).wrapping_add(1)).into()),
    }
}

impl Gateways {
    /// `is_gateway`: the bridge is the containers' gateway (isGateway or
    /// isDefaultGateway); `default_route`: isDefaultGateway. Every address
    /// is put on interface 2 (the container end).
    pub fn calc(result: &mut CniResult, is_gateway: bool, default_route: bool) -> Gateways {
        let mut gateways = Gateways::default();
        let mut default_found = [false, false];
        for i in 0..result.ips.len() {
            let ip = &mut result.ips[i];
            let family = usize::from(ip.address.is_ipv6());
            ip.interface = Some(2);
            if ip.gateway.is_none() && is_gateway {
                ip.gateway = Some(first_host(&ip.address));
            }
            let (address, gateway) = (ip.address, ip.gateway);
            if default_route && !default_found[family] {
                let default: IpNetwork =
                    if family == 0 { "0.0.0.0/0" } else { "::/0" }.parse().unwrap_or(address);
                let has_default = result.routes.iter().any(|r| r.gw.is_some() && r.dst == default);
                if !has_default {
                    result.routes.push(Route::new(default, gateway));
                }
                default_found[family] = true;
            }
            if let (true, Some(gw)) = (is_gateway, gateway) {
                if let Ok(net) = IpNetwork::new(gw, address.prefix()) {
                    if family == 0 { &mut gateways.v4 } else { &mut gateways.v6 }.push(net);
                }
            }
        }
        gateways
    }

    /// True when the bridge carries no gateway.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cni::result::IpConfig;

    fn result(ips: &[(&str, Option<&str>)], routes: &[(&str, Option<&str>)]) -> CniResult {
        let parse = |s: &str| s.parse().unwrap_or_else(|_| panic!("{s}"));
        CniResult {
            ips: ips
                .iter()
                .map(|(a, g)| IpConfig {
                    interface: None,
                    address: parse(a),
                    gateway: g.map(|g| parse(g).ip()),
                })
                .collect(),
            routes: routes.iter().map(|(d, g)| Route::new(parse(d), g.map(|g| parse(g).ip()))).collect(),
            ..CniResult::default()
        }
    }

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    // The golden values of the first two tests are what the Debian
    // reference (v1.1.1) answered for the same static IPAM input with
    // isDefaultGateway: its result's ips and routes, and the addresses it
    // put on the bridge (10.218.60.1/24, fd00:218:60::1/64; 10.218.60.254/24).
    #[test]
    fn missing_gateways_become_the_first_address_with_one_default_per_family() {
        let mut r = result(&[("10.218.60.7/24", None), ("fd00:218:60::7/64", None)], &[]);
        let gateways = Gateways::calc(&mut r, true, true);
        assert_eq!(gateways.v4, vec![net("10.218.60.1/24")]);
        assert_eq!(gateways.v6, vec![net("fd00:218:60::1/64")]);
        let gws: Vec<Option<IpAddr>> = r.ips.iter().map(|ip| ip.gateway).collect();
        assert_eq!(gws, vec![Some(net("10.218.60.1/32").ip()), Some(net("fd00:218:60::1/128").ip())]);
        assert!(r.ips.iter().all(|ip| ip.interface == Some(2)));
        let routes: Vec<(IpNetwork, Option<IpAddr>)> = r.routes.iter().map(|rt| (rt.dst, rt.gw)).collect();
        assert_eq!(
            routes,
            vec![
                (net("0.0.0.0/0"), Some(net("10.218.60.1/32").ip())),
                (net("::/0"), Some(net("fd00:218:60::1/128").ip()))
            ]
        );
    }

    #[test]
    fn ipams_gateway_is_kept_and_its_default_route_not_doubled() {
        let mut r = result(&[("10.218.60.7/24", Some("10.218.60.254/32"))], &[]);
        let gateways = Gateways::calc(&mut r, true, true);
        assert_eq!(gateways.v4, vec![net("10.218.60.254/24")]);
        assert_eq!(r.routes.len(), 1);
        assert_eq!(r.routes[0].gw, Some(net("10.218.60.254/32").ip()));
        let mut r =
            result(&[("10.1.2.7/24", Some("10.1.2.254/32"))], &[("0.0.0.0/0", Some("10.1.2.254/32"))]);
        Gateways::calc(&mut r, true, true);
        assert_eq!(r.routes.len(), 1, "IPAM's own default route stays the only one");
        let mut r = result(&[("10.1.2.7/24", None), ("10.1.3.7/24", None)], &[]);
        let gateways = Gateways::calc(&mut r, true, true);
        assert_eq!(gateways.v4, vec![net("10.1.2.1/24"), net("10.1.3.1/24")]);
        assert_eq!(r.routes.len(), 1, "one default for two IPv4 addresses, via the first");
    }

    #[test]
    fn not_a_gateway_fills_nothing_and_the_bridge_carries_nothing() {
        let mut r = result(&[("10.1.2.7/24", None)], &[]);
        let gateways = Gateways::calc(&mut r, false, false);
        assert!(gateways.is_empty());
        assert_eq!(r.ips[0].gateway, None);
        assert!(r.routes.is_empty());
        let mut r = result(&[("10.1.2.7/24", Some("10.1.2.9/32"))], &[]);
        assert!(
            Gateways::calc(&mut r, false, false).is_empty(),
            "IPAM's gateway is not the bridge's to carry"
        );
    }
}
