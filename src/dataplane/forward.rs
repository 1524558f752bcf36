//! The FORWARD hook for the attachment's traffic: its first packet out
//! (new) and the answers back (established), through iptables' filter
//! FORWARD chain and every native nftables base chain on the forward hook
//! (any table, ip/ip6/inet), policies included. A packet passes only if
//! every base chain lets it; a drop anywhere is final. This is Docker's
//! case on a node: it sets FORWARD's policy to DROP and accepts only its
//! own bridges' traffic.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::attachment::PortMapping;
use super::iptables::{self, Filter};
use super::netlink::NftChain;
use super::nftables;
use super::packet::{
    protocol_name, protocol_number, walk_base_named, Action, CtState, Match, Packet, Rules, Walk,
};
use super::route::Path;
use super::ruleset::Ruleset;
use super::{finding, Finding, Status, Target};

/// NF_INET_FORWARD.
const HOOK_FORWARD: u32 = 2;
/// The tables iptables-nft keeps its chains in (read through iptables-save).
const IPTABLES_TABLES: [&str; 5] = ["filter", "mangle", "raw", "security", "nat"];

/// One base chain's verdict on one packet.
struct Verdict {
    /// `iptables filter FORWARD`, `nft inet fw forward`.
    chain: String,
    /// The command that lists it, rules numbered, for a look at what may drop.
    listing: String,
    walk: Walk,
    /// The fix when it drops surely.
    fix: String,
}

fn family_name(family: u8) -> &'static str {
    match family {
        1 => "inet",
        2 => "ip",
        10 => "ip6",
        _ => "?",
    }
}

/// A neighbour of the container on its bridge (another address of its
/// subnet, not the gateway), when br_netfilter hands bridged traffic of
/// the family to the FORWARD hook (`bridge-nf-call-iptables` = 1): Docker's
/// DROP then also cuts containers of one bridge off from each other.
fn bridged_neighbour(target: &Target, src: IpAddr) -> Option<IpAddr> {
    target.bridge.as_ref()?;
    let key = if src.is_ipv4() { "bridge-nf-call-iptables" } else { "bridge-nf-call-ip6tables" };
    let on = std::fs::read_to_string(format!("/proc/sys/net/bridge/{key}")).is_ok_and(|v| v.trim() == "1");
    let net = target.addresses.iter().find(|a| a.ip() == src)?;
    let subnet = IpNetwork::new(net.network(), net.prefix()).ok()?;
    let taken = |ip: &IpAddr| *ip == src || *ip == subnet.network() || target.gateways.contains(ip);
    let found = subnet.iter().take(16).find(|ip| !taken(ip) && Some(*ip) != subnet_broadcast(&subnet));
    found.filter(|_| on)
}

fn subnet_broadcast(net: &IpNetwork) -> Option<IpAddr> {
    match net {
        IpNetwork::V4(v4) => Some(IpAddr::V4(v4.broadcast())),
        IpNetwork::V6(_) => None,
    }
}

/// The packets of one path: the first one out, the answer back, one to a
/// neighbour on the bridge when bridged traffic meets the hook, and for
/// each port mapping the first packet in (DNATted already: to the
/// container's address and port).
fn packets(path: &Path, ports: &[PortMapping], neighbour: Option<IpAddr>) -> Vec<Packet> {
    let (oif, oif_index) = match &path.oif {
        Some((name, index)) => (Some(name.clone()), Some(*index)),
        None => (None, None),
    };
    let uplink = oif.as_deref().unwrap_or("?").to_string();
    let bridge = &path.iif.0;
    let mut found = Vec::new();
    let out_and_back = [
        Packet {
            label: format!("{} -> {} ({bridge} -> {uplink}, new)", path.src, path.dst),
            iif: bridge.clone(),
            iif_index: Some(path.iif.1),
            oif: oif.clone(),
            oif_index,
            src: path.src,
            dst: path.dst,
            state: CtState::New,
            l4: None,
        },
        Packet {
            label: format!("{} -> {} ({uplink} -> {bridge}, established)", path.dst, path.src),
            iif: oif.clone().unwrap_or_default(),
            iif_index: oif_index,
            oif: Some(bridge.clone()),
            oif_index: Some(path.iif.1),
            src: path.dst,
            dst: path.src,
            state: CtState::Established,
            l4: None,
        },
    ];
    if path.reaches_out {
        found.extend(out_and_back);
    }
    if let Some(peer) = neighbour {
        found.push(Packet {
            label: format!(
                "{} -> {peer} (a neighbour on {bridge}, bridged through br_netfilter, new)",
                path.src
            ),
            iif: bridge.clone(),
            iif_index: Some(path.iif.1),
            oif: Some(bridge.clone()),
            oif_index: Some(path.iif.1),
            src: path.src,
            dst: peer,
            state: CtState::New,
            l4: None,
        });
    }
    let family_of = |m: &PortMapping| m.host_ip.as_deref().and_then(|h| h.parse::<IpAddr>().ok());
    for mapping in ports.iter().filter(|m| family_of(m).is_none_or(|h| h.is_ipv4() == path.src.is_ipv4())) {
        let Some(proto) = protocol_number(&mapping.protocol) else { continue };
        found.push(Packet {
            label: format!(
                "{} -> {}:{} {} (host port {}; {uplink} -> {bridge}, new)",
                path.dst, path.src, mapping.container_port, mapping.protocol, mapping.host_port
            ),
            iif: oif.clone().unwrap_or_default(),
            iif_index: oif_index,
            oif: Some(bridge.clone()),
            oif_index: Some(path.iif.1),
            src: path.dst,
            dst: path.src,
            state: CtState::New,
            l4: Some((proto, mapping.container_port)),
        });
    }
    found
}

