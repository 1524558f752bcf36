//! `cnictl network reload [NAME...]`: puts back the host-side rules of
//! every live attachment after a firewall flush (`iptables -F`, `nft flush
//! ruleset`, a firewalld reload), as `podman network reload` does.
//!
//! For each cached attachment of the networks (every network of the
//! config dir when none is named) whose namespace lives and whose host
//! interfaces are in the namespace cnictl runs in, with the config and
//! result cached at its ADD:
//!
//! - bridge's masquerade (`ipMasq`): `cni::ipmasq::restore` with the
//!   result's addresses and the config's backend, under the attachment's
//!   lock, which re-applies only what is missing;
//! - portmap (with cached port mappings): CHECK, and the shared entry
//!   rules; if anything is missing, portmap's DEL then ADD (its nftables
//!   ADD would add the attachment's rules a second time next to those
//!   left, so they are removed first);
//! - firewall: CHECK, and ADD if it fails (its ADD adds only what is
//!   missing, in every backend).
//!
//! bridge's and IPAM's ADD never run again: they would touch links and
//! reservations of a live container. Nothing is added when nothing was
//! lost, so reloading twice changes nothing the second time.

use std::collections::BTreeSet;
use std::process::ExitCode;

use cni::attachment_lock::AttachmentLock;
use cni::env::Command;
use cni::gojson::GoKeys;
use cni::ipmasq::{self, Backend, Owner};
use cni::netlink::Netlink;
use cni::CniResult;
use color_eyre::eyre::{bail, eyre, Result};
use serde::Serialize;
use serde_json::{Map, Value};

use super::known_networks;
use crate::commands::Context;
use crate::inspect;
use crate::netns::identity::{find_live, live_namespaces, NetnsId};
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::cache::{Cache, CachedAttachment};
use crate::runtime::config::NetworkList;
use crate::runtime::{build_config, RuntimeConf};

/// What became of one part of one attachment's rules.
#[derive(Debug, Serialize)]
struct Row {
    network: String,
    #[serde(rename = "containerId")]
    container_id: String,
    ifname: String,
    /// Which rules: `masquerade (iptables)`, `portmap`, `firewall`, or `-`.
    rules: String,
    /// `present` (nothing done), `restored`, `failed` or `skipped`.
    state: String,
    /// What was missing, the error, or why it was skipped.
    detail: String,
}

/// Every row of a reload.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Reloaded(Vec<Row>);

impl View for Reloaded {
    fn headers(&self) -> &'static [&'static str] {
        &["NETWORK", "CONTAINER", "IFNAME", "RULES", "STATE"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.0
            .iter()
            .map(|r| {
                let tone = match r.state.as_str() {
                    "failed" => Tone::Alarm,
                    "skipped" | "restored" => Tone::Notice,
                    _ => Tone::Plain,
                };
                let state =
                    if r.detail.is_empty() { r.state.clone() } else { format!("{}: {}", r.state, r.detail) };
                vec![
                    r.network.clone().into(),
                    render::short_id(&r.container_id).into(),
                    r.ifname.clone().into(),
                    r.rules.clone().into(),
                    Cell::toned(state, tone),
                ]
            })
            .collect()
    }

    fn empty(&self) -> String {
        "no live attachments to reload".into()
    }
}

