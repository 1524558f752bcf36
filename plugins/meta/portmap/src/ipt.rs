//! The iptables backend: the reference's nat chains. PREROUTING and OUTPUT
//! jump to CNI-HOSTPORT-DNAT for local destinations; that chain jumps, per
//! protocol and port list, to the container's CNI-DN-<hash> chain, which
//! marks hairpin and localhost traffic (CNI-HOSTPORT-SETMARK) and DNATs;
//! CNI-HOSTPORT-MASQ, first in POSTROUTING, masquerades marked packets.
//!
//! Rules are spelled as iptables-save prints them, so one iptables-save
//! tells what exists and one iptables-restore per family makes the change.

use std::net::IpAddr;

use cni::checked::RestoreWords;
use cni::netfilter::iptables::{self, comment_match, Rule};
use cni::netfilter::{go_quote, hash_with_prefix};
use cni::CniError;
use ipnetwork::IpNetwork;

use crate::config::{Config, Mapping};

const TOP_DNAT: &str = "CNI-HOSTPORT-DNAT";
const SET_MARK: &str = "CNI-HOSTPORT-SETMARK";
const MARK_MASQ: &str = "CNI-HOSTPORT-MASQ";
/// Older versions' SNAT chain, torn down in case one made it.
const OLD_TOP_SNAT: &str = "CNI-HOSTPORT-SNAT";
/// multiport takes at most 15 ports per rule.
const MULTIPORT_MAX: usize = 15;

/// The per-container chain: `CNI-DN-` + hash of network name and container ID.
pub fn dnat_chain(network: &str, container_id: &str) -> String {
    hash_with_prefix(28, "CNI-DN-", &format!("{network}{container_id}"))
}

fn old_snat_chain(network: &str, container_id: &str) -> String {
    hash_with_prefix(28, "CNI-SN-", &format!("{network}{container_id}"))
}

fn mark(bit: u32) -> String {
    let value = 1u32 << bit;
    format!("{value:#x}/{value:#x}")
}

/// The shared chains and rules (the mark and masquerade ones only with snat
/// and no external mark chain).
pub(crate) fn shared(conf: &Config) -> (Vec<&'static str>, Vec<Rule>) {
    let mut chains = Vec::new();
    let mut rules = Vec::new();
    if conf.snat && conf.external_set_mark_chain.is_none() {
        let mark = mark(conf.mark_bit);
        chains.extend([SET_MARK, MARK_MASQ]);
        rules.push(Rule::new(
            SET_MARK,
            format!("{} -j MARK --set-xmark {mark}", comment_match("CNI portfwd masquerade mark")),
            false,
        ));
        rules.push(Rule::new(MARK_MASQ, format!("-m mark --mark {mark} -j MASQUERADE"), false));
        rules.push(Rule::new(
            "POSTROUTING",
            format!("{} -j {MARK_MASQ}", comment_match("CNI portfwd requiring masquerade")),
            true,
        ));
    }
    chains.push(TOP_DNAT);
    for entry in ["PREROUTING", "OUTPUT"] {
        rules.push(Rule::new(entry, format!("-m addrtype --dst-type LOCAL -j {TOP_DNAT}"), false));
    }
    (chains, rules)
}

/// The jumps from CNI-HOSTPORT-DNAT to the container chain: per protocol
/// (sorted), up to 15 ports each, with the family's conditions.
pub(crate) fn entry_rules(conf: &Config, chain: &str, ipv6: bool) -> Vec<Rule> {
    let comment = comment_match(&trim_comment(&format!(
        "dnat name: {} id: {}",
        go_quote(&conf.net.name),
        go_quote(&conf.container_id)
    )));
    let mut protocols: Vec<&str> = conf.mappings.iter().map(|m| m.protocol.as_str()).collect();
    protocols.sort_unstable();
    protocols.dedup();
    let conditions = conf.ipt_conditions(ipv6).map(RestoreWords::to_restore_input).unwrap_or_default();
    let mut rules = Vec::new();
    for protocol in protocols {
        let ports: Vec<String> = conf
            .mappings
            .iter()
            .filter(|m| m.protocol == protocol)
            .map(|m| m.host_port.to_string())
            .collect();
        for group in ports.chunks(MULTIPORT_MAX) {
            rules.push(Rule::new(
                TOP_DNAT,
                format!(
                    "-p {protocol} {comment} -m multiport --dports {}{conditions} -j {chain}",
                    group.join(",")
                ),
                false,
            ));
        }
    }
    rules
}

