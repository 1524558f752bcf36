//! Which subnets are taken on this host, and a free one for a new network,
//! as podman chooses it: the first /24 of its pools (10.89.0.0/24 upward
//! to 10.255.255.0/24) that overlaps no other network's subnet and none of
//! the host's addresses and routes; for IPv6 a random fdXX::/64 (RFC 4193)
//! that overlaps nothing either.
//!
//! Two subnets overlap when either holds the other's network address (the
//! test podman uses).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use color_eyre::eyre::{eyre, Result};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::config::{load_file, network_files};
use crate::inspect;

/// A subnet something on the host holds, and what holds it (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    /// The subnet, as a network (host bits zero).
    pub subnet: IpNetwork,
    /// What holds it: `network NAME (FILE)`, `the host's address ... on IF`, `the host's route ...`.
    pub by: String,
    /// The host interface the address or route is on.
    pub dev: Option<String>,
    /// A route the kernel made for an address also listed (it says the same again).
    pub connected: bool,
}

impl Used {
    /// A subnet held by something that is no host interface (another network).
    pub fn held_by(subnet: IpNetwork, by: impl Into<String>) -> Used {
        Used { subnet, by: by.into(), dev: None, connected: false }
    }
}

/// The size of the subnets taken from a pool.
pub const POOL_PREFIX: u8 = 24;

/// podman's default subnet pools (containers.conf `default_subnet_pools`):
/// together 10.89.0.0 to 10.255.255.255.
pub fn podman_pools() -> Vec<Ipv4Network> {
    [
        ([10, 89, 0, 0], 16),
        ([10, 90, 0, 0], 15),
        ([10, 92, 0, 0], 14),
        ([10, 96, 0, 0], 11),
        ([10, 128, 0, 0], 9),
    ]
    .into_iter()
    .filter_map(|(ip, prefix)| Ipv4Network::new(Ipv4Addr::from(ip), prefix).ok())
    .collect()
}

/// `net` with its host bits cleared.
pub fn network_of(net: IpNetwork) -> IpNetwork {
    IpNetwork::new(net.network(), net.prefix()).unwrap_or(net)
}

/// Whether two subnets overlap: either holds the other's network address.
pub fn overlaps(a: IpNetwork, b: IpNetwork) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a.contains(b.network()) || b.contains(a.network()))
}

/// The first of `used` that `subnet` overlaps.
pub fn overlapping(subnet: IpNetwork, used: &[Used]) -> Option<&Used> {
    used.iter().find(|u| overlaps(subnet, u.subnet))
}

/// The subnets of every network file in `dir` that loads (the chain's
/// host-local ranges and static addresses).
pub fn networks_used(dir: &Path) -> Result<Vec<Used>> {
    let files = network_files(dir)?;
    let mut used = Vec::new();
    for file in files {
        let Ok(list) = load_file(&file) else { continue };
        for subnet in inspect::subnets(&list) {
            if let Ok(net) = subnet.parse::<IpNetwork>() {
                let by = format!("network {} ({})", list.name, file.display());
                used.push(Used::held_by(network_of(net), by));
            }
        }
    }
    Ok(used)
}

/// The host's addresses (as their subnets) and the routes of its main
/// table, but default routes, read in the network namespace cnictl runs in
/// (`network create` avoids them, `validate`'s lint names them).
pub fn host_used() -> Result<Vec<Used>> {
    let nl = cni::netlink::Netlink::open().map_err(|e| eyre!("cannot read the host's addresses: {e}"))?;
    let links = nl.links().map_err(|e| eyre!("cannot list the host's links: {e}"))?;
    let mut used = Vec::new();
    let mut addresses = Vec::new();
    for link in &links {
        for address in nl.addresses(link.index).unwrap_or_default() {
            let by = format!("the host's address {address} on {}", link.name);
            used.push(Used {
                subnet: network_of(address),
                by,
                dev: Some(link.name.clone()),
                connected: false,
            });
            addresses.push((link.index, address));
        }
    }
    let name_of = |index: u32| links.iter().find(|l| l.index == index).map(|l| l.name.clone());
    for ipv6 in [false, true] {
        let routes = nl.routes(ipv6).map_err(|e| eyre!("cannot list the host's routes: {e}"))?;
        for route in
            routes.into_iter().filter(|r| r.table == Some(cni::netlink::MAIN_TABLE) && r.dst.prefix() > 0)
        {
            let dev = name_of(route.oif);
            let via = route.gw.map(|gw| format!(" via {gw}")).unwrap_or_default();
            let on = dev.as_ref().map(|n| format!(" dev {n}")).unwrap_or_default();
            let by = format!("the host's route {}{via}{on}", route.dst);
            let connected = route.gw.is_none()
                && addresses.iter().any(|(index, a)| *index == route.oif && overlaps(*a, route.dst));
            used.push(Used { subnet: network_of(route.dst), by, dev, connected });
        }
    }
    Ok(used)
}