/// Runs `network reload`.
pub fn run(ctx: &Context, names: &[String], format: Format) -> Result<ExitCode> {
    let known = known_networks(&ctx.conf_dir)?;
    let caches = ctx.surveyed_caches();
    let wanted: BTreeSet<String> = if names.is_empty() {
        known.iter().map(|k| k.name.clone()).collect()
    } else {
        let cached: Vec<CachedAttachment> = caches.iter().flat_map(Cache::list).collect();
        for name in names {
            if !known.iter().any(|k| &k.name == name) && !cached.iter().any(|e| &e.network == name) {
                bail!("no network named {name:?} in {} nor in the result cache", ctx.conf_dir.display());
            }
        }
        names.iter().cloned().collect()
    };
    let live = live_namespaces();
    let nl = Netlink::open().map_err(|e| eyre!("cannot read the host's links: {e}"))?;
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for cache in &caches {
        let listing = cache.listing()?;
        for (entry, _) in listing.readable.iter().filter(|(e, _)| wanted.contains(&e.network)) {
            if seen.insert((entry.network.clone(), entry.container_id.clone(), entry.ifname.clone())) {
                rows.extend(Attachment { ctx, cache, entry }.reload(&live, &nl));
            }
        }
        for unreadable in &listing.unreadable {
            for network in wanted.iter().filter(|n| !unreadable.candidates(n).is_empty()) {
                rows.push(Row {
                    network: network.clone(),
                    container_id: String::new(),
                    ifname: String::new(),
                    rules: "-".into(),
                    state: "skipped".into(),
                    detail: format!(
                        "cache entry {} cannot be read ({})",
                        unreadable.path.display(),
                        unreadable.why
                    ),
                });
            }
        }
    }
    let failed = rows.iter().any(|r| r.state == "failed");
    render::show(format, &Reloaded(rows))?;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// One cached attachment being reloaded.
struct Attachment<'a> {
    ctx: &'a Context,
    cache: &'a Cache,
    entry: &'a CachedAttachment,
}

/// What reloading one part found: `None` when it was all there, else what
/// was missing (as it is reported).
type Outcome = Result<Option<String>>;

