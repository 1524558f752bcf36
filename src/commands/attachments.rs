//! `cnictl attachments` (`ps`): the live attachments libcni's result cache
//! records, and whether each one's namespace still exists.

use std::process::ExitCode;
use std::time::SystemTime;

use color_eyre::eyre::Result;
use serde::Serialize;

use super::Context;
use crate::cli::AttachmentsArgs;
use crate::inspect;
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::live_state::ports::{cached_mappings, Mapping};
use crate::runtime::liveness;

/// One file of the result cache as the views show it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CachedView {
    /// An entry that reads.
    Readable {
        /// Network name.
        network: String,
        /// Container ID.
        #[serde(rename = "containerID")]
        container_id: String,
        /// Namespace path (podman 4.3's from its result).
        netns: String,
        /// Interface in the container.
        ifname: String,
        /// Addresses of the cached result.
        ips: Vec<String>,
        /// Host ports published (the cached capability args' portMappings).
        ports: Vec<Mapping>,
        /// Seconds since the entry was written.
        #[serde(rename = "ageSeconds")]
        age_seconds: Option<u64>,
        /// Whether its namespace lives (by path or by identity).
        #[serde(rename = "netnsExists")]
        netns_exists: bool,
    },
    /// A file that cannot be used, never dropped: GC keeps whatever it may belong to.
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        unreadable: String,
    },
}

/// The attachments view (`attachments`, and `show`'s list).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Attachments(pub Vec<CachedView>);

/// Which attachments a view lists: each filter given must match.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// Of this network.
    pub network: Option<&'a str>,
    /// Of this namespace (a name or path).
    pub netns: Option<&'a str>,
    /// With this address in the cached result.
    pub ip: Option<std::net::IpAddr>,
    /// Publishing this host port.
    pub port: Option<u16>,
}

impl Filter<'_> {
    fn keeps(&self, entry: &CachedAttachment) -> bool {
        self.network.is_none_or(|n| entry.network == n)
            && self.netns.is_none_or(|ns| super::inspect_cmd::target::same_netns(entry, ns))
            && self.ip.is_none_or(|ip| crate::runtime::live_state::result_addresses(entry).contains(&ip))
            && self.port.is_none_or(|p| {
                cached_mappings(entry.capability_args.as_ref()).iter().any(|m| m.host_port == p)
            })
    }

    /// Only the network is asked about: an unreadable entry can be told
    /// apart by its file name; by anything else it cannot match.
    fn network_only(&self) -> bool {
        self.netns.is_none() && self.ip.is_none() && self.port.is_none()
    }
}

/// The cached attachments, optionally of one network only. A cache that
/// exists but cannot be read (cnictl without root on root's cache) is an
/// error ([`crate::runtime::cache::Cache::listing`]), never "no attachments".
pub fn attachments(ctx: &Context, network: Option<&str>) -> Result<Attachments> {
    filtered(ctx, &Filter { network, ..Filter::default() })
}

/// The cached attachments `filter` keeps; unreadable entries are kept
/// when only a network is asked for and their file name can be of it.
pub fn filtered(ctx: &Context, filter: &Filter) -> Result<Attachments> {
    let network = filter.network;
    let now = SystemTime::now();
    let listing = ctx.runtime.cache.listing()?;
    let live = crate::netns::identity::live_namespaces();
    let mut found: Vec<CachedView> = listing
        .readable
        .into_iter()
        .filter(|(entry, _)| filter.keeps(entry))
        .map(|(entry, written)| {
            let netns = entry.netns_path();
            CachedView::Readable {
                netns_exists: !netns.is_empty() && liveness::namespace_state(&entry, &live).is_some(),
                age_seconds: written.and_then(|w| now.duration_since(w).ok()).map(|d| d.as_secs()),
                ips: inspect::result_ips(entry.result.as_ref()),
                ports: cached_mappings(entry.capability_args.as_ref()),
                network: entry.network,
                container_id: entry.container_id,
                netns,
                ifname: entry.ifname,
            }
        })
        .collect();
    let unreadable = listing.unreadable.into_iter();
    found.extend(
        unreadable
            .filter(|_| filter.network_only())
            .filter(|u| network.is_none_or(|n| !u.candidates(n).is_empty()))
            .map(|u| CachedView::Unreadable { file: u.path.display().to_string(), unreadable: u.why }),
    );
    Ok(Attachments(found))
}

impl View for Attachments {
    fn headers(&self) -> &'static [&'static str] {
        &["network", "container id", "netns", "if", "ips", "ports", "age", "netns exists"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.0.iter().map(CachedView::row).collect()
    }

    fn empty(&self) -> String {
        "no attachments in the result cache".into()
    }
}

impl CachedView {
    fn row(&self) -> Vec<Cell> {
        match self {
            CachedView::Readable {
                network,
                container_id,
                netns,
                ifname,
                ips,
                ports,
                age_seconds,
                netns_exists,
            } => {
                let state = if *netns_exists { Cell::from("yes") } else { Cell::toned("gone", Tone::Notice) };
                vec![
                    network.as_str().into(),
                    container_id.as_str().into(),
                    netns.as_str().into(),
                    ifname.as_str().into(),
                    ips.join(", ").into(),
                    if ports.is_empty() {
                        "-".into()
                    } else {
                        ports.iter().map(Mapping::published).collect::<Vec<_>>().join(", ").into()
                    },
                    age_seconds.map(render::age).unwrap_or_else(|| "-".into()).into(),
                    state,
                ]
            }
            CachedView::Unreadable { file, unreadable } => {
                let name = std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned());
                let mut row: Vec<Cell> = vec![name.unwrap_or_default().into()];
                row.extend(std::iter::repeat_n(Cell::from("-"), 6));
                row.push(Cell::toned(format!("unreadable: {unreadable}"), Tone::Alarm));
                row
            }
        }
    }
}

/// Prints the cached attachments the filters keep (every one without filters).
pub fn run(ctx: &Context, args: &AttachmentsArgs, format: Format) -> Result<ExitCode> {
    let filter = Filter {
        network: args.network.as_deref(),
        netns: args.netns.as_deref(),
        ip: args.ip,
        port: args.port,
    };
    render::show(format, &filtered(ctx, &filter)?)?;
    Ok(ExitCode::SUCCESS)
}
