//! A lease as the client holds it: what the server's DHCPACK granted and
//! when, with the renewal and rebinding times worked out. It serializes
//! to JSON so a daemon can keep it on disk and pick it up after a restart
//! (the reference kept leases only in memory, plugins#235 and #767).

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::message::{Message, Route};

/// The lease time assumed when a DHCPACK carries none (the reference's
/// `defaultLeaseTime`, 60 minutes).
pub const DEFAULT_LEASE_SECS: u32 = 3600;
/// A lease time of all ones: the lease never ends (RFC 2131 section 3.3).
pub const INFINITE: u32 = u32::MAX;
/// T1 when the server gives none: half the lease (RFC 2131 and the reference).
pub const DEFAULT_T1_PERCENT: u64 = 50;
/// T2 when the server gives none: 85% of the lease, as the reference
/// computes it (`leaseTime * 85 / 100`); RFC 2131 suggests 87.5%. Either
/// keeps T1 < T2 < lease; this one matches what nodes see today.
pub const DEFAULT_T2_PERCENT: u64 = 85;

/// Where a lease stands at a moment (RFC 2131 section 4.4's client states
/// that hold an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before T1: nothing to do.
    Bound,
    /// Between T1 and T2: renew by unicast to the server that granted it.
    Renewing,
    /// Between T2 and expiry: rebind by broadcast to any server.
    Rebinding,
    /// Past expiry: the address must no longer be used.
    Expired,
}

/// A granted lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The leased address (the DHCPACK's yiaddr).
    pub address: Ipv4Addr,
    /// The subnet mask (option 1); a CNI result needs it.
    pub mask: Option<Ipv4Addr>,
    /// Routers (option 3), the first preferred.
    #[serde(default)]
    pub routers: Vec<Ipv4Addr>,
    /// Classful static routes (option 33).
    #[serde(default)]
    pub static_routes: Vec<Route>,
    /// Classless static routes (option 121), when the server sent a valid one.
    #[serde(default)]
    pub classless_routes: Option<Vec<Route>>,
    /// Name servers (option 6).
    #[serde(default)]
    pub dns_servers: Vec<Ipv4Addr>,
    /// Domain name (option 15).
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Search domains (option 119).
    #[serde(default)]
    pub search_domains: Vec<String>,
    /// The server that granted it (option 54, else the reply's source):
    /// where renewals and the release go.
    pub server_id: Ipv4Addr,
    /// Lease time in seconds ([`INFINITE`] for no end).
    pub lease_secs: u32,
    /// T1, seconds after `acquired_at_ms`.
    pub renew_secs: u32,
    /// T2, seconds after `acquired_at_ms`.
    pub rebind_secs: u32,
    /// When the request that got this ACK was sent, in milliseconds since
    /// the Unix epoch: the times above count from there (RFC 2131 4.4.1).
    pub acquired_at_ms: u64,
}

impl Lease {
    /// The lease a DHCPACK grants. `sent_at` is when the request was first
    /// sent; `source` is the reply's source address, the server id when
    /// the ACK lacks option 54.
    pub fn from_ack(ack: &Message, sent_at: SystemTime, source: Ipv4Addr) -> Result<Lease, String> {
        let address = ack.yiaddr;
        if address.is_unspecified() || address.is_broadcast() || address.is_multicast() {
            return Err(format!("the server's DHCPACK gives no usable address ({address})"));
        }
        let lease_secs = ack.lease_time().unwrap_or(DEFAULT_LEASE_SECS);
        let (renew_secs, rebind_secs) = lease_times(lease_secs, ack.renewal_time(), ack.rebinding_time());
        let acquired_at_ms = sent_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Ok(Lease {
            address,
            mask: ack.subnet_mask(),
            routers: ack.routers(),
            static_routes: ack.static_routes(),
            classless_routes: ack.classless_routes(),
            dns_servers: ack.dns_servers(),
            domain_name: ack.domain_name().filter(|d| !d.is_empty()),
            search_domains: ack.search_domains(),
            server_id: ack.server_id().unwrap_or(source),
            lease_secs,
            renew_secs,
            rebind_secs,
            acquired_at_ms,
        })
    }

    /// When the lease was granted.
    pub fn acquired_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.acquired_at_ms)
    }

    fn after(&self, secs: u32) -> Option<SystemTime> {
        (secs != INFINITE).then(|| self.acquired_at() + Duration::from_secs(u64::from(secs)))
    }

    /// T1: when renewing starts; `None` for an infinite lease.
    pub fn renew_at(&self) -> Option<SystemTime> {
        self.after(self.renew_secs)
    }

    /// T2: when rebinding starts; `None` for an infinite lease.
    pub fn rebind_at(&self) -> Option<SystemTime> {
        self.after(self.rebind_secs)
    }

    /// When the lease ends; `None` for an infinite lease.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.after(self.lease_secs)
    }

    /// The lease's phase at `now`.
    pub fn phase(&self, now: SystemTime) -> Phase {
        let past = |t: Option<SystemTime>| t.is_some_and(|t| now >= t);
        if past(self.expires_at()) {
            Phase::Expired
        } else if past(self.rebind_at()) {
            Phase::Rebinding
        } else if past(self.renew_at()) {
            Phase::Renewing
        } else {
            Phase::Bound
        }
    }
}

