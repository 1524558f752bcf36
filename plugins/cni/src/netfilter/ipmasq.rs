//! IP masquerading for container addresses (`ipMasq`), on nftables or iptables.
//!
//! nftables: table `inet cni_plugins_masquerade`, chain `masq_checks`, one
//! rule per address commented with the reference's per-attachment hash, so
//! DEL and GC find rules by comment. iptables: the reference's per-container
//! chain `CNI-<hash>` in `nat`, jumped to from POSTROUTING. DEL cleans both
//! backends, as the reference does, whichever one ADD used.

use std::collections::HashSet;

use ipnetwork::IpNetwork;

use crate::conf::Attachment;
use crate::error::{CniError, ErrorCode};
use crate::netfilter::nftnl::{
    self, match_host, match_network, match_nfproto, Batch, Expr, Hook, FAMILY_INET, NFT_GOTO, NFT_RETURN,
};
use crate::netfilter::{self, iptables};

const TABLE: &str = "cni_plugins_masquerade";
const CHAIN: &str = "masq_checks";

pub use crate::netfilter::Backend;

impl Backend {
    /// The backend for `ipMasqBackend`: as configured, else the reference's
    /// choice (iptables when its tools are installed, else nftables): the
    /// reference's DEL before v1.6 (Debian's 1.1.1)
    /// removes only iptables masquerading, so a node rolled back to it
    /// would keep ours otherwise.
    pub fn choose(configured: Option<&str>) -> Result<Backend, CniError> {
        match configured {
            Some(named) => Backend::parse(named).ok_or_else(|| {
                CniError::new(
                    ErrorCode::InvalidConfig,
                    format!(
                        "unknown ipmasq backend {named:?} (ipMasqBackend must be \"nftables\" or \"iptables\")"
                    ),
                )
            }),
            None => Ok(Backend::reference_default()),
        }
    }
}

pub use crate::netfilter::Owner;

/// The nftables rule comment the reference writes for an attachment, cut
/// to 128 bytes as knftables cuts it.
pub fn nft_comment(owner: &Owner) -> String {
    nftnl::fit_comment(format!(
        "{}, net: {}, if: {}, id: {}",
        owner.hash(),
        owner.network.replace('"', ""),
        owner.ifname.replace('"', ""),
        owner.container_id.replace('"', "")
    ))
}

/// Masquerades traffic from `addresses` (with their prefix lengths) leaving their subnets.
pub fn setup(backend: Backend, addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let ipv4 = addresses.iter().any(IpNetwork::is_ipv4);
    start(backend, ipv4)?.look(owner)?.finish(addresses, owner)
}

/// ipMasq's ADD in steps, so that what needs no addresses runs while IPAM
/// picks them: [`start`] starts IPv4's `iptables-restore`,
/// [`Started::look`] lists the nftables chain or looks for the
/// attachment's iptables chain, and [`Pending::finish`] writes the rules
/// for the addresses.
pub struct Pending {
    kind: PendingKind,
}

enum PendingKind {
    Nftables {
        /// The table, its chains and the postrouting rules are as the reference writes them.
        in_place: bool,
    },
    Iptables {
        chain: String,
        comment: String,
        /// IPv4's half, begun: the POSTROUTING jumps to the chain already
        /// there, and iptables-restore waiting for its input.
        ipv4: Option<(Vec<String>, iptables::PendingRestore)>,
    },
}

/// The very first step of [`setup`], the one that costs most to wait for:
/// IPv4's iptables-restore started (its exec and start-up, about 1 ms),
/// when `ipv4_expected` (one left without input ends having done
/// nothing). Nothing for nftables.
pub struct Started {
    backend: Backend,
    ipv4: Option<iptables::PendingRestore>,
}

/// Starts what needs neither the attachment nor its addresses.
pub fn start(backend: Backend, ipv4_expected: bool) -> Result<Started, CniError> {
    let ipv4 = match backend {
        Backend::Iptables if ipv4_expected => Some(iptables::PendingRestore::start(false)?),
        _ => None,
    };
    Ok(Started { backend, ipv4 })
}

