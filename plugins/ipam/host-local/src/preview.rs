//! What an ADD would hand out, found without reserving anything: the same
//! config, requested addresses and candidate order as `allocate`, read off
//! a listing of the store (no lock, no file made), for `cnictl add
//! --dry-run` and `cnictl explain`.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;

use cni::result::Route;
use cni::CniError;
use ipnetwork::IpNetwork;

use crate::{config, describe, store};

/// The address an ADD would take from one range set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAddress {
    /// The set as errors name it (`10.0.0.2-10.0.0.254,...`).
    pub range_set: String,
    /// The address with its subnet's prefix; `None` when the ADD would fail
    /// (see `problem`).
    pub address: Option<IpNetwork>,
    /// The gateway reported with it.
    pub gateway: Option<IpAddr>,
    /// True when the runtime asked for this address (`IP=`, `args`,
    /// `runtimeConfig.ips`) rather than the next free one.
    pub requested: bool,
    /// Where the search starts: the address last handed out from this set.
    pub last_reserved: Option<IpAddr>,
    /// Addresses of the set already reserved.
    pub reserved: u128,
    /// Addresses the set can hand out.
    pub capacity: u128,
    /// Why the ADD would fail for this set, in the plugin's words.
    pub problem: Option<String>,
}

/// What host-local's ADD would do for one attachment.
#[derive(Debug, Clone)]
pub struct Preview {
    /// One entry per range set, in order.
    pub sets: Vec<NextAddress>,
    /// The routes its result reports.
    pub routes: Vec<Route>,
    /// The store's directory.
    pub store: PathBuf,
    /// A resolv.conf its DNS settings come from, if any.
    pub resolv_conf: Option<String>,
    /// Requested addresses no range set holds (the ADD fails on them).
    pub unplaced: Vec<IpAddr>,
}

/// The addresses an ADD of the netconf `stdin` for `container_id` and
/// `ifname` (with `cni_args`) would take now. Nothing is reserved, locked
/// or written; an ADD that runs later may find another address taken.
pub fn preview(stdin: &[u8], cni_args: &str, container_id: &str, ifname: &str) -> Result<Preview, CniError> {
    let cfg = config::load(stdin, cni_args)?;
    let data_dir = cfg.data_dir.as_deref();
    let listed = store::reservations(data_dir, &cfg.name)?;
    let taken: HashSet<IpAddr> = listed.iter().map(|r| r.address).collect();
    let own: Vec<IpAddr> = listed
        .iter()
        .filter(|r| r.holder.as_ref().is_some_and(|h| h.is(container_id, ifname)))
        .map(|r| r.address)
        .collect();
    let mut requested = cfg.requested.clone();
    let mut sets = Vec::new();
    for (index, set) in cfg.range_sets.iter().enumerate() {
        let last = store::last_reserved(data_dir, &cfg.name, index);
        let mut next = NextAddress {
            range_set: describe(set),
            address: None,
            gateway: None,
            requested: false,
            last_reserved: last,
            reserved: taken.iter().filter(|ip| set.range_for(**ip).is_some_and(|r| r.gateway != **ip)).count()
                as u128,
            capacity: set.capacity(),
            problem: None,
        };
        let wanted =
            requested.iter().position(|ip| set.range_for(*ip).is_some()).map(|i| requested.remove(i));
        match wanted {
            Some(ip) => {
                next.requested = true;
                if let Some(range) = set.range_for(ip) {
                    next.gateway = Some(range.gateway);
                    if ip == range.gateway {
                        next.problem = Some(format!("requested ip {ip} is subnet's gateway"));
                    } else if taken.contains(&ip) {
                        next.problem = Some(format!(
                            "requested IP address {ip} is not available in range set {}",
                            next.range_set
                        ));
                    } else {
                        next.address = Some(range.with_prefix(ip));
                    }
                }
            }
            None => {
                if let Some(dup) = own.iter().find(|ip| set.range_for(**ip).is_some()) {
                    next.problem = Some(format!(
                        "{dup} has been allocated to {container_id}, duplicate allocation is not allowed"
                    ));
                } else if let Some((ip, range)) = set.candidates(last).find(|(ip, _)| !taken.contains(ip)) {
                    next.address = Some(range.with_prefix(ip));
                    next.gateway = Some(range.gateway);
                } else {
                    next.problem =
                        Some(format!("no IP addresses available in range set: {}", next.range_set));
                }
            }
        }
        sets.push(next);
    }
    Ok(Preview {
        sets,
        routes: cfg.routes,
        store: store::store_dir(data_dir, &cfg.name),
        resolv_conf: cfg.resolv_conf.filter(|p| !p.is_empty()),
        unplaced: requested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn netconf(dir: &std::path::Path, ipam: serde_json::Value) -> Vec<u8> {
        let mut ipam = ipam;
        ipam["type"] = "host-local".into();
        ipam["dataDir"] = dir.display().to_string().into();
        serde_json::json!({"cniVersion": "1.0.0", "name": "plan", "type": "bridge", "ipam": ipam})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_next_address_follows_the_hint_skips_taken_ones_and_reserves_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let stdin =
            netconf(dir.path(), serde_json::json!({"subnet": "10.0.0.0/29", "rangeStart": "10.0.0.3"}));
        let first = preview(&stdin, "", "c1", "eth0").unwrap_or_else(|e| panic!("{}", e.msg));
        assert_eq!(first.sets[0].address.map(|a| a.to_string()).as_deref(), Some("10.0.0.3/29"));
        assert!(!dir.path().join("plan").exists(), "no store was made");
        let store_dir = dir.path().join("plan");
        fs::create_dir_all(&store_dir).unwrap_or_else(|e| panic!("{e}"));
        fs::write(store_dir.join("10.0.0.5"), "other\r\neth0").unwrap_or_else(|e| panic!("{e}"));
        fs::write(store_dir.join("last_reserved_ip.0"), "10.0.0.4").unwrap_or_else(|e| panic!("{e}"));
        let next = preview(&stdin, "", "c1", "eth0").unwrap_or_else(|e| panic!("{}", e.msg));
        assert_eq!(next.sets[0].address.map(|a| a.to_string()).as_deref(), Some("10.0.0.6/29"));
        assert_eq!(next.sets[0].reserved, 1);
        let names: Vec<_> =
            fs::read_dir(&store_dir).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 2, "nothing added to the store: {names:?}");
    }

    #[test]
    fn a_full_range_and_a_taken_request_say_what_add_would_say() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let stdin = netconf(dir.path(), serde_json::json!({"subnet": "10.0.0.0/30"}));
        let store_dir = dir.path().join("plan");
        fs::create_dir_all(&store_dir).unwrap_or_else(|e| panic!("{e}"));
        fs::write(store_dir.join("10.0.0.2"), "other\r\neth0").unwrap_or_else(|e| panic!("{e}"));
        let full = preview(&stdin, "", "c1", "eth0").unwrap_or_else(|e| panic!("{}", e.msg));
        assert_eq!(full.sets[0].address, None);
        let problem = full.sets[0].problem.clone().unwrap_or_default();
        assert!(problem.contains("no IP addresses available in range set: 10.0.0.1-10.0.0.2"), "{problem}");
        let taken = preview(&stdin, "IP=10.0.0.2", "c1", "eth0").unwrap_or_else(|e| panic!("{}", e.msg));
        assert!(taken.sets[0].requested);
        let problem = taken.sets[0].problem.clone().unwrap_or_default();
        assert!(problem.contains("requested IP address 10.0.0.2 is not available"), "{problem}");
    }
}
