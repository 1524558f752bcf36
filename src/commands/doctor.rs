//! `cnictl doctor`: what on this host keeps the configured networks from
//! working, each finding with its fix. It reads state and changes nothing
//! (the one probe that creates a link does so in a throwaway namespace).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cni::gojson::GoKeys;
use color_eyre::eyre::Result;
use serde_json::{json, Value};

use super::Context;
use crate::render::{self, Format};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::config::{conf_files, load_file, NetworkList};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// One thing doctor looked at.
struct Finding {
    check: &'static str,
    status: Status,
    detail: String,
    fix: Option<String>,
}

fn finding(check: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding { check, status, detail: detail.into(), fix }
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

fn forwarding(findings: &mut Vec<Finding>) {
    for (key, family) in [("net/ipv4/ip_forward", "IPv4"), ("net/ipv6/conf/all/forwarding", "IPv6")] {
        match sysctl(key).as_deref() {
            Some("1") => findings.push(finding("ip forwarding", Status::Ok, format!("{family} forwarding is on"), None)),
            Some(_) => findings.push(finding(
                "ip forwarding",
                Status::Warn,
                format!("{family} forwarding is off: containers reach only this host until a bridge or ptp ADD with a gateway turns it on"),
                Some(format!("sysctl -w {}=1", key.replace('/', "."))),
            )),
            None => {}
        }
    }
}

fn bridge_netfilter(findings: &mut Vec<Finding>) {
    match sysctl("net/bridge/bridge-nf-call-iptables").as_deref() {
        None => findings.push(finding(
            "bridge netfilter",
            Status::Info,
            "br_netfilter is not loaded: bridged traffic between containers skips iptables and nftables ip rules",
            Some("modprobe br_netfilter (needed where firewall rules must see bridged traffic, e.g. Kubernetes)".into()),
        )),
        Some("1") => {
            findings.push(finding("bridge netfilter", Status::Ok, "bridged traffic passes iptables (bridge-nf-call-iptables=1)", None))
        }
        Some(_) => findings.push(finding(
            "bridge netfilter",
            Status::Info,
            "br_netfilter is loaded but bridge-nf-call-iptables=0: bridged traffic skips iptables",
            Some("sysctl -w net.bridge.bridge-nf-call-iptables=1 if firewall rules must see it".into()),
        )),
    }
}

fn tool_version(tool: &str) -> Option<String> {
    let path = cni::netfilter::find_tool(tool)?;
    let out = std::process::Command::new(&path).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string())
}

fn netfilter(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    if !privileged() {
        findings.push(needs_root(
            "netfilter backend",
            "nf_tables answers only CAP_NET_ADMIN, and iptables-save needs root",
        ));
        return;
    }
    let nftables = cni::netfilter::nftnl::available();
    let iptables = tool_version("iptables");
    let masq_users: Vec<&str> = networks
        .iter()
        .filter(|n| n.plugins.iter().any(|p| p.go_get("ipMasq").and_then(Value::as_bool) == Some(true)))
        .map(|n| n.name.as_str())
        .collect();
    // firewall always uses iptables; portmap when told to, or when nf_tables does not answer.
    let needs_iptables = |p: &serde_json::Map<String, Value>| match plugin_str(p, "type") {
        Some("firewall") => true,
        Some("portmap") => !nftables || plugin_str(p, "backend") == Some("iptables"),
        _ => false,
    };
    let iptables_users: Vec<&str> =
        networks.iter().filter(|n| n.plugins.iter().any(needs_iptables)).map(|n| n.name.as_str()).collect();
    if !iptables_users.is_empty() && !cni::netfilter::iptables::available(false) {
        findings.push(finding(
            "netfilter backend",
            Status::Fail,
            format!(
                "firewall (and portmap with the iptables backend) need iptables-save and iptables-restore, used in: {}",
                iptables_users.join(", ")
            ),
            Some("apt-get install iptables".into()),
        ));
    }
    match (nftables, &iptables) {
        (true, _) => findings.push(finding(
            "netfilter backend",
            Status::Ok,
            "ipMasq without ipMasqBackend uses nftables (the kernel's nf_tables, over netlink; no nft binary needed)",
            None,
        )),
        (false, Some(v)) => findings.push(finding(
            "netfilter backend",
            Status::Ok,
            format!("ipMasq without ipMasqBackend uses iptables ({v}); the kernel's nf_tables does not answer"),
            None,
        )),
        (false, None) => findings.push(finding(
            "netfilter backend",
            if masq_users.is_empty() { Status::Info } else { Status::Fail },
            if masq_users.is_empty() {
                "neither nf_tables nor iptables is usable (no configured network uses ipMasq)".to_string()
            } else {
                format!("neither nf_tables nor iptables is usable, and ipMasq is on in: {}", masq_users.join(", "))
            },
            Some("modprobe nf_tables, or apt-get install iptables".into()),
        )),
    }
}

/// What bandwidth needs, probed as one: ifb devices, the tbf and ingress
/// qdiscs, the u32 classifier and the mirred action.
const SHAPING: &str = "ifb, tbf, ingress, u32 and mirred";

