//! `cnictl network rm NAME`: removes a network that nothing is attached
//! to, and what its plugins leave on the host after the last DEL.
//!
//! Refused, changing nothing, while anything may still be attached: an
//! entry of the network in a surveyed result cache (the one given and
//! /var/lib/cni; an entry that cannot be read but whose file name may be
//! the network's counts too), a host-local reservation of it, or a port on
//! its bridge that no other network explains. Otherwise the file goes,
//! then the bridge (only with no ports left and no other network naming
//! it), the firewall's isolation rules naming that bridge (iptables keeps
//! them after the last DEL), host-local's emptied store (its lock and
//! last-reserved hint) and the firewall's emptied record directory.
//! What all networks share stays: the masquerade, portmap and firewall
//! tables and chains (CNI-FORWARD, CNI-ADMIN, cni_hostport, ...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cni::gojson::GoKeys;
use cni::netlink::{LinkKind, Netlink};
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use ipnetwork::IpNetwork;
use serde::Serialize;
use serde_json::Value;

use super::{bridges, known_networks};
use crate::commands::Context;
use crate::netns::identity::live_namespaces;
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::config::NetworkList;
use crate::runtime::liveness::{host_local_stores, namespace_state, reservations};

/// The firewall's iptables isolation chains (ingressPolicy).
const ISOLATION_CHAINS: [&str; 2] = ["CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"];

/// One thing `rm` did or left.
#[derive(Debug, Serialize)]
struct Step {
    /// What: the file, the bridge, rules, a directory.
    what: String,
    /// `removed`, or `kept`.
    state: String,
    /// Why it was kept; empty when removed.
    why: String,
}

/// What `rm` did.
#[derive(Debug, Serialize)]
struct Removed {
    network: String,
    steps: Vec<Step>,
}

impl View for Removed {
    fn headers(&self) -> &'static [&'static str] {
        &["WHAT", "STATE"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        let state = |s: &Step| match s.why.is_empty() {
            true => Cell::from(s.state.clone()),
            false => Cell::toned(format!("{}: {}", s.state, s.why), Tone::Notice),
        };
        self.steps.iter().map(|s| vec![s.what.clone().into(), state(s)]).collect()
    }

    fn empty(&self) -> String {
        String::new()
    }
}

impl Removed {
    fn removed(&mut self, what: String) {
        self.steps.push(Step { what, state: "removed".into(), why: String::new() });
    }

    fn kept(&mut self, what: String, why: impl Into<String>) {
        self.steps.push(Step { what, state: "kept".into(), why: why.into() });
    }
}

/// A bridge of the network and what becomes of it.
struct BridgePlan {
    name: String,
    /// Its index when it is to be deleted.
    delete: Option<u32>,
    /// Why it stays, when it does.
    keep_why: String,
    /// It stays because it has ports no cache entry explains.
    busy: bool,
}

/// Runs `network rm`.
pub fn run(ctx: &Context, name: &str, format: Format) -> Result<ExitCode> {
    let list = ctx.network(name)?;
    let attached = attachments(ctx, &list)?;
    if !attached.is_empty() {
        bail!(
            "network {name:?} still has attachments, nothing was removed:\n    {}\n\
             Detach live ones with `cnictl del {name} NETNS` (or their runtime); \
             `cnictl gc {name}` removes those whose namespace is gone",
            attached.join("\n    ")
        );
    }
    let nl = Netlink::open().map_err(|e| eyre!("cannot read the host's links: {e}"))?;
    let plans = bridge_plans(ctx, &list, &nl)?;
    if let Some(busy) = plans.iter().find(|p| p.busy) {
        bail!(
            "the bridge {} of network {name:?} still has ports that no cache entry explains ({}); \
             attachments made by a runtime cnictl does not survey may be live: nothing was removed",
            busy.name,
            busy.keep_why
        );
    }
    let mut report = Removed { network: name.to_string(), steps: Vec::new() };
    std::fs::remove_file(&list.source)
        .wrap_err_with(|| format!("failed to remove {}", list.source.display()))?;
    report.removed(format!("file {}", list.source.display()));
    for plan in &plans {
        let what = format!("bridge {}", plan.name);
        match plan.delete {
            // Looked at again just before: an ADD that read the file
            // before it went may have put a port on the bridge since.
            Some(index) if has_ports(&nl, index) => report.kept(what, "a port appeared on it meanwhile"),
            Some(index) => {
                nl.delete_link(index).map_err(|e| eyre!("failed to delete the bridge {}: {e}", plan.name))?;
                report.removed(what);
                remove_isolation_rules(&plan.name, &mut report);
            }
            None => report.kept(what, plan.keep_why.clone()),
        }
    }
    let shared = shared_rules(&list);
    if !shared.is_empty() {
        report.kept("shared tables and chains".into(), format!("{} serve every network", shared.join(", ")));
    }
    for store in host_local_stores(&list) {
        remove_emptied_dir(&store, "host-local store", is_store_debris, &mut report);
    }
    for dir in firewall_record_dirs(&list) {
        remove_emptied_dir(&dir, "firewall records", |_| false, &mut report);
    }
    render::show(format, &report)?;
    Ok(ExitCode::SUCCESS)
}

