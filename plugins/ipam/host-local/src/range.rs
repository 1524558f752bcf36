//! Address ranges and range sets, with the reference's defaults.
//!
//! A range is a subnet with an optional start, end and gateway. The
//! gateway defaults to the first address, the start to the first address,
//! the end to the last (for IPv4 the one before broadcast). A range set is
//! one or more ranges of one family that do not overlap; an ADD takes one
//! address from each range set.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cni::CniError;
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// A range as written in the config.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RangeConf {
    /// The subnet to allocate from.
    pub subnet: IpNetwork,
    /// First address to hand out (inclusive).
    #[serde(rename = "rangeStart", default)]
    pub range_start: Option<IpAddr>,
    /// Last address to hand out (inclusive).
    #[serde(rename = "rangeEnd", default)]
    pub range_end: Option<IpAddr>,
    /// The gateway reported with addresses of this range.
    #[serde(default)]
    pub gateway: Option<IpAddr>,
}

/// A validated range with every bound filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The subnet (network address and prefix).
    pub subnet: IpNetwork,
    /// First address handed out.
    pub start: IpAddr,
    /// Last address handed out.
    pub end: IpAddr,
    /// The gateway, never handed out.
    pub gateway: IpAddr,
}

/// Addresses as integers, so both families share one arithmetic.
pub fn to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address `n` in the family of `like`.
pub fn from_int(n: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// Unwraps IPv4-mapped IPv6 addresses, as Go's `To4` does.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Range {
    /// Validates a configured range and fills in its defaults.
    pub fn from_conf(conf: &RangeConf) -> Result<Range, CniError> {
        let subnet = conf.subnet;
        let bits: u8 = if subnet.is_ipv4() { 32 } else { 128 };
        if subnet.prefix() > bits - 2 {
            return Err(CniError::config(format!("Network {subnet} too small to allocate from")));
        }
        if subnet.ip() != subnet.network() {
            return Err(CniError::config(format!(
                "Network has host bits set. For a subnet mask of length {} the network address is {}",
                subnet.prefix(),
                subnet.network()
            )));
        }
        let network = to_int(subnet.network());
        let first = from_int(network + 1, subnet.ip());
        let last = match subnet {
            IpNetwork::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n.broadcast()) - 1)),
            IpNetwork::V6(n) => IpAddr::V6(n.broadcast()),
        };
        let mut range = Range { subnet, start: first, end: last, gateway: first };
        let check = |ip: IpAddr, what: &str| -> Result<IpAddr, CniError> {
            let ip = canonical(ip);
            if ip.is_ipv4() != subnet.is_ipv4() || !subnet.contains(ip) {
                return Err(CniError::config(format!("{what} {ip} not in network {subnet}")));
            }
            Ok(ip)
        };
        if let Some(gw) = conf.gateway {
            let gw = canonical(gw);
            if gw.is_ipv4() != subnet.is_ipv4() {
                return Err(CniError::config(format!("gateway {gw} is not of the family of {subnet}")));
            }
            range.gateway = gw;
        }
        if let Some(start) = conf.range_start {
            range.start = check(start, "RangeStart")?;
        }
        if let Some(end) = conf.range_end {
            range.end = check(end, "RangeEnd")?;
        }
        if to_int(range.start) > to_int(range.end) {
            return Err(CniError::config(format!(
                "RangeStart {} is after RangeEnd {}",
                range.start, range.end
            )));
        }
        Ok(range)
    }

    /// True when `ip` is in this range (between start and end).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.subnet.is_ipv4()
            && self.subnet.contains(ip)
            && to_int(ip) >= to_int(self.start)
            && to_int(ip) <= to_int(self.end)
    }

    fn overlaps(&self, other: &Range) -> bool {
        self.subnet.is_ipv4() == other.subnet.is_ipv4()
            && (self.contains(other.start)
                || self.contains(other.end)
                || other.contains(self.start)
                || other.contains(self.end))
    }

    /// The address with the subnet's prefix length, as results show it.
    pub fn with_prefix(&self, ip: IpAddr) -> IpNetwork {
        // The prefix came from a valid network of the same family.
        IpNetwork::new(ip, self.subnet.prefix()).unwrap_or(self.subnet)
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// One or more ranges of one family; one address is taken per set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet(pub Vec<Range>);

impl RangeSet {
    /// Validates a configured range set.
    pub fn from_conf(confs: &[RangeConf]) -> Result<RangeSet, CniError> {
        if confs.is_empty() {
            return Err(CniError::config("empty range set"));
        }
        let ranges = confs.iter().map(Range::from_conf).collect::<Result<Vec<_>, _>>()?;
        if ranges.iter().any(|r| r.subnet.is_ipv4() != ranges[0].subnet.is_ipv4()) {
            return Err(CniError::config("mixed address families"));
        }
        for (i, a) in ranges.iter().enumerate() {
            for b in &ranges[i + 1..] {
                if a.overlaps(b) {
                    return Err(CniError::config(format!("subnets {a} and {b} overlap")));
                }
            }
        }
        Ok(RangeSet(ranges))
    }

    /// The range holding `ip`, if any.
    pub fn range_for(&self, ip: IpAddr) -> Option<&Range> {
        self.0.iter().find(|r| r.contains(ip))
    }

    /// True when any range of this set overlaps any of `other`.
    pub fn overlaps(&self, other: &RangeSet) -> bool {
        self.0.iter().any(|a| other.0.iter().any(|b| a.overlaps(b)))
    }

    /// How many addresses the set can hand out: every address from start
    /// to end of each range, less a gateway inside it.
    pub fn capacity(&self) -> u128 {
        self.0
            .iter()
            .map(|r| {
                let span = (to_int(r.end) - to_int(r.start)).saturating_add(1);
                span - u128::from(r.contains(r.gateway))
            })
            .fold(0u128, u128::saturating_add)
    }

    /// True for an IPv4 set.
    pub fn is_ipv4(&self) -> bool {
        self.0[0].subnet.is_ipv4()
    }

    /// Candidate addresses in the reference's order: starting after
    /// `last` (if it is in the set) else at the first range's start,
    /// walking the ranges in turn and wrapping once; gateways are skipped.
    pub fn candidates(&self, last: Option<IpAddr>) -> impl Iterator<Item = (IpAddr, &Range)> + '_ {
        let (start_range, start_at) =
            match last.and_then(|ip| self.0.iter().position(|r| r.contains(ip)).zip(Some(ip))) {
                Some((index, ip)) => (index, Some(to_int(ip))),
                None => (0, None),
            };
        let count = self.0.len();
        // Walk every range once from start_range, then the start range's
        // head up to and including the last reserved address.
        (0..=count).flat_map(move |step| {
            let range = &self.0[(start_range + step) % count];
            let (lo, hi) = (to_int(range.start), to_int(range.end));
            let bounds = match (step, start_at) {
                (0, Some(at)) => at.checked_add(1).map(|from| (from, hi)),
                (s, Some(at)) if s == count => Some((lo, at)),
                (s, None) if s == count => None,
                _ => Some((lo, hi)),
            };
            let gateway = to_int(range.gateway);
            bounds
                .into_iter()
                .flat_map(|(from, to)| from..=to)
                .filter(move |n| *n != gateway)
                .map(move |n| (from_int(n, range.start), range))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(subnet: &str) -> RangeConf {
        RangeConf { subnet: subnet.parse().unwrap(), range_start: None, range_end: None, gateway: None }
    }

    #[test]
    fn defaults_like_the_reference() {
        let r = Range::from_conf(&conf("10.0.0.0/26")).unwrap();
        assert_eq!(r.start.to_string(), "10.0.0.1");
        assert_eq!(r.end.to_string(), "10.0.0.62");
        assert_eq!(r.gateway.to_string(), "10.0.0.1");
        let set = RangeSet(vec![r]);
        assert_eq!(set.candidates(None).count(), 61);
        let v6 = Range::from_conf(&conf("fd00::/120")).unwrap();
        assert_eq!(v6.end.to_string(), "fd00::ff");
        assert!(Range::from_conf(&conf("10.0.0.1/24")).is_err());
        assert!(Range::from_conf(&conf("10.0.0.0/31")).is_err());
    }

    #[test]
    fn candidates_start_after_last_and_wrap() {
        let set = RangeSet::from_conf(&[conf("10.0.0.0/29"), conf("10.0.1.0/29")]).unwrap();
        let all: Vec<String> =
            set.candidates(Some("10.0.0.5".parse().unwrap())).map(|(ip, _)| ip.to_string()).collect();
        assert_eq!(
            all,
            [
                "10.0.0.6", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.1.5", "10.0.1.6", "10.0.0.2",
                "10.0.0.3", "10.0.0.4", "10.0.0.5"
            ]
        );
        assert_eq!(set.candidates(None).next().unwrap().0.to_string(), "10.0.0.2");
    }
}
