//! doctor's host checks: forwarding (IPv6 only where a network has an IPv6
//! range), bridge netfilter, and the netfilter tools and kernel support
//! the networks' rules need.

use super::*;

/// IPv4 forwarding, which every routed network needs, then IPv6's, which
/// only networks with IPv6 ranges need: [`ipv6_forwarding`].
pub(super) fn forwarding(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    let key = "net/ipv4/ip_forward";
    match sysctl(key).as_deref() {
        Some("1") => findings.push(finding("ip forwarding", Status::Ok, "IPv4 forwarding is on", None)),
        Some(_) => findings.push(forwarding_off(key, "IPv4")),
        None => {}
    }
    ipv6_forwarding(findings, networks);
}

fn forwarding_off(key: &str, family: &str) -> Finding {
    finding(
        "ip forwarding",
        Status::Warn,
        format!("{family} forwarding is off: containers reach only this host until a bridge or ptp ADD with a gateway turns it on"),
        Some(format!("sysctl -w {}=1", key.replace('/', "."))),
    )
}

/// Whether a network hands out IPv6 addresses: an IPv6 subnet or range
/// (host-local) or address (static) in its chain's IPAM.
fn has_ipv6(network: &NetworkList) -> bool {
    crate::inspect::subnets(network).iter().any(|subnet| subnet.contains(':'))
}

/// IPv6 forwarding: a warning when it is off and some network of the
/// config dir has an IPv6 range; off with none, only said.
fn ipv6_forwarding(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
    let key = "net/ipv6/conf/all/forwarding";
    let found = match sysctl(key).as_deref() {
        Some("1") => finding("ip forwarding", Status::Ok, "IPv6 forwarding is on", None),
        Some(_) => {
            let users: Vec<&str> = networks.iter().filter(|n| has_ipv6(n)).map(|n| n.name.as_str()).collect();
            if users.is_empty() {
                finding(
                    "ip forwarding",
                    Status::Info,
                    "IPv6 forwarding is off; no network here has an IPv6 range, so none needs it",
                    None,
                )
            } else {
                let mut off = forwarding_off(key, "IPv6");
                off.detail = format!("{} (IPv6 ranges in: {})", off.detail, users.join(", "));
                off
            }
        }
        None => return,
    };
    findings.push(found);
}

pub(super) fn bridge_netfilter(findings: &mut Vec<Finding>) {
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

pub(super) fn tool_version(tool: &str) -> Option<String> {
    let path = cni::netfilter::find_tool(tool)?;
    let out = std::process::Command::new(&path).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string())
}

/// The netfilter tools the networks' rules need.
pub(super) fn netfilter(findings: &mut Vec<Finding>, networks: &[NetworkList]) {
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
    // firewall always uses iptables; portmap when told to (without a
    // backend key it takes nftables where iptables is missing).
    let needs_iptables = |p: &serde_json::Map<String, Value>| match plugin_str(p, "type") {
        Some("firewall") => true,
        Some("portmap") => plugin_str(p, "backend") == Some("iptables"),
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
    // The default is the reference's: iptables where its tools are
    // installed, nftables only when they are not (`Backend::reference_default`).
    let iptables_usable = cni::netfilter::iptables::available(false);
    match (iptables_usable, nftables, &iptables) {
        (true, _, version) => findings.push(finding(
            "netfilter backend",
            Status::Ok,
            format!(
                "ipMasq and portmap without a backend key use iptables ({}), as the reference plugins do",
                version.as_deref().unwrap_or("iptables-save and iptables-restore installed")
            ),
            None,
        )),
        (false, true, _) => findings.push(finding(
            "netfilter backend",
            Status::Ok,
            "ipMasq and portmap without a backend key use nftables (the kernel's nf_tables, over netlink): \
             iptables-save and iptables-restore are not installed",
            None,
        )),
        (false, false, _) => findings.push(finding(
            "netfilter backend",
            if masq_users.is_empty() { Status::Info } else { Status::Fail },
            if masq_users.is_empty() {
                "neither nf_tables nor iptables is usable (no configured network uses ipMasq)".to_string()
            } else {
                format!(
                    "neither nf_tables nor iptables is usable, and ipMasq is on in: {}",
                    masq_users.join(", ")
                )
            },
            Some("modprobe nf_tables, or apt-get install iptables".into()),
        )),
    }
}