/// Everything that says the network may still be attached, in words.
fn attachments(ctx: &Context, list: &NetworkList) -> Result<Vec<String>> {
    let live = live_namespaces();
    let mut found = Vec::new();
    let mut ids = Vec::new();
    for cache in ctx.surveyed_caches() {
        let listing = cache.listing()?;
        for (entry, _) in listing.readable.iter().filter(|(e, _)| e.network == list.name) {
            let state = namespace_state(entry, &live).unwrap_or_else(|| "its namespace is gone".into());
            let file = cache.path(&entry.network, &entry.container_id, &entry.ifname);
            found.push(format!(
                "container {} {} ({state}; {})",
                entry.container_id,
                entry.ifname,
                file.display()
            ));
            ids.push(entry.container_id.clone());
        }
        for unreadable in listing.unreadable.iter().filter(|u| !u.candidates(&list.name).is_empty()) {
            found.push(format!(
                "cache entry {} cannot be read ({}): its name says it may be an attachment of {}",
                unreadable.path.display(),
                unreadable.why,
                list.name
            ));
        }
    }
    for reservation in reservations(list)? {
        let holder = reservation.holder.as_ref();
        if holder.is_some_and(|h| ids.contains(&h.container_id)) {
            continue;
        }
        let whose =
            holder.map(|h| format!("container {}", h.container_id)).unwrap_or("no one it names".into());
        found.push(format!(
            "host-local reserves {} for {whose} ({})",
            reservation.address,
            reservation.path.display()
        ));
    }
    Ok(found)
}

