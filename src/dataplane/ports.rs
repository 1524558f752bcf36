//! Each cached port mapping's DNAT rule: on nftables, a rule of table
//! `cni_hostport` (ip, ip6) in `hostports` or `hostip_hostports`,
//! commented with the container ID, matching the protocol and host port
//! and DNATting to the container's address and port; on iptables, the
//! container's `CNI-DN-<hash>` chain in `nat` with its DNAT rule, jumped
//! to from CNI-HOSTPORT-DNAT. Either backend counts.

use std::net::IpAddr;

use cni::netfilter::hash_with_prefix;

use super::attachment::PortMapping;
use super::netlink::{attributes, udata_text};
use super::ruleset::Ruleset;
use super::{finding, Finding, Status, Target};

const TABLE: &str = "cni_hostport";

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

fn protocol_number(protocol: &str) -> u8 {
    match protocol {
        "udp" => 17,
        "sctp" => 132,
        _ => 6,
    }
}

/// The data values of a rule's expressions of `name` (cmp: attr 3;
/// immediate: attr 2), each the NFTA_DATA_VALUE inside.
fn values(exprs: &[super::netlink::NftExpr], name: &str, attr: u16) -> Vec<Vec<u8>> {
    exprs
        .iter()
        .filter(|e| e.name == name)
        .filter_map(|e| {
            let outer = attributes(&e.data);
            let nested = outer.iter().find(|(k, _)| *k == attr)?.1;
            attributes(nested).into_iter().find(|(k, _)| *k == 1).map(|(_, v)| v.to_vec())
        })
        .collect()
}

/// Whether nftables DNATs the mapping to `container`.
fn in_nftables(target: &Target, mapping: &PortMapping, container: IpAddr, ruleset: &Ruleset) -> bool {
    let family = if container.is_ipv4() { 2 } else { 10 };
    let comment = cni::netfilter::nftnl::fit_comment(target.container_id.clone());
    ["hostports", "hostip_hostports"].iter().any(|chain| {
        ruleset.nft_rules(family, TABLE, chain).unwrap_or_default().iter().any(|rule| {
            let compared = values(&rule.exprs, "cmp", 3);
            let loaded = values(&rule.exprs, "immediate", 2);
            udata_text(&rule.userdata, 0) == comment
                && rule.exprs.iter().any(|e| e.name == "nat")
                && compared.contains(&mapping.host_port.to_be_bytes().to_vec())
                && compared.contains(&vec![protocol_number(&mapping.protocol)])
                && loaded.contains(&octets(container))
                && loaded.contains(&mapping.container_port.to_be_bytes().to_vec())
        })
    })
}

/// The DNAT target as iptables-save prints it.
fn destination(container: IpAddr, port: u16) -> String {
    match container {
        IpAddr::V4(ip) => format!("{ip}:{port}"),
        IpAddr::V6(ip) => format!("[{ip}]:{port}"),
    }
}

/// iptables: Some(Ok(())) when the chain DNATs it and is jumped to,
/// Some(Err(missing line)) otherwise, None without the tools.
fn in_iptables(
    target: &Target,
    mapping: &PortMapping,
    container: IpAddr,
    ruleset: &Ruleset,
) -> Option<Result<(), String>> {
    let tool = if container.is_ipv6() { "ip6tables" } else { "iptables" };
    let saved = ruleset.iptables_nat(container.is_ipv6())?;
    let chain = hash_with_prefix(28, "CNI-DN-", &format!("{}{}", target.network, target.container_id));
    let to = destination(container, mapping.container_port);
    let dnat = saved.lines().any(|l| {
        l.starts_with(&format!("-A {chain} "))
            && l.contains(&format!("-p {} ", mapping.protocol))
            && l.contains(&format!("--dport {} ", mapping.host_port))
            && l.ends_with(&format!("--to-destination {to}"))
    });
    if !dnat {
        return Some(Err(format!(
            "{tool} -t nat -A {chain} -p {0} -m {0} --dport {1} -j DNAT --to-destination {to}",
            mapping.protocol, mapping.host_port
        )));
    }
    let jumped = cni::netfilter::iptables::rules_jumping_to(saved, "CNI-HOSTPORT-DNAT", &chain)
        .iter()
        .any(|l| l.contains(&format!("-p {} ", mapping.protocol)));
    Some(if jumped { Ok(()) } else { Err(format!("the jump from CNI-HOSTPORT-DNAT to {chain}")) })
}

pub(super) fn check(target: &Target, ruleset: &Ruleset, findings: &mut Vec<Finding>) {
    if target.ports.is_empty() {
        return;
    }
    let reattach = format!(
        "cnictl del {0} {1} && cnictl add {0} {1} --cap-args '{{\"portMappings\": [...]}}' (re-attach with its mappings)",
        target.network, target.netns
    );
    if target.portmap_backend.is_none() {
        findings.push(finding(
            "port mappings",
            Status::Warn,
            "the cached capability args map ports, but the network's chain has no portmap plugin",
            None,
        ));
        return;
    }
    for mapping in &target.ports {
        let check = format!("port {}/{}", mapping.host_port, mapping.protocol);
        let containers = target
            .addresses
            .iter()
            .map(|a| a.ip())
            .filter(|ip| mapping.host_ip.is_none_or(|h| h.is_ipv4() == ip.is_ipv4()));
        for container in containers {
            let to = destination(container, mapping.container_port);
            if in_nftables(target, mapping, container, ruleset) {
                findings.push(finding(&check, Status::Ok, format!("DNAT to {to} (nftables: {TABLE})"), None));
                continue;
            }
            match in_iptables(target, mapping, container, ruleset) {
                Some(Ok(())) => findings.push(finding(&check, Status::Ok, format!("DNAT to {to} (iptables: nat)"), None)),
                Some(Err(missing)) if target.portmap_backend.as_deref() != Some("nftables") => {
                    let fix = if missing.starts_with("the jump") { reattach.clone() } else { missing.clone() };
                    findings.push(finding(
                        &check,
                        Status::Fail,
                        format!("no DNAT rule sends host port {} to {to}: iptables lacks {missing}", mapping.host_port),
                        Some(fix),
                    ))
                }
                _ => findings.push(finding(
                    &check,
                    Status::Fail,
                    format!("no DNAT rule sends host port {} to {to} (nftables table {TABLE}, nor iptables)", mapping.host_port),
                    Some(format!(
                        "nft 'add rule {} {TABLE} hostports {} dport {} dnat to {to} comment \"{}\"', or {reattach}",
                        if container.is_ipv4() { "ip" } else { "ip6" },
                        mapping.protocol,
                        mapping.host_port,
                        target.container_id
                    )),
                )),
            }
        }
    }
}
