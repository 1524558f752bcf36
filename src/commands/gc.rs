//! `cnictl gc [NET]`: remove stale attachments and let plugins clean up,
//! on one network or on every one.
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
use crate::runtime::config::{conf_files, load_file, load_network_or_cached};

/// Runs GC on the network named, or on every network the config dir and
/// the result cache know; a network that fails does not stop the others.
pub fn run(ctx: &Context, args: &GcArgs) -> Result<ExitCode> {
    let Some(network) = &args.network else {
        let mut failed = 0;
        for name in all_networks(ctx) {
            if let Err(e) = gc_network(ctx, args, &name) {
                eprintln!("cnictl: gc {name}: {e:#}");
                failed += 1;
            }
        }
        return Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    };
    gc_network(ctx, args, network)?;
    Ok(ExitCode::SUCCESS)
}

/// The names of the networks in the config dir (files that parse) and of
/// those the result cache has attachments of, sorted, each once.
fn all_networks(ctx: &Context) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = ctx.runtime.cache.list().into_iter().map(|e| e.network).collect();
    let files = conf_files(&ctx.conf_dir, &["conflist", "conf", "json"]).unwrap_or_default();
    names.extend(files.iter().filter_map(|f| load_file(f).ok()).map(|list| list.name));
    names
}

/// Works out the valid set, runs GC on one network and reports what it removed.
fn gc_network(ctx: &Context, args: &GcArgs, network: &str) -> Result<()> {
    let list = load_network_or_cached(&ctx.conf_dir, &ctx.runtime.cache, network, None)?;
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
    Ok(())
}
