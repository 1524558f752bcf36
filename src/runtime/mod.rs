//! The runtime side of CNI, with libcni's semantics: run a network's
//! plugin chain for ADD, DEL, CHECK, GC and STATUS, inject `name`,
//! `cniVersion`, `prevResult` and `runtimeConfig`, and keep the result
//! cache. cnictl talks to plugins only through the exec protocol, so it
//! drives anyone's plugins, the reference ones included.

pub mod cache;
pub mod capabilities;
pub mod config;
pub mod default_network;
pub mod footprint;
pub mod free_subnet;
pub mod live_state;
pub mod liveness;
pub mod plugins;

use std::collections::BTreeSet;

use cni::conf::Attachment;
use cni::env::Command;
use cni::invoke::Invocation;
use cni::{CniError, CniResult};
use color_eyre::eyre::{bail, eyre, Result};
use serde_json::{Map, Value};

use cache::{Cache, CachedAttachment, EntryError};
use config::NetworkList;
use plugins::PluginPath;

/// The per-attachment inputs a runtime supplies.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConf {
    /// Container ID.
    pub container_id: String,
    /// Netns path.
    pub netns: String,
    /// Interface name in the container.
    pub ifname: String,
    /// `CNI_ARGS` pairs.
    pub args: Vec<(String, String)>,
    /// Capability arguments, injected as `runtimeConfig`.
    pub capability_args: Map<String, Value>,
}

impl RuntimeConf {
    fn args_string(&self) -> String {
        self.args.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")
    }
}

/// A plugin failed: which one, doing what, and its own error.
#[derive(Debug)]
pub struct PluginFailure {
    /// The plugin's type.
    pub plugin: String,
    /// The verb.
    pub verb: &'static str,
    /// The network.
    pub network: String,
    /// The plugin's error object.
    pub error: CniError,
    /// False when the plugin was not found in the plugin path (it never ran).
    pub found: bool,
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network {:?}: plugin type={:?} failed ({}): {} (CNI error code {})",
            self.network,
            self.plugin,
            self.verb.to_lowercase(),
            self.error,
            self.error.code
        )
    }
}

impl std::error::Error for PluginFailure {}

/// Runs networks' plugin chains.
pub struct Runtime {
    /// Where plugins are found.
    pub path: PluginPath,
    /// The result cache.
    pub cache: Cache,
}

