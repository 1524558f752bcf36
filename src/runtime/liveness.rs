//! What on this host may still belong to a live container: the keep-set
//! `cnictl gc` sends as its valid attachments, and what `doctor` may call
//! stale. A live attachment is never freed, so anything that may be live
//! is kept, each with the reason:
//!
//! - cached attachments (in every cache cnictl knows: the one given and
//!   the runtimes' default) whose namespace exists, or whose namespace is
//!   not recorded, or that moved (found by identity);
//! - cache entries that cannot be read, for every attachment their file
//!   name can mean;
//! - attachments named with `--valid`;
//! - attachments of a live namespace's cnitool-style container ID;
//! - host-local reservations whose address is on an interface in a live
//!   namespace, whoever made it.
//!
//! Only what is left is stale: cached entries to DEL, reservations for the
//! plugins' GC to free.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use cni::conf::Attachment;
use color_eyre::eyre::Result;
use serde_json::Value;

use super::cache::{Cache, CachedAttachment, UnreadableEntry};
use super::config::NetworkList;
use crate::netns::identity::{find_live, live_namespaces, NetnsId};
use crate::report::io_needing_root;

/// Where host-local keeps reservations when a config names no dataDir.
pub const HOST_LOCAL_DEFAULT_DIR: &str = "/var/lib/cni/networks";

/// What a survey of one network found.
#[derive(Debug, Default)]
pub struct Survey {
    /// Attachments that may be live, each with why it is kept.
    pub keep: BTreeMap<Attachment, String>,
    /// Entries of the network in the cache surveyed first whose namespace is gone.
    pub stale_entries: Vec<CachedAttachment>,
    /// host-local reservations of the network that nothing keeps.
    pub stale_reservations: Vec<host_local::store::Reservation>,
    /// Cache entries of the network that cannot be read.
    pub unreadable: Vec<UnreadableEntry>,
}

impl Survey {
    /// The keep-set as GC's valid attachments.
    pub fn valid(&self) -> BTreeSet<Attachment> {
        self.keep.keys().cloned().collect()
    }

    /// Why `holder` is kept, if it is (old one-line reservations name only
    /// the container, and are kept with any of its interfaces).
    fn keeps(&self, holder: &host_local::store::Holder) -> bool {
        self.keep.keys().any(|a| holder.is(&a.container_id, &a.ifname))
            || self.keep.keys().any(|a| a.container_id == holder.container_id && a.ifname.is_empty())
    }
}

/// The host-local stores (`<dataDir>/<network>`) of a chain's plugins.
pub fn host_local_stores(list: &NetworkList) -> Vec<PathBuf> {
    let mut stores = Vec::new();
    for plugin in &list.plugins {
        let ipam = cni::gojson::get_in(plugin, "ipam").and_then(Value::as_object);
        let Some(ipam) = ipam else { continue };
        if cni::gojson::get_in(ipam, "type").and_then(Value::as_str) != Some("host-local") {
            continue;
        }
        let dir = cni::gojson::get_in(ipam, "dataDir").and_then(Value::as_str).filter(|d| !d.is_empty());
        let store = Path::new(dir.unwrap_or(HOST_LOCAL_DEFAULT_DIR)).join(&list.name);
        if !stores.contains(&store) {
            stores.push(store);
        }
    }
    stores
}

/// The reservations of the chain's host-local stores; an error (needs
/// root, or unreadable) when a store is there but cannot be read.
pub fn reservations(list: &NetworkList) -> Result<Vec<host_local::store::Reservation>> {
    let mut found = Vec::new();
    for store in host_local_stores(list) {
        if let Err(e) = std::fs::read_dir(&store) {
            if e.kind() == std::io::ErrorKind::NotFound {
                continue;
            }
            return Err(io_needing_root("reading host-local's reservations", &store, e));
        }
        let data_dir = store.parent().map(|p| p.display().to_string());
        found.extend(
            host_local::store::reservations(data_dir.as_deref(), &list.name)
                .map_err(|e| color_eyre::eyre::eyre!("{e}"))?,
        );
    }
    Ok(found)
}

/// The host's live namespaces, read once per command: the surveys of
/// every network (doctor, `gc` of all) share them, and the addresses in
/// them, which take entering each namespace, are read at most once.
pub struct LiveHost {
    namespaces: Vec<(NetnsId, PathBuf)>,
    addresses: std::sync::OnceLock<BTreeMap<IpAddr, PathBuf>>,
}

impl LiveHost {
    /// The namespaces now; their addresses when first asked for.
    pub fn read() -> LiveHost {
        LiveHost { namespaces: live_namespaces(), addresses: std::sync::OnceLock::new() }
    }

    fn addresses(&self) -> &BTreeMap<IpAddr, PathBuf> {
        self.addresses.get_or_init(|| addresses_in(&self.namespaces))
    }
}