/// The reference cuts comments to iptables' 255-character limit.
fn trim_comment(text: &str) -> String {
    if text.len() <= 255 {
        return text.to_string();
    }
    let mut cut = 253;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

/// The container chain's rules: per mapping, the hairpin and localhost
/// marks (with snat) and the DNAT.
pub(crate) fn dnat_rules(conf: &Config, chain: &str, container: IpNetwork) -> Vec<Rule> {
    let ipv6 = container.is_ipv6();
    let set_mark = conf.external_set_mark_chain.as_ref().map_or(SET_MARK, |c| c.as_str());
    let mut rules = Vec::new();
    for mapping in conf.mappings.iter().filter(|m| m.applies_to(ipv6)) {
        let destination = match mapping.destination() {
            Some(ip) => format!("-d {ip}/{} ", if ip.is_ipv6() { 128 } else { 32 }),
            None => String::new(),
        };
        let port = port_match(mapping);
        if conf.snat {
            // iptables-save leaves out a match of every source.
            let hairpin = if conf.masq_all {
                String::new()
            } else {
                format!("-s {}/{} ", container.network(), container.prefix())
            };
            rules.push(Rule::new(chain, format!("{hairpin}{destination}{port} -j {set_mark}"), false));
            if !ipv6 && !conf.masq_all {
                rules.push(Rule::new(
                    chain,
                    format!("-s 127.0.0.1/32 {destination}{port} -j {set_mark}"),
                    false,
                ));
            }
        }
        let to = match container.ip() {
            std::net::IpAddr::V4(ip) => format!("{ip}:{}", mapping.container_port),
            std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", mapping.container_port),
        };
        rules.push(Rule::new(chain, format!("{destination}{port} -j DNAT --to-destination {to}"), false));
    }
    rules
}

fn port_match(mapping: &Mapping) -> String {
    format!("-p {0} -m {0} --dport {1}", mapping.protocol, mapping.host_port)
}

/// Sets up the mappings to `container` (of one family) in one transaction.
/// As the reference, rules already there stay and only missing ones are
/// added: the chain is the container's on this network, so another
/// interface of the container keeps its mappings in it.
pub fn forward(conf: &Config, container: IpNetwork) -> Result<(), CniError> {
    let ipv6 = container.is_ipv6();
    let chain = dnat_chain(&conf.net.name, &conf.container_id);
    let (mut chains, mut rules) = shared(conf);
    chains.push(&chain);
    rules.extend(dnat_rules(conf, &chain, container));
    rules.extend(entry_rules(conf, &chain, ipv6));
    iptables::transact(ipv6, "nat", |saved| iptables::missing_lines(saved, &chains, &rules))
        .map_err(|e| e.context("unable to set up iptables rules for port mappings"))
}

/// CHECK: the container chain with its rules, and its entry rules.
pub fn check(conf: &Config, container: IpNetwork) -> Result<(), CniError> {
    let ipv6 = container.is_ipv6();
    let chain = dnat_chain(&conf.net.name, &conf.container_id);
    let rules = dnat_rules(conf, &chain, container);
    let saved = iptables::save(ipv6, "nat")?;
    if !iptables::has_chain(&saved, &chain) {
        return Err(CniError::internal(format!("chain {chain} not found in iptables table nat")));
    }
    if let Some(rule) = rules.iter().find(|r| !iptables::present(&saved, r)) {
        return Err(CniError::internal(format!(
            "rule {} in chain {chain} not found in table nat",
            rule.spec
        )));
    }
    // Conditions are spelled by the user, not by iptables-save: count the jumps.
    let entries = entry_rules(conf, &chain, ipv6);
    let found = if conf.ipt_conditions(ipv6).is_none() {
        entries.iter().filter(|r| iptables::present(&saved, r)).count()
    } else {
        iptables::rules_jumping_to(&saved, TOP_DNAT, &chain).len()
    };
    if found < entries.len() {
        return Err(CniError::internal(format!("rule jumping to {chain} not found in chain {TOP_DNAT}")));
    }
    Ok(())
}

/// Removes the container chain (and an old SNAT one) with the rules jumping
/// to them, in both families; families without such chains cost no exec.
pub fn unforward(network: &str, container_id: &str) -> Result<(), CniError> {
    unforward_interface(network, container_id, &[])
}

/// Removes one interface's mappings: the DNAT rules to `addresses` and the
/// mark rules no other DNAT rule of the chain needs; the whole chain (as
/// [`unforward`]) when nothing else is left in it, or when the addresses
/// are not known (`addresses` empty: a DEL without a previous result).
pub fn unforward_interface(network: &str, container_id: &str, addresses: &[IpAddr]) -> Result<(), CniError> {
    let dnat = dnat_chain(network, container_id);
    let snat = old_snat_chain(network, container_id);
    for ipv6 in [false, true] {
        let present: Vec<&String> =
            [&dnat, &snat].into_iter().filter(|c| iptables::chain_may_exist(ipv6, "nat", c)).collect();
        if present.is_empty() {
            continue;
        }
        let mine: Vec<IpAddr> = addresses.iter().copied().filter(|a| a.is_ipv6() == ipv6).collect();
        iptables::transact(ipv6, "nat", |saved| {
            let mut lines = iptables::chain_removal_lines(saved, &snat, &[OLD_TOP_SNAT]);
            match interface_rules(saved, &dnat, &mine) {
                Some(doomed) => doomed.iter().for_each(|rule| lines.push_str(&format!("-D{}\n", &rule[2..]))),
                None => lines.push_str(&iptables::chain_removal_lines(saved, &dnat, &[TOP_DNAT])),
            }
            lines
        })
        .map_err(|e| {
            e.context(format!("could not tear down {} port mappings", if ipv6 { "ipv6" } else { "ipv4" }))
        })?;
    }
    Ok(())
}

/// The rules of `chain` that are only `addresses`' (DNAT rules to them, and
/// mark rules of the same match no other DNAT rule shares); `None` when the
/// whole chain should go (no addresses known, or nothing else in it).
fn interface_rules<'a>(saved: &'a str, chain: &str, addresses: &[IpAddr]) -> Option<Vec<&'a str>> {
    if addresses.is_empty() {
        return None;
    }
    let head = format!("-A {chain} ");
    let rules: Vec<&str> = saved.lines().filter(|l| l.starts_with(&head)).collect();
    let targets: Vec<String> = addresses
        .iter()
        .map(|ip| match ip {
            IpAddr::V4(ip) => format!("--to-destination {ip}:"),
            IpAddr::V6(ip) => format!("--to-destination [{ip}]:"),
        })
        .collect();
    let (dnat, marks): (Vec<&str>, Vec<&str>) = rules.iter().partition(|r| r.contains(" -j DNAT "));
    let (doomed, kept): (Vec<&str>, Vec<&str>) =
        dnat.into_iter().partition(|r| targets.iter().any(|t| r.contains(t.as_str())));
    if kept.is_empty() {
        return None;
    }
    // A rule's match: what precedes its target, less a mark rule's source.
    let matching = |rule: &'a str| -> &'a str {
        let spec = rule[head.len()..].split(" -j ").next().unwrap_or_default();
        match spec.strip_prefix("-s ") {
            Some(rest) => rest.split_once(' ').map_or("", |(_, m)| m),
            None => spec,
        }
    };
    let kept_matches: Vec<&str> = kept.iter().map(|r| matching(r)).collect();
    let doomed_matches: Vec<&str> = doomed.iter().map(|r| matching(r)).collect();
    let orphan_marks = marks
        .into_iter()
        .filter(|r| doomed_matches.contains(&matching(r)) && !kept_matches.contains(&matching(r)));
    Some(doomed.into_iter().chain(orphan_marks).collect())
}