/// A plugin config's `type` (Go's key rules), empty when it has none.
pub(crate) fn plugin_type(plugin: &Map<String, Value>) -> String {
    cni::gojson::get_in(plugin, "type").and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A plugin's config with the runtime's keys injected, as libcni builds it
/// (without a previous result and runtime config: what a config alone
/// gives the plugin, as `validate` sends it).
pub fn build_config(
    list: &NetworkList,
    plugin: &Map<String, Value>,
    prev: Option<&Value>,
    rt: Option<&RuntimeConf>,
) -> Vec<u8> {
    let mut conf = plugin.clone();
    conf.insert("name".into(), list.name.clone().into());
    conf.insert("cniVersion".into(), list.cni_version.clone().into());
    if let Some(prev) = prev {
        conf.insert("prevResult".into(), prev.clone());
    }
    if let Some(rt) = rt {
        let capabilities = cni::gojson::get_in(plugin, "capabilities").and_then(Value::as_object);
        let runtime_config: Map<String, Value> = capabilities
            .into_iter()
            .flatten()
            .filter(|(_, enabled)| enabled.as_bool() == Some(true))
            .filter_map(|(cap, _)| rt.capability_args.get(cap).map(|v| (cap.clone(), v.clone())))
            .collect();
        if !runtime_config.is_empty() {
            conf.insert("runtimeConfig".into(), Value::Object(runtime_config));
        }
    }
    serde_json::to_vec(&Value::Object(conf)).unwrap_or_default()
}

impl Runtime {
    /// Runs one plugin of `list` with `verb` and its `stdin` (from
    /// [`build_config`]) for the attachment `rt`; its stdout.
    pub(crate) fn exec(
        &self,
        list: &NetworkList,
        plugin: &Map<String, Value>,
        verb: Command,
        stdin: &[u8],
        rt: &RuntimeConf,
    ) -> Result<Vec<u8>> {
        let ptype = plugin_type(plugin);
        let failure = |found: bool| {
            let plugin = ptype.clone();
            move |error: CniError| PluginFailure {
                plugin,
                verb: verb.as_str(),
                network: list.name.clone(),
                error,
                found,
            }
        };
        let exe = self.path.find(&ptype).map_err(failure(false))?;
        let args = rt.args_string();
        let path = self.path.joined();
        let call = Invocation {
            command: verb,
            container_id: &rt.container_id,
            netns: &rt.netns,
            ifname: &rt.ifname,
            args: &args,
            path: &path,
        };
        Ok(cni::invoke::exec_plugin(&exe, stdin, &call).map_err(failure(true))?)
    }

    fn validate(list: &NetworkList, rt: &RuntimeConf) -> Result<()> {
        cni::env::validate_container_id(&rt.container_id)
            .map_err(|e| eyre!("container ID {:?}: {e}", rt.container_id))?;
        cni::env::validate_network_name(&list.name).map_err(|e| eyre!("{}: {e}", list.source.display()))?;
        cni::env::validate_interface_name(&rt.ifname)
            .map_err(|e| eyre!("interface name {:?}: {e}", rt.ifname))?;
        Ok(())
    }

    /// ADD: runs the chain, caches and returns the final result (in the
    /// list's version). An attachment that is already there (a cache entry
    /// for the network, container and interface, or the interface in the
    /// netns) is refused before any plugin runs. If a plugin fails, the
    /// plugins before it that succeeded get their DEL (newest first, with
    /// the result they built): the undo touches only what this ADD made.
    pub fn add(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<Value> {
        Self::validate(list, rt)?;
        self.refuse_live(list, rt)?;
        let mut prev: Option<Value> = None;
        for (done, plugin) in list.plugins.iter().enumerate() {
            let stdin = build_config(list, plugin, prev.as_ref(), Some(rt));
            let added = self
                .exec(list, plugin, Command::Add, &stdin, rt)
                .and_then(|out| parse_result(&out, &list.cni_version, &plugin_type(plugin)));
            match added {
                Ok(result) => prev = Some(result),
                Err(err) => {
                    self.undo(list, &list.plugins[..done], prev.as_ref(), rt);
                    return Err(err);
                }
            }
        }
        let result = prev.ok_or_else(|| eyre!("network {:?} has no plugins", list.name))?;
        self.cache.store(&cache::entry(&list.bytes, rt, &list.name, Some(result.clone())))?;
        Ok(result)
    }

    /// Refuses to ADD over a live attachment: cnictl's own cache entry for
    /// it, or an interface of that name in the netns (made by anyone).
    fn refuse_live(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<()> {
        let second_interface = "--ifname NAME attaches another interface";
        if self.cache.load(&list.name, &rt.container_id, &rt.ifname).is_some() {
            bail!(
                "network {:?} is already attached to container {} as {} (a cached result says so): \
                 `cnictl del` it first (or `cnictl gc` if its netns is gone); {second_interface}",
                list.name,
                rt.container_id,
                rt.ifname
            );
        }
        let netns = std::path::Path::new(&rt.netns);
        if !rt.netns.is_empty() && netns.exists() && crate::netns::has_interface(netns, &rt.ifname)? {
            bail!(
                "netns {} already has an interface {}: nothing was changed; {second_interface}",
                rt.netns,
                rt.ifname
            );
        }
        Ok(())
    }

    /// Best-effort DEL, newest first, of the plugins whose ADD succeeded,
    /// after a later one failed: every one gets its DEL even if another's
    /// fails. The failed plugin made nothing that it kept (ours undo their
    /// own ADD), and DEL of it could destroy what was there before.
    fn undo(
        &self,
        list: &NetworkList,
        succeeded: &[Map<String, Value>],
        prev: Option<&Value>,
        rt: &RuntimeConf,
    ) {
        for plugin in succeeded.iter().rev() {
            let stdin = build_config(list, plugin, prev, Some(rt));
            let _ = self.exec(list, plugin, Command::Del, &stdin, rt);
        }
    }

    /// DEL of every plugin, newest first, even after one fails: libcni
    /// stops at the first failure, and the plugins before it (host-local's
    /// reservation, bridge's veth) never run theirs (containerd#12130).
    /// Every failure is reported; the first is the error's cause.
    fn del_chain(&self, list: &NetworkList, rt: &RuntimeConf, prev: Option<&Value>) -> Result<()> {
        let mut failures = Vec::new();
        for plugin in list.plugins.iter().rev() {
            let stdin = build_config(list, plugin, prev, Some(rt));
            if let Err(e) = self.exec(list, plugin, Command::Del, &stdin, rt) {
                failures.push(e);
            }
        }
        let mut failures = failures.into_iter();
        let Some(first) = failures.next() else { return Ok(()) };
        let others: Vec<String> = failures.map(|e| format!("{e}")).collect();
        if others.is_empty() {
            return Err(first);
        }
        Err(first.wrap_err(format!(
            "DEL failed in {} plugins of network {:?}; the others ran: {}",
            others.len() + 1,
            list.name,
            others.join("; ")
        )))
    }

    /// The cached result converted to the list's version, for DEL and CHECK.
    fn cached_result(list: &NetworkList, entry: Option<CachedAttachment>) -> Option<Value> {
        if !cni::version::at_least(&list.cni_version, "0.4.0").unwrap_or(false) {
            return None;
        }
        let raw = entry?.result?;
        let result = CniResult::from_json(&raw, &list.cni_version).ok()?;
        result.to_json(&list.cni_version).ok()
    }

    /// The attachment's cache entry: `None` when there is none, or when it
    /// is broken (said on stderr; DEL then goes on without it and removes
    /// the file); an error when it may not be read (needs root).
    fn cached_entry(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<Option<CachedAttachment>> {
        match self.cache.read(&list.name, &rt.container_id, &rt.ifname) {
            Ok(entry) => Ok(entry),
            Err(EntryError::NeedsRoot(report)) => Err(report),
            Err(EntryError::Broken(why)) => {
                say!("cnictl: the cached result {why}: going on without it");
                Ok(None)
            }
        }
    }

    /// The runtime inputs for DEL and CHECK of a cached attachment: the
    /// `CNI_ARGS` and capability args cached at ADD where none are given
    /// (given ones win), and the namespace the attachment was made in,
    /// found by its identity when the path no longer leads to it. A path
    /// that now leads to another namespace is refused.
    fn with_cache(list: &NetworkList, rt: &RuntimeConf, entry: &CachedAttachment) -> Result<RuntimeConf> {
        use crate::netns::identity::{locate, Whereabouts};
        let mut rt = rt.clone();
        if rt.args.is_empty() {
            rt.args = entry.cni_args.clone().unwrap_or_default();
        }
        if rt.capability_args.is_empty() {
            rt.capability_args = entry.capability_args.clone().unwrap_or_default();
        }
        let Some(recorded) = entry.netns_identity else { return Ok(rt) };
        match locate(recorded, std::path::Path::new(&rt.netns)) {
            Whereabouts::AtPath | Whereabouts::Gone => {}
            Whereabouts::MovedTo(path) => {
                say!(
                    "cnictl: {} no longer leads to the namespace {} {} was attached in; it lives on as {}: using that",
                    rt.netns,
                    list.name,
                    rt.container_id,
                    path.display()
                );
                rt.netns = path.display().to_string();
            }
            Whereabouts::Replaced => bail!(
                "{} now leads to another network namespace than the one network {:?} was attached to \
                 container {} in (device {} inode {}, now gone): nothing was changed; `cnictl gc {}` \
                 frees what the attachment held without entering the new namespace",
                rt.netns,
                list.name,
                rt.container_id,
                recorded.dev,
                recorded.ino,
                list.name
            ),
        }
        Ok(rt)
    }

    /// DEL: runs the chain in reverse with the cached result, then drops
    /// the cache entry. Runtime arguments not given are taken from the cache.
    pub fn del(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<()> {
        let entry = self.cached_entry(list, rt)?;
        let rt = match &entry {
            Some(entry) => Self::with_cache(list, rt, entry)?,
            None => rt.clone(),
        };
        let prev = Runtime::cached_result(list, entry);
        self.del_chain(list, &rt, prev.as_ref())?;
        self.cache.remove(&list.name, &rt.container_id, &rt.ifname);
        Ok(())
    }

    /// CHECK: asks each plugin to verify the cached result, with the
    /// runtime arguments cached at ADD where none are given.
    pub fn check(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<()> {
        if !cni::version::at_least(&list.cni_version, "0.4.0").unwrap_or(false) {
            bail!(
                "network {:?}: configuration version {:?} does not support the CHECK command",
                list.name,
                list.cni_version
            );
        }
        if list.disable_check {
            return Ok(());
        }
        let entry = self.cached_entry(list, rt)?;
        let rt = match &entry {
            Some(entry) => Self::with_cache(list, rt, entry)?,
            None => rt.clone(),
        };
        let prev = Runtime::cached_result(list, entry);
        if prev.is_none() {
            bail!(
                "network {:?}: no cached result for container {:?} interface {:?} in {}",
                list.name,
                rt.container_id,
                rt.ifname,
                self.cache.path(&list.name, &rt.container_id, &rt.ifname).display()
            );
        }
        for plugin in &list.plugins {
            let stdin = build_config(list, plugin, prev.as_ref(), Some(&rt));
            self.exec(list, plugin, Command::Check, &stdin, &rt)?;
        }
        Ok(())
    }

    /// GC: deletes cached attachments of this network that are not in
    /// `valid`, then (1.1.0 and later) sends GC to each plugin with the
    /// valid set. Returns the attachments it deleted. `valid` must hold
    /// everything that may be live (`liveness::survey`).
    pub fn gc(&self, list: &NetworkList, valid: &BTreeSet<Attachment>) -> Result<Vec<Attachment>> {
        if list.disable_gc {
            return Ok(Vec::new());
        }
        let mut errors = Vec::new();
        let mut removed = Vec::new();
        let listing = self.cache.listing()?;
        for (entry, _) in listing.readable.into_iter().filter(|(e, _)| e.network == list.name) {
            let attachment =
                Attachment { container_id: entry.container_id.clone(), ifname: entry.ifname.clone() };
            if valid.contains(&attachment) {
                continue;
            }
            // A namespace path that now leads to another namespace is not
            // entered: DEL runs as after a reboot, with no netns.
            let replaced = entry.netns_identity.is_some_and(|id| {
                crate::netns::identity::locate(id, std::path::Path::new(&entry.netns))
                    == crate::netns::identity::Whereabouts::Replaced
            });
            let rt = RuntimeConf {
                container_id: entry.container_id.clone(),
                netns: if replaced { String::new() } else { entry.netns.clone() },
                ifname: entry.ifname.clone(),
                args: entry.cni_args.clone().unwrap_or_default(),
                capability_args: entry.capability_args.clone().unwrap_or_default(),
            };
            match self.del(list, &rt) {
                Ok(()) => removed.push(attachment),
                Err(e) => errors.push(format!(
                    "failed to delete stale attachment {} {}: {e}",
                    rt.container_id, rt.ifname
                )),
            }
        }
        if cni::version::at_least(&list.cni_version, "1.1.0").unwrap_or(false) {
            let valid_json = serde_json::to_value(valid.iter().collect::<Vec<_>>())?;
            for plugin in &list.plugins {
                let mut conf = plugin.clone();
                conf.insert("cni.dev/valid-attachments".into(), valid_json.clone());
                conf.insert("cni.dev/attachments".into(), valid_json.clone());
                let stdin = build_config(list, &conf, None, None);
                if let Err(e) = self.exec(list, plugin, Command::Gc, &stdin, &RuntimeConf::default()) {
                    errors.push(e.to_string());
                }
            }
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("\n"));
        }
        Ok(removed)
    }

    /// STATUS: asks each plugin (1.1.0 and later) whether it can serve ADDs.
    pub fn status(&self, list: &NetworkList) -> Result<()> {
        if !cni::version::at_least(&list.cni_version, "1.1.0").unwrap_or(false) {
            return Ok(());
        }
        for plugin in &list.plugins {
            let stdin = build_config(list, plugin, None, None);
            self.exec(list, plugin, Command::Status, &stdin, &RuntimeConf::default())?;
        }
        Ok(())
    }
}

/// Parses a plugin's ADD output; a result without `cniVersion` is taken
/// to be of the list's version, as libcni does.
fn parse_result(out: &[u8], list_version: &str, plugin: &str) -> Result<Value> {
    let value: Value = serde_json::from_slice(out)
        .map_err(|e| eyre!("plugin {plugin:?} printed a result that is not JSON: {e}"))?;
    let result = CniResult::from_json(&value, list_version).map_err(|e| eyre!("plugin {plugin:?}: {e}"))?;
    result.to_json(list_version).map_err(|e| eyre!("plugin {plugin:?}: {e}"))
}
