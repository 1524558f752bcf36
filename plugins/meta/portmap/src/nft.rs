//! The nftables backend: table `cni_hostport` in the `ip` and `ip6`
//! families, with the reference's chains (prerouting and output jump to
//! hostports_all, which jumps to hostip_hostports and hostports; masquerading
//! in postrouting) and one rule per mapping commented with the container ID
//! alone, as the reference writes them: its DEL and CHECK match that
//! comment, so a node rolled back to it removes and checks what we made.
//!
//! The comment does not tell a container's networks (or interfaces) apart,
//! so each rule of ours also carries its attachment, `<network> <ifname>`,
//! as an owner nft and the reference do not show (`Batch::add_rule_owned`):
//! DEL, CHECK and GC go by it and leave the container's other attachments
//! alone. A rule with the ID comment and no owner (the reference's, or one
//! restored through `nft`) is taken as the container's on every network, as
//! the reference takes it; rules of our earlier layout (`<containerID>
//! <network>`) are still recognised.
//!
//! Rules go in over netlink, built as nft compiles them. Conditions
//! (`conditionsV4`/`V6`) are nft syntax: the entry rules that carry them are
//! written with the `nft` tool.

use std::collections::HashSet;
use std::net::IpAddr;

use cni::checked::NftExpr;
use cni::conf::Attachment;
use cni::netfilter::nftnl::{
    self, match_host, Batch, Expr, Hook, Listing, NftRule, FAMILY_IPV4, FAMILY_IPV6, NFT_JUMP,
};
use cni::netfilter::{find_tool, run_tool, Owner};
use cni::CniError;
use ipnetwork::IpNetwork;

use crate::config::{Config, Mapping};

/// The reference's nftables table (families ip and ip6).
pub const TABLE: &str = "cni_hostport";
const TABLE_COMMENT: &str = "CNI portmap plugin";
pub(crate) const HOSTPORTS: &str = "hostports";
/// No longer written to (rules with a host IP go in `hostports`), kept for upgrades.
const HOSTIP_HOSTPORTS: &str = "hostip_hostports";
const HOSTPORTS_ALL: &str = "hostports_all";
pub(crate) const MASQUERADING: &str = "masquerading";
/// The chains holding per-container rules.
const RULE_CHAINS: [&str; 3] = [HOSTPORTS, HOSTIP_HOSTPORTS, MASQUERADING];

/// The comment on an attachment's rules: the container ID, as the
/// reference writes it (cut to what nft keeps).
pub fn rule_comment(container_id: &str) -> String {
    nftnl::fit_comment(container_id.to_string())
}

/// The network part of an owner: the name, or `#<hash>` when the name and
/// an interface name would not fit what a rule keeps.
fn owner_network(network: &str) -> String {
    // 16 bytes: the longest interface name and the space.
    if network.len() + 16 <= nftnl::OWNER_MAX {
        network.to_string()
    } else {
        format!("#{}", cni::netfilter::hash_with_prefix(16, "", network))
    }
}

/// The attachment a rule of ours is for: `<network> <ifname>`.
pub fn owner(network: &str, ifname: &str) -> String {
    format!("{} {ifname}", owner_network(network))
}

/// Our comment of before: `<containerID> <network>`, the network as a
/// 16-digit hash (`#...`) when both would not fit. DEL and GC still
/// recognise it (attachments made before the upgrade).
fn legacy_comment(network: &str, container_id: &str) -> String {
    /// Where those versions cut a comment.
    const EARLIER_COMMENT_MAX: usize = 127;
    let plain = format!("{container_id} {network}");
    if plain.len() <= EARLIER_COMMENT_MAX {
        return plain;
    }
    format!("{container_id} #{}", cni::netfilter::hash_with_prefix(16, "", network))
}

/// Whether a listed rule is `own`'s: ours for it, the reference's for the
/// container (no owner), or our earlier layout.
fn owns(own: &Owner, rule: &NftRule) -> bool {
    if rule.comment == legacy_comment(own.network, own.container_id) {
        return true;
    }
    rule.comment == rule_comment(own.container_id)
        && (rule.owner.is_empty() || rule.owner == owner(own.network, own.ifname))
}

/// NF_INET_* hooks and the nat priorities nft calls dstnat and srcnat.
const HOOK_PREROUTING: u32 = 0;
const HOOK_OUTPUT: u32 = 3;
const HOOK_POSTROUTING: u32 = 4;
const DSTNAT: i32 = -100;
const SRCNAT: i32 = 100;
/// `fib daddr type local` + `jump hostports_all`: three expressions.
const PLAIN_ENTRY_EXPRESSIONS: usize = 3;