/// bandwidth's setup on an ifb of a throwaway namespace.
fn probe_shaping(nl: &cni::netlink::Netlink) -> Result<bool, cni::netlink::KernelError> {
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
fn modules_for(plugin_type: &str) -> &'static [&'static str] {
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
fn kernel_has(module: &str) -> Option<bool> {
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
fn probe_links(kind: &str) -> Result<bool, String> {
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
fn probed(module: &str) -> bool {
    module == "bridge" || module == "veth" || module == SHAPING
}

fn kernel_features(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
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

fn plugin_path(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
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
fn firewall_backend(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    for net in networks {
        for plugin in net.plugins.iter().filter(|p| plugin_str(p, "type") == Some("firewall")) {
            let backend = plugin.go_get("backend").and_then(Value::as_str).unwrap_or_default();
            let (chosen, why) = firewall::backend_on_this_host(backend);
            let status = if chosen == "none" { Status::Fail } else { Status::Info };
            let fix = (chosen == "none").then(|| {
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
const DHCP_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whose dhcp plugin the plugin path finds: ours is a link to the
/// multicall binary.
fn dhcp_plugin_is_ours(ctx: &Context) -> Option<(bool, PathBuf)> {
    let exe = ctx.runtime.path.find("dhcp").ok()?;
    let target = std::fs::canonicalize(&exe.program).unwrap_or_else(|_| exe.program.clone());
    let ours = target.file_name().is_some_and(|n| n == cni::MULTICALL_BINARY);
    Some((ours, exe.program))
}

/// Networks with dhcp IPAM need its daemon: each socket they use must
/// answer, and with the daemon that speaks to the dhcp plugin found (ours
/// and the reference's cannot talk to each other).
fn dhcp_daemon(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
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
            Ok(answer) => finding(
                "dhcp daemon",
                if ours_plugin { Status::Ok } else { Status::Fail },
                format!("cnictl's dhcp daemon {} answers on {socket} (used by {users})", answer.daemon)
                    + if ours_plugin { "" } else { ", but the dhcp plugin found is the reference's, which cannot talk to it" },
                (!ours_plugin).then(|| format!("use cnictl's dhcp plugin, or stop this daemon and start the reference's: {} {socket}", start(&program))),
            ),
            Err(CallError::GoDaemon) => finding(
                "dhcp daemon",
                if ours_plugin { Status::Fail } else { Status::Ok },
                format!("the reference (Go) dhcp daemon answers on {socket} (used by {users})")
                    + if ours_plugin { ", but the dhcp plugin found is cnictl's, which cannot talk to it" } else { "" },
                ours_plugin.then(|| format!("stop the reference daemon and start cnictl's: {} {socket}", start(&program))),
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

fn host_local_store(net: &NetworkList, plugin: &serde_json::Map<String, Value>) -> Option<PathBuf> {
    let ipam = plugin.go_get("ipam")?.as_object()?;
    if ipam.go_get("type")?.as_str()? != "host-local" {
        return None;
    }
    let data_dir = ipam.go_get("dataDir").and_then(Value::as_str).unwrap_or("/var/lib/cni/networks");
    Some(Path::new(data_dir).join(&net.name))
}

fn stale_state(findings: &mut Vec<Finding>, ctx: &Context, networks: &[NetworkList]) {
    if let Err(e) = super::attachments::check_readable(ctx) {
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

/// Bridge ports of configured bridges that no cached attachment made.
fn unowned_ports(
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

/// Runs every check and prints the findings; exit 1 when one fails or
/// could not be made (not root).
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let mut findings = Vec::new();
    let mut files = conf_files(&ctx.conf_dir, &["conflist"])?;
    files.extend(conf_files(&ctx.conf_dir, &["conf", "json"])?);
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
    forwarding(&mut findings);
    bridge_netfilter(&mut findings);
    netfilter(&mut findings, &networks);
    kernel_features(&mut findings, &networks);
    dhcp_daemon(&mut findings, ctx, &networks);
    firewall_backend(&mut findings, &networks);
    plugin_path(&mut findings, ctx, &networks);
    stale_state(&mut findings, ctx, &networks);

    // A run that could not make every check does not pass either.
    let failed = findings.iter().any(|f| matches!(f.status, Status::Fail | Status::Skip));
    let json = Value::Array(
        findings
            .iter()
            .map(|f| json!({"check": f.check, "status": f.status.as_str(), "detail": f.detail, "fix": f.fix}))
            .collect(),
    );
    // The fix goes under its finding's detail: three columns leave the
    // detail most of a terminal's width.
    let rows = findings
        .iter()
        .map(|f| {
            let detail = match &f.fix {
                Some(fix) => format!("{}\nfix: {fix}", f.detail),
                None => f.detail.clone(),
            };
            vec![f.check.to_string(), f.status.as_str().to_string(), detail]
        })
        .collect();
    render::print(format, &json, &["check", "status", "detail"], rows, "nothing to check");
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
