//! doctor's host checks: forwarding, bridge netfilter, and the netfilter
//! tools and kernel support the networks' rules need.

use super::*;

pub(super) fn forwarding(findings: &mut Vec<Finding>) {
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
