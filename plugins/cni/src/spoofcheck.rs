//! MAC spoof checking (`macspoofchk`): drop frames from a bridge port whose
//! source MAC is not the container's, with the reference's nftables layout.
//!
//! Table `bridge nat`, base chain `PREROUTING` (filter hook, priority -300),
//! and per attachment the chains `cni-br-iface-<ID>` and
//! `cni-br-iface-<ID>-mac`, where ID is `<containerID>-<ifname>`; every rule
//! is commented `macspoofchk-<ID>`.

use crate::error::CniError;
use crate::netfilter::nft;

const FAMILY_TABLE: &str = "bridge nat";

fn names(ref_id: &str) -> (String, String, String) {
    let iface_chain = format!("cni-br-iface-{ref_id}");
    let mac_chain = format!("{iface_chain}-mac");
    (iface_chain, mac_chain, nft::quote(&format!("macspoofchk-{ref_id}")))
}

/// The reference's ID for an attachment.
pub fn ref_id(container_id: &str, ifname: &str) -> String {
    format!("{container_id}-{ifname}")
}

/// Lets only `mac` out of host interface `host_iface` into the bridge.
pub fn setup(host_iface: &str, mac: &str, ref_id: &str) -> Result<(), CniError> {
    let (iface_chain, mac_chain, comment) = names(ref_id);
    let t = FAMILY_TABLE;
    let script = format!(
        "add table {t}\n\
         add chain {t} PREROUTING {{ type filter hook prerouting priority -300 ; policy accept ; }}\n\
         add chain {t} {iface_chain}\n\
         add chain {t} {mac_chain}\n\
         flush chain {t} {iface_chain}\n\
         flush chain {t} {mac_chain}\n\
         add rule {t} PREROUTING iifname {} jump {iface_chain} comment {comment}\n\
         add rule {t} {iface_chain} jump {mac_chain} comment {comment}\n\
         add rule {t} {mac_chain} ether saddr {mac} return comment {comment}\n\
         add rule {t} {mac_chain} drop comment {comment}\n",
        nft::quote(host_iface)
    );
    nft::apply(&script).map_err(|e| e.context("failed to setup spoof-check"))
}

/// Removes an attachment's spoof-check rules and chains; nothing there is no error.
pub fn teardown(ref_id: &str) -> Result<(), CniError> {
    if nft::nft().is_none() {
        return Ok(());
    }
    let (iface_chain, mac_chain, _) = names(ref_id);
    let listing = nft::list_table("bridge", "nat")?;
    let comment = format!("macspoofchk-{ref_id}");
    let mut script = String::new();
    for rule in listing.rules.iter().filter(|r| r.chain == "PREROUTING" && r.comment == comment) {
        script.push_str(&format!("delete rule {FAMILY_TABLE} PREROUTING handle {}\n", rule.handle));
    }
    for chain in [&iface_chain, &mac_chain] {
        if listing.chains.contains(chain) {
            script.push_str(&format!("flush chain {FAMILY_TABLE} {chain}\n"));
        }
    }
    for chain in [&iface_chain, &mac_chain] {
        if listing.chains.contains(chain) {
            script.push_str(&format!("delete chain {FAMILY_TABLE} {chain}\n"));
        }
    }
    if script.is_empty() {
        return Ok(());
    }
    nft::apply(&script).map_err(|e| e.context("failed to teardown spoof-check"))
}
