//! doctor's state checks: host-local reservations and bridge ports that
//! no cached attachment owns.

use super::*;

pub(super) fn host_local_store(
    net: &NetworkList,
    plugin: &serde_json::Map<String, Value>,
) -> Option<PathBuf> {
    let ipam = plugin.go_get("ipam")?.as_object()?;
    if ipam.go_get("type")?.as_str()? != "host-local" {
        return None;
    }
    let data_dir = ipam.go_get("dataDir").and_then(Value::as_str).unwrap_or("/var/lib/cni/networks");
    Some(Path::new(data_dir).join(&net.name))
}

pub(super) fn stale_state(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    if let Err(e) = crate::commands::attachments::check_readable(ctx) {
        let status = if privileged() { Status::Fail } else { Status::Skip };
        let detail = if privileged() { format!("{e:#}") } else { format!("needs root: {e:#}") };
        let fix = (!privileged()).then(|| "sudo cnictl doctor".to_string());
        findings.push(finding("stale state", status, detail, fix));
        return;
    }
    let cached: Vec<CachedAttachment> = ctx.runtime.cache.list();
    let mut clean = true;
    for net in networks {
        let gone = cached.iter().filter(|a| a.network == net.name && !cni::netns::exists(&a.netns)).count();
        if gone > 0 {
            clean = false;
            findings.push(finding(
                "stale state",
                Status::Warn,
                format!("{gone} cached attachment(s) of {} belong to a namespace that is gone", net.name),
                Some(format!("cnictl gc {}", net.name)),
            ));
        }
        let owners: BTreeSet<&str> =
            cached.iter().filter(|a| a.network == net.name).map(|a| a.container_id.as_str()).collect();
        for store in net.plugins.iter().filter_map(|p| host_local_store(net, p)) {
            for entry in std::fs::read_dir(&store).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.parse::<std::net::IpAddr>().is_err() {
                    continue;
                }
                let content = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let id = content.lines().next().unwrap_or_default().trim();
                if !owners.contains(id) {
                    clean = false;
                    findings.push(finding(
                        "stale state",
                        Status::Warn,
                        format!("{name} in {} is reserved for {id:?}, which has no cached attachment (unless another runtime's cache owns it)", net.name),
                        Some(format!("cnictl gc {}", net.name)),
                    ));
                }
            }
        }
    }
    unowned_ports(findings, &cached, networks, &mut clean);
    if clean {
        findings.push(finding(
            "stale state",
            Status::Ok,
            "no stale cache entries, reservations or bridge ports",
            None,
        ));
    }
}

/// How full each host-local range set is: a warning from 90% on (ADDs
/// fail when it is full, while STATUS, as the reference's, still succeeds).
pub(super) fn range_fill(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    for net in networks {
        for (_, fill) in crate::commands::status::range_fill(net) {
            let crowded = fill.reserved.saturating_mul(10) >= fill.capacity.saturating_mul(9);
            let (status, fix) = if crowded {
                (Status::Warn, Some(format!("cnictl gc {}, or a larger range", net.name)))
            } else {
                (Status::Ok, None)
            };
            let what = if fill.is_full() { " (full: new attachments fail)" } else { "" };
            findings.push(finding(
                "address ranges",
                status,
                format!(
                    "{}: {} reserved of {} in {}{what}",
                    net.name, fill.reserved, fill.capacity, fill.range_set
                ),
                fix,
            ));
        }
    }
}

/// Bridge ports of configured bridges that no cached attachment made.
pub(super) fn unowned_ports(
    findings: &mut Vec<Finding>,
    cached: &[CachedAttachment],
    networks: &[NetworkList],
    clean: &mut bool,
) {
    let Ok(nl) = cni::netlink::Netlink::open() else { return };
    let Ok(links) = nl.links() else { return };
    let owned: BTreeSet<String> = cached
        .iter()
        .filter_map(|a| a.result.as_ref()?.go_get("interfaces")?.as_array().cloned())
        .flatten()
        .filter_map(|i| i.go_get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut bridges = BTreeSet::new();
    for net in networks {
        for plugin in net.plugins.iter().filter(|p| plugin_str(p, "type") == Some("bridge")) {
            bridges.insert(plugin_str(plugin, "bridge").unwrap_or("cni0").to_string());
        }
    }
    for bridge in bridges {
        let Some(index) = links.iter().find(|l| l.name == bridge).map(|l| l.index) else { continue };
        for port in links
            .iter()
            .filter(|l| l.master == Some(index) && !l.name.contains('.') && !owned.contains(&l.name))
        {
            *clean = false;
            findings.push(finding(
                "stale state",
                Status::Warn,
                format!("{} is a port of {bridge} that no cached attachment made", port.name),
                Some(format!("ip link del {} (if no other runtime owns it)", port.name)),
            ));
        }
    }
}
