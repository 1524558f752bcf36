//! `cnictl doctor`: what on this host keeps the configured networks from
//! working, each finding with its fix. It reads state and changes nothing
//! (the one probe that creates a link does so in a throwaway namespace).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cni::gojson::GoKeys;
use color_eyre::eyre::Result;
use serde_json::Value;

use super::Context;
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::config::{load_file, network_files, NetworkList};
use serde::Serialize;

mod dataplane;
mod host;
mod kernel;
mod plugins;
mod state;

use host::{bridge_netfilter, forwarding, netfilter};
use kernel::kernel_features;
use plugins::{dhcp_daemon, firewall_backend, plugin_path};
use state::{range_fill, stale_state};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Info,
    Warn,
    Fail,
    /// Not checked: it needs privileges this run does not have.
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }

    /// How a table colours it.
    fn tone(self) -> Tone {
        match self {
            Status::Ok | Status::Info => Tone::Plain,
            Status::Warn | Status::Skip => Tone::Notice,
            Status::Fail => Tone::Alarm,
        }
    }
}

/// One thing doctor looked at.
#[derive(Debug, Serialize)]
struct Finding {
    check: String,
    status: Status,
    detail: String,
    fix: Option<String>,
}

fn finding(
    check: impl Into<String>,
    status: Status,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding { check: check.into(), status, detail: detail.into(), fix }
}

/// What doctor found, in the order it looked.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Findings(Vec<Finding>);

impl View for Findings {
    fn headers(&self) -> &'static [&'static str] {
        &["check", "status", "detail"]
    }

    /// The fix goes under its finding's detail: three columns leave the
    /// detail most of a terminal's width.
    fn rows(&self) -> Vec<Vec<Cell>> {
        self.0
            .iter()
            .map(|f| {
                let detail = render::detail_with_fix(&f.detail, f.fix.as_deref());
                vec![f.check.as_str().into(), Cell::toned(f.status.as_str(), f.status.tone()), detail.into()]
            })
            .collect()
    }

    fn empty(&self) -> String {
        "nothing to check".into()
    }
}

/// A check this run cannot make without root, said as such instead of a
/// conclusion drawn from what an unprivileged process cannot see.
fn needs_root(check: &'static str, what: impl std::fmt::Display) -> Finding {
    finding(check, Status::Skip, format!("needs root: {what}"), Some("sudo cnictl doctor".into()))
}

/// True when this process may make the probes (namespaces, netlink
/// changes, the root-owned cache): root, as the plugins run.
fn privileged() -> bool {
    nix::unistd::geteuid().is_root()
}

fn sysctl(key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/{key}")).ok().map(|v| v.trim().to_string())
}

fn plugin_str<'a>(plugin: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    plugin.get(key).and_then(Value::as_str)
}

/// Runs every check and prints the findings; exit 1 when one fails or
/// could not be made (not root).
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let mut findings = Vec::new();
    let files = network_files(&ctx.conf_dir)?;
    let mut networks = Vec::new();
    for file in &files {
        match load_file(file) {
            Ok(list) => networks.push(list),
            Err(e) => findings.push(finding(
                "configs",
                Status::Fail,
                format!("{e:#}"),
                Some(format!("cnictl validate {}", file.display())),
            )),
        }
    }
    if networks.is_empty() {
        findings.push(finding(
            "configs",
            Status::Info,
            format!("no networks in {}; `cnictl run` uses its built-in network", ctx.conf_dir.display()),
            Some("cnictl default-network install".into()),
        ));
    } else if findings.is_empty() {
        findings.push(finding("configs", Status::Ok, format!("{} network(s) load", networks.len()), None));
    }
    forwarding(&mut findings, &networks);
    bridge_netfilter(&mut findings);
    netfilter(&mut findings, &networks);
    kernel_features(&mut findings, &networks);
    dhcp_daemon(&mut findings, ctx, &networks);
    firewall_backend(&mut findings, &networks);
    plugin_path(&mut findings, ctx, &networks);
    stale_state(&mut findings, ctx, &networks);
    range_fill(&mut findings, &networks);
    dataplane::live_attachments(&mut findings, ctx, &networks);

    // A run that could not make every check does not pass either.
    let failed = findings.iter().any(|f| matches!(f.status, Status::Fail | Status::Skip));
    render::show(format, &Findings(findings))?;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