impl Attachment<'_> {
    fn row(&self, rules: &str, state: &str, detail: String) -> Row {
        Row {
            network: self.entry.network.clone(),
            container_id: self.entry.container_id.clone(),
            ifname: self.entry.ifname.clone(),
            rules: rules.to_string(),
            state: state.to_string(),
            detail,
        }
    }

    fn outcome_row(&self, rules: &str, outcome: Outcome) -> Row {
        match outcome {
            Ok(None) => self.row(rules, "present", String::new()),
            Ok(Some(missing)) => self.row(rules, "restored", missing),
            Err(e) => self.row(rules, "failed", format!("{e:#}")),
        }
    }

    /// The namespace the attachment lives in now, or why it is skipped.
    fn netns(&self, live: &[(NetnsId, std::path::PathBuf)]) -> std::result::Result<String, String> {
        let path = self.entry.netns_path();
        if path.is_empty() {
            return Err("its cache entry records no namespace".into());
        }
        let now = match self.entry.netns_identity {
            Some(id) => find_live(live, &id).cloned(),
            None => NetnsId::of(std::path::Path::new(&path)).map(|_| path.clone().into()),
        };
        now.map(|p| p.display().to_string()).ok_or_else(|| {
            format!("its namespace {path} is gone: `cnictl gc {}` frees what it held", self.entry.network)
        })
    }

    /// Every part of the attachment's rules, one row each.
    fn reload(&self, live: &[(NetnsId, std::path::PathBuf)], nl: &Netlink) -> Vec<Row> {
        let netns = match self.netns(live) {
            Ok(netns) => netns,
            Err(why) => return vec![self.row("-", "skipped", why)],
        };
        for name in inspect::host_interfaces(self.entry.result.as_ref()) {
            if !matches!(nl.link_by_name(&name), Ok(Some(_))) {
                let why = format!("its host interface {name} is not in the network namespace cnictl runs in");
                return vec![self.row("-", "skipped", why)];
            }
        }
        let (list, prev, result) = match self.cached() {
            Ok(cached) => cached,
            Err(e) => return vec![self.row("-", "failed", format!("{e:#}"))],
        };
        let rt = RuntimeConf {
            container_id: self.entry.container_id.clone(),
            netns,
            ifname: self.entry.ifname.clone(),
            args: self.entry.cni_args.clone().unwrap_or_default(),
            capability_args: self.entry.capability_args.clone().unwrap_or_default(),
        };
        let mut rows = Vec::new();
        for plugin in &list.plugins {
            match plugin.go_get("type").and_then(Value::as_str) {
                Some("bridge") if plugin.go_get("ipMasq").and_then(Value::as_bool) == Some(true) => {
                    let backend = plugin.go_get("ipMasqBackend").and_then(Value::as_str);
                    let label = match Backend::choose(backend) {
                        Ok(Backend::Nftables) => "masquerade (nftables)",
                        _ => "masquerade (iptables)",
                    };
                    rows.push(self.outcome_row(label, self.masquerade(backend, &result)));
                }
                Some("portmap") if has_mappings(plugin, &rt) => {
                    rows.push(self.outcome_row("portmap", self.portmap(&list, plugin, &prev, &rt, &result)));
                }
                Some("firewall") => {
                    rows.push(self.outcome_row("firewall", self.firewall(&list, plugin, &prev, &rt)))
                }
                _ => {}
            }
        }
        if rows.is_empty() {
            rows.push(self.row("-", "present", "its chain makes no host rules to reload".into()));
        }
        rows
    }

    /// The config cached at ADD, and the cached result in its version (as
    /// JSON for the plugins, and parsed).
    fn cached(&self) -> Result<(NetworkList, Value, CniResult)> {
        let e = self.entry;
        let file = self.cache.path(&e.network, &e.container_id, &e.ifname);
        let list = cni::conflist::parse_conflist(&e.config, &file)
            .or_else(|_| cni::conflist::parse_single(&e.config, &file))
            .map_err(|err| eyre!("the config cached in {} does not parse: {err}", file.display()))?;
        let raw = e.result.as_ref().ok_or_else(|| eyre!("{} holds no result", file.display()))?;
        let result = CniResult::from_json(raw, &list.cni_version)
            .map_err(|err| eyre!("the result cached in {}: {err}", file.display()))?;
        let prev = result.to_json(&list.cni_version).map_err(|err| eyre!("{err}"))?;
        Ok((list, prev, result))
    }

    /// bridge's masquerade, under the attachment's lock, if the attachment
    /// is still cached once the lock is held (a DEL may have run meanwhile).
    fn masquerade(&self, backend: Option<&str>, result: &CniResult) -> Outcome {
        let e = self.entry;
        let backend = Backend::choose(backend).map_err(|err| eyre!("{err}"))?;
        let _lock = AttachmentLock::acquire(&e.network, &e.container_id, &e.ifname);
        if !matches!(self.cache.read(&e.network, &e.container_id, &e.ifname), Ok(Some(_))) {
            bail!("the attachment was deleted meanwhile");
        }
        let addresses: Vec<_> = result.ips.iter().map(|ip| ip.address).collect();
        let owner = Owner { network: &e.network, ifname: &e.ifname, container_id: &e.container_id };
        let missing = ipmasq::restore(backend, &addresses, &owner).map_err(|err| eyre!("{err}"))?;
        Ok(missing.map(|m| format!("missing {m}")))
    }

    /// portmap: CHECK and the shared entry rules; DEL then ADD when
    /// anything is missing.
    fn portmap(
        &self,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        prev: &Value,
        rt: &RuntimeConf,
        result: &CniResult,
    ) -> Outcome {
        let runtime = &self.ctx.runtime;
        let stdin = build_config(list, plugin, Some(prev), Some(rt));
        let checkable = cni::version::at_least(&list.cni_version, "0.4.0").unwrap_or(false);
        let missing = match checkable.then(|| runtime.exec(list, plugin, Command::Check, &stdin, rt)) {
            Some(Ok(_)) => portmap_entries_missing(self.entry, result)?,
            Some(Err(e)) => Some(format!("CHECK said: {}", check_words(&e))),
            None => Some("no CHECK before spec 0.4.0: re-made".into()),
        };
        let Some(missing) = missing else { return Ok(None) };
        runtime.exec(list, plugin, Command::Del, &stdin, rt)?;
        runtime.exec(list, plugin, Command::Add, &stdin, rt)?;
        self.undo_if_deleted(list, plugin, &stdin, rt)?;
        Ok(Some(missing))
    }

    /// After a plugin's ADD: when the attachment's cache entry went away
    /// meanwhile (the runtime DELed the container after reload read the
    /// cache), that ADD put back rules for an address that may already be
    /// another container's: the plugin's DEL takes them away again. The
    /// entry is read under the attachment's lock, released before the DEL
    /// (the plugin takes it itself).
    fn undo_if_deleted(
        &self,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        stdin: &[u8],
        rt: &RuntimeConf,
    ) -> Result<()> {
        let e = self.entry;
        let gone = {
            let _lock = AttachmentLock::acquire(&e.network, &e.container_id, &e.ifname);
            matches!(self.cache.read(&e.network, &e.container_id, &e.ifname), Ok(None))
        };
        if gone {
            self.ctx.runtime.exec(list, plugin, Command::Del, stdin, rt)?;
            bail!("the attachment was deleted meanwhile: the rules put back were removed again");
        }
        Ok(())
    }

    /// firewall: CHECK, and ADD (which adds only what is missing) if it fails.
    fn firewall(
        &self,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        prev: &Value,
        rt: &RuntimeConf,
    ) -> Outcome {
        let runtime = &self.ctx.runtime;
        let stdin = build_config(list, plugin, Some(prev), Some(rt));
        match runtime.exec(list, plugin, Command::Check, &stdin, rt) {
            Ok(_) => Ok(None),
            Err(e) => {
                runtime.exec(list, plugin, Command::Add, &stdin, rt)?;
                self.undo_if_deleted(list, plugin, &stdin, rt)?;
                Ok(Some(format!("CHECK said: {}", check_words(&e))))
            }
        }
    }
}

