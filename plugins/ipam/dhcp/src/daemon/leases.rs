//! The leases the daemon holds and their upkeep: one scheduler thread for
//! every lease (it sleeps until the next lease is due), short-lived threads
//! for the exchanges it starts, and a watch on each lease's interface.
//!
//! Each lease is persisted (`crate::store`) whenever it changes, so a
//! restarted daemon resumes it: renewing or rebinding as its times say,
//! INIT-REBOOT once expired. Work on one attachment (ADD, DEL, a renewal)
//! is serialized by a per-key lock; the map itself is locked only for
//! moments.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use cni::netns::Netns;
use cni::CniError;

use crate::client::{Client, Config, DhcpError, Timing};
use crate::lease::{Lease, Phase};
use crate::options::client_id;
use crate::socket::{interface_mac, mac_text};
use crate::store::{LeaseRecord, Store};

/// How often every lease's interface is looked at (the link watch).
pub const LINK_SWEEP: Duration = Duration::from_secs(15);

/// The shortest wait before a failed exchange is tried again (RFC 2131
/// 4.4.5's 60 s, scaled down for leases shorter than four minutes).
const MIN_RETRY: Duration = Duration::from_secs(60);

/// A lease in memory and when it next needs work.
struct Held {
    record: LeaseRecord,
    due: Option<SystemTime>,
    running: bool,
}

/// Keys some thread is working on.
#[derive(Default)]
struct KeyLocks {
    busy: Mutex<HashSet<String>>,
    freed: Condvar,
}

/// Holds a key until dropped.
pub struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: String,
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        lock(&self.locks.busy).remove(&self.key);
        self.locks.freed.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where an interface stands, as the daemon can see it.
pub enum Link {
    /// Present, with its MAC.
    Present(Client),
    /// Gone (netns or link) or replaced by another interface; why.
    Gone(String),
}

/// Every lease and what is needed to keep them.
pub struct Leases {
    store: Store,
    host_prefix: String,
    timing: Timing,
    held: Mutex<BTreeMap<String, Held>>,
    changed: Condvar,
    keys: KeyLocks,
}

/// Logs one line of the daemon's on stderr (the journal, under systemd).
pub fn log(line: impl std::fmt::Display) {
    eprintln!("dhcp daemon: {line}");
}

impl Leases {
    /// The daemon's leases, empty.
    pub fn new(store: Store, host_prefix: String, timing: Timing) -> Leases {
        Leases {
            store,
            host_prefix,
            timing,
            held: Mutex::new(BTreeMap::new()),
            changed: Condvar::new(),
            keys: KeyLocks::default(),
        }
    }

    /// Waits until no other thread works on `key`, and holds it.
    pub fn lock_key(&self, key: &str) -> KeyGuard<'_> {
        let mut busy = lock(&self.keys.busy);
        while busy.contains(key) {
            busy = self.keys.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        busy.insert(key.to_string());
        KeyGuard { locks: &self.keys, key: key.to_string() }
    }

    /// The netns path as this daemon sees it.
    pub fn netns_path(&self, netns: &str) -> String {
        format!("{}{netns}", self.host_prefix)
    }

    /// The client timing.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The record held for `key`.
    pub fn get(&self, key: &str) -> Option<LeaseRecord> {
        lock(&self.held).get(key).map(|h| h.record.clone())
    }

    /// The keys of held leases that `pick` selects.
    pub fn keys_where(&self, pick: impl Fn(&LeaseRecord) -> bool) -> Vec<String> {
        lock(&self.held).iter().filter(|(_, h)| pick(&h.record)).map(|(k, _)| k.clone()).collect()
    }

    /// Persists `record` and holds it, scheduled by its times.
    pub fn hold(&self, record: LeaseRecord) -> Result<(), CniError> {
        self.store.save(&record).map_err(|e| {
            CniError::io(
                format!("failed to save the lease in {}", self.store.path(&record.key()).display()),
                e,
            )
        })?;
        let due = next_due(&record.lease, SystemTime::now(), None);
        lock(&self.held).insert(record.key(), Held { record, due, running: false });
        self.changed.notify_all();
        Ok(())
    }

    /// Forgets `key`: out of memory and off disk.
    pub fn forget(&self, key: &str) -> Result<(), CniError> {
        lock(&self.held).remove(key);
        self.changed.notify_all();
        self.store.remove(key).map_err(|e| {
            CniError::io(format!("failed to remove the lease file {}", self.store.path(key).display()), e)
        })
    }

    /// Whether `record`'s interface is still the one the lease was taken
    /// on (its netns there, a link of that name with that MAC): one look
    /// inside the netns, nothing opened or changed there. The netns comes
    /// back for a caller that goes on to open a client in it.
    fn find(&self, record: &LeaseRecord) -> Result<Result<Netns, String>, CniError> {
        let path = self.netns_path(&record.netns);
        let Some(netns) = cni::netns::for_del(&path)? else {
            return Ok(Err(format!("netns {path} is gone")));
        };
        let ifname = record.ifname.clone();
        let mac =
            netns.run(|| interface_mac(&ifname).map_err(|e| CniError::io(format!("reading {ifname}"), e)))?;
        Ok(match mac {
            None => Err(format!("{} is gone from {path}", record.ifname)),
            Some(mac) if mac_text(&mac) != record.mac => {
                Err(format!("{} in {path} is another interface now (MAC {})", record.ifname, mac_text(&mac)))
            }
            Some(_) => Ok(netns),
        })
    }

