//! The host side of the attachment: its veth up, with carrier, and a
//! port of the bridge; the bridge up.

use cni::netlink::Link;

use super::{finding, Finding, Status, Target};

/// The host's links, read once.
pub struct HostLinks(pub Vec<Link>);

impl HostLinks {
    /// The links of this namespace, or why netlink would not list them.
    pub fn read() -> Result<HostLinks, String> {
        cni::netlink::Netlink::open().and_then(|nl| nl.links()).map(HostLinks).map_err(|e| e.to_string())
    }

    /// A link by name.
    pub fn by_name(&self, name: &str) -> Option<&Link> {
        self.0.iter().find(|l| l.name == name)
    }

    /// A link's name by index.
    pub fn name_of(&self, index: u32) -> Option<&str> {
        self.0.iter().find(|l| l.index == index).map(|l| l.name.as_str())
    }
}

/// How to run a command in the container's namespace, for fixes.
fn in_container(target: &Target, command: &str) -> String {
    format!("nsenter --net={} {command}", target.netns)
}

/// The fix of a lost bridge or veth: nothing cnictl can safely redo on a
/// live container (a DEL and ADD would give it another ID and address
/// behind its runtime's back), so the runtime must recreate it.
fn recreate(target: &Target, what: &str) -> String {
    format!(
        "recreate container {} with its runtime: its {what} cannot be made again under a live container",
        target.container_id
    )
}

pub(super) fn check(target: &Target, host: &HostLinks, findings: &mut Vec<Finding>) {
    let bridge = target.bridge.as_deref().map(|name| (name, host.by_name(name)));
    if let Some((name, found)) = bridge {
        match found {
            None => findings.push(finding(
                "bridge",
                Status::Fail,
                format!("bridge {name} does not exist"),
                Some(recreate(target, &format!("bridge {name}"))),
            )),
            Some(link) if !link.up => findings.push(finding(
                "bridge",
                Status::Fail,
                format!("bridge {name} is down"),
                Some(format!("ip link set {name} up")),
            )),
            Some(_) => findings.push(finding("bridge", Status::Ok, format!("bridge {name} is up"), None)),
        }
    }
    let Some(veth) = target.host_veth.as_deref() else {
        if target.main_type.as_deref().is_some_and(|t| t == "bridge" || t == "ptp") {
            findings.push(finding(
                "host veth",
                Status::Warn,
                "the cached result names no host interface",
                None,
            ));
        }
        return;
    };
    let Some(link) = host.by_name(veth) else {
        findings.push(finding(
            "host veth",
            Status::Fail,
            format!("{veth}, the host end of the container's veth, does not exist"),
            Some(recreate(target, &format!("veth {veth}"))),
        ));
        return;
    };
    let mut wrong = Vec::new();
    if !link.up {
        wrong.push((format!("{veth} is down"), format!("ip link set {veth} up")));
    } else if !link.oper_up {
        wrong.push((
            format!("{veth} is up but has no carrier: the container's {} is down", target.ifname),
            in_container(target, &format!("ip link set {} up", target.ifname)),
        ));
    }
    if let Some((name, Some(bridge))) = bridge {
        if link.master != Some(bridge.index) {
            let now =
                link.master.and_then(|m| host.name_of(m)).map_or("no bridge".to_string(), str::to_string);
            wrong.push((
                format!("{veth} is not a port of {name} (it is on {now})"),
                format!("ip link set {veth} master {name}"),
            ));
        }
    }
    if wrong.is_empty() {
        let on = bridge.map(|(name, _)| format!(", a port of {name}")).unwrap_or_default();
        findings.push(finding("host veth", Status::Ok, format!("{veth} is up{on}"), None));
    }
    for (detail, fix) in wrong {
        findings.push(finding("host veth", Status::Fail, detail, Some(fix)));
    }
}
