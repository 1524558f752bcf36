//! The nftables backend (`"backend": "nftables"`; ours, no reference
//! plugin has one): the iptables backend's policy in a table of our own,
//! `inet cni_plugins_firewall`, one netlink transaction per ADD, DEL and GC.
//!
//! ```text
//! chain forward             base chain (filter, forward hook), made once:
//!   jump isolation_stage_1    ingressPolicy's rules, per bridge
//!   jump CNI-ADMIN            each admin chain (iptablesAdminChainName)
//!   jump containers           accepts for the containers' addresses
//! chain containers          per attachment: `ip daddr A ct state
//!                           established,related accept`, `ip saddr A accept`
//! chain isolation_stage_1/2 per bridge and policy, as the iptables backend
//! ```
//!
//! An accept ends the packet's path through this table only: a drop in
//! another table (an iptables-nft FORWARD policy of DROP) still drops. The
//! base chain is made with policy accept and never rewritten, so an
//! operator who sets it to drop forwards only the containers' traffic and
//! what the admin chains accept.
//!
//! Every attachment's rule carries its comment, `<attachment hash>[,
//! <policy>: <bridge>], net: N, if: I, id: C`; DEL and GC find rules by
//! the hash (ipMasq's). The isolation rules of a bridge and policy go with
//! the last attachment that names them. The table, the base chain, its
//! jumps and the admin chains stay, as the iptables backend's chains do:
//! they hold what the operator set.

use std::collections::HashSet;

use cni::checked::ChainName;
use cni::netfilter::nftnl::{
    self, fit_comment, ifname_bytes, match_established, match_host, match_nfproto, Batch, Expr, Hook,
    Listing, FAMILY_INET, NFT_JUMP, NF_ACCEPT, NF_DROP,
};
pub use cni::netfilter::Owner;
use cni::netfilter::{comment_hash, network_hash};
use cni::CniError;
use ipnetwork::IpNetwork;

use crate::Ingress;

/// The table, so that `nft list table inet cni_plugins_firewall` shows it all.
pub const TABLE: &str = "cni_plugins_firewall";
const TABLE_COMMENT: &str = "Container traffic through the host's firewall: the CNI firewall plugin (cnictl)";
const FORWARD: &str = "forward";
const CONTAINERS: &str = "containers";
const STAGE1: &str = "isolation_stage_1";
const STAGE2: &str = "isolation_stage_2";
/// NF_INET_FORWARD.
const HOOK_FORWARD: u32 = 2;

const ISOLATION_JUMP: &str = "ingressPolicy same-bridge and isolated: traffic between bridges";
const CONTAINERS_JUMP: &str = "accept the containers' traffic";

/// The comment on the jump to an admin chain.
fn admin_jump(admin: &str) -> String {
    format!("admin overrides: {admin}")
}

/// An attachment's comment: its hash, its ingress tag, and who it is.
pub(crate) fn attachment_comment(owner: &Owner, ingress: Option<&Ingress>) -> String {
    let policy = ingress.map(|i| format!(", {}", i.tag())).unwrap_or_default();
    fit_comment(format!(
        "{}{policy}, net: {}, if: {}, id: {}",
        owner.hash(),
        owner.network,
        owner.ifname,
        owner.container_id
    ))
}

/// The `<policy>: <bridge>` tag in an attachment's comment, if any.
fn policy_tag(comment: &str) -> Option<&str> {
    let second = comment.split(", ").nth(1)?;
    (!second.starts_with("net: ")).then_some(second)
}

impl Ingress {
    /// `isolated: cni0`, in the attachments' comments.
    fn tag(&self) -> String {
        format!("{}: {}", self.policy_name(), self.bridge)
    }

    /// The comment on the isolation rules of this bridge and policy.
    fn rule_comment(&self) -> String {
        rule_comment_of_tag(&self.tag())
    }

    /// stage 1: `iifname B oifname != B jump stage 2` (and for isolated
    /// `iifname B oifname B drop`); stage 2: `oifname B drop`.
    fn rules(&self) -> Vec<(&'static str, Vec<Expr>)> {
        let name = ifname_bytes(&self.bridge);
        let from_bridge = |to_same: bool, verdict: Expr| {
            vec![
                Expr::meta_iifname(1),
                Expr::cmp(1, true, &name),
                Expr::meta_oifname(1),
                Expr::cmp(1, to_same, &name),
                verdict,
            ]
        };
        let mut rules = vec![(STAGE1, from_bridge(false, Expr::verdict(NFT_JUMP, Some(STAGE2))))];
        if self.isolated {
            rules.push((STAGE1, from_bridge(true, Expr::verdict(NF_DROP, None))));
        }
        let to_bridge = vec![Expr::meta_oifname(1), Expr::cmp(1, true, &name), Expr::verdict(NF_DROP, None)];
        rules.push((STAGE2, to_bridge));
        rules
    }
}