    /// Why `record`'s interface is no longer the lease's, if it is not:
    /// the link watch, the resume after a start and CHECK ask this.
    pub fn gone(&self, record: &LeaseRecord) -> Result<Option<String>, CniError> {
        Ok(self.find(record)?.err())
    }

    /// Opens a client for `record`'s interface, when it is still the one
    /// the lease was taken on.
    pub fn open(&self, record: &LeaseRecord) -> Result<Link, CniError> {
        let netns = match self.find(record)? {
            Ok(netns) => netns,
            Err(why) => return Ok(Link::Gone(why)),
        };
        let config = Config {
            ifname: record.ifname.clone(),
            client_id: client_id(&record.container_id, &record.network, &record.ifname),
            options: record.options.clone(),
            timing: self.timing,
        };
        Client::open_in(&netns, config).map(Link::Present).map_err(CniError::from)
    }

    /// Sends the DHCPRELEASE of `key`'s lease when its interface is still
    /// there, then forgets it. A lease not held is no error.
    pub fn release(&self, key: &str, why: &str) -> Result<(), CniError> {
        let Some(record) = self.get(key) else {
            // Not held, but a file may be (written by a daemon killed
            // before it read it back): nothing to send from, remove it.
            return self.store.remove(key).map_err(|e| CniError::io("removing a lease file", e));
        };
        lock(&self.held).remove(key);
        match self.open(&record) {
            Ok(Link::Present(client)) => match client.release(&record.lease) {
                Ok(()) => log(format!("released {} of {key} ({why})", record.lease.address)),
                Err(e) => log(format!("DHCPRELEASE of {} for {key} failed: {e}", record.lease.address)),
            },
            Ok(Link::Gone(gone)) => log(format!("{key}: not released, {gone}")),
            Err(e) => log(format!("{key}: not released: {}", e.msg)),
        }
        self.forget(key)
    }

    /// Reads the store back after a start: each lease whose interface is
    /// still there is held (and due now unless bound), the rest dropped.
    pub fn resume(&self) -> Result<usize, String> {
        let (records, bad) =
            self.store.load_all().map_err(|e| format!("reading {}: {e}", self.store.dir().display()))?;
        for path in bad {
            log(format!("removing {}: not a lease file", path.display()));
            let _ = cni::statefile::remove(&path);
        }
        let mut resumed = 0;
        for record in records {
            let key = record.key();
            match self.gone(&record) {
                Ok(None) => {
                    let phase = record.lease.phase(SystemTime::now());
                    log(format!("resumed {} of {key} ({phase:?})", record.lease.address));
                    let due = next_due(&record.lease, SystemTime::now(), None);
                    lock(&self.held).insert(key, Held { record, due, running: false });
                    resumed += 1;
                }
                Ok(Some(why)) => {
                    log(format!("dropping the lease of {key}: {why}"));
                    let _ = self.store.remove(&key);
                }
                Err(e) => {
                    log(format!("dropping the lease of {key}: {}", e.msg));
                    let _ = self.store.remove(&key);
                }
            }
        }
        Ok(resumed)
    }

    /// The upkeep loop: never returns. Due leases get an exchange on a
    /// thread that ends with it; every [`LINK_SWEEP`] a sweep drops leases
    /// whose interface went away.
    pub fn upkeep(self: Arc<Self>) {
        let mut next_sweep = SystemTime::now() + LINK_SWEEP;
        let mut held = lock(&self.held);
        loop {
            let now = SystemTime::now();
            let mut wait = next_sweep.duration_since(now).unwrap_or(Duration::ZERO);
            for (key, h) in held.iter_mut() {
                let Some(due) = h.due.filter(|_| !h.running) else { continue };
                match due.duration_since(now) {
                    Ok(left) if !left.is_zero() => wait = wait.min(left),
                    _ => {
                        h.running = true;
                        let (leases, owned) = (self.clone(), key.clone());
                        let spawned = std::thread::Builder::new()
                            .name("renew".into())
                            .spawn(move || leases.maintain(&owned));
                        if let Err(e) = spawned {
                            log(format!("{key}: cannot start an exchange: {e}"));
                            h.running = false;
                            h.due = Some(now + MIN_RETRY);
                        }
                    }
                }
            }
            if now >= next_sweep {
                next_sweep = now + LINK_SWEEP;
                let leases = self.clone();
                let _ = std::thread::Builder::new().name("linkwatch".into()).spawn(move || leases.sweep());
            }
            held = self
                .changed
                .wait_timeout(held, wait.max(Duration::from_millis(20)))
                .map_or_else(|p| p.into_inner().0, |r| r.0);
        }
    }