/// The container IDs whose port mappings on `network` the saved nat table
/// holds: the `id: "..."` of each entry rule whose jump target is that
/// container's chain for this network (the hash proves the network).
fn attached_ids(saved: &str, network: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in saved.lines().filter(|l| l.starts_with(&format!("-A {TOP_DNAT} "))) {
        let Some(target) = line.rsplit(" -j ").next() else { continue };
        let Some(start) = line.find(" id: \\\"") else { continue };
        let rest = &line[start + " id: \\\"".len()..];
        let Some(end) = rest.find("\\\"") else { continue };
        let id = &rest[..end];
        if dnat_chain(network, id) == target.trim() && !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

/// GC: removes, in both families, the chains and entry rules of this
/// network's containers that are not in `valid`.
pub fn gc(network: &str, valid: &std::collections::HashSet<&str>) -> Result<(), CniError> {
    for ipv6 in [false, true] {
        if !iptables::chain_may_exist(ipv6, "nat", TOP_DNAT) {
            continue;
        }
        let saved = iptables::save(ipv6, "nat")?;
        for id in attached_ids(&saved, network).iter().filter(|id| !valid.contains(id.as_str())) {
            unforward(network, id)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod gc_tests {
    use super::*;

    #[test]
    fn one_interfaces_rules_are_its_dnat_and_the_marks_only_it_needs() {
        let chain = dnat_chain("net", "abc");
        let saved = format!(
            "-A {chain} -s 10.9.0.0/24 -p tcp -m tcp --dport 81 -j CNI-HOSTPORT-SETMARK\n\
             -A {chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 81 -j CNI-HOSTPORT-SETMARK\n\
             -A {chain} -p tcp -m tcp --dport 81 -j DNAT --to-destination 10.9.0.2:80\n\
             -A {chain} -s 10.9.0.0/24 -p tcp -m tcp --dport 82 -j CNI-HOSTPORT-SETMARK\n\
             -A {chain} -p tcp -m tcp --dport 82 -j DNAT --to-destination 10.9.0.3:80\n"
        );
        let eth1: Vec<&str> = interface_rules(&saved, &chain, &["10.9.0.3".parse().unwrap()]).unwrap();
        assert_eq!(eth1.len(), 2, "{eth1:?}");
        assert!(eth1.iter().all(|r| r.contains("--dport 82")), "{eth1:?}");
        assert_eq!(interface_rules(&saved, &chain, &[]), None, "no addresses: the whole chain");
        let both: Vec<std::net::IpAddr> = vec!["10.9.0.2".parse().unwrap(), "10.9.0.3".parse().unwrap()];
        assert_eq!(interface_rules(&saved, &chain, &both), None, "nothing left: the whole chain");
    }

    #[test]
    fn entry_rules_name_their_container() {
        let chain = dnat_chain("net", "abc");
        let other = dnat_chain("other", "xyz");
        let saved = format!(
            "-A {TOP_DNAT} -p tcp -m comment --comment \"dnat name: \\\"net\\\" id: \\\"abc\\\"\" -m multiport --dports 80 -j {chain}\n\
             -A {TOP_DNAT} -p tcp -m comment --comment \"dnat name: \\\"other\\\" id: \\\"xyz\\\"\" -m multiport --dports 81 -j {other}\n"
        );
        assert_eq!(attached_ids(&saved, "net"), ["abc"]);
        assert_eq!(attached_ids(&saved, "other"), ["xyz"]);
    }
}

#[cfg(test)]
mod golden_tests {
    use super::*;
    use cni::env::{CmdArgs, Command};

    /// `iptables-save -t nat` after the Debian reference portmap (v1.1.1)
    /// ADDed 8080->80/tcp and 10.218.70.1:5353->53/udp for container ctr1
    /// (10.218.70.2/24) of network goldnet (run by hand in a netns of its
    /// own), less the chain declarations.
    const REFERENCE: &str = r#"-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-DN-67f4fdb66c83c464761f5 -s 10.218.70.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-67f4fdb66c83c464761f5 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-67f4fdb66c83c464761f5 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.218.70.2:80
-A CNI-DN-67f4fdb66c83c464761f5 -s 10.218.70.0/24 -d 10.218.70.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-67f4fdb66c83c464761f5 -s 127.0.0.1/32 -d 10.218.70.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-67f4fdb66c83c464761f5 -d 10.218.70.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.218.70.2:53
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"goldnet\" id: \"ctr1\"" -m multiport --dports 8080 -j CNI-DN-67f4fdb66c83c464761f5
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"goldnet\" id: \"ctr1\"" -m multiport --dports 5353 -j CNI-DN-67f4fdb66c83c464761f5
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000"#;

    fn conf() -> Config {
        let netconf = r#"{"cniVersion": "1.0.0", "name": "goldnet", "type": "portmap", "backend": "iptables",
            "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "10.218.70.1"}]}}"#;
        let args = CmdArgs {
            command: Command::Add,
            container_id: "ctr1".into(),
            netns: "/run/netns/goldc".into(),
            ifname: "eth0".into(),
            args: String::new(),
            path: String::new(),
            stdin: netconf.as_bytes().to_vec(),
            config_version: "1.0.0".into(),
        };
        crate::config::load(&args).unwrap_or_else(|e| panic!("{}", e.msg))
    }

    #[test]
    fn rules_are_the_references_line_for_line() {
        let conf = conf();
        let chain = dnat_chain("goldnet", "ctr1");
        let container: IpNetwork = "10.218.70.2/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let (_, mut rules) = shared(&conf);
        rules.extend(entry_rules(&conf, &chain, false));
        rules.extend(dnat_rules(&conf, &chain, container));
        let ours: Vec<String> = rules.iter().map(|r| format!("-A {} {}", r.chain, r.spec)).collect();
        // Sorted: `first` rules are inserted, so list order is not chain order.
        let mut ours: Vec<&str> = ours.iter().map(String::as_str).collect();
        let mut reference: Vec<&str> = REFERENCE.lines().collect();
        ours.sort_unstable();
        reference.sort_unstable();
        assert_eq!(ours, reference);
        // Within the container's chain, order is the reference's too.
        let dnat: Vec<&str> = REFERENCE.lines().filter(|l| l.starts_with(&format!("-A {chain} "))).collect();
        let ours_dnat: Vec<String> = dnat_rules(&conf, &chain, container)
            .iter()
            .map(|r| format!("-A {} {}", r.chain, r.spec))
            .collect();
        assert_eq!(ours_dnat, dnat);
    }
}