/// Surveys `list`'s attachments on `host`: `caches` (the one cnictl was
/// given first, whose stale entries GC deletes; then the others whose
/// entries also keep attachments), `explicit` attachments to keep.
pub fn survey(
    list: &NetworkList,
    caches: &[&Cache],
    explicit: &BTreeSet<Attachment>,
    host: &LiveHost,
) -> Result<Survey> {
    let live = &host.namespaces;
    let mut survey = Survey::default();
    for attachment in explicit {
        survey.keep.insert(attachment.clone(), "named with --valid".into());
    }
    for (n, cache) in caches.iter().enumerate() {
        let listing = cache.listing()?;
        for (entry, _) in listing.readable.into_iter().filter(|(e, _)| e.network == list.name) {
            match namespace_state(&entry, live) {
                Some(why) => {
                    survey.keep.entry(entry.attachment()).or_insert(why);
                }
                None if n == 0 => survey.stale_entries.push(entry),
                None => {}
            }
        }
        for unreadable in listing.unreadable {
            let candidates = unreadable.candidates(&list.name);
            if candidates.is_empty() {
                continue;
            }
            for attachment in candidates {
                let why = format!(
                    "its cache entry {} cannot be read ({})",
                    unreadable.path.display(),
                    unreadable.why
                );
                survey.keep.entry(attachment).or_insert(why);
            }
            survey.unreadable.push(unreadable);
        }
    }
    let cnitool_ids: BTreeMap<String, &PathBuf> = live
        .iter()
        .map(|(_, path)| path)
        .flat_map(|path| cnitool_ids(path).into_iter().map(move |id| (id, path)))
        .collect();
    let reservations = reservations(list)?;
    keep_by_cnitool_id(&mut survey, &cnitool_ids, &reservations);
    keep_by_live_address(&mut survey, host, &reservations);
    let kept = survey.valid();
    survey.stale_entries.retain(|e| !kept.contains(&e.attachment()));
    survey.stale_reservations =
        reservations.into_iter().filter(|r| r.holder.as_ref().is_some_and(|h| !survey.keeps(h))).collect();
    Ok(survey)
}

/// Why a cached attachment's namespace may be live; `None` when it is gone.
pub fn namespace_state(entry: &CachedAttachment, live: &[(NetnsId, PathBuf)]) -> Option<String> {
    let path = entry.netns_path();
    if path.is_empty() {
        return Some("its cache entry records no namespace".into());
    }
    if let Some(id) = entry.netns_identity {
        return match find_live(live, &id) {
            Some(now) if now.as_path() == Path::new(&path) => Some(format!("its namespace {path} exists")),
            Some(now) => Some(format!("its namespace lives on as {}", now.display())),
            None => None,
        };
    }
    NetnsId::of(Path::new(&path)).map(|_| format!("its namespace {path} exists"))
}

/// The container IDs cnitool (and cnictl) derive for a namespace path,
/// under both spellings of the run directory.
fn cnitool_ids(path: &Path) -> Vec<String> {
    let shown = path.display().to_string();
    let mut ids = vec![crate::netns::cnitool_container_id(&shown)];
    if let Some(name) = shown.strip_prefix("/var/run/netns/") {
        ids.push(crate::netns::cnitool_container_id(&format!("/run/netns/{name}")));
    } else if let Some(name) = shown.strip_prefix("/run/netns/") {
        ids.push(crate::netns::cnitool_container_id(&format!("/var/run/netns/{name}")));
    }
    ids
}

/// Keeps reservations no cache entry explains whose container ID is the
/// cnitool-style ID of a live namespace (made by cnitool or cnictl through
/// a cache not surveyed). A cached attachment's own namespace state rules
/// for it: a name made again after its namespace went is another namespace.
fn keep_by_cnitool_id(
    survey: &mut Survey,
    ids: &BTreeMap<String, &PathBuf>,
    reservations: &[host_local::store::Reservation],
) {
    let unexplained = reservations
        .iter()
        .filter_map(|r| r.holder.as_ref())
        .filter(|h| !survey.stale_entries.iter().any(|e| h.is(&e.container_id, &e.ifname)));
    let attachments: Vec<Attachment> = unexplained
        .map(|h| Attachment {
            container_id: h.container_id.clone(),
            ifname: h.ifname.clone().unwrap_or_default(),
        })
        .collect();
    for attachment in attachments {
        if let Some(path) = ids.get(&attachment.container_id) {
            let why = format!("its container ID is cnitool's for the live namespace {}", path.display());
            survey.keep.entry(attachment).or_insert(why);
        }
    }
}

/// Keeps reservations whose address is on an interface in a live namespace.
fn keep_by_live_address(
    survey: &mut Survey,
    host: &LiveHost,
    reservations: &[host_local::store::Reservation],
) {
    let open: Vec<&host_local::store::Reservation> =
        reservations.iter().filter(|r| r.holder.as_ref().is_some_and(|h| !survey.keeps(h))).collect();
    if open.is_empty() {
        return;
    }
    let held = host.addresses();
    for reservation in open {
        let (Some(holder), Some(path)) = (&reservation.holder, held.get(&reservation.address)) else {
            continue;
        };
        let attachment = Attachment {
            container_id: holder.container_id.clone(),
            ifname: holder.ifname.clone().unwrap_or_default(),
        };
        let why = format!(
            "its address {} is on an interface in the live namespace {}",
            reservation.address,
            path.display()
        );
        survey.keep.entry(attachment).or_insert(why);
    }
}

/// Every address on an interface of a live namespace, with the namespace.
fn addresses_in(live: &[(NetnsId, PathBuf)]) -> BTreeMap<IpAddr, PathBuf> {
    let mut held = BTreeMap::new();
    for (_, path) in live {
        for address in namespace_addresses(path) {
            held.entry(address).or_insert_with(|| path.clone());
        }
    }
    held
}

/// The addresses in one namespace, asked on a thread that enters it; none
/// when it cannot be entered (it went away meanwhile).
fn namespace_addresses(path: &Path) -> Vec<IpAddr> {
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    std::thread::spawn(move || {
        if nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
            return Vec::new();
        }
        let Ok(nl) = cni::netlink::Netlink::open() else { return Vec::new() };
        let links = nl.links().unwrap_or_default();
        links
            .iter()
            .flat_map(|link| nl.addresses(link.index).unwrap_or_default())
            .map(|net| net.ip())
            .collect()
    })
    .join()
    .unwrap_or_default()
}