fn rule_comment_of_tag(tag: &str) -> String {
    format!("ingressPolicy {tag}")
}

/// The two accepts of one container address.
fn address_rules(address: &IpNetwork) -> [Vec<Expr>; 2] {
    let mut back = Vec::new();
    match_nfproto(&mut back, address.is_ipv4());
    match_host(&mut back, address.ip(), true);
    match_established(&mut back);
    back.push(Expr::verdict(NF_ACCEPT, None));
    let mut out = Vec::new();
    match_nfproto(&mut out, address.is_ipv4());
    match_host(&mut out, address.ip(), false);
    out.push(Expr::verdict(NF_ACCEPT, None));
    [back, out]
}

fn listing() -> Result<Listing, CniError> {
    let listed = nftnl::list_rules(FAMILY_INET, TABLE, &[FORWARD, CONTAINERS, STAGE1, STAGE2])?;
    Ok(listed.unwrap_or_default())
}

fn rules_in<'a>(listing: &'a Listing, chain: &'a str) -> impl Iterator<Item = &'a nftnl::NftRule> + 'a {
    listing.rules.iter().filter(move |r| r.chain == chain)
}

fn has_rule(listing: &Listing, chain: &str, comment: &str) -> bool {
    rules_in(listing, chain).any(|r| r.comment == comment)
}

/// Adds what the table lacks of its skeleton: table, chains, and the jumps
/// of `forward` in their order (isolation first, then admin chains, then
/// the containers). An existing base chain is left as it is (its policy
/// may be the operator's).
fn ensure_skeleton(batch: &mut Batch, listing: &Listing, admin: &ChainName) {
    let has_chain = |chain: &str| listing.chains.iter().any(|c| c == chain);
    if listing.chains.is_empty() {
        batch.add_table(TABLE, Some(TABLE_COMMENT));
    }
    if !has_chain(FORWARD) {
        let hook = Hook { kind: "filter", hooknum: HOOK_FORWARD, priority: 0 };
        batch.add_chain(TABLE, FORWARD, Some(&hook), None);
    }
    for chain in [CONTAINERS, STAGE1, STAGE2, &**admin] {
        if !has_chain(chain) {
            batch.add_chain(TABLE, chain, None, None);
        }
    }
    if !has_rule(listing, FORWARD, ISOLATION_JUMP) {
        let jump = [Expr::verdict(NFT_JUMP, Some(STAGE1))];
        batch.insert_rule(TABLE, FORWARD, None, &jump, Some(ISOLATION_JUMP));
    }
    let containers_jump = rules_in(listing, FORWARD).find(|r| r.comment == CONTAINERS_JUMP).map(|r| r.handle);
    let admin_comment = admin_jump(admin);
    if !has_rule(listing, FORWARD, &admin_comment) {
        let jump = [Expr::verdict(NFT_JUMP, Some(&**admin))];
        match containers_jump {
            Some(handle) => batch.insert_rule(TABLE, FORWARD, Some(handle), &jump, Some(&admin_comment)),
            None => batch.add_rule(TABLE, FORWARD, &jump, Some(&admin_comment)),
        }
    }
    if containers_jump.is_none() {
        batch.add_rule(TABLE, FORWARD, &[Expr::verdict(NFT_JUMP, Some(CONTAINERS))], Some(CONTAINERS_JUMP));
    }
}

/// ADD: the skeleton where missing, the bridge's isolation rules where
/// missing, and the attachment's accepts (replacing those of an earlier
/// ADD of the same attachment), in one transaction.
pub fn add(
    owner: &Owner,
    ips: &[IpNetwork],
    admin: &ChainName,
    ingress: Option<&Ingress>,
) -> Result<(), CniError> {
    let listing = listing()?;
    let mut batch = Batch::new(FAMILY_INET);
    ensure_skeleton(&mut batch, &listing, admin);
    if let Some(ingress) = ingress {
        let comment = ingress.rule_comment();
        if !has_rule(&listing, STAGE1, &comment) {
            for (chain, exprs) in ingress.rules() {
                batch.add_rule(TABLE, chain, &exprs, Some(&comment));
            }
        }
    }
    let hash = owner.hash();
    for rule in rules_in(&listing, CONTAINERS).filter(|r| comment_hash(&r.comment) == hash) {
        batch.delete_rule(TABLE, CONTAINERS, rule.handle);
    }
    let comment = attachment_comment(owner, ingress);
    for address in ips {
        for exprs in address_rules(address) {
            batch.add_rule(TABLE, CONTAINERS, &exprs, Some(&comment));
        }
    }
    Ok(batch.commit().map_err(|e| e.context("failed to set up the firewall's nftables rules"))?)
}