/// The fix of an iptables drop: delete the dropping rule, or accept the
/// traffic where Docker asks users to put their rules (DOCKER-USER), else
/// at the head of FORWARD.
fn iptables_fix(filter: &Filter, by: &str, packet: &Packet, bridge: &str, tool: &str) -> String {
    if let Some(rule) = by.strip_prefix(&format!("{tool} -A ")) {
        return format!("{tool} -D {rule} (or insert an ACCEPT for {bridge} before it)");
    }
    let chain = if filter.rules.contains_key("DOCKER-USER") { "DOCKER-USER" } else { "FORWARD" };
    if let Some((proto, port)) = packet.l4 {
        return format!(
            "{tool} -I {chain} -o {bridge} -d {} -p {} --dport {port} -j ACCEPT",
            packet.dst,
            protocol_name(proto)
        );
    }
    match packet.state {
        CtState::New => format!("{tool} -I {chain} -i {bridge} -j ACCEPT (or add the firewall plugin to the network's chain)"),
        CtState::Established => format!(
            "{tool} -I {chain} -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT (or add the firewall plugin to the network's chain)"
        ),
    }
}

fn nft_fix(chain: &NftChain, by: &str, packet: &Packet, bridge: &str) -> String {
    let at = format!("{} {} {}", family_name(chain.family), chain.table, chain.name);
    // A rule drops (in this chain or one it jumps to): `nft rule FAMILY
    // TABLE CHAIN handle N ...` names it.
    let words: Vec<&str> = by.split_whitespace().collect();
    if let ["nft", "rule", family, table, rule_chain, "handle", handle, ..] = words.as_slice() {
        return format!(
            "nft delete rule {family} {table} {rule_chain} handle {handle} (or insert an accept for {bridge} before it)"
        );
    }
    if let Some((proto, port)) = packet.l4 {
        let ip = if packet.dst.is_ipv4() { "ip" } else { "ip6" };
        return format!(
            "nft 'insert rule {at} oifname \"{bridge}\" {ip} daddr {} {} dport {port} accept'",
            packet.dst,
            protocol_name(proto)
        );
    }
    match packet.state {
        CtState::New => format!("nft 'insert rule {at} iifname \"{bridge}\" accept'"),
        CtState::Established => {
            format!("nft 'insert rule {at} oifname \"{bridge}\" ct state established,related accept'")
        }
    }
}

