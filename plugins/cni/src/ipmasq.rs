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
use crate::netfilter::{self, hash_with_prefix, iptables, nft};

const TABLE: &str = "cni_plugins_masquerade";
const CHAIN: &str = "masq_checks";
/// knftables' limit on comment length.
const COMMENT_MAX: usize = 128;

/// Which netfilter interface to program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// nftables through `nft`.
    Nftables,
    /// iptables through `iptables-restore`.
    Iptables,
}

impl Backend {
    /// The backend for `ipMasqBackend`: as configured, else nftables when
    /// `nft` is installed, else iptables when its tools are.
    pub fn choose(configured: Option<&str>) -> Result<Backend, CniError> {
        match configured {
            Some("nftables") => Ok(Backend::Nftables),
            Some("iptables") => Ok(Backend::Iptables),
            Some(other) => Err(CniError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "unknown ipmasq backend {other:?} (ipMasqBackend must be \"nftables\" or \"iptables\")"
                ),
            )),
            None if nft::nft().is_some() => Ok(Backend::Nftables),
            None if iptables::available(false) => Ok(Backend::Iptables),
            None => Err(CniError::internal(
                "ipMasq needs nftables or iptables, and neither `nft` nor `iptables-restore` was found \
                 (install Debian's nftables package)",
            )),
        }
    }
}

/// Whose rules: the attachment that owns them.
pub struct Owner<'a> {
    /// Network name.
    pub network: &'a str,
    /// Interface name in the container.
    pub ifname: &'a str,
    /// Container ID.
    pub container_id: &'a str,
}

fn network_hash(network: &str) -> String {
    hash_with_prefix(16, "", network)
}

fn instance_hash(owner: &Owner) -> String {
    format!(
        "{}-{}",
        network_hash(owner.network),
        hash_with_prefix(16, "", &format!("{}:{}", owner.ifname, owner.container_id))
    )
}

/// The nftables rule comment the reference writes for an attachment.
pub fn nft_comment(owner: &Owner) -> String {
    let mut comment = format!(
        "{}, net: {}, if: {}, id: {}",
        instance_hash(owner),
        owner.network.replace('"', ""),
        owner.ifname.replace('"', ""),
        owner.container_id.replace('"', "")
    );
    if comment.len() > COMMENT_MAX {
        let mut cut = COMMENT_MAX;
        while !comment.is_char_boundary(cut) {
            cut -= 1;
        }
        comment.truncate(cut);
    }
    comment
}

/// Masquerades traffic from `addresses` (with their prefix lengths) leaving their subnets.
pub fn setup(backend: Backend, addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    match backend {
        Backend::Nftables => setup_nft(addresses, owner),
        Backend::Iptables => setup_iptables(addresses, owner),
    }
}

/// Rules in the `postrouting` chain as the reference writes it.
const POSTROUTING_RULES: usize = 3;

fn setup_nft(addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let listing = nft::list_table("inet", TABLE)?;
    let prefix = instance_hash(owner);
    let t = format!("inet {TABLE}");
    let postrouting: Vec<_> = listing.rules.iter().filter(|r| r.chain == "postrouting").collect();
    let in_place = listing.chains.iter().any(|c| c == CHAIN)
        && listing.chains.iter().any(|c| c == "postrouting")
        && postrouting.len() == POSTROUTING_RULES
        && postrouting.iter().all(|r| r.comment.is_empty());
    let mut script = String::new();
    if !in_place {
        // Flushing a base chain costs an RCU grace period in the kernel, so
        // it is rewritten only when it is missing or not as expected.
        script = format!(
            "add table {t} {{ comment {} ; }}\n\
             add chain {t} {CHAIN} {{ comment {} ; }}\n\
             add chain {t} postrouting {{ type nat hook postrouting priority 100 ; }}\n\
             flush chain {t} postrouting\n\
             add rule {t} postrouting ip daddr == 224.0.0.0/4  return\n\
             add rule {t} postrouting ip6 daddr == ff00::/8  return\n\
             add rule {t} postrouting goto {CHAIN}\n",
            nft::quote("Masquerading for plugins from github.com/containernetworking/plugins"),
            nft::quote("Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet"),
        );
    }
    for rule in listing.rules.iter().filter(|r| r.chain == CHAIN && r.comment.starts_with(&prefix)) {
        script.push_str(&format!("delete rule {t} {CHAIN} handle {}\n", rule.handle));
    }
    let comment = nft::quote(&nft_comment(owner));
    for address in addresses {
        let family = if address.is_ipv4() { "ip" } else { "ip6" };
        let subnet = format!("{}/{}", address.network(), address.prefix());
        script.push_str(&format!(
            "add rule {t} {CHAIN} {family} saddr == {} {family} daddr != {subnet} masquerade comment {comment}\n",
            address.ip()
        ));
    }
    nft::apply(&script)
}

