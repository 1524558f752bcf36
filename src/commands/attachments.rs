//! `cnictl attachments` (`ps`): the live attachments libcni's result cache
//! records, and whether each one's namespace still exists.

use std::process::ExitCode;
use std::time::SystemTime;

use color_eyre::eyre::Result;
use serde::Serialize;

use super::Context;
use crate::inspect;
use crate::render::{self, Cell, Format, Tone, View};
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

/// The cached attachments, optionally of one network only. A cache that
/// exists but cannot be read (cnictl without root on root's cache) is an
/// error ([`crate::runtime::cache::Cache::listing`]), never "no attachments".
pub fn attachments(ctx: &Context, network: Option<&str>) -> Result<Attachments> {
    let now = SystemTime::now();
    let listing = ctx.runtime.cache.listing()?;
    let live = crate::netns::identity::live_namespaces();
    let mut found: Vec<CachedView> = listing
        .readable
        .into_iter()
        .filter(|(entry, _)| network.is_none_or(|n| entry.network == n))
        .map(|(entry, written)| {
            let netns = entry.netns_path();
            CachedView::Readable {
                netns_exists: !netns.is_empty() && liveness::namespace_state(&entry, &live).is_some(),
                age_seconds: written.and_then(|w| now.duration_since(w).ok()).map(|d| d.as_secs()),
                ips: inspect::result_ips(entry.result.as_ref()),
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
            .filter(|u| network.is_none_or(|n| !u.candidates(n).is_empty()))
            .map(|u| CachedView::Unreadable { file: u.path.display().to_string(), unreadable: u.why }),
    );
    Ok(Attachments(found))
}

impl View for Attachments {
    fn headers(&self) -> &'static [&'static str] {
        &["network", "container id", "netns", "if", "ips", "age", "netns exists"]
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
            CachedView::Readable { network, container_id, netns, ifname, ips, age_seconds, netns_exists } => {
                let state = if *netns_exists { Cell::from("yes") } else { Cell::toned("gone", Tone::Notice) };
                vec![
                    network.as_str().into(),
                    container_id.as_str().into(),
                    netns.as_str().into(),
                    ifname.as_str().into(),
                    ips.join(", ").into(),
                    age_seconds.map(render::age).unwrap_or_else(|| "-".into()).into(),
                    state,
                ]
            }
            CachedView::Unreadable { file, unreadable } => {
                let name = std::path::Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned());
                let mut row: Vec<Cell> = vec![name.unwrap_or_default().into()];
                row.extend(std::iter::repeat_n(Cell::from("-"), 5));
                row.push(Cell::toned(format!("unreadable: {unreadable}"), Tone::Alarm));
                row
            }
        }
    }
}

/// Prints every cached attachment.
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    render::show(format, &attachments(ctx, None)?)?;
    Ok(ExitCode::SUCCESS)
}
