//! `cnictl port TARGET [PRIVATE_PORT[/PROTO]]`: an attachment's port
//! mappings as `podman port` prints them (`80/tcp -> 0.0.0.0:8080`; with a
//! private port, `0.0.0.0:8080`; with `--all`, each line led by the short
//! container ID and a tab). The mappings are the cached capability args;
//! each is checked against its live DNAT rule, and one whose rule is
//! missing is named on stderr (stdout keeps podman's format for scripts).

use std::process::ExitCode;

use color_eyre::eyre::{bail, Result};
use serde::Serialize;

use super::Context;
use crate::cli::PortArgs;
use crate::render::{self, Format};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::live_state::{self, ports, Rules};

/// One mapping of one attachment, checked.
#[derive(Debug, Serialize)]
struct PortView {
    network: String,
    #[serde(rename = "containerID")]
    container_id: String,
    ifname: String,
    #[serde(flatten)]
    mapping: ports::MappingState,
}

/// The container port and protocol asked for: `80`, `80/udp`.
fn private_port(text: &str) -> Result<(u16, String)> {
    let (port, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let Ok(port) = port.parse::<u16>() else {
        bail!("port formats are port/protocol: {text:?} is not one");
    };
    if protocol.is_empty() || protocol.contains('/') {
        bail!("port formats are port/protocol: {text:?} is not one");
    }
    Ok((port, protocol.to_lowercase()))
}

/// Each mapping of `entries`, checked against the rules.
fn checked(entries: &[CachedAttachment]) -> Vec<PortView> {
    let rules = Rules::read();
    let mut found = Vec::new();
    for entry in entries {
        let mappings = ports::cached_mappings(entry.capability_args.as_ref());
        if mappings.is_empty() {
            continue;
        }
        let plugins = live_state::cached_plugins(entry);
        let backend = ports::backend(
            live_state::plugin_of(&plugins, "portmap"),
            &entry.network,
            &entry.container_id,
            &rules,
        );
        let addresses = live_state::result_addresses(entry);
        for mapping in
            ports::check(&mappings, backend, &entry.network, &entry.container_id, &addresses, &rules)
        {
            found.push(PortView {
                network: entry.network.clone(),
                container_id: entry.container_id.clone(),
                ifname: entry.ifname.clone(),
                mapping,
            });
        }
    }
    found
}

/// Prints the mappings.
pub fn run(ctx: &Context, args: &PortArgs, format: Format) -> Result<ExitCode> {
    let entries: Vec<CachedAttachment> = match (&args.target, args.all) {
        (Some(target), false) => match super::inspect_cmd::find(ctx, target)? {
            Some(found) => found,
            None => bail!("{target:?} is a network, not an attachment: `cnictl attachments --network {target}` lists its attachments"),
        },
        _ => {
            let live = crate::netns::identity::live_namespaces();
            let listing = ctx.runtime.cache.listing()?;
            listing
                .readable
                .into_iter()
                .map(|(e, _)| e)
                .filter(|e| crate::runtime::liveness::namespace_state(e, &live).is_some())
                .collect()
        }
    };
    let mut views = checked(&entries);
    if let Some(text) = &args.private_port {
        let (port, protocol) = private_port(text)?;
        views.retain(|v| v.mapping.mapping.container_port == port && v.mapping.mapping.protocol == protocol);
        if views.is_empty() {
            bail!("failed to find published port \"{port}/{protocol}\"");
        }
    }
    for view in views.iter().filter(|v| v.mapping.state != ports::RuleState::Present) {
        let m = &view.mapping;
        let places: Vec<String> = m.rules.iter().map(ports::DnatRule::place_and_reason).collect();
        say!(
            "cnictl: {}/{} -> {}:{} of {} on {}: {} DNAT rule {} ({})",
            m.mapping.container_port,
            m.mapping.protocol,
            m.mapping.host_address(),
            m.mapping.host_port,
            render::short_id(&view.container_id),
            view.network,
            m.backend,
            m.state.word(),
            if places.is_empty() {
                "no address of its family in the cached result".to_string()
            } else {
                places.join(", ")
            }
        );
    }
    if format == Format::Json {
        render::print_json(&serde_json::to_value(&views)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for view in &views {
        let m = &view.mapping.mapping;
        if args.all {
            out.push_str(&format!("{}\t", render::short_id(&view.container_id)));
        }
        if args.private_port.is_some() {
            out.push_str(&format!("{}:{}\n", m.host_address(), m.host_port));
        } else {
            out.push_str(&format!(
                "{}/{} -> {}:{}\n",
                m.container_port,
                m.protocol,
                m.host_address(),
                m.host_port
            ));
        }
    }
    render::write_out(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ports_read_as_podman_reads_them() {
        assert_eq!(private_port("80").unwrap(), (80, "tcp".to_string()));
        assert_eq!(private_port("53/UDP").unwrap(), (53, "udp".to_string()));
        assert!(private_port("x/tcp").is_err());
        assert!(private_port("80/tcp/x").is_err());
    }
}
