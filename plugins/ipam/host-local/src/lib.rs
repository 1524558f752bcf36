//! `host-local` IPAM: allocates addresses from ranges, tracked on disk.
//!
//! Each ADD takes one address from each range set (a requested one, or
//! the next free one after the last handed out), under the store's lock,
//! and gives back everything it took if any set fails. DEL frees the
//! attachment's addresses; GC frees those of attachments no longer valid.
//! STATUS succeeds as the reference's does, and warns on stderr about a
//! range set with no room left: a range filled by leaked reservations must
//! not mark the node NotReady and take down the pods already running.

mod config;
pub use config::KEYS;
mod dns;
mod preview;
pub mod range;
pub mod store;

pub use preview::{preview, NextAddress, Preview};

use std::collections::HashSet;
use std::net::IpAddr;

use cni::env::CmdArgs;
use cni::result::IpConfig;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult, ErrorCode};

use config::Config;
use store::Store;

/// The host-local IPAM plugin.
pub struct HostLocal;

/// Takes one address per range set; `existing` is what the attachment
/// held before (a second address in the same set is refused). Each
/// reservation's release is registered on `rollback`.
fn allocate<'a>(
    store: &'a Store,
    cfg: &Config,
    id: &str,
    ifname: &str,
    existing: &HashSet<IpAddr>,
    rollback: &mut Rollback<'a>,
) -> Result<Vec<IpConfig>, CniError> {
    let mut requested = cfg.requested.clone();
    let mut ips = Vec::new();
    for (index, set) in cfg.range_sets.iter().enumerate() {
        let wanted =
            requested.iter().position(|ip| set.range_for(*ip).is_some()).map(|i| requested.remove(i));
        let (ip, range) = match wanted {
            Some(ip) => {
                let range =
                    set.range_for(ip).ok_or_else(|| CniError::internal("requested IP left its range"))?;
                if ip == range.gateway {
                    return Err(CniError::config(format!("requested ip {ip} is subnet's gateway")));
                }
                if !store.reserve(id, ifname, ip, index)? {
                    return Err(CniError::internal(format!(
                        "requested IP address {ip} is not available in range set {}",
                        describe(set)
                    )));
                }
                rollback.push(format!("release {ip}"), move || store.release_ip(ip));
                (ip, range)
            }
            None => {
                if let Some(dup) = existing.iter().find(|ip| set.range_for(**ip).is_some()) {
                    return Err(CniError::internal(format!(
                        "{dup} has been allocated to {id}, duplicate allocation is not allowed"
                    )));
                }
                let mut chosen = None;
                for (ip, range) in set.candidates(store.last_reserved(index)) {
                    if store.reserve(id, ifname, ip, index)? {
                        rollback.push(format!("release {ip}"), move || store.release_ip(ip));
                        chosen = Some((ip, range));
                        break;
                    }
                }
                chosen.ok_or_else(|| {
                    CniError::internal(format!("no IP addresses available in range set: {}", describe(set)))
                })?
            }
        };
        ips.push(IpConfig { interface: None, address: range.with_prefix(ip), gateway: Some(range.gateway) });
    }
    if !requested.is_empty() {
        let rest: Vec<String> = requested.iter().map(IpAddr::to_string).collect();
        return Err(CniError::config(format!("failed to allocate all requested IPs: {}", rest.join(" "))));
    }
    Ok(ips)
}

/// How full one range set of a network is, for STATUS's warning and
/// `cnictl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeFill {
    /// The set as errors name it (`10.0.0.2-10.0.0.254,...`).
    pub range_set: String,
    /// Addresses of the set that are reserved.
    pub reserved: u128,
    /// Addresses the set can hand out (gateways excluded).
    pub capacity: u128,
}

impl RangeFill {
    /// True when no address of the set is left for an ADD.
    pub fn is_full(&self) -> bool {
        self.reserved >= self.capacity
    }
}

/// How full each range set of the netconf `stdin` is, read from its store
/// without changing it (a network never used has no store: nothing is
/// reserved).
pub fn fill(stdin: &[u8]) -> Result<Vec<RangeFill>, CniError> {
    fill_of(&config::load(stdin, "")?)
}