/// Every base chain's verdict on `packet`.
fn verdicts(packet: &Packet, bridge: &str, ruleset: &Ruleset, chains: &[NftChain]) -> Vec<Verdict> {
    let ipv6 = packet.src.is_ipv6();
    let mut found = Vec::new();
    let tables = ruleset.iptables_filter(ipv6);
    for table in tables {
        let (filter, tool) = (&table.filter, table.tool.as_str());
        let policy_drops = filter.policies.get("FORWARD").is_some_and(|p| p == "DROP");
        let policy_words = "FORWARD's policy DROP, and no rule (nor chain it jumps to) accepts it";
        let walk = walk_base_named("FORWARD", policy_drops, policy_words, &|c: &str| {
            iptables::chain_rules(tool, filter, c, packet)
        });
        let fix = walk
            .drops
            .as_deref()
            .map(|by| iptables_fix(filter, by, packet, bridge, tool))
            .unwrap_or_default();
        let policy = filter.policies.get("FORWARD").cloned().unwrap_or_default();
        found.push(Verdict {
            chain: format!("{tool} filter FORWARD (policy {policy})"),
            listing: format!("{tool} -S FORWARD (and the chains it jumps to)"),
            walk,
            fix,
        });
    }
    let read_by_iptables = tables.iter().any(|t| t.in_nftables);
    let family = if ipv6 { 10 } else { 2 };
    let mut base: Vec<&NftChain> = chains
        .iter()
        .filter(|c| {
            c.hook.as_ref().is_some_and(|h| h.0 == HOOK_FORWARD) && (c.family == 1 || c.family == family)
        })
        .filter(|c| !(read_by_iptables && c.name == "FORWARD" && IPTABLES_TABLES.contains(&c.table.as_str())))
        .collect();
    base.sort_by_key(|c| c.hook.as_ref().map(|h| h.1).unwrap_or_default());
    for chain in base {
        let rules_of = |name: &str| -> Option<Rules> {
            if !chains.iter().any(|c| c.family == chain.family && c.table == chain.table && c.name == name) {
                return None;
            }
            let rules = match ruleset.nft_rules(chain.family, &chain.table, name) {
                Ok(rules) => rules,
                Err(e) => {
                    // Unreadable: said as a rule that may drop.
                    return Some(vec![(format!("the rules of {name} ({e})"), Match::Maybe, Action::Unknown)]);
                }
            };
            Some(
                rules
                    .iter()
                    .map(|rule| {
                        let (matched, action) = nftables::evaluate(&rule.exprs, packet);
                        (
                            nftables::label(family_name(chain.family), &chain.table, name, rule),
                            matched,
                            action,
                        )
                    })
                    .collect(),
            )
        };
        let policy_drops = chain.hook.as_ref().is_some_and(|h| h.3 == 0);
        let policy_words = format!("the chain's policy drop, and no rule of {} accepts it", chain.name);
        let walk = walk_base_named(&chain.name, policy_drops, &policy_words, &rules_of);
        let fix = walk.drops.as_deref().map(|by| nft_fix(chain, by, packet, bridge)).unwrap_or_default();
        let policy = if policy_drops { "drop" } else { "accept" };
        found.push(Verdict {
            chain: format!(
                "nft {} {} {} (policy {policy})",
                family_name(chain.family),
                chain.table,
                chain.name
            ),
            listing: format!("nft -a list table {} {}", family_name(chain.family), chain.table),
            walk,
            fix,
        });
    }
    found
}

pub(super) fn check(target: &Target, paths: &[Path], ruleset: &Ruleset, findings: &mut Vec<Finding>) {
    let Some(bridge) = target.ingress() else { return };
    let chains = match ruleset.nft_chains() {
        Ok(chains) => chains,
        Err(e) => {
            findings.push(finding(
                "forward hook",
                Status::Warn,
                format!("nftables cannot be listed ({e}): only iptables is checked"),
                None,
            ));
            &[]
        }
    };
    let families: std::collections::BTreeSet<bool> = paths.iter().map(|p| p.src.is_ipv6()).collect();
    for ipv6 in families {
        for why in ruleset.iptables_filter_unread(ipv6) {
            findings.push(finding(
                "forward hook",
                Status::Warn,
                format!("an iptables filter table cannot be read ({why}): its FORWARD chain is not checked"),
                None,
            ));
        }
    }
    for path in paths {
        for packet in packets(path, &target.ports, bridged_neighbour(target, path.src)) {
            report(&packet, &verdicts(&packet, bridge, ruleset, chains), findings);
        }
    }
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|i| seen.insert(i.clone()));
    items
}

/// The findings of one packet: each base chain that drops it (fail) or
/// may (warn), or one ok naming the chains it passes.
fn report(packet: &Packet, verdicts: &[Verdict], findings: &mut Vec<Finding>) {
    let check = "forward hook";
    let mut clean = true;
    for verdict in verdicts {
        if let Some(by) = &verdict.walk.drops {
            clean = false;
            findings.push(finding(
                check,
                Status::Fail,
                format!("{} drops {}: {by}", verdict.chain, packet.label),
                Some(verdict.fix.clone()),
            ));
        } else if !verdict.walk.passes() {
            clean = false;
            findings.push(finding(
                check,
                Status::Warn,
                format!(
                    "{} may drop {}: {}",
                    verdict.chain,
                    packet.label,
                    dedup(verdict.walk.may_drop.clone()).join("; ")
                ),
                Some(format!("look at the rules named: {}", verdict.listing)),
            ));
        }
    }
    if clean {
        let through = if verdicts.is_empty() {
            "no filtering chain is on the hook".to_string()
        } else {
            verdicts.iter().map(|v| v.chain.as_str()).collect::<Vec<_>>().join(", ")
        };
        findings.push(finding(check, Status::Ok, format!("{} passes: {through}", packet.label), None));
    }
}