fn family(ipv6: bool) -> u8 {
    if ipv6 {
        FAMILY_IPV6
    } else {
        FAMILY_IPV4
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

/// `[ip daddr HOSTIP] PROTO dport HOSTPORT dnat to CONTAINER:PORT`.
fn dnat_rule(mapping: &Mapping, container: IpAddr) -> Vec<Expr> {
    let mut exprs = Vec::new();
    if let Some(host) = mapping.destination() {
        match_host(&mut exprs, host, true);
    }
    exprs.push(Expr::meta_l4proto(1));
    exprs.push(Expr::cmp(1, true, &[mapping.protocol_number()]));
    exprs.push(Expr::payload_dport(1));
    exprs.push(Expr::cmp(1, true, &mapping.host_port.to_be_bytes()));
    exprs.push(Expr::immediate(1, &octets(container)));
    exprs.push(Expr::immediate(2, &mapping.container_port.to_be_bytes()));
    exprs.push(Expr::dnat(family(container.is_ipv6()), 1, 2));
    exprs
}

/// `ip saddr SOURCE ip daddr CONTAINER masquerade` (no source match for "any").
fn masquerade_rule(source: Option<IpAddr>, container: IpAddr) -> Vec<Expr> {
    let mut exprs = Vec::new();
    if let Some(source) = source {
        match_host(&mut exprs, source, false);
    }
    match_host(&mut exprs, container, true);
    exprs.push(Expr::masquerade());
    exprs
}

/// `fib daddr type local jump hostports_all`.
fn entry_rule() -> Vec<Expr> {
    vec![
        Expr::fib_daddr_type(1),
        Expr::cmp(1, true, &2u32.to_ne_bytes()), // RTN_LOCAL
        Expr::verdict(NFT_JUMP, Some(HOSTPORTS_ALL)),
    ]
}

/// True when a chain holds exactly the rules a plain setup writes there.
fn in_place(listing: &Listing, chain: &str, rules: usize, expressions: usize) -> bool {
    let found: Vec<_> = listing.rules.iter().filter(|r| r.chain == chain).collect();
    listing.chains.iter().any(|c| c == chain)
        && found.len() == rules
        && found.iter().all(|r| r.comment.is_empty() && r.expressions == expressions)
}

/// Sets up the mappings to the container's addresses (one per family) in one transaction.
pub fn forward(conf: &Config, containers: &[IpNetwork]) -> Result<(), CniError> {
    let mut batch = Batch::new(FAMILY_IPV4);
    for container in containers {
        add_family(&mut batch, conf, *container)?;
    }
    batch.commit().map_err(|e| e.context("unable to set up nftables rules for port mappings"))?;
    for container in containers {
        if let Some(conditions) = conf.nft_conditions(container.is_ipv6()) {
            write_conditioned_entries(container.is_ipv6(), conditions)?;
        }
    }
    Ok(())
}

/// The table, chains and rules of one family, added to `batch`.
fn add_family(batch: &mut Batch, conf: &Config, container: IpNetwork) -> Result<(), CniError> {
    let ipv6 = container.is_ipv6();
    batch.set_family(family(ipv6));
    // Only what is missing is (re)declared: "adding" an existing chain is an
    // update the kernel frees after an RCU grace period, which the process
    // then waits for when it closes its netlink socket.
    // One chain dump, and the rules of the three shared chains.
    let listing =
        nftnl::list_rules(family(ipv6), TABLE, &[HOSTPORTS_ALL, "prerouting", "output"])?.unwrap_or_default();
    let exists = |chain: &str| listing.chains.iter().any(|name| name == chain);
    // A missing table lists as no chains.
    if listing.chains.is_empty() {
        batch.add_table(TABLE, Some(TABLE_COMMENT));
    }
    for chain in [HOSTPORTS, HOSTIP_HOSTPORTS, HOSTPORTS_ALL] {
        if !exists(chain) {
            batch.add_chain(TABLE, chain, None, None);
        }
    }
    let mut base = vec![
        ("prerouting", Hook { kind: "nat", hooknum: HOOK_PREROUTING, priority: DSTNAT }),
        ("output", Hook { kind: "nat", hooknum: HOOK_OUTPUT, priority: DSTNAT }),
    ];
    if conf.snat {
        base.push((MASQUERADING, Hook { kind: "nat", hooknum: HOOK_POSTROUTING, priority: SRCNAT }));
    }
    for (chain, hook) in &base {
        if !exists(chain) {
            batch.add_chain(TABLE, chain, Some(hook), None);
        }
    }
    // Flushing a base chain also costs a grace period, so the shared
    // chains are rewritten only when they are not as expected.
    if !in_place(&listing, HOSTPORTS_ALL, 2, 1) {
        batch.flush_chain(TABLE, HOSTPORTS_ALL);
        batch.add_rule(TABLE, HOSTPORTS_ALL, &[Expr::verdict(NFT_JUMP, Some(HOSTIP_HOSTPORTS))], None);
        batch.add_rule(TABLE, HOSTPORTS_ALL, &[Expr::verdict(NFT_JUMP, Some(HOSTPORTS))], None);
    }
    if conf.nft_conditions(ipv6).is_none() {
        for chain in ["prerouting", "output"] {
            if !in_place(&listing, chain, 1, PLAIN_ENTRY_EXPRESSIONS) {
                batch.flush_chain(TABLE, chain);
                batch.add_rule(TABLE, chain, &entry_rule(), None);
            }
        }
    }
    let comment = rule_comment(&conf.container_id);
    let owner = owner(&conf.net.name, &conf.ifname);
    let ip = container.ip();
    for mapping in conf.mappings.iter().filter(|m| m.applies_to(ipv6)) {
        batch.add_rule_owned(TABLE, HOSTPORTS, &dnat_rule(mapping, ip), &comment, &owner);
    }
    if conf.snat {
        // Hairpin (the container to its own mapped port), and on IPv4
        // localhost (route_localnet lets 127.0.0.1 be routed to it).
        let source = if conf.masq_all { None } else { Some(ip) };
        batch.add_rule_owned(TABLE, MASQUERADING, &masquerade_rule(source, ip), &comment, &owner);
        if !ipv6 && !conf.masq_all {
            let localhost = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
            batch.add_rule_owned(
                TABLE,
                MASQUERADING,
                &masquerade_rule(Some(localhost), ip),
                &comment,
                &owner,
            );
        }
    }
    Ok(())
}

/// Rewrites the prerouting and output entry rules with the conditions, through `nft`.
fn write_conditioned_entries(ipv6: bool, conditions: &NftExpr) -> Result<(), CniError> {
    let nft = find_tool("nft").ok_or_else(|| {
        CniError::internal("conditionsV4/conditionsV6 for the nftables backend need the nft command")
    })?;
    let table = format!("{} {TABLE}", if ipv6 { "ip6" } else { "ip" });
    let mut script = String::new();
    for chain in ["prerouting", "output"] {
        script.push_str(&format!("flush chain {table} {chain}\n"));
        script.push_str(&format!(
            "add rule {table} {chain} {conditions} fib daddr type local jump {HOSTPORTS_ALL}\n"
        ));
    }
    let out = run_tool(&nft, &["-f", "-"], &script)?;
    if out.success {
        Ok(())
    } else {
        Err(CniError::internal(format!(
            "unable to set up nftables entry rules with conditions: {}",
            out.stderr
        )))
    }
}

/// CHECK: the container's rules are all there.
pub fn check(conf: &Config, container: IpNetwork) -> Result<(), CniError> {
    let ipv6 = container.is_ipv6();
    let mappings = conf.mappings.iter().filter(|m| m.applies_to(ipv6)).count();
    let masquerades = match (conf.snat, ipv6 || conf.masq_all) {
        (false, _) => 0,
        (true, true) => 1,
        (true, false) => 2,
    };
    let listing = nftnl::list_rules(family(ipv6), TABLE, &[HOSTPORTS, MASQUERADING])?.unwrap_or_default();
    let own = Owner { network: &conf.net.name, container_id: &conf.container_id, ifname: &conf.ifname };
    for (chain, wanted) in [(HOSTPORTS, mappings), (MASQUERADING, masquerades)] {
        let found = listing.rules.iter().filter(|r| r.chain == chain && owns(&own, r)).count();
        if found < wanted {
            return Err(CniError::internal(format!("missing hostport rules in {chain:?} chain")));
        }
    }
    Ok(())
}

/// Removes the attachment's rules of both families (and the container's
/// rules without an owner); a missing table is no error.
pub fn unforward(own: &Owner) -> Result<(), CniError> {
    let mut batch = Batch::new(FAMILY_IPV4);
    for ipv6 in [false, true] {
        batch.set_family(family(ipv6));
        let Some(listing) = nftnl::list_rules(family(ipv6), TABLE, &RULE_CHAINS)? else { continue };
        for rule in listing.rules.iter().filter(|r| owns(own, r)) {
            batch.delete_rule(TABLE, &rule.chain, rule.handle);
        }
    }
    Ok(batch.commit().map_err(|e| e.context("error deleting nftables rules"))?)
}

/// Whether a listed rule is of an attachment of `network` that `valid`
/// leaves out: ours (by its owner), or of our earlier layout (by its
/// comment; those name no interface, so any of the container's counts).
/// Rules without an owner (the reference's) name no network and are left
/// to DEL.
fn is_stale(rule: &NftRule, network: &str, valid: &HashSet<&Attachment>) -> bool {
    let kept = |id: &str, ifname: Option<&str>| {
        valid.iter().any(|a| a.container_id == id && ifname.is_none_or(|i| a.ifname == i))
    };
    if let Some((net, ifname)) = rule.owner.rsplit_once(' ') {
        return net == owner_network(network)
            && !rule.comment.is_empty()
            && !kept(&rule.comment, Some(ifname));
    }
    let id = rule.comment.split(' ').next().unwrap_or_default();
    !id.is_empty() && rule.comment == legacy_comment(network, id) && !kept(id, None)
}

/// GC: removes the rules, in both families, of this network's attachments
/// that are not in `valid`.
pub fn gc(network: &str, valid: &HashSet<&Attachment>) -> Result<(), CniError> {
    let mut batch = Batch::new(FAMILY_IPV4);
    for ipv6 in [false, true] {
        batch.set_family(family(ipv6));
        let Some(listing) = nftnl::list_rules(family(ipv6), TABLE, &RULE_CHAINS)? else { continue };
        for rule in listing.rules.iter().filter(|r| is_stale(r, network, valid)) {
            batch.delete_rule(TABLE, &rule.chain, rule.handle);
        }
    }
    Ok(batch.commit().map_err(|e| e.context("error deleting stale nftables port mappings"))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cni::netfilter::nftdump;

    fn rule(comment: &str, owner: &str) -> NftRule {
        NftRule {
            chain: HOSTPORTS.into(),
            handle: 1,
            comment: comment.into(),
            owner: owner.into(),
            expressions: 9,
        }
    }

    #[test]
    fn rules_carry_the_reference_comment_and_an_owner_telling_attachments_apart() {
        let id = "f".repeat(64);
        assert_eq!(rule_comment(&id), id, "the reference's comment: the container ID alone");
        let eth0 = Owner { network: "podman", container_id: &id, ifname: "eth0" };
        let eth1 = Owner { network: "podman", container_id: &id, ifname: "eth1" };
        let other_net = Owner { network: "other", container_id: &id, ifname: "eth0" };
        let ours = rule(&id, &owner("podman", "eth0"));
        assert!(owns(&eth0, &ours));
        assert!(!owns(&eth1, &ours), "another interface's mappings stay");
        assert!(!owns(&other_net, &ours), "another network's mappings stay");
        let reference = rule(&id, "");
        assert!(owns(&eth0, &reference) && owns(&other_net, &reference), "the reference's: the container's");
        let legacy = rule(&format!("{id} podman"), "");
        assert!(
            owns(&eth0, &legacy) && owns(&eth1, &legacy) && !owns(&other_net, &legacy),
            "our layout of before"
        );
        assert!(!owns(&eth0, &rule("another", "")));
        let long = "n".repeat(200);
        assert!(owner(&long, "eth0").len() <= nftnl::OWNER_MAX);
        assert_ne!(owner(&long, "eth0"), owner(&"m".repeat(200), "eth0"));
    }

    /// Compares what we build with what nft compiled from the reference's
    /// text (`cni/testdata/nft-reference-rules.txt`), rule by rule.
    fn assert_reference(add_rule: &str, ours: &[Expr], comment: Option<&str>) {
        let golden =
            nftdump::reference_dump(add_rule).unwrap_or_else(|| panic!("no golden rule {add_rule:?}"));
        assert_eq!(nftdump::dump_rule(ours, comment), golden, "{add_rule}");
    }

    fn mapping(protocol: &str, host_ip: Option<&str>) -> Mapping {
        Mapping {
            host_port: 18080,
            container_port: 80,
            protocol: protocol.into(),
            host_ip: host_ip.map(|ip| ip.parse().unwrap()),
        }
    }

    #[test]
    fn per_container_rules_are_the_references_expressions_and_comment() {
        let id = "11d078d669e34bf3f49e1961b7009b25713893b472e2bb9dc933191b2d9eab56";
        let comment = rule_comment(id);
        let ip: IpAddr = "10.250.12.2".parse().unwrap();
        let tail = format!("comment \"{id}\"");
        for protocol in ["tcp", "udp"] {
            assert_reference(
                &format!(
                    "add rule ip cni_hostport hostports {protocol} dport 18080 dnat to 10.250.12.2:80 {tail}"
                ),
                &dnat_rule(&mapping(protocol, None), ip),
                Some(&comment),
            );
        }
        assert_reference(
            &format!("add rule ip cni_hostport masquerading ip saddr 10.250.12.2 ip daddr 10.250.12.2 masquerade {tail}"),
            &masquerade_rule(Some(ip), ip),
            Some(&comment),
        );
        assert_reference(
            &format!("add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.250.12.2 masquerade {tail}"),
            &masquerade_rule(Some("127.0.0.1".parse().unwrap()), ip),
            Some(&comment),
        );
        // A host IP: v1.6.2 put the rule in hostip_hostports, v1.9.1 in
        // hostports (as ours); the rule itself is the same.
        let hostip_id = "b61d382ec927003c8c52d9cc81c946280bffb54835bb7f07750937c0a31f5f18";
        assert_reference(
            &format!(
                "add rule ip cni_hostport hostip_hostports ip daddr 10.250.9.1 tcp dport 18080 dnat to 10.250.9.2:80 comment \"{hostip_id}\""
            ),
            &dnat_rule(&mapping("tcp", Some("10.250.9.1")), "10.250.9.2".parse().unwrap()),
            Some(&rule_comment(hostip_id)),
        );
    }

    #[test]
    fn ipv6_rules_and_the_entry_chains_are_v1_9_1s() {
        let id = "11d078d669e34bf3f49e1961b7009b25713893b472e2bb9dc933191b2d9eab56";
        let comment = rule_comment(id);
        let ip: IpAddr = "fd10:250:12::2".parse().unwrap();
        let tail = format!("comment \"{id}\"");
        assert_reference(
            &format!(
                "add rule ip6 cni_hostport hostports tcp dport 18080 dnat to [fd10:250:12::2]:80 {tail}"
            ),
            &dnat_rule(&mapping("tcp", None), ip),
            Some(&comment),
        );
        assert_reference(
            &format!(
                "add rule ip6 cni_hostport hostports ip6 daddr fd10:250:12::1 udp dport 18080 dnat to [fd10:250:12::2]:80 {tail}"
            ),
            &dnat_rule(&mapping("udp", Some("fd10:250:12::1")), ip),
            Some(&comment),
        );
        assert_reference(
            &format!(
                "add rule ip6 cni_hostport masquerading ip6 saddr fd10:250:12::2 ip6 daddr fd10:250:12::2 masquerade {tail}"
            ),
            &masquerade_rule(Some(ip), ip),
            Some(&comment),
        );
        for chain in ["prerouting", "output"] {
            assert_reference(
                &format!("add rule ip cni_hostport {chain} fib daddr type local jump hostports_all"),
                &entry_rule(),
                None,
            );
        }
        for target in [HOSTIP_HOSTPORTS, HOSTPORTS] {
            assert_reference(
                &format!("add rule ip cni_hostport hostports_all jump {target}"),
                &[Expr::verdict(NFT_JUMP, Some(target))],
                None,
            );
        }
    }

    #[test]
    fn gc_takes_only_this_networks_rules_of_attachments_left_out() {
        let live = Attachment { container_id: "live".into(), ifname: "eth0".into() };
        let valid: HashSet<&Attachment> = [&live].into_iter().collect();
        assert!(!is_stale(&rule("live", &owner("net", "eth0")), "net", &valid));
        assert!(is_stale(&rule("live", &owner("net", "eth1")), "net", &valid), "the interface left out");
        assert!(is_stale(&rule("gone", &owner("net", "eth0")), "net", &valid));
        assert!(!is_stale(&rule("gone", &owner("other", "eth0")), "net", &valid), "another network's");
        assert!(!is_stale(&rule("gone", ""), "net", &valid), "the reference's names no network: left to DEL");
        assert!(is_stale(&rule("gone net", ""), "net", &valid), "our earlier layout");
        assert!(!is_stale(&rule("live net", ""), "net", &valid));
    }
}