/// A plugin failure's own message, without cnictl's framing.
fn check_words(e: &color_eyre::eyre::Report) -> String {
    match e.downcast_ref::<crate::runtime::PluginFailure>() {
        Some(failure) => failure.error.msg.clone(),
        None => format!("{e:#}"),
    }
}

/// Whether portmap has mappings to make: it declares the capability and
/// the attachment was given some.
fn has_mappings(plugin: &Map<String, Value>, rt: &RuntimeConf) -> bool {
    let declared = plugin
        .go_get("capabilities")
        .and_then(|c| c.go_get("portMappings"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let given =
        rt.capability_args.get("portMappings").and_then(Value::as_array).is_some_and(|m| !m.is_empty());
    declared && given
}

/// The shared entry rules portmap's CHECK does not look at (PREROUTING and
/// OUTPUT into CNI-HOSTPORT-DNAT; nftables' prerouting and output chains),
/// in the backend that holds the attachment's rules.
fn portmap_entries_missing(entry: &CachedAttachment, result: &CniResult) -> Result<Option<String>> {
    use cni::netfilter::{iptables, nftnl};
    for ipv6 in [false, true] {
        if !result.ips.iter().any(|ip| ip.address.is_ipv6() == ipv6) {
            continue;
        }
        let chain = cni::netfilter::hash_with_prefix(
            28,
            "CNI-DN-",
            &format!("{}{}", entry.network, entry.container_id),
        );
        if iptables::chain_may_exist(ipv6, "nat", &chain) {
            let saved = iptables::save(ipv6, "nat").map_err(|e| eyre!("{e}"))?;
            if iptables::has_chain(&saved, &chain) {
                for hook in ["PREROUTING", "OUTPUT"] {
                    if iptables::rules_jumping_to(&saved, hook, "CNI-HOSTPORT-DNAT").is_empty() {
                        return Ok(Some(format!("missing the {hook} jump to CNI-HOSTPORT-DNAT")));
                    }
                }
                continue;
            }
        }
        let family = if ipv6 { nftnl::FAMILY_IPV6 } else { nftnl::FAMILY_IPV4 };
        let listing = nftnl::list_rules(family, "cni_hostport", &["prerouting", "output"])
            .map_err(|e| eyre!("{e}"))?
            .unwrap_or_default();
        for hook in ["prerouting", "output"] {
            if !listing.rules.iter().any(|r| r.chain == hook) {
                return Ok(Some(format!("missing the {hook} entry rule of table cni_hostport")));
            }
        }
    }
    Ok(None)
}
