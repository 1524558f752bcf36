//! The sysctls that decide whether the host forwards the attachment's
//! packets: IPv4 forwarding (globally and on the interface they arrive
//! on), IPv6's for IPv6 addresses, and rp_filter where strict mode applies
//! (the route check then says whether it drops).

use super::{finding, Finding, Status, Target};

fn read(key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/{key}")).ok().map(|v| v.trim().to_string())
}

fn dotted(key: &str) -> String {
    key.replace('/', ".")
}

/// One forwarding switch: ok when 1, a failure (with its fix) otherwise.
fn forwarding(findings: &mut Vec<Finding>, key: &str, what: &str) {
    match read(key).as_deref() {
        Some("1") => {
            findings.push(finding("forwarding", Status::Ok, format!("{what} ({} = 1)", dotted(key)), None))
        }
        Some(value) => findings.push(finding(
            "forwarding",
            Status::Fail,
            format!(
                "{what} is off ({} = {value}): the host does not route the container's packets",
                dotted(key)
            ),
            Some(format!("sysctl -w {key}=1")),
        )),
        None => findings.push(finding(
            "forwarding",
            Status::Warn,
            format!("{} cannot be read", dotted(key)),
            None,
        )),
    }
}

pub(super) fn check(target: &Target, findings: &mut Vec<Finding>) {
    let ingress = target.ingress();
    if target.addresses.iter().any(|a| a.is_ipv4()) {
        forwarding(findings, "net/ipv4/ip_forward", "IPv4 forwarding");
        if let Some(link) = ingress {
            forwarding(
                findings,
                &format!("net/ipv4/conf/{link}/forwarding"),
                &format!("IPv4 forwarding on {link}"),
            );
        }
        rp_filter(target, findings);
    }
    if target.addresses.iter().any(|a| a.is_ipv6()) {
        forwarding(findings, "net/ipv6/conf/all/forwarding", "IPv6 forwarding");
    }
}

/// rp_filter: the kernel applies the larger of `all` and the interface's
/// value; strict (1) drops a packet whose source the host would not route
/// back through the interface it came in by. The route check asks the
/// kernel whether it does; this says the setting.
fn rp_filter(target: &Target, findings: &mut Vec<Finding>) {
    let Some(link) = target.ingress() else { return };
    let all = read("net/ipv4/conf/all/rp_filter").and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
    let own =
        read(&format!("net/ipv4/conf/{link}/rp_filter")).and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
    let mode = all.max(own);
    let (status, words) = match mode {
        0 => (Status::Ok, "off"),
        1 => (Status::Info, "strict (the host route check says whether it drops the container's packets)"),
        _ => (Status::Ok, "loose"),
    };
    let detail = format!("rp_filter on {link} is {words}; all = {all}, {link} = {own}");
    findings.push(finding("rp_filter", status, detail, None));
}