impl Started {
    /// The second step of [`setup`] for `owner`'s attachment: the nftables
    /// listing, or the look for the attachment's iptables chain.
    pub fn look(self, owner: &Owner) -> Result<Pending, CniError> {
        let kind = match self.backend {
            Backend::Nftables => PendingKind::Nftables { in_place: nft_in_place()? },
            Backend::Iptables => {
                let chain = netfilter::chain_name(owner.network, owner.container_id);
                let ipv4 = match self.ipv4 {
                    Some(restore) => Some((existing_jumps(false, &chain)?, restore)),
                    None => None,
                };
                let comment =
                    iptables::quote(&netfilter::iptables_comment(owner.network, owner.container_id));
                PendingKind::Iptables { chain, comment, ipv4 }
            }
        };
        Ok(Pending { kind })
    }
}

impl Pending {
    /// Writes the masquerade rules for `addresses`: the last step of [`setup`].
    pub fn finish(self, addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
        match self.kind {
            PendingKind::Nftables { in_place } => setup_nft(in_place, addresses, owner),
            PendingKind::Iptables { chain, comment, mut ipv4 } => {
                for ipv6 in [false, true] {
                    let family: Vec<IpNetwork> =
                        addresses.iter().filter(|a| a.is_ipv6() == ipv6).copied().collect();
                    if family.is_empty() {
                        continue;
                    }
                    let (existing, restore) = match (ipv6, ipv4.take()) {
                        (false, Some(begun)) => begun,
                        _ => (existing_jumps(ipv6, &chain)?, iptables::PendingRestore::start(ipv6)?),
                    };
                    let existing: Vec<&str> = existing.iter().map(String::as_str).collect();
                    restore.finish(&iptables_input(&chain, &comment, &family, &existing))?;
                }
                Ok(())
            }
        }
    }
}

/// True when the kernel answers nf_tables requests (no `nft` binary needed).
fn nftables_works() -> bool {
    nftnl::available()
}

/// Rules in the `postrouting` chain as the reference writes it.
const POSTROUTING_RULES: usize = 3;

/// NF_INET_POST_ROUTING.
const HOOK_POSTROUTING: u32 = 4;

/// `ip daddr == 224.0.0.0/4 return`, `ip6 daddr == ff00::/8 return`.
fn multicast_return(ipv4: bool) -> Vec<Expr> {
    let mut exprs = Vec::new();
    match_nfproto(&mut exprs, ipv4);
    let net: IpNetwork =
        if ipv4 { "224.0.0.0/4" } else { "ff00::/8" }.parse().unwrap_or_else(|_| unreachable!());
    match_network(&mut exprs, net, true, true);
    exprs.push(Expr::verdict(NFT_RETURN, None));
    exprs
}

/// `ip saddr == ADDR ip daddr != SUBNET masquerade`.
fn masquerade_rule(address: IpNetwork) -> Vec<Expr> {
    let mut exprs = Vec::new();
    match_nfproto(&mut exprs, address.is_ipv4());
    match_host(&mut exprs, address.ip(), false);
    let subnet = IpNetwork::new(address.network(), address.prefix()).unwrap_or(address);
    match_network(&mut exprs, subnet, true, false);
    exprs.push(Expr::masquerade());
    exprs
}

/// Whether the table, its chains and the postrouting rules are as the
/// reference writes them. Only the small postrouting chain is listed:
/// listing masq_checks would cost time in proportion to the attachments.
fn nft_in_place() -> Result<bool, CniError> {
    let listing = nftnl::list_chain_rules(FAMILY_INET, TABLE, "postrouting")?.unwrap_or_default();
    Ok(listing.chains.iter().any(|c| c == CHAIN)
        && listing.chains.iter().any(|c| c == "postrouting")
        && listing.rules.len() == POSTROUTING_RULES
        && listing.rules.iter().all(|r| r.comment.is_empty()))
}

