//! doctor's plugin checks: the plugin path, the firewall backend each
//! network gets, and the dhcp daemon its plugin speaks to.

use super::*;

pub(super) fn plugin_path(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    let dirs: Vec<String> = ctx.runtime.path.dirs.iter().map(|d| d.display().to_string()).collect();
    let mut types = BTreeSet::new();
    for net in networks {
        for plugin in &net.plugins {
            types.insert(plugin_str(plugin, "type").unwrap_or_default().to_string());
            if let Some(ipam) = plugin.go_get("ipam").and_then(|i| i.go_get("type")).and_then(Value::as_str) {
                types.insert(ipam.to_string());
            }
        }
    }
    let missing: Vec<&String> = types.iter().filter(|t| ctx.runtime.path.find(t).is_err()).collect();
    if missing.is_empty() {
        findings.push(finding(
            "plugin path",
            Status::Ok,
            format!("every configured plugin is found in {}", dirs.join(":")),
            None,
        ));
    } else {
        for plugin_type in missing {
            findings.push(finding(
                "plugin path",
                Status::Fail,
                format!("plugin {plugin_type:?} is not in {}", dirs.join(":")),
                Some("install it there, or point CNI_PATH / --cni-path at it".into()),
            ));
        }
    }
}

/// Each network with a firewall plugin: which backend its ADD gets here and why.
pub(super) fn firewall_backend(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    for net in networks {
        for plugin in net.plugins.iter().filter(|p| plugin_str(p, "type") == Some("firewall")) {
            let backend = plugin.go_get("backend").and_then(Value::as_str).unwrap_or_default();
            let (chosen, why) = firewall::backend_on_this_host(backend);
            let known = firewall::backend_is_known(backend);
            let status = match (chosen, known) {
                ("none", _) => Status::Fail,
                // A typo the plugin silently replaces with its own choice.
                (_, false) => Status::Warn,
                _ => Status::Info,
            };
            let fix = (chosen == "none" || !known).then(|| {
                match backend {
                    "firewalld" => "start firewalld, or set \"backend\" to \"iptables\" (or leave it out)",
                    "nftables" => {
                        "load the kernel's nf_tables (modprobe nf_tables), or set \"backend\" to \"iptables\""
                    }
                    _ => "set \"backend\" to \"iptables\", \"firewalld\" or \"nftables\" (or leave it out)",
                }
                .to_string()
            });
            findings.push(finding(
                "firewall backend",
                status,
                format!("network {}: the firewall plugin uses {chosen}: {why}", net.name),
                fix,
            ));
        }
    }
}

/// How long doctor waits for a dhcp daemon's answer.
pub(super) const DHCP_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whose dhcp plugin the plugin path finds: ours is a link to the
/// multicall binary.
pub(super) fn dhcp_plugin_is_ours(ctx: &Context) -> Option<(bool, PathBuf)> {
    let exe = ctx.runtime.path.find("dhcp").ok()?;
    let target = std::fs::canonicalize(&exe.program).unwrap_or_else(|_| exe.program.clone());
    let ours = target.file_name().is_some_and(|n| n == cni::MULTICALL_BINARY);
    Some((ours, exe.program))
}

/// Networks with dhcp IPAM need its daemon: each socket they use must
/// answer. Either side's plugin talks to either side's daemon; the
/// finding names the pair.
pub(super) fn dhcp_daemon(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    use dhcp::protocol::{call_within, status_request, CallError};
    let mut sockets: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for net in networks {
        for ipam in net.plugins.iter().filter_map(|p| p.go_get("ipam").and_then(Value::as_object)) {
            if ipam.go_get("type").and_then(Value::as_str) == Some("dhcp") {
                let socket = ipam
                    .go_get("daemonSocketPath")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(dhcp::config::DEFAULT_SOCKET_PATH);
                sockets.entry(socket.to_string()).or_default().push(&net.name);
            }
        }
    }
    let plugin = dhcp_plugin_is_ours(ctx);
    let start = |program: &str| format!("{program} daemon -socketpath");
    for (socket, users) in sockets {
        let users = users.join(", ");
        let (ours_plugin, program) = match &plugin {
            Some((ours, path)) => (*ours, path.display().to_string()),
            None => (true, "dhcp".to_string()),
        };
        let found = match call_within(&socket, &status_request(), DHCP_ANSWER_WAIT) {
            // Each side's plugin talks to each side's daemon (a rolling
            // upgrade mixes them); the finding says which pair this is.
            Ok(answer) => finding(
                "dhcp daemon",
                Status::Ok,
                format!("cnictl's dhcp daemon {} answers on {socket} (used by {users})", answer.daemon)
                    + if ours_plugin { "" } else { "; it serves the reference's dhcp plugin found in its own protocol" },
                None,
            ),
            Err(CallError::GoDaemon) => finding(
                "dhcp daemon",
                Status::Ok,
                format!("the reference (Go) dhcp daemon answers on {socket} (used by {users})")
                    + if ours_plugin {
                        "; cnictl's dhcp plugin calls it in its protocol (its leases stay its own, and it has no GC)"
                    } else {
                        ""
                    },
                None,
            ),
            Err(CallError::Io(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                needs_root("dhcp daemon", format!("{socket} (used by {users}) cannot be opened: {e}"))
            }
            Err(CallError::Io(e)) => finding(
                "dhcp daemon",
                Status::Warn,
                format!("something listens on {socket} (used by {users}) but does not answer as a dhcp daemon: {e}"),
                Some(format!("restart the dhcp daemon: {} {socket}", start(&program))),
            ),
            Err(CallError::NotRunning(e)) => finding(
                "dhcp daemon",
                Status::Fail,
                format!("no dhcp daemon answers on {socket} ({e}); dhcp IPAM of {users} cannot get leases"),
                Some(format!(
                    "start the dhcp plugin's daemon: {} {socket} (or systemctl start cni-dhcp.socket)",
                    start(&program)
                )),
            ),
        };
        findings.push(found);
    }
}
