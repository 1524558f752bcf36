//! `cnictl add NET NETNS`: attach, print the result: the CNI result JSON,
//! as cnitool prints it, or with `-o table` a table of its interfaces and
//! addresses for a person to read. With `--dry-run`, the plan of the ADD
//! (`crate::plan`) instead, and nothing is changed.

use std::process::ExitCode;

use cni::CniResult;
use color_eyre::eyre::Result;
use serde_json::Value;

use super::{runtime_conf, Context};
use crate::cli::{AddArgs, AttachArgs};
use crate::render::{self, Format};
use crate::runtime::capabilities;
use crate::runtime::config::NetworkList;
use crate::runtime::RuntimeConf;

/// Runs the chain's ADD and prints the result (or, with --dry-run, its plan).
pub fn run(ctx: &Context, args: &AddArgs) -> Result<ExitCode> {
    if args.dry_run {
        return dry_run(ctx, &args.attach);
    }
    let args = &args.attach;
    let list = ctx.network(&args.network)?;
    let rt = runtime_conf(args)?;
    warn_undeclared_capabilities(&list, &rt);
    let result = ctx.runtime.add(&list, &rt)?;
    match args.output {
        Some(Format::Table) => render::line(result_table(&result, &list.cni_version))?,
        Some(Format::Json) | None => crate::render::print_json(&result)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan of the ADD: the same checks of the attachment as the ADD
/// makes before any plugin runs (names, the netns, no live attachment),
/// then what each plugin would make. Exits 1 when the plan finds the ADD
/// would fail.
fn dry_run(ctx: &Context, args: &AttachArgs) -> Result<ExitCode> {
    let list = ctx.network(&args.network)?;
    let rt = runtime_conf(args)?;
    warn_undeclared_capabilities(&list, &rt);
    refuse_what_add_refuses(ctx, &list, &rt)?;
    let plan = crate::plan::plan(&crate::plan::Input {
        list: &list,
        rt: &rt,
        container_id_given: true,
        path: &ctx.runtime.path,
    });
    print_plan(&plan, args.output.unwrap_or(Format::Table))
}

/// Prints a plan as a table or JSON; exit 1 when the ADD would fail.
pub(super) fn print_plan(plan: &crate::plan::Plan, format: Format) -> Result<ExitCode> {
    match format {
        Format::Table => render::line(crate::plan::table(plan))?,
        Format::Json => render::print_json(&serde_json::to_value(plan)?)?,
    }
    Ok(if plan.would_fail { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the ADD refuses before running a plugin, refused here in its
/// words: bad names, a netns that cannot be entered, an attachment that
/// is already there (cached, or its interface in the netns).
fn refuse_what_add_refuses(ctx: &Context, list: &NetworkList, rt: &RuntimeConf) -> Result<()> {
    use color_eyre::eyre::{bail, eyre};
    cni::env::validate_container_id(&rt.container_id)
        .map_err(|e| eyre!("container ID {:?}: {e}", rt.container_id))?;
    cni::env::validate_network_name(&list.name).map_err(|e| eyre!("{}: {e}", list.source.display()))?;
    cni::env::validate_interface_name(&rt.ifname)
        .map_err(|e| eyre!("interface name {:?}: {e}", rt.ifname))?;
    if ctx.runtime.cache.load(&list.name, &rt.container_id, &rt.ifname).is_some() {
        bail!(
            "network {:?} is already attached to container {} as {} (a cached result says so): the ADD \
             would refuse; `cnictl del` it first, or --ifname NAME plans another interface",
            list.name,
            rt.container_id,
            rt.ifname
        );
    }
    let netns = std::path::Path::new(&rt.netns);
    if crate::netns::has_interface(netns, &rt.ifname)? {
        bail!("netns {} already has an interface {}: the ADD would refuse", rt.netns, rt.ifname);
    }
    Ok(())
}

/// Says on stderr which capability arguments no plugin of the chain
/// declares: libcni passes them to none, and the ADD goes on without them.
pub(super) fn warn_undeclared_capabilities(list: &NetworkList, rt: &RuntimeConf) {
    for warning in capabilities::undeclared_args(list, &rt.capability_args) {
        say!("cnictl: warning: {warning}");
    }
}

/// The headers of the result table.
const HEADERS: [&str; 5] = ["interface", "netns", "mac", "address", "gateway"];

/// The result as a table: a row per address (with its interface), and a
/// row for each interface that has none. The result is read in its own
/// version (0.1.0 and 0.2.0 results have `ip4`/`ip6` and no interfaces).
fn result_table(result: &Value, version: &str) -> String {
    let Ok(parsed) = CniResult::from_json(result, version) else {
        return String::from_utf8_lossy(&cni::result::to_pretty(result)).into_owned();
    };
    let interface_cells = |index: Option<usize>| -> [String; 3] {
        match index.and_then(|i| parsed.interfaces.get(i)) {
            Some(i) => [
                i.name.clone(),
                i.sandbox.as_deref().filter(|s| !s.is_empty()).map_or("-".into(), render::netns_cell),
                i.mac.clone().unwrap_or_else(|| "-".into()),
            ],
            None => ["-".into(), "-".into(), "-".into()],
        }
    };
    let mut rows = Vec::new();
    for ip in &parsed.ips {
        let [name, netns, mac] = interface_cells(ip.interface);
        let gateway = ip.gateway.map_or("-".into(), |g| g.to_string());
        rows.push(vec![name, netns, mac, ip.address.to_string(), gateway]);
    }
    for index in 0..parsed.interfaces.len() {
        if !parsed.ips.iter().any(|ip| ip.interface == Some(index)) {
            let [name, netns, mac] = interface_cells(Some(index));
            rows.push(vec![name, netns, mac, "-".into(), "-".into()]);
        }
    }
    if rows.is_empty() {
        return "no interfaces or addresses in the result".into();
    }
    render::table(
        &HEADERS,
        rows.into_iter().map(|row| row.into_iter().map(render::Cell::from).collect()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_address_and_one_per_bare_interface() {
        let result = serde_json::json!({"cniVersion": "1.0.0",
            "interfaces": [{"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
                           {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/var/run/netns/blue"}],
            "ips": [{"address": "10.22.0.5/16", "gateway": "10.22.0.1", "interface": 1}]});
        let text = result_table(&result, "1.0.0");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains("eth0") && lines[1].contains(" blue ") && lines[1].contains("10.22.0.1"));
        assert!(lines[2].contains("cni0") && lines[2].contains("aa:bb:cc:dd:ee:01"), "{text}");
    }
}