/// The attachment's rules in masq_checks, and the table and chains first
/// unless `in_place`. Rules left by an earlier ADD of this same attachment
/// (a retry) stay until its DEL, which removes every rule with its comment.
fn setup_nft(in_place: bool, addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let mut batch = Batch::new(FAMILY_INET);
    if !in_place {
        // Flushing a base chain costs an RCU grace period in the kernel, so
        // it is rewritten only when it is missing or not as expected.
        batch.add_table(TABLE, Some("Masquerading for plugins from github.com/containernetworking/plugins"));
        batch.add_chain(
            TABLE,
            CHAIN,
            None,
            Some("Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet"),
        );
        let hook = Hook { kind: "nat", hooknum: HOOK_POSTROUTING, priority: 100 };
        batch.add_chain(TABLE, "postrouting", Some(&hook), None);
        batch.flush_chain(TABLE, "postrouting");
        batch.add_rule(TABLE, "postrouting", &multicast_return(true), None);
        batch.add_rule(TABLE, "postrouting", &multicast_return(false), None);
        batch.add_rule(TABLE, "postrouting", &[Expr::verdict(NFT_GOTO, Some(CHAIN))], None);
    }
    let comment = nft_comment(owner);
    for address in addresses {
        batch.add_rule(TABLE, CHAIN, &masquerade_rule(*address), Some(&comment));
    }
    Ok(batch.commit()?)
}

/// The POSTROUTING jumps to the attachment's `chain` already in the
/// family's nat table. No rule can jump to a chain that does not exist:
/// when the chain is surely absent (a netlink listing of the iptables-nft
/// table, no legacy nat table loaded), the 3 ms iptables-save of the whole
/// nat table is skipped. A repeated ADD still reads it.
fn existing_jumps(ipv6: bool, chain: &str) -> Result<Vec<String>, CniError> {
    if !iptables::chain_may_exist(ipv6, "nat", chain) {
        return Ok(Vec::new());
    }
    let saved = iptables::save(ipv6, "nat")?;
    Ok(iptables::rules_jumping_to(&saved, "POSTROUTING", chain).into_iter().map(str::to_string).collect())
}

/// The `iptables-restore` input that masquerades one family's `addresses`
/// through the attachment's `chain`, every rule spelled as iptables-save
/// prints it; `existing` are the POSTROUTING jumps to the chain already there.
fn iptables_input(chain: &str, comment: &str, addresses: &[IpNetwork], existing: &[&str]) -> String {
    let Some(first) = addresses.first() else { return String::new() };
    let (host, multicast) = if first.is_ipv6() { (128, "ff00::/8") } else { (32, "224.0.0.0/4") };
    let comment = format!("-m comment --comment {comment}");
    // Declaring the chain empties it, so it is rewritten whole.
    let mut input = format!("*nat\n:{chain} - [0:0]\n");
    for address in addresses {
        input.push_str(&format!(
            "-A {chain} -d {}/{} {comment} -j ACCEPT\n",
            address.network(),
            address.prefix()
        ));
        input.push_str(&format!("-A {chain} ! -d {multicast} {comment} -j MASQUERADE\n"));
    }
    for address in addresses {
        let source = format!("-s {}/{host} ", address.ip());
        if !existing.iter().any(|rule| rule.contains(&source)) {
            input.push_str(&format!("-A POSTROUTING {source}{comment} -j {chain}\n"));
        }
    }
    input.push_str("COMMIT\n");
    input
}

/// Removes an attachment's masquerading on both backends. `addresses`
/// says which iptables families to look at (none: both).
pub fn teardown(addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let nft = teardown_nftables(owner);
    let ipt = teardown_iptables(addresses, owner);
    nft.and(ipt)
}

/// The nftables half of `teardown`: the attachment's rules, found by comment.
/// It needs no addresses, so a DEL can run it while the link goes away
/// (both wait for the kernel's RCU grace periods).
pub fn teardown_nftables(owner: &Owner) -> Result<(), CniError> {
    let prefix = owner.hash();
    match delete_nft_rules(|comment| comment.starts_with(&prefix)) {
        Err(e) if nftables_works() => Err(e),
        _ => Ok(()),
    }
}

/// The iptables half of `teardown`, for the families of `addresses`; for
/// both when none are known (a DEL whose netns and prevResult are gone
/// still finds the attachment's chain by its name).
pub fn teardown_iptables(addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let mut errors = Vec::new();
    let chain = netfilter::chain_name(owner.network, owner.container_id);
    for ipv6 in [false, true] {
        let used = addresses.is_empty() || addresses.iter().any(|a| a.is_ipv6() == ipv6);
        if !used || !iptables::chain_may_exist(ipv6, "nat", &chain) {
            continue;
        }
        if let Err(e) = teardown_iptables_chain(ipv6, &chain) {
            errors.push(e.msg);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CniError::internal(errors.join("\n")))
    }
}

