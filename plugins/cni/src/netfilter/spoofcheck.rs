//! MAC spoof checking (`macspoofchk`): drop frames from a bridge port whose
//! source MAC is not the container's, with the reference's nftables layout.
//!
//! Table `bridge nat`, base chain `PREROUTING` (filter hook, priority -300),
//! and per attachment the chains `cni-br-iface-<ID>` and
//! `cni-br-iface-<ID>-mac`, where ID is `<containerID>-<ifname>`; every rule
//! is commented `macspoofchk-<ID>`. Programmed over netlink.

use crate::error::CniError;
use crate::netfilter::nftnl::{self, Batch, Expr, Hook, FAMILY_BRIDGE, NFT_JUMP, NFT_RETURN, NF_DROP};
use crate::netlink::parse_mac;

const TABLE: &str = "nat";
const BASE_CHAIN: &str = "PREROUTING";
/// NF_BR_PRE_ROUTING.
const HOOK_PREROUTING: u32 = 0;

fn names(ref_id: &str) -> (String, String, String) {
    let iface_chain = format!("cni-br-iface-{ref_id}");
    let mac_chain = format!("{iface_chain}-mac");
    (iface_chain, mac_chain, format!("macspoofchk-{ref_id}"))
}

/// The reference's ID for an attachment.
pub fn ref_id(container_id: &str, ifname: &str) -> String {
    format!("{container_id}-{ifname}")
}

/// Lets only `mac` out of host interface `host_iface` into the bridge.
pub fn setup(host_iface: &str, mac: &str, ref_id: &str) -> Result<(), CniError> {
    let (iface_chain, mac_chain, comment) = names(ref_id);
    let mac = parse_mac(mac)
        .ok_or_else(|| CniError::internal(format!("failed to setup spoof-check: bad MAC {mac:?}")))?;
    let name = nftnl::ifname_bytes(host_iface);
    let mut batch = Batch::new(FAMILY_BRIDGE);
    batch.add_table(TABLE, None);
    let hook = Hook { kind: "filter", hooknum: HOOK_PREROUTING, priority: -300 };
    batch.add_chain(TABLE, BASE_CHAIN, Some(&hook), None);
    batch.add_chain(TABLE, &iface_chain, None, None);
    batch.add_chain(TABLE, &mac_chain, None, None);
    batch.flush_chain(TABLE, &iface_chain);
    batch.flush_chain(TABLE, &mac_chain);
    let jump_in =
        [Expr::meta_iifname(1), Expr::cmp(1, true, &name), Expr::verdict(NFT_JUMP, Some(&iface_chain))];
    batch.add_rule(TABLE, BASE_CHAIN, &jump_in, Some(&comment));
    batch.add_rule(TABLE, &iface_chain, &[Expr::verdict(NFT_JUMP, Some(&mac_chain))], Some(&comment));
    let pass = [Expr::payload_ether_saddr(1), Expr::cmp(1, true, &mac), Expr::verdict(NFT_RETURN, None)];
    batch.add_rule(TABLE, &mac_chain, &pass, Some(&comment));
    batch.add_rule(TABLE, &mac_chain, &[Expr::verdict(NF_DROP, None)], Some(&comment));
    Ok(batch.commit().map_err(|e| e.context("failed to setup spoof-check"))?)
}

/// Removes an attachment's spoof-check rules and chains; nothing there is no error.
pub fn teardown(ref_id: &str) -> Result<(), CniError> {
    let (iface_chain, mac_chain, comment) = names(ref_id);
    let Some(listing) = nftnl::list_chain_rules(FAMILY_BRIDGE, TABLE, BASE_CHAIN)? else { return Ok(()) };
    let mut batch = Batch::new(FAMILY_BRIDGE);
    for rule in listing.rules.iter().filter(|r| r.comment == comment) {
        batch.delete_rule(TABLE, BASE_CHAIN, rule.handle);
    }
    for chain in [&iface_chain, &mac_chain] {
        if listing.chains.contains(chain) {
            batch.flush_chain(TABLE, chain);
        }
    }
    for chain in [&iface_chain, &mac_chain] {
        if listing.chains.contains(chain) {
            batch.delete_chain(TABLE, chain);
        }
    }
    Ok(batch.commit().map_err(|e| e.context("failed to teardown spoof-check"))?)
}