fn setup_iptables(addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let chain = netfilter::chain_name(owner.network, owner.container_id);
    let comment = iptables::quote(&netfilter::iptables_comment(owner.network, owner.container_id));
    for ipv6 in [false, true] {
        let family: Vec<&IpNetwork> = addresses.iter().filter(|a| a.is_ipv6() == ipv6).collect();
        if family.is_empty() {
            continue;
        }
        let saved = iptables::save(ipv6, "nat")?;
        let multicast = if ipv6 { "ff00::/8" } else { "224.0.0.0/4" };
        // Declaring the chain empties it, so it is rewritten whole.
        let mut input = format!("*nat\n:{chain} - [0:0]\n");
        for address in &family {
            input.push_str(&format!("-A {chain} -d {address} -j ACCEPT -m comment --comment {comment}\n"));
            input.push_str(&format!(
                "-A {chain} ! -d {multicast} -j MASQUERADE -m comment --comment {comment}\n"
            ));
        }
        let existing = iptables::rules_jumping_to(&saved, "POSTROUTING", &chain);
        for address in &family {
            let host = if ipv6 { 128 } else { 32 };
            let source = format!("-s {}/{host} ", address.ip());
            if !existing.iter().any(|rule| rule.contains(&source)) {
                input.push_str(&format!(
                    "-A POSTROUTING -s {} -j {chain} -m comment --comment {comment}\n",
                    address.ip()
                ));
            }
        }
        input.push_str("COMMIT\n");
        iptables::restore(ipv6, &input)?;
    }
    Ok(())
}

/// Removes an attachment's masquerading on both backends. `addresses`
/// says which iptables families to look at.
pub fn teardown(addresses: &[IpNetwork], owner: &Owner) -> Result<(), CniError> {
    let mut errors = Vec::new();
    if nft::nft().is_some() {
        let prefix = instance_hash(owner);
        if let Err(e) = delete_nft_rules(|comment| comment.starts_with(&prefix)) {
            errors.push(e.msg);
        }
    }
    let chain = netfilter::chain_name(owner.network, owner.container_id);
    for ipv6 in [false, true] {
        if !addresses.iter().any(|a| a.is_ipv6() == ipv6) || !iptables::available(ipv6) {
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
    let saved = iptables::save(ipv6, "nat")?;
    let jumps = iptables::rules_jumping_to(&saved, "POSTROUTING", chain);
    let declared = iptables::has_chain(&saved, chain);
    if jumps.is_empty() && !declared {
        return Ok(());
    }
    let mut input = String::from("*nat\n");
    for rule in jumps {
        input.push_str(&format!("-D{}\n", &rule[2..]));
    }
    if declared {
        input.push_str(&format!("-F {chain}\n-X {chain}\n"));
    }
    input.push_str("COMMIT\n");
    iptables::restore(ipv6, &input)
}

fn delete_nft_rules(doomed: impl Fn(&str) -> bool) -> Result<(), CniError> {
    let rules = nft::list_rules("inet", TABLE, CHAIN)?;
    let script: String = rules
        .iter()
        .filter(|r| doomed(&r.comment))
        .map(|r| format!("delete rule inet {TABLE} {CHAIN} handle {}\n", r.handle))
        .collect();
    if script.is_empty() {
        return Ok(());
    }
    nft::apply(&script)
}

/// GC: removes the network's nftables masquerade rules for attachments not
/// in `valid`. (Like the reference, iptables chains carry no network tag to GC by.)
pub fn gc(network: &str, valid: &[Attachment]) -> Result<(), CniError> {
    if nft::nft().is_none() {
        return Ok(());
    }
    let prefix = network_hash(network);
    let keep: HashSet<String> = valid
        .iter()
        .map(|a| nft_comment(&Owner { network, ifname: &a.ifname, container_id: &a.container_id }))
        .collect();
    delete_nft_rules(|comment| comment.starts_with(&prefix) && !keep.contains(comment))
}
