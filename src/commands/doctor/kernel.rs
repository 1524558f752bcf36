//! doctor's kernel checks: the modules and features each plugin type
//! needs, probed by making links in a throwaway namespace.

use super::*;

/// What bandwidth needs, probed as one: ifb devices, the tbf and ingress
/// qdiscs, the u32 classifier and the mirred action.
pub(super) const SHAPING: &str = "ifb, tbf, ingress, u32 and mirred";

/// bandwidth's setup on an ifb of a throwaway namespace.
pub(super) fn probe_shaping(nl: &cni::netlink::Netlink) -> Result<bool, cni::netlink::KernelError> {
    if !nl.add_ifb("cnidoctor0", 1500)? {
        return Ok(true);
    }
    let ifb =
        nl.link_by_name("cnidoctor0")?.ok_or_else(|| cni::netlink::KernelError::other("ifb not found"))?;
    let bucket = cni::netlink::Tbf { rate: 125_000, limit: 10_000, buffer: 100_000 };
    nl.add_tbf(ifb.index, &bucket)?;
    nl.add_ingress_qdisc(ifb.index)?;
    nl.add_redirect_filter(ifb.index, ifb.index)?;
    Ok(true)
}

/// Kernel modules a plugin type needs.
pub(super) fn modules_for(plugin_type: &str) -> &'static [&'static str] {
    match plugin_type {
        "bridge" => &["bridge", "veth"],
        "ptp" => &["veth"],
        "macvlan" => &["macvlan"],
        "ipvlan" => &["ipvlan"],
        "vlan" => &["8021q"],
        "dummy" => &["dummy"],
        "vrf" => &["vrf"],
        "tap" => &["tun"],
        "bandwidth" => &[SHAPING],
        _ => &[],
    }
}

/// What the kernel says about a module: present, absent, or no way to tell.
pub(super) fn kernel_has(module: &str) -> Option<bool> {
    if module == "bridge" || module == "veth" || module == SHAPING {
        return probe_links(module).ok();
    }
    if Path::new("/sys/module").join(module).exists() {
        return Some(true);
    }
    let release =
        nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let dir = Path::new("/lib/modules").join(release);
    if !dir.join("modules.dep").exists() {
        return None;
    }
    let wanted = [format!("/{module}.ko"), format!("/{}.ko", module.replace('_', "-"))];
    Some(["modules.builtin", "modules.dep"].iter().any(|file| {
        std::fs::read_to_string(dir.join(file))
            .map(|text| {
                text.lines().any(|l| {
                    wanted.iter().any(|w| l.split(':').next().unwrap_or_default().contains(w.as_str()))
                })
            })
            .unwrap_or(false)
    }))
}

/// Makes a link of a kind in a throwaway namespace: the surest test.
/// `vlan-bridge` is a bridge with VLAN filtering.
pub(super) fn probe_links(kind: &str) -> Result<bool, String> {
    let kind = kind.to_string();
    std::thread::spawn(move || -> Result<bool, String> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
        let nl = cni::netlink::Netlink::open().map_err(|e| e.to_string())?;
        let made = match kind.as_str() {
            "veth" => {
                let own = std::fs::File::open("/proc/thread-self/ns/net").map_err(|e| e.to_string())?;
                let spec = cni::netlink::VethSpec {
                    name: "cnidoctor0",
                    peer: "cnidoctor1",
                    mtu: 0,
                    mac: None,
                    peer_netns: std::os::fd::AsRawFd::as_raw_fd(&own),
                };
                nl.add_veth(&spec)
            }
            "vlan-bridge" => nl.add_bridge("cnidoctor0", 0, true),
            SHAPING => probe_shaping(&nl),
            _ => nl.add_bridge("cnidoctor0", 0, false),
        };
        match made {
            Ok(_) => Ok(true),
            Err(e) if e.is_unsupported() => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    })
    .join()
    .unwrap_or_else(|_| Err("probe panicked".into()))
}

/// Modules `kernel_has` learns about by making links in a throwaway namespace.
pub(super) fn probed(module: &str) -> bool {
    module == "bridge" || module == "veth" || module == SHAPING
}

pub(super) fn kernel_features(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    let mut needed: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut vlan_bridges = Vec::new();
    for net in networks {
        for plugin in &net.plugins {
            let plugin_type = plugin_str(plugin, "type").unwrap_or_default();
            for module in modules_for(plugin_type) {
                needed.insert((module, format!("{plugin_type} in {}", net.name)));
            }
            if plugin_type == "bridge"
                && (plugin.go_get("vlan").and_then(Value::as_i64).unwrap_or(0) != 0
                    || plugin.contains_key("vlanTrunk"))
            {
                vlan_bridges.push(net.name.clone());
            }
        }
    }
    let mut by_module: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (module, user) in needed {
        by_module.entry(module).or_default().push(user);
    }
    for (module, users) in by_module {
        if probed(module) && !privileged() {
            findings.push(needs_root(
                "kernel features",
                format!("{module} (needed by {}) is probed in a throwaway namespace", users.join(", ")),
            ));
            continue;
        }
        match kernel_has(module) {
            Some(true) => {
                findings.push(finding("kernel features", Status::Ok, format!("{module}: available"), None))
            }
            Some(false) => findings.push(finding(
                "kernel features",
                Status::Fail,
                format!("the kernel has no {module} (needed by {})", users.join(", ")),
                Some(format!("install a kernel with {module}, or modprobe {module}")),
            )),
            None => findings.push(finding(
                "kernel features",
                Status::Warn,
                format!(
                    "cannot tell whether the kernel has {module} (needed by {}): no modules.dep",
                    users.join(", ")
                ),
                Some(format!("modprobe {module}")),
            )),
        }
    }
    if !vlan_bridges.is_empty() && !privileged() {
        findings.push(needs_root(
            "kernel features",
            format!(
                "bridge VLAN filtering (needed by {}) is probed in a throwaway namespace",
                vlan_bridges.join(", ")
            ),
        ));
    } else if !vlan_bridges.is_empty() {
        match probe_links("vlan-bridge") {
            Ok(true) => {
                findings.push(finding("kernel features", Status::Ok, "bridge VLAN filtering works", None))
            }
            Ok(false) => findings.push(finding(
                "kernel features",
                Status::Fail,
                format!(
                    "the kernel lacks bridge VLAN filtering, which {} need(s) for vlan/vlanTrunk",
                    vlan_bridges.join(", ")
                ),
                Some("use a kernel built with CONFIG_BRIDGE_VLAN_FILTERING".into()),
            )),
            Err(e) => findings.push(finding(
                "kernel features",
                Status::Warn,
                format!("could not probe bridge VLAN filtering: {e}"),
                None,
            )),
        }
    }
}
