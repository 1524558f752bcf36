//! `cnictl inspect TARGET`: one attachment as the kernel holds it now, set
//! beside its cache entry: namespace, owner (the runtime's CNI_ARGS), the
//! container interface read in its namespace, the host veth and its bridge
//! port, each port mapping against its live DNAT rule, bandwidth limits,
//! firewall rules, and the cached config against the network's file.
//! TARGET is as [`target::resolve`] reads it; every attachment it names
//! is shown.

pub mod drift;
mod table;
pub mod target;

use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde::Serialize;

use super::Context;
use crate::render::{self, Format};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::live_state::{self, LiveState};

/// Who an attachment is for, from the runtime's CNI_ARGS.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    /// `kubernetes` (a pod: K8S_POD_NAMESPACE and K8S_POD_NAME) or
    /// `podman` (podman 4's CNI backend passes the container's name as
    /// K8S_POD_NAME, and no namespace).
    pub runtime: &'static str,
    /// The pod's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The pod's or container's name.
    pub name: String,
}

impl Owner {
    /// From CNI_ARGS pairs; `None` without K8S_POD_NAME.
    pub fn of(args: Option<&[(String, String)]>) -> Option<Owner> {
        let get = |key: &str| args?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let name = get("K8S_POD_NAME").filter(|n| !n.is_empty())?;
        match get("K8S_POD_NAMESPACE").filter(|n| !n.is_empty()) {
            Some(namespace) => Some(Owner { runtime: "kubernetes", namespace: Some(namespace), name }),
            None => Some(Owner { runtime: "podman", namespace: None, name }),
        }
    }

    /// As the table says it.
    pub fn text(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("pod {ns}/{} (kubernetes)", self.name),
            None => format!("container {} (podman's K8S_POD_NAME)", self.name),
        }
    }
}

/// One attachment, inspected.
#[derive(Debug, Serialize)]
pub struct Inspected {
    /// Network name.
    pub network: String,
    /// Container ID.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// Interface in the container.
    pub ifname: String,
    /// The owner named by the runtime's CNI_ARGS.
    pub owner: Option<Owner>,
    /// The CNI_ARGS the attachment was made with.
    #[serde(rename = "cniArgs")]
    pub cni_args: Vec<(String, String)>,
    /// The addresses of the cached result.
    #[serde(rename = "resultIPs")]
    pub result_ips: Vec<String>,
    /// What the kernel holds now.
    #[serde(flatten)]
    pub live: LiveState,
    /// The cached config against the network's file.
    pub config: drift::Drift,
}

/// Inspects each of `entries`, reading the host's rules once.
pub fn inspect(ctx: &Context, entries: Vec<CachedAttachment>) -> Vec<Inspected> {
    let rules = live_state::Rules::read();
    let live = crate::netns::identity::live_namespaces();
    entries
        .into_iter()
        .map(|entry| Inspected {
            live: live_state::read(&entry, &live, &rules),
            config: drift::drift(ctx, &entry),
            owner: Owner::of(entry.cni_args.as_deref()),
            result_ips: crate::inspect::result_ips(entry.result.as_ref()),
            cni_args: entry.cni_args.unwrap_or_default(),
            network: entry.network,
            container_id: entry.container_id,
            ifname: entry.ifname,
        })
        .collect()
}

/// The attachments `target` names ([`target::resolve`]); a network name
/// that names no attachment comes back as `None`.
pub fn find(ctx: &Context, target: &str) -> Result<Option<Vec<CachedAttachment>>> {
    let listing = ctx.runtime.cache.listing()?;
    let entries = listing.readable.into_iter().map(|(e, _)| e).collect();
    let resolved = target::resolve(entries, target, || ctx.network(target).is_ok());
    // A broken entry is never passed over in silence: one whose file name
    // holds the target is named with the error.
    let unreadable: Vec<String> =
        listing.unreadable.iter().filter(|u| u.file_name().contains(target)).map(|u| u.why.clone()).collect();
    match resolved {
        Ok(target::Matched::Attachments(found)) => Ok(Some(found)),
        Ok(target::Matched::Network) => Ok(None),
        Err(e) if !unreadable.is_empty() => Err(
            e.wrap_err(format!("cache entries that may be of it cannot be read: {}", unreadable.join("; ")))
        ),
        Err(e) => Err(e),
    }
}

/// Prints the attachments `target` names; a network name that names none
/// prints that network, as `show` does.
pub fn run(ctx: &Context, target: &str, format: Format) -> Result<ExitCode> {
    let Some(entries) = find(ctx, target)? else {
        return super::show::run(ctx, target, format);
    };
    let inspected = inspect(ctx, entries);
    if format == Format::Json {
        render::print_json(&serde_json::to_value(&inspected)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text: Vec<String> = inspected.iter().map(table::sections).collect();
    render::line(text.join("\n\n"))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_comes_from_the_runtimes_args() {
        let pod = vec![
            ("IgnoreUnknown".to_string(), "1".to_string()),
            ("K8S_POD_NAMESPACE".into(), "default".into()),
            ("K8S_POD_NAME".into(), "web".into()),
        ];
        let owner = Owner::of(Some(&pod)).unwrap();
        assert_eq!(
            (owner.runtime, owner.namespace.as_deref(), owner.name.as_str()),
            ("kubernetes", Some("default"), "web")
        );
        let podman =
            vec![("IgnoreUnknown".to_string(), "1".to_string()), ("K8S_POD_NAME".into(), "db".into())];
        assert_eq!(Owner::of(Some(&podman)).unwrap().runtime, "podman");
        assert!(Owner::of(None).is_none());
    }
}