fn teardown_iptables_chain(ipv6: bool, chain: &str) -> Result<(), CniError> {
    iptables::transact(ipv6, "nat", |saved| iptables::chain_removal_lines(saved, chain, &["POSTROUTING"]))
}

fn delete_nft_rules(doomed: impl Fn(&str) -> bool) -> Result<(), CniError> {
    let Some(listing) = nftnl::list_chain_rules(FAMILY_INET, TABLE, CHAIN)? else { return Ok(()) };
    let mut batch = Batch::new(FAMILY_INET);
    for rule in listing.rules.iter().filter(|r| doomed(&r.comment)) {
        batch.delete_rule(TABLE, CHAIN, rule.handle);
    }
    Ok(batch.commit()?)
}

/// GC: removes the network's nftables masquerade rules for attachments not
/// in `valid`. (Like the reference, iptables chains carry no network tag to GC by.)
pub fn gc(network: &str, valid: &[Attachment]) -> Result<(), CniError> {
    if !nftables_works() {
        return Ok(());
    }
    let prefix = netfilter::network_hash(network);
    // By the attachment's hash, not the whole comment: a long comment is
    // stored cut (at 128 bytes; at 127 by our versions before), and comparing
    // whole comments took every valid attachment with a long one for stale.
    let keep: HashSet<String> = valid
        .iter()
        .map(|a| Owner { network, ifname: &a.ifname, container_id: &a.container_id }.hash())
        .collect();
    delete_nft_rules(|comment| {
        comment.starts_with(&prefix) && !keep.contains(netfilter::comment_hash(comment))
    })
}

/// Re-applies an attachment's masquerading where any of it is missing
/// (`cnictl network reload` after a firewall flush): `None` when all of it
/// was there and nothing was changed, else what was missing. Repeating it
/// adds nothing twice: nftables rules of the attachment are replaced whole,
/// and the iptables chain is rewritten whole with only missing jumps added.
pub fn restore(backend: Backend, addresses: &[IpNetwork], owner: &Owner) -> Result<Option<String>, CniError> {
    let missing = match backend {
        Backend::Nftables => missing_nft(addresses, owner)?,
        Backend::Iptables => missing_iptables(addresses, owner)?,
    };
    let Some(missing) = missing else { return Ok(None) };
    if backend == Backend::Nftables {
        teardown_nftables(owner)?;
    }
    setup(backend, addresses, owner)?;
    Ok(Some(missing))
}

/// The first part of the attachment's nftables masquerading that is missing.
fn missing_nft(addresses: &[IpNetwork], owner: &Owner) -> Result<Option<String>, CniError> {
    let Some(hook) = nftnl::list_chain_rules(FAMILY_INET, TABLE, "postrouting")? else {
        return Ok(Some(format!("table inet {TABLE}")));
    };
    let whole = hook.chains.iter().any(|c| c == CHAIN)
        && hook.rules.len() == POSTROUTING_RULES
        && hook.rules.iter().all(|r| r.comment.is_empty());
    if !whole {
        return Ok(Some(format!("the postrouting chain of table inet {TABLE}")));
    }
    let listing = nftnl::list_chain_rules(FAMILY_INET, TABLE, CHAIN)?.unwrap_or_default();
    let prefix = owner.hash();
    let found = listing.rules.iter().filter(|r| r.chain == CHAIN && r.comment.starts_with(&prefix)).count();
    if found != addresses.len() {
        return Ok(Some(format!(
            "{} rules of the attachment in chain {CHAIN} (found {found})",
            addresses.len()
        )));
    }
    Ok(None)
}