/// Deletes the attachments' rules that `doomed` picks (by attachment
/// hash), and the isolation rules no remaining attachment names.
fn remove_where(doomed: impl Fn(&str) -> bool) -> Result<(), CniError> {
    // No table is no error; a failure counts only when nf_tables answers
    // (asked only then: one netlink round trip less per DEL).
    match remove_listed(doomed) {
        Err(e) if nftnl::available() => Err(e),
        _ => Ok(()),
    }
}

fn remove_listed(doomed: impl Fn(&str) -> bool) -> Result<(), CniError> {
    let listing = listing()?;
    let mut batch = Batch::new(FAMILY_INET);
    let mut dropped_tags = HashSet::new();
    let mut kept_tags = HashSet::new();
    for rule in rules_in(&listing, CONTAINERS) {
        let tag = policy_tag(&rule.comment);
        if doomed(comment_hash(&rule.comment)) {
            batch.delete_rule(TABLE, CONTAINERS, rule.handle);
            dropped_tags.extend(tag);
        } else {
            kept_tags.extend(tag);
        }
    }
    let unused: HashSet<String> =
        dropped_tags.difference(&kept_tags).map(|tag| rule_comment_of_tag(tag)).collect();
    for rule in listing.rules.iter().filter(|r| r.chain == STAGE1 || r.chain == STAGE2) {
        if unused.contains(&rule.comment) {
            batch.delete_rule(TABLE, &rule.chain, rule.handle);
        }
    }
    Ok(batch.commit().map_err(|e| e.context("failed to delete the firewall's nftables rules"))?)
}

/// DEL: the attachment's rules (and isolation rules it was the last to
/// name); nothing there, or no nf_tables, is no error.
pub fn remove(owner: &Owner) -> Result<(), CniError> {
    let hash = owner.hash();
    remove_where(|h| h == hash)
}

/// GC: the rules of this network's attachments not in `valid`.
pub fn gc(network: &str, valid: &[cni::conf::Attachment]) -> Result<(), CniError> {
    let prefix = network_hash(network);
    let keep: HashSet<String> = valid
        .iter()
        .map(|a| Owner { network, ifname: &a.ifname, container_id: &a.container_id }.hash())
        .collect();
    remove_where(|hash| hash.starts_with(&prefix) && !keep.contains(hash))
}

/// CHECK: the first part of the attachment's setup that is missing, if any.
pub fn first_missing(
    owner: &Owner,
    ips: &[IpNetwork],
    admin: &ChainName,
    ingress: Option<&Ingress>,
) -> Result<Option<String>, CniError> {
    let listing = listing()?;
    if !listing.chains.iter().any(|c| c == FORWARD) {
        return Ok(Some(format!("chain {FORWARD} in table inet {TABLE}")));
    }
    for comment in [ISOLATION_JUMP.to_string(), admin_jump(admin), CONTAINERS_JUMP.to_string()] {
        if !has_rule(&listing, FORWARD, &comment) {
            return Ok(Some(format!("the rule {comment:?} in chain {FORWARD}")));
        }
    }
    if let Some(ingress) = ingress {
        let comment = ingress.rule_comment();
        if !has_rule(&listing, STAGE1, &comment) || !has_rule(&listing, STAGE2, &comment) {
            return Ok(Some(format!("the {comment:?} rules")));
        }
    }
    let hash = owner.hash();
    let found = rules_in(&listing, CONTAINERS).filter(|r| comment_hash(&r.comment) == hash).count();
    if found != 2 * ips.len() {
        return Ok(Some(format!(
            "{} accept rules of the attachment in chain {CONTAINERS} (found {found})",
            2 * ips.len()
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_carry_the_attachment_hash_and_the_policy_tag() {
        let owner = Owner { network: "net1", ifname: "eth0", container_id: "c1" };
        let bridge = || cni::checked::LinkName::new("bridge", "cni0").unwrap_or_else(|e| panic!("{}", e.msg));
        let ingress = Ingress { bridge: bridge(), isolated: true };
        let comment = attachment_comment(&owner, Some(&ingress));
        assert_eq!(comment_hash(&comment), owner.hash());
        assert_eq!(policy_tag(&comment), Some("isolated: cni0"));
        assert_eq!(policy_tag(&attachment_comment(&owner, None)), None);
        assert!(comment.ends_with(", net: net1, if: eth0, id: c1"), "{comment}");
        let long = Owner { network: &"n".repeat(100), ifname: "eth0", container_id: &"a".repeat(64) };
        let cut = attachment_comment(&long, Some(&ingress));
        assert!(cut.len() <= nftnl::COMMENT_MAX && comment_hash(&cut) == long.hash());
        assert_eq!(ingress.rule_comment(), "ingressPolicy isolated: cni0");
        assert_eq!(ingress.rules().len(), 3);
        assert_eq!(Ingress { bridge: bridge(), isolated: false }.rules().len(), 2);
    }
}