fn fill_of(cfg: &Config) -> Result<Vec<RangeFill>, CniError> {
    let taken = store::taken_addresses(cfg.data_dir.as_deref(), &cfg.name)?;
    Ok(cfg
        .range_sets
        .iter()
        .map(|set| RangeFill {
            range_set: describe(set),
            reserved: taken.iter().filter(|ip| set.range_for(**ip).is_some_and(|r| r.gateway != **ip)).count()
                as u128,
            capacity: set.capacity(),
        })
        .collect())
}

fn describe(set: &range::RangeSet) -> String {
    set.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

impl Plugin for HostLocal {
    fn name(&self) -> &'static str {
        "host-local"
    }

    /// An IPAM plugin runs inside its main plugin's ADD or DEL, which
    /// holds the attachment's lock.
    fn serializes_attachment(&self) -> bool {
        false
    }

    /// ADD's config checks: ranges, routes, requested addresses; the store
    /// is not opened.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        config::load(&args.stdin, &args.args).map(|_| ())
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let cfg = config::load(&args.stdin, &args.args)?;
        let dns = match &cfg.resolv_conf {
            Some(path) if !path.is_empty() => dns::parse_resolv_conf(path)?,
            _ => Default::default(),
        };
        let store = Store::open(cfg.data_dir.as_deref(), &cfg.name)?;
        let before: HashSet<IpAddr> = store.find(&args.container_id, &args.ifname)?.into_iter().collect();
        // A failure gives back only what this ADD reserved.
        let mut rollback = Rollback::new();
        let ips = allocate(&store, &cfg, &args.container_id, &args.ifname, &before, &mut rollback)?;
        rollback.commit();
        Ok(CniResult { interfaces: Vec::new(), ips, routes: cfg.routes, dns })
    }

    /// DEL always cleans: only the store's location is read (leniently), so
    /// a netconf whose ranges ADD would refuse still frees the attachment.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let cfg = config::load_del(&args.stdin);
        Store::open(cfg.data_dir(), &cfg.name)?.release(&args.container_id, &args.ifname)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let cfg = config::load(&args.stdin, &args.args)?;
        let store = Store::open(cfg.data_dir.as_deref(), &cfg.name)?;
        if store.find(&args.container_id, &args.ifname)?.is_empty() {
            return Err(CniError::internal(format!(
                "host-local: Failed to find address added by container {}",
                args.container_id
            )));
        }
        Ok(())
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let cfg = config::load(&args.stdin, &args.args)?;
        let store = Store::open(cfg.data_dir.as_deref(), &cfg.name)?;
        for (ip, holder) in store.sweep_debris()? {
            let valid = cfg.valid_attachments.iter().any(|a| holder.is(&a.container_id, &a.ifname));
            if !valid {
                store.release_ip(ip)?;
            }
        }
        Ok(())
    }

    /// Succeeds whenever the config is sound, as the reference's (which
    /// has no STATUS) always does; a full range set is a warning on
    /// stderr. A store that cannot be read is code 50: no ADD could work.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let cfg = config::load(&args.stdin, &args.args)?;
        let network = &cfg.name;
        let sets = fill_of(&cfg).map_err(|e| CniError::new(ErrorCode::PluginNotAvailable, e.msg))?;
        for set in sets.iter().filter(|s| s.is_full()) {
            eprintln!(
                "host-local: warning: network {network:?}: range set {} is full ({} of {} addresses reserved); \
                 new ADDs will fail until addresses are freed (cnictl gc, or DEL of the attachments holding them)",
                set.range_set, set.reserved, set.capacity
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod allocator_tests {
    use super::*;

    /// A network on `subnet` (gateway .1) with its store in a temp dir.
    struct Case {
        dir: tempfile::TempDir,
    }

    impl Case {
        fn new() -> Case {
            Case { dir: tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}")) }
        }

        fn config(&self, subnet: &str, cni_args: &str) -> Config {
            let netconf = serde_json::json!({"cniVersion": "1.0.0", "name": "alloc", "type": "bridge",
                "ipam": {"type": "host-local", "subnet": subnet, "dataDir": self.dir.path()}});
            config::load(netconf.to_string().as_bytes(), cni_args).unwrap_or_else(|e| panic!("{}", e.msg))
        }

        fn store(&self, cfg: &Config) -> Store {
            Store::open(cfg.data_dir.as_deref(), &cfg.name).unwrap_or_else(|e| panic!("{}", e.msg))
        }

        /// One ADD's allocation for `id`, committed when it succeeds.
        fn allocate(&self, cfg: &Config, id: &str) -> Result<Vec<String>, CniError> {
            let store = self.store(cfg);
            let before: HashSet<IpAddr> = store.find(id, "eth0")?.into_iter().collect();
            let mut rollback = Rollback::new();
            let ips = allocate(&store, cfg, id, "eth0", &before, &mut rollback)?;
            rollback.commit();
            Ok(ips.iter().map(|ip| ip.address.to_string()).collect())
        }
    }

    #[test]
    fn addresses_go_in_order_after_the_last_and_wrap_around() {
        let case = Case::new();
        let cfg = case.config("10.0.0.0/29", "");
        let got: Vec<String> =
            ["a", "b", "c"].iter().map(|id| case.allocate(&cfg, id).unwrap_or_default()[0].clone()).collect();
        assert_eq!(got, ["10.0.0.2/29", "10.0.0.3/29", "10.0.0.4/29"], "the gateway .1 is skipped");
        let store = case.store(&cfg);
        store
            .release_ip("10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{}", e.msg));
        drop(store);
        assert_eq!(
            case.allocate(&cfg, "d").unwrap_or_default(),
            ["10.0.0.5/29"],
            "after the last reserved, not the freed one"
        );
        assert_eq!(case.allocate(&cfg, "e").unwrap_or_default(), ["10.0.0.6/29"]);
        assert_eq!(
            case.allocate(&cfg, "f").unwrap_or_default(),
            ["10.0.0.2/29"],
            "wrapped around to the freed one"
        );
    }

    #[test]
    fn a_full_range_is_an_error_and_the_failed_add_reserves_nothing() {
        let case = Case::new();
        let cfg = case.config("10.0.0.0/30", "");
        assert_eq!(case.allocate(&cfg, "a").unwrap_or_default(), ["10.0.0.2/30"]);
        let err = case.allocate(&cfg, "b").unwrap_err();
        assert!(err.msg.contains("no IP addresses available in range set: 10.0.0.1-10.0.0.2"), "{}", err.msg);
        assert!(case.store(&cfg).find("b", "eth0").unwrap_or_default().is_empty());
    }

    #[test]
    fn requested_addresses_are_given_or_refused_and_duplicates_refused() {
        let case = Case::new();
        let wanted = case.config("10.0.0.0/29", "IP=10.0.0.5");
        assert_eq!(case.allocate(&wanted, "a").unwrap_or_default(), ["10.0.0.5/29"]);
        let taken = case.allocate(&wanted, "b").unwrap_err();
        assert!(taken.msg.contains("requested IP address 10.0.0.5 is not available"), "{}", taken.msg);
        let gateway = case.config("10.0.0.0/29", "IP=10.0.0.1");
        let refused = case.allocate(&gateway, "c").unwrap_err();
        assert_eq!(refused.code, 7, "{}", refused.msg);
        assert!(refused.msg.contains("is subnet's gateway"), "{}", refused.msg);
        let plain = case.config("10.0.0.0/29", "");
        let twice = case.allocate(&plain, "a").unwrap_err();
        assert!(
            twice.msg.contains("10.0.0.5 has been allocated to a, duplicate allocation is not allowed"),
            "{}",
            twice.msg
        );
        let outside = case.config("10.0.0.0/29", "IP=10.9.9.9");
        let rest = case.allocate(&outside, "d").unwrap_err();
        assert!(rest.msg.contains("failed to allocate all requested IPs: 10.9.9.9"), "{}", rest.msg);
        assert!(
            case.store(&plain).find("d", "eth0").unwrap_or_default().is_empty(),
            "the failed ADD gave back what it took"
        );
    }
}
