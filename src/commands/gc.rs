//! `cnictl gc [NET]`: remove stale attachments and let plugins clean up,
//! on one network or on every one.
//!
//! Unlike cnitool, which treats every attachment as stale when given no
//! list, cnictl keeps everything that may be live (`runtime::liveness`):
//! cached attachments whose namespace exists, in its cache or the
//! runtimes' default one, entries it cannot read, reservations whose
//! address a live namespace holds, and `--valid` ones. `--dry-run` lists
//! what would go and why; a run says what went, and what it could not do.

use std::collections::BTreeSet;
use std::process::ExitCode;

use cni::conf::Attachment;
use color_eyre::eyre::{eyre, Result};

use super::Context;
use crate::cli::GcArgs;
use crate::runtime::config::{conf_files, load_file, load_network_or_cached, NetworkList};
use crate::runtime::footprint::{footprint, Rules};
use crate::runtime::liveness::{self, LiveHost, Survey};

/// Runs GC on the network named, or on every network the config dir and
/// the result cache know; a network that fails does not stop the others.
pub fn run(ctx: &Context, args: &GcArgs) -> Result<ExitCode> {
    // Refused, naming the path, when the cache cannot be read.
    ctx.runtime.cache.listing()?;
    // GC frees only attachments whose namespace is gone: the live ones stay
    // as read here for every network.
    let host = LiveHost::read();
    let Some(network) = &args.network else {
        let mut failed = 0;
        for name in all_networks(ctx) {
            if let Err(e) = gc_network(ctx, args, &name, &host) {
                say!("cnictl: gc {name}: {e:#}");
                failed += 1;
            }
        }
        return Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    };
    gc_network(ctx, args, network, &host)?;
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

/// The attachments `--valid` names.
fn explicit(args: &GcArgs) -> Result<BTreeSet<Attachment>> {
    args.valid
        .iter()
        .map(|v| {
            let (id, ifname) =
                v.split_once('/').ok_or_else(|| eyre!("--valid {v:?}: expected CONTAINER_ID/IFNAME"))?;
            Ok(Attachment { container_id: id.to_string(), ifname: ifname.to_string() })
        })
        .collect()
}

/// Surveys one network, then runs GC on it (or says what GC would do).
fn gc_network(ctx: &Context, args: &GcArgs, network: &str, host: &LiveHost) -> Result<()> {
    let list = load_network_or_cached(&ctx.conf_dir, &ctx.runtime.cache, network, None)?;
    if list.disable_gc {
        outln!("network {}: GC is disabled in its config (disableGC): nothing done", list.name);
        return Ok(());
    }
    let caches = ctx.surveyed_caches();
    let survey = liveness::survey(&list, &caches.iter().collect::<Vec<_>>(), &explicit(args)?, host)?;
    for unreadable in &survey.unreadable {
        say!(
            "cnictl: warning: cache entry {} cannot be read ({}): kept, with every attachment its name can mean",
            unreadable.path.display(),
            unreadable.why
        );
    }
    let has_gc = cni::version::at_least(&list.cni_version, "1.1.0").unwrap_or(false);
    if args.dry_run {
        return print_plan(ctx, &list, &survey, has_gc);
    }
    let before = liveness::reservations(&list)?;
    for removed in ctx.runtime.gc(&list, &survey.valid())? {
        outln!(
            "removed stale attachment {} {} of network {} (its namespace is gone)",
            removed.container_id,
            removed.ifname,
            list.name
        );
    }
    let after: BTreeSet<_> = liveness::reservations(&list)?.into_iter().map(|r| r.path).collect();
    for freed in before.iter().filter(|r| !after.contains(&r.path)) {
        outln!("freed {} of network {} (reserved for {})", freed.address, list.name, holder(freed));
    }
    if !has_gc {
        not_collected(&list, &survey)?;
    }
    Ok(())
}

/// Who a reservation names.
fn holder(reservation: &host_local::store::Reservation) -> String {
    match &reservation.holder {
        Some(h) => format!("{} {}", h.container_id, h.ifname.as_deref().unwrap_or("(any interface)")),
        None => "no one".into(),
    }
}

/// What a network below 1.1.0 keeps after GC: its plugins have no GC verb.
fn not_collected(list: &NetworkList, survey: &Survey) -> Result<()> {
    let left: Vec<_> = survey
        .stale_reservations
        .iter()
        .filter(|r| {
            !survey
                .stale_entries
                .iter()
                .any(|e| r.holder.as_ref().is_some_and(|h| h.is(&e.container_id, &e.ifname)))
        })
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    outln!(
        "network {} is version {}: its plugins have no GC verb (1.1.0), so {} reservation(s) no cached attachment owns stay:",
        list.name,
        list.cni_version,
        left.len()
    );
    for reservation in left {
        outln!(
            "  {} ({}) for {}: no live namespace holds it; remove the file if no container uses the address",
            reservation.address,
            reservation.path.display(),
            holder(reservation)
        );
    }
    Ok(())
}

/// `--dry-run`: every object GC would remove, and why; then what it keeps.
fn print_plan(ctx: &Context, list: &NetworkList, survey: &Survey, has_gc: bool) -> Result<()> {
    let mut any = false;
    let rules = (!survey.stale_entries.is_empty()).then(Rules::read);
    for entry in &survey.stale_entries {
        any = true;
        let netns = entry.netns_path();
        outln!(
            "would delete attachment {} {} of network {}: its namespace {} is gone",
            entry.container_id,
            entry.ifname,
            list.name,
            netns
        );
        outln!(
            "  cache entry {}",
            ctx.runtime.cache.path(&list.name, &entry.container_id, &entry.ifname).display()
        );
        let reserved = survey
            .stale_reservations
            .iter()
            .filter(|r| r.holder.as_ref().is_some_and(|h| h.is(&entry.container_id, &entry.ifname)));
        for reservation in reserved {
            outln!("  reservation {} ({})", reservation.address, reservation.path.display());
        }
        for object in rules.as_ref().map(|rules| footprint(entry, rules)).unwrap_or_default() {
            outln!("  {object}");
        }
        outln!("  and what else its plugins keep of it (qdiscs, state files), through the chain's DEL");
    }
    let owned = |r: &&host_local::store::Reservation| {
        survey
            .stale_entries
            .iter()
            .any(|e| r.holder.as_ref().is_some_and(|h| h.is(&e.container_id, &e.ifname)))
    };
    for reservation in survey.stale_reservations.iter().filter(|r| !owned(r)) {
        any = true;
        if has_gc {
            outln!(
                "would free {} ({}) reserved for {}: no cache entry, live namespace or --valid keeps it",
                reservation.address,
                reservation.path.display(),
                holder(reservation)
            );
        } else {
            outln!(
                "would keep {} ({}) reserved for {}: stale, but network version {} has no GC verb",
                reservation.address,
                reservation.path.display(),
                holder(reservation),
                list.cni_version
            );
        }
    }
    if has_gc {
        outln!(
            "plugins of network {} get GC with {} valid attachment(s): what they hold for others goes",
            list.name,
            survey.keep.len()
        );
    }
    for (attachment, why) in &survey.keep {
        outln!("keeps {} {}: {why}", attachment.container_id, attachment.ifname);
    }
    if !any {
        outln!("network {}: nothing stale", list.name);
    }
    Ok(())
}
