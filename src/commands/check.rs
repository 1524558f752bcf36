//! `cnictl check NET NETNS`: verify an attachment. With `--deep`, the
//! plugins' CHECK becomes the first finding and the data-plane check
//! (`crate::dataplane`) of the cached attachment follows, as doctor
//! words its findings: check, status, detail, fix.

use std::process::ExitCode;

use color_eyre::eyre::{eyre, Result};
use serde::Serialize;

use super::{runtime_conf, Context};
use crate::cli::CheckArgs;
use crate::dataplane::{self, Finding, Status};
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::cache::EntryError;
use crate::runtime::config::load_network_or_cached;

/// Runs the chain's CHECK against the cached result, then with `--deep`
/// the data-plane check; exit 1 when a finding fails.
pub fn run(ctx: &Context, args: &CheckArgs, format: Format) -> Result<ExitCode> {
    let rt = runtime_conf(&args.attach)?;
    let attachment = Some((rt.container_id.as_str(), rt.ifname.as_str()));
    let list = load_network_or_cached(&ctx.conf_dir, &ctx.runtime.cache, &args.attach.network, attachment)?;
    if !args.deep {
        ctx.runtime.check(&list, &rt)?;
        return Ok(ExitCode::SUCCESS);
    }
    let entry = match ctx.runtime.cache.read(&list.name, &rt.container_id, &rt.ifname) {
        Ok(Some(entry)) => entry,
        Ok(None) => {
            return Err(eyre!(
                "network {:?}: no cached attachment for container {:?} interface {:?} in {}: \
                 the data-plane check reads what the ADD made from the cache",
                list.name,
                rt.container_id,
                rt.ifname,
                ctx.runtime.cache.path(&list.name, &rt.container_id, &rt.ifname).display()
            ))
        }
        Err(EntryError::NeedsRoot(report)) => return Err(report),
        Err(EntryError::Broken(why)) => {
            return Err(eyre!("the attachment's cache entry cannot be used: {why}"))
        }
    };
    let mut findings = vec![plugin_check(ctx, &list, &rt)];
    let file = ctx.runtime.cache.path(&list.name, &rt.container_id, &rt.ifname);
    match dataplane::attachment::from_cache(&entry, &file) {
        Ok(target) => findings.extend(dataplane::check(&target, &args.to, &dataplane::Ruleset::new())),
        Err(why) => findings.push(Finding {
            check: "attachment".into(),
            status: Status::Fail,
            detail: format!("{}: {why}", file.display()),
            fix: None,
        }),
    }
    let failed = dataplane::any_failed(&findings);
    render::show(format, &DeepFindings(findings))?;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The plugins' own CHECK, as a finding.
fn plugin_check(
    ctx: &Context,
    list: &crate::runtime::config::NetworkList,
    rt: &crate::runtime::RuntimeConf,
) -> Finding {
    let check = "plugins".to_string();
    if !cni::version::at_least(&list.cni_version, "0.4.0").unwrap_or(false) {
        return Finding {
            check,
            status: Status::Info,
            detail: format!("version {} has no CHECK verb; only the data plane is checked", list.cni_version),
            fix: None,
        };
    }
    match ctx.runtime.check(list, rt) {
        Ok(()) if list.disable_check => Finding {
            check,
            status: Status::Info,
            detail: "the network disables CHECK (disableCheck)".into(),
            fix: None,
        },
        Ok(()) => Finding { check, status: Status::Ok, detail: "the chain's CHECK passes".into(), fix: None },
        Err(e) => Finding { check, status: Status::Fail, detail: format!("{e:#}"), fix: None },
    }
}

/// The findings of `check --deep`, as doctor shows its own.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct DeepFindings(Vec<Finding>);

fn tone(status: Status) -> Tone {
    match status {
        Status::Ok | Status::Info => Tone::Plain,
        Status::Warn => Tone::Notice,
        Status::Fail => Tone::Alarm,
    }
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Info => "info",
        Status::Warn => "warn",
        Status::Fail => "fail",
    }
}

impl View for DeepFindings {
    fn headers(&self) -> &'static [&'static str] {
        &["check", "status", "detail"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.0
            .iter()
            .map(|f| {
                let detail = render::detail_with_fix(&f.detail, f.fix.as_deref());
                vec![f.check.clone().into(), Cell::toned(word(f.status), tone(f.status)), detail.into()]
            })
            .collect()
    }

    fn empty(&self) -> String {
        "nothing to check".into()
    }
}
