//! `cnictl gc NET`: remove stale attachments and let plugins clean up.
//!
//! Unlike cnitool, which treats every attachment as stale when given no
//! list, cnictl keeps each cached attachment whose netns still exists,
//! unless `--valid` names the attachments to keep.

use std::collections::BTreeSet;
use std::process::ExitCode;

use cni::conf::Attachment;
use color_eyre::eyre::{eyre, Result};

use super::Context;
use crate::cli::GcArgs;
use crate::runtime::config::load_network_or_cached;

/// Works out the valid set, runs GC and reports what it removed.
pub fn run(ctx: &Context, args: &GcArgs) -> Result<ExitCode> {
    let list = load_network_or_cached(&ctx.conf_dir, &ctx.runtime.cache, &args.target.network, None)?;
    let valid: BTreeSet<Attachment> = if args.valid.is_empty() {
        ctx.runtime
            .cache
            .list()
            .into_iter()
            .filter(|e| {
                e.network == list.name && (e.netns.is_empty() || std::path::Path::new(&e.netns).exists())
            })
            .map(|e| Attachment { container_id: e.container_id, ifname: e.ifname })
            .collect()
    } else {
        args.valid
            .iter()
            .map(|v| {
                let (id, ifname) =
                    v.split_once('/').ok_or_else(|| eyre!("--valid {v:?}: expected CONTAINER_ID/IFNAME"))?;
                Ok(Attachment { container_id: id.to_string(), ifname: ifname.to_string() })
            })
            .collect::<Result<_>>()?
    };
    for removed in ctx.runtime.gc(&list, &valid)? {
        eprintln!(
            "removed stale attachment {} {} from network {}",
            removed.container_id, removed.ifname, list.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