/// The first /24 of `pools` (a pool smaller than a /24 is one candidate)
/// that overlaps nothing in `used`.
pub fn free_ipv4(pools: &[Ipv4Network], used: &[Used]) -> Option<Ipv4Network> {
    for pool in pools {
        let prefix = pool.prefix().max(POOL_PREFIX);
        let step = 1u64 << (32 - u32::from(prefix));
        let first = u64::from(u32::from(pool.network()));
        let end = first + (1u64 << (32 - u32::from(pool.prefix())));
        let mut at = first;
        while at < end {
            let candidate = Ipv4Network::new(Ipv4Addr::from(at as u32), prefix).ok()?;
            if overlapping(IpNetwork::V4(candidate), used).is_none() {
                return Some(candidate);
            }
            at += step;
        }
    }
    None
}

/// A random unique local /64 (fd00::/8 and 56 random bits, as podman
/// makes one) that overlaps nothing in `used`.
pub fn free_ipv6(used: &[Used]) -> Result<Ipv6Network> {
    for _ in 0..100 {
        let mut bytes = [0u8; 16];
        random_bytes(&mut bytes[..8])?;
        bytes[0] = 0xfd;
        let candidate = Ipv6Network::new(Ipv6Addr::from(bytes), 64).map_err(|e| eyre!("{e}"))?;
        if overlapping(IpNetwork::V6(candidate), used).is_none() {
            return Ok(candidate);
        }
    }
    Err(eyre!("no free IPv6 subnet found in 100 random tries"))
}

fn random_bytes(buf: &mut [u8]) -> Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| eyre!("cannot read /dev/urandom: {e}"))
}

/// The default gateway of a subnet: its first address.
pub fn first_host(subnet: IpNetwork) -> Option<IpAddr> {
    match subnet {
        IpNetwork::V4(net) => net.iter().nth(1).map(IpAddr::V4),
        IpNetwork::V6(net) => net.iter().nth(1).map(IpAddr::V6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(subnets: &[&str]) -> Vec<Used> {
        subnets.iter().map(|s| Used::held_by(s.parse().unwrap(), s.to_string())).collect()
    }

    #[test]
    fn the_first_free_slash_24_of_podmans_pools() {
        let pools = podman_pools();
        assert_eq!(free_ipv4(&pools, &[]).unwrap().to_string(), "10.89.0.0/24");
        let taken = used(&["10.89.0.0/24", "10.89.1.128/25", "10.89.2.7/32", "192.168.0.0/16"]);
        assert_eq!(free_ipv4(&pools, &taken).unwrap().to_string(), "10.89.3.0/24");
        // A wider route takes every /24 inside it; the next pool follows.
        assert_eq!(free_ipv4(&pools, &used(&["10.89.0.0/16"])).unwrap().to_string(), "10.90.0.0/24");
        assert!(free_ipv4(&pools, &used(&["10.0.0.0/8"])).is_none());
    }

    #[test]
    fn a_pool_of_its_own_and_overlap_both_ways() {
        let pool: Vec<Ipv4Network> = vec!["10.173.40.0/22".parse().unwrap()];
        let taken = used(&["10.173.40.1/24", "10.173.41.0/24"]);
        assert_eq!(free_ipv4(&pool, &[]).unwrap().to_string(), "10.173.40.0/24");
        let taken: Vec<Used> =
            taken.into_iter().map(|u| Used { subnet: network_of(u.subnet), ..u }).collect();
        assert_eq!(free_ipv4(&pool, &taken).unwrap().to_string(), "10.173.42.0/24");
        assert!(overlaps("10.0.0.0/8".parse().unwrap(), "10.9.0.0/24".parse().unwrap()));
        assert!(overlaps("10.9.0.0/24".parse().unwrap(), "10.0.0.0/8".parse().unwrap()));
        assert!(!overlaps("10.9.0.0/24".parse().unwrap(), "10.9.1.0/24".parse().unwrap()));
        assert!(!overlaps("10.9.0.0/24".parse().unwrap(), "fd00::/8".parse().unwrap()));
    }

    #[test]
    fn ipv6_subnets_are_unique_local_slash_64s_and_gateways_the_first_host() {
        let net = free_ipv6(&[]).unwrap();
        assert_eq!(net.prefix(), 64);
        assert_eq!(net.network().octets()[0], 0xfd);
        assert_eq!(first_host("10.89.3.0/24".parse().unwrap()).unwrap().to_string(), "10.89.3.1");
        assert_eq!(first_host("fd00:1::/64".parse().unwrap()).unwrap().to_string(), "fd00:1::1");
    }
}