/// What becomes of each bridge of the network.
fn bridge_plans(ctx: &Context, list: &NetworkList, nl: &Netlink) -> Result<Vec<BridgePlan>> {
    let others: Vec<_> =
        known_networks(&ctx.conf_dir)?.into_iter().filter(|k| k.file != list.source).collect();
    let links = nl.links().map_err(|e| eyre!("cannot list the host's links: {e}"))?;
    let subnets: Vec<IpNetwork> =
        crate::inspect::subnets(list).iter().filter_map(|s| s.parse().ok()).collect();
    let mut plans = Vec::new();
    for name in bridges(list) {
        let keep = |why: String| BridgePlan { name: name.clone(), delete: None, keep_why: why, busy: false };
        let plan = if let Some(other) = others.iter().find(|k| k.bridges.contains(&name)) {
            keep(format!("network {} ({}) uses it too", other.name, other.file.display()))
        } else {
            match links.iter().find(|l| l.name == name) {
                None => keep("no such link on this host (never made, or gone)".into()),
                Some(link) if link.kind != LinkKind::Bridge => keep("it is not a bridge".into()),
                Some(link) => {
                    let ports: Vec<&str> = links
                        .iter()
                        .filter(|l| l.master == Some(link.index))
                        .map(|l| l.name.as_str())
                        .collect();
                    let foreign = foreign_addresses(nl, link.index, &subnets);
                    if !foreign.is_empty() {
                        keep(format!(
                            "it holds {}, in no subnet of this network: not the bridge plugin's gateway, so not made for it",
                            foreign.join(", ")
                        ))
                    } else if ports.is_empty() {
                        BridgePlan {
                            name: name.clone(),
                            delete: Some(link.index),
                            keep_why: String::new(),
                            busy: false,
                        }
                    } else {
                        BridgePlan { busy: true, ..keep(format!("its ports {}", ports.join(", "))) }
                    }
                }
            }
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// The addresses on the link `index` that no subnet of the network holds
/// (link-local ones aside): a bridge with such an address is someone
/// else's (docker0, virbr0, one made by hand), whatever the config names.
/// One whose addresses cannot be read counts as someone else's.
fn foreign_addresses(nl: &Netlink, index: u32, subnets: &[IpNetwork]) -> Vec<String> {
    let Ok(addresses) = nl.addresses(index) else { return vec!["addresses that cannot be read".into()] };
    addresses
        .into_iter()
        .filter(|a| !matches!(a.ip(), std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
        .filter(|a| !subnets.iter().any(|s| s.contains(a.ip())))
        .map(|a| a.to_string())
        .collect()
}

/// Whether the link `index` has ports (or the links cannot be listed).
fn has_ports(nl: &Netlink, index: u32) -> bool {
    nl.links().map(|links| links.iter().any(|l| l.master == Some(index))).unwrap_or(true)
}

/// Deletes the firewall's iptables isolation rules that name `bridge`
/// (both families), which its DEL leaves after the last attachment.
fn remove_isolation_rules(bridge: &str, report: &mut Removed) {
    let names = [format!(" -i {bridge} "), format!(" -o {bridge} ")];
    for ipv6 in [false, true] {
        if !cni::netfilter::iptables::available(ipv6) {
            continue;
        }
        let doomed = |saved: &str| -> String {
            saved
                .lines()
                .filter(|l| ISOLATION_CHAINS.iter().any(|c| l.starts_with(&format!("-A {c} "))))
                .filter(|l| names.iter().any(|n| format!("{l} ").contains(n.as_str())))
                .map(|l| format!("-D{}\n", &l[2..]))
                .collect()
        };
        let family = if ipv6 { "IPv6" } else { "IPv4" };
        let count = cni::netfilter::iptables::save(ipv6, "filter").map(|s| doomed(&s).lines().count());
        match count {
            Ok(0) => {}
            Ok(n) => match cni::netfilter::iptables::transact(ipv6, "filter", doomed) {
                Ok(()) => report.removed(format!("{n} {family} firewall isolation rules of {bridge}")),
                Err(e) => report.kept(format!("{family} firewall isolation rules of {bridge}"), e.msg),
            },
            Err(e) => report.kept(format!("{family} firewall isolation rules of {bridge}"), e.msg),
        }
    }
}

/// The tables and chains the chain's plugins share with every network's
/// (left in place by DEL and by `rm`).
fn shared_rules(list: &NetworkList) -> Vec<&'static str> {
    let mut shared = Vec::new();
    for plugin in &list.plugins {
        let names: &[&'static str] = match plugin.go_get("type").and_then(Value::as_str) {
            Some("bridge") if plugin.go_get("ipMasq").and_then(Value::as_bool) == Some(true) => {
                &["cni_plugins_masquerade"]
            }
            Some("portmap") => &["CNI-HOSTPORT-*", "cni_hostport"],
            Some("firewall") => &["CNI-FORWARD", "CNI-ADMIN", "cni_plugins_firewall"],
            _ => &[],
        };
        shared.extend(names.iter().filter(|n| !shared.contains(*n)).collect::<Vec<_>>());
    }
    shared
}

/// Files host-local leaves in its store after the last release.
fn is_store_debris(name: &str) -> bool {
    name == "lock" || name.starts_with("last_reserved_ip.") || cni::statefile::is_temp_name(name)
}

/// The firewall's record directories of the chain's firewall plugins.
fn firewall_record_dirs(list: &NetworkList) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for plugin in list.plugins.iter().filter(|p| p.go_get("type").and_then(Value::as_str) == Some("firewall"))
    {
        let data_dir = plugin.go_get("dataDir").and_then(Value::as_str).filter(|d| !d.is_empty());
        let dir = Path::new(data_dir.unwrap_or(firewall::state::DEFAULT_DATA_DIR)).join(&list.name);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Removes `dir` when it holds nothing but `debris` (which goes with it).
fn remove_emptied_dir(dir: &Path, what: &str, debris: impl Fn(&str) -> bool, report: &mut Removed) {
    let label = format!("{what} {}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let names: Vec<String> =
        entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    if let Some(other) = names.iter().find(|n| !debris(n)) {
        report.kept(label, format!("it holds {other}"));
        return;
    }
    let removed = names
        .iter()
        .try_for_each(|n| std::fs::remove_file(dir.join(n)))
        .and_then(|()| std::fs::remove_dir(dir));
    match removed {
        Ok(()) => report.removed(label),
        Err(e) => report.kept(label, e.to_string()),
    }
}