impl Lease {
    /// A lease for unit tests: 10.228.0.20/24 from 10.228.0.1, `secs`
    /// long with the default T1 and T2, granted at `acquired_at_ms`.
    #[cfg(test)]
    pub fn for_tests(secs: u32, acquired_at_ms: u64) -> Lease {
        let (renew_secs, rebind_secs) = lease_times(secs, None, None);
        Lease {
            address: Ipv4Addr::new(10, 228, 0, 20),
            mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            routers: vec![],
            static_routes: vec![],
            classless_routes: None,
            dns_servers: vec![],
            domain_name: None,
            search_domains: vec![],
            server_id: Ipv4Addr::new(10, 228, 0, 1),
            lease_secs: secs,
            renew_secs,
            rebind_secs,
            acquired_at_ms,
        }
    }
}

/// T1 and T2 for a lease: the server's when they are consistent
/// (T1 < T2 < lease, RFC 2131 section 4.4.5), else the defaults; an
/// infinite lease is never renewed.
fn lease_times(lease: u32, t1: Option<u32>, t2: Option<u32>) -> (u32, u32) {
    if lease == INFINITE {
        return (INFINITE, INFINITE);
    }
    let percent = |p: u64| (u64::from(lease) * p / 100) as u32;
    let t2 = t2.filter(|t| *t < lease).unwrap_or_else(|| percent(DEFAULT_T2_PERCENT));
    let t1 = t1.filter(|t| *t < t2).unwrap_or_else(|| percent(DEFAULT_T1_PERCENT).min(t2));
    (t1, t2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{code, MessageType, BOOTREPLY};

    fn ack(options: &[(u8, Vec<u8>)]) -> Message {
        let mut m = Message::new_request(7, [2, 0, 0, 0, 0, 1], MessageType::Ack);
        m.op = BOOTREPLY;
        m.yiaddr = Ipv4Addr::new(10, 228, 0, 23);
        for (c, v) in options {
            m.options.set(*c, v.clone());
        }
        m
    }

    #[test]
    fn default_times_are_the_references() {
        assert_eq!(lease_times(3600, None, None), (1800, 3060));
        assert_eq!(lease_times(120, None, None), (60, 102));
        assert_eq!(lease_times(INFINITE, Some(10), Some(20)), (INFINITE, INFINITE));
        assert_eq!(lease_times(100, Some(30), Some(60)), (30, 60), "the server's when consistent");
        assert_eq!(lease_times(100, Some(70), Some(60)), (50, 60), "T1 past T2: default T1");
        assert_eq!(lease_times(100, Some(30), Some(100)), (30, 85), "T2 at the lease end: default T2");
        assert_eq!(lease_times(100, None, Some(40)), (40, 40), "default T1 never past T2");
    }

    #[test]
    fn lease_from_ack_and_phases() {
        let sent = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let m = ack(&[
            (code::SUBNET_MASK, vec![255, 255, 255, 0]),
            (code::ROUTERS, vec![10, 228, 0, 1]),
            (code::SERVER_ID, vec![10, 228, 0, 1]),
            (code::LEASE_TIME, 120u32.to_be_bytes().to_vec()),
        ]);
        let lease = Lease::from_ack(&m, sent, Ipv4Addr::new(10, 228, 0, 2)).unwrap();
        assert_eq!(lease.server_id, Ipv4Addr::new(10, 228, 0, 1), "option 54 over the source");
        assert_eq!((lease.lease_secs, lease.renew_secs, lease.rebind_secs), (120, 60, 102));
        assert_eq!(lease.phase(sent), Phase::Bound);
        assert_eq!(lease.phase(sent + Duration::from_secs(60)), Phase::Renewing);
        assert_eq!(lease.phase(sent + Duration::from_secs(102)), Phase::Rebinding);
        assert_eq!(lease.phase(sent + Duration::from_secs(120)), Phase::Expired);
        assert_eq!(lease.expires_at(), Some(sent + Duration::from_secs(120)));

        let json = serde_json::to_value(&lease).unwrap();
        assert_eq!(json["address"], "10.228.0.23");
        assert_eq!(json["acquiredAtMs"], 1_000_000_000u64);
        assert_eq!(serde_json::from_value::<Lease>(json).unwrap(), lease, "persisted and read back");

        let no_id = Lease::from_ack(&ack(&[]), sent, Ipv4Addr::new(10, 228, 0, 2)).unwrap();
        assert_eq!(no_id.server_id, Ipv4Addr::new(10, 228, 0, 2));
        assert_eq!(no_id.lease_secs, DEFAULT_LEASE_SECS);
        assert_eq!(no_id.mask, None);

        let forever =
            Lease::from_ack(&ack(&[(code::LEASE_TIME, vec![0xff; 4])]), sent, Ipv4Addr::UNSPECIFIED).unwrap();
        assert_eq!(forever.phase(sent + Duration::from_secs(1 << 40)), Phase::Bound);

        let mut zero = ack(&[]);
        zero.yiaddr = Ipv4Addr::UNSPECIFIED;
        assert!(Lease::from_ack(&zero, sent, Ipv4Addr::UNSPECIFIED).is_err());
    }
}