/// The first rule of the attachment's iptables masquerading that is missing.
fn missing_iptables(addresses: &[IpNetwork], owner: &Owner) -> Result<Option<String>, CniError> {
    let chain = netfilter::chain_name(owner.network, owner.container_id);
    let comment = iptables::quote(&netfilter::iptables_comment(owner.network, owner.container_id));
    for ipv6 in [false, true] {
        let family: Vec<IpNetwork> = addresses.iter().filter(|a| a.is_ipv6() == ipv6).copied().collect();
        if family.is_empty() {
            continue;
        }
        let saved = iptables::save(ipv6, "nat")?;
        let wanted = iptables_input(&chain, &comment, &family, &[]);
        let missing = wanted
            .lines()
            .filter(|line| line.starts_with("-A "))
            .find(|line| !saved.lines().any(|have| have.trim_end() == *line));
        if let Some(line) = missing {
            return Ok(Some(format!("the rule {line}")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::nftdump;

    /// `iptables-save -t nat` after the Debian reference bridge (v1.1.1)
    /// ADDed container ctr1 (10.218.70.2/24) of network goldnet with
    /// ipMasq (run by hand in a netns of its own), less the chain declarations.
    const REFERENCE: &str = r#"-A POSTROUTING -s 10.218.70.2/32 -m comment --comment "name: \"goldnet\" id: \"ctr1\"" -j CNI-67f4fdb66c83c464761f5d90
-A CNI-67f4fdb66c83c464761f5d90 -d 10.218.70.0/24 -m comment --comment "name: \"goldnet\" id: \"ctr1\"" -j ACCEPT
-A CNI-67f4fdb66c83c464761f5d90 ! -d 224.0.0.0/4 -m comment --comment "name: \"goldnet\" id: \"ctr1\"" -j MASQUERADE"#;

    /// Compares what we build with what nft compiled from the reference's
    /// text (`testdata/nft-reference-rules.txt`).
    fn assert_reference(add_rule: &str, ours: &[Expr], comment: Option<&str>) {
        let golden =
            nftdump::reference_dump(add_rule).unwrap_or_else(|| panic!("no golden rule {add_rule:?}"));
        assert_eq!(nftdump::dump_rule(ours, comment), golden, "{add_rule}");
    }

    #[test]
    fn nftables_rules_are_the_references_expressions_and_comment() {
        let prefix = "add rule inet cni_plugins_masquerade";
        assert_reference(
            &format!("{prefix} postrouting ip daddr == 224.0.0.0/4  return"),
            &multicast_return(true),
            None,
        );
        assert_reference(
            &format!("{prefix} postrouting ip6 daddr == ff00::/8  return"),
            &multicast_return(false),
            None,
        );
        assert_reference(
            &format!("{prefix} postrouting goto masq_checks"),
            &[Expr::verdict(NFT_GOTO, Some(CHAIN))],
            None,
        );
        let owner = Owner {
            network: "refcap-net",
            ifname: "eth0",
            container_id: "11d078d669e34bf3f49e1961b7009b25713893b472e2bb9dc933191b2d9eab56",
        };
        // The reference's comment is 128 bytes: the ID loses its last two characters.
        let comment = nft_comment(&owner);
        let listed = "be386be7911a0d59-46c58869dd2f21ea, net: refcap-net, if: eth0, id: 11d078d669e34bf3f49e1961b7009b25713893b472e2bb9dc933191b2d9eab";
        assert_eq!(comment, listed);
        for (ours, text) in [
            ("10.250.12.2/24", "ip saddr == 10.250.12.2 ip daddr != 10.250.12.0/24"),
            ("fd10:250:12::2/64", "ip6 saddr == fd10:250:12::2 ip6 daddr != fd10:250:12::/64"),
        ] {
            let address: IpNetwork = ours.parse().unwrap();
            assert_reference(
                &format!("{prefix} masq_checks {text} masquerade comment \"{listed}\""),
                &masquerade_rule(address),
                Some(&comment),
            );
        }
    }

    #[test]
    fn iptables_input_is_the_references_rules_as_saved() {
        let chain = netfilter::chain_name("goldnet", "ctr1");
        assert_eq!(chain, "CNI-67f4fdb66c83c464761f5d90");
        let comment = iptables::quote(&netfilter::iptables_comment("goldnet", "ctr1"));
        let address: IpNetwork = "10.218.70.2/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let input = iptables_input(&chain, &comment, &[address], &[]);
        let rules: Vec<&str> = input.lines().filter(|l| l.starts_with("-A ")).collect();
        let mut sorted = rules.clone();
        let mut reference: Vec<&str> = REFERENCE.lines().collect();
        sorted.sort_unstable();
        reference.sort_unstable();
        assert_eq!(sorted, reference);
        assert!(input.starts_with(&format!("*nat\n:{chain} - [0:0]\n")) && input.ends_with("COMMIT\n"));
        // A jump already in POSTROUTING is not added again.
        let again =
            iptables_input(&chain, &comment, &[address], &[REFERENCE.lines().next().unwrap_or_default()]);
        assert!(!again.contains("-A POSTROUTING"), "{again}");
    }
}