    /// The link watch: forgets leases whose netns or interface is gone.
    fn sweep(&self) {
        for key in self.keys_where(|_| true) {
            let _k = self.lock_key(&key);
            let Some(record) = self.get(&key) else { continue };
            if let Ok(Some(why)) = self.gone(&record) {
                log(format!("dropping the lease of {key}: {why}"));
                let _ = self.forget(&key);
            }
        }
    }

    /// One due exchange for `key`, by its lease's phase.
    fn maintain(&self, key: &str) {
        let _k = self.lock_key(key);
        let Some(record) = self.get(key) else { return };
        let lease = &record.lease;
        let now = SystemTime::now();
        let phase = lease.phase(now);
        let outcome = match self.open(&record) {
            Ok(Link::Gone(why)) => {
                log(format!("dropping the lease of {key}: {why}"));
                let _ = self.forget(key);
                return;
            }
            Err(e) => Err(DhcpError::Io(e.msg)),
            Ok(Link::Present(client)) => match phase {
                Phase::Bound => Ok(lease.clone()),
                Phase::Renewing => client.renew_by(lease, lease.rebind_at()),
                Phase::Rebinding => client.rebind_by(lease, lease.expires_at()),
                Phase::Expired => client.reboot(lease),
            },
        };
        match outcome {
            Ok(renewed) => {
                if phase != Phase::Bound {
                    log(format!(
                        "{key}: {phase:?}: {} held for {}s more",
                        renewed.address, renewed.lease_secs
                    ));
                }
                let record = LeaseRecord { lease: renewed, ..record };
                if let Err(e) = self.hold(record) {
                    log(format!("{key}: {}", e.msg));
                }
            }
            Err(DhcpError::Nak { server, message, .. }) => {
                log(format!(
                    "{key}: server {server} refused {} ({phase:?}): {}; the lease is lost",
                    lease.address,
                    message.unwrap_or_default()
                ));
                let _ = self.forget(key);
            }
            Err(e) => {
                log(format!("{key}: {phase:?} {} failed: {e}", lease.address));
                let mut held = lock(&self.held);
                if let Some(h) = held.get_mut(key) {
                    h.running = false;
                    h.due = next_due(lease, SystemTime::now(), Some(phase));
                }
                self.changed.notify_all();
            }
        }
    }
}

/// When a lease next needs an exchange: T1 while bound; right away once
/// renewing, rebinding or expired; after an exchange of the same phase
/// failed (`failed`), half the time left to the phase's end (at least
/// [`MIN_RETRY`] or, for short leases, a tenth of the lease), no later
/// than that end. `None`: an infinite lease.
pub fn next_due(lease: &Lease, now: SystemTime, failed: Option<Phase>) -> Option<SystemTime> {
    let phase = lease.phase(now);
    if phase == Phase::Bound {
        return lease.renew_at();
    }
    if failed != Some(phase) {
        // Not tried yet in this phase (a renewal that ran up to T2 is
        // followed by rebinding at once).
        return Some(now);
    }
    let min_retry = MIN_RETRY.min(Duration::from_secs(u64::from(lease.lease_secs / 10).max(1)));
    let end = match phase {
        Phase::Renewing => lease.rebind_at(),
        Phase::Rebinding => lease.expires_at(),
        _ => None,
    };
    let Some(end) = end else { return Some(now + min_retry) };
    let left = end.duration_since(now).unwrap_or(Duration::ZERO);
    Some((now + (left / 2).max(min_retry)).min(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn lease(secs: u32) -> Lease {
        Lease::for_tests(secs, 1_000_000)
    }

    #[test]
    fn schedule_follows_the_phases() {
        let l = lease(3600);
        let t0 = UNIX_EPOCH + Duration::from_secs(1000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let (renewing, rebinding, expired) =
            (Some(Phase::Renewing), Some(Phase::Rebinding), Some(Phase::Expired));
        assert_eq!(next_due(&l, at(10), None), Some(at(1800)), "bound: at T1");
        assert_eq!(next_due(&l, at(1800), None), Some(at(1800)), "renewing: now");
        // T2 is at 3060: half of 1260 s left.
        assert_eq!(next_due(&l, at(1800), renewing), Some(at(1800 + 630)));
        assert_eq!(next_due(&l, at(3000), renewing), Some(at(3060)), "never past T2");
        assert_eq!(next_due(&l, at(3060), renewing), Some(at(3060)), "a renewal that ran to T2: rebind now");
        assert_eq!(next_due(&l, at(3100), rebinding), Some(at(3100 + 250)), "rebinding: half to expiry");
        assert_eq!(next_due(&l, at(4000), expired), Some(at(4060)), "expired: every minute");
        let short = lease(6);
        assert_eq!(next_due(&short, at(3), renewing), Some(at(4)), "short leases retry sooner");
        let forever = Lease { renew_secs: u32::MAX, rebind_secs: u32::MAX, ..lease(u32::MAX) };
        assert_eq!(next_due(&forever, at(10), None), None);
    }
}
