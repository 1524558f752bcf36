//! What plugins leave after their last DEL, ours and the reference's
//! alike, and netavark after its last teardown: the shared nftables tables
//! and iptables chains every attachment of a kind uses. The bench removes those it is sure it brought: absent
//! (not merely unreadable) before the run, and holding no attachment's
//! rule at its end, so a runtime's attachments made meanwhile keep theirs.

use cni::netfilter::iptables;
use cni::netfilter::nftnl::{self, FAMILY_INET, FAMILY_IPV4, FAMILY_IPV6};

/// A shared nftables table: family, name, and the
/// chains where attachments' rules go (the table is left while any holds one).
struct NftTable {
    family: u8,
    name: &'static str,
    attachment_chains: &'static [&'static str],
}

const NFT_TABLES: [NftTable; 4] = [
    NftTable { family: FAMILY_INET, name: "cni_plugins_masquerade", attachment_chains: &["masq_checks"] },
    NftTable {
        family: FAMILY_IPV4,
        name: "cni_hostport",
        attachment_chains: &["hostports", "hostip_hostports", "masquerading"],
    },
    NftTable {
        family: FAMILY_IPV6,
        name: "cni_hostport",
        attachment_chains: &["hostports", "hostip_hostports", "masquerading"],
    },
    NftTable {
        family: FAMILY_INET,
        name: "cni_plugins_firewall",
        attachment_chains: &["containers", "isolation_stage_2"],
    },
];

/// The shared iptables chains, per table: the plugins', then netavark's.
const IPT_CHAINS: [(&str, &[&str]); 2] = [
    (
        "nat",
        &[
            "CNI-HOSTPORT-DNAT",
            "CNI-HOSTPORT-MASQ",
            "CNI-HOSTPORT-SETMARK",
            "NETAVARK-HOSTPORT-DNAT",
            "NETAVARK-HOSTPORT-MASQ",
            "NETAVARK-HOSTPORT-SETMARK",
        ],
    ),
    (
        "filter",
        &[
            "CNI-FORWARD",
            "CNI-ADMIN",
            "CNI-ISOLATION-STAGE-1",
            "CNI-ISOLATION-STAGE-2",
            "NETAVARK_FORWARD",
            "NETAVARK_ISOLATION_1",
            "NETAVARK_ISOLATION_2",
        ],
    ),
];

/// The built-in chains that jump to them.
const BUILT_IN: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// What is known to be absent at one moment (what could not be read is
/// not in these lists, so it is never taken for something the run made).
pub struct Skeletons {
    nft_absent: Vec<usize>,
    ipt_absent: Vec<(bool, &'static str, &'static str)>,
}

/// `Some(true)` when the table has chains, `Some(false)` when it has none
/// or is missing, `None` when nftables did not answer.
fn nft_present(table: &NftTable) -> Option<bool> {
    nftnl::list_chains(table.family, table.name).ok().map(|chains| chains.is_some_and(|c| !c.is_empty()))
}

impl Skeletons {
    /// Those known to be absent now.
    pub fn absent() -> Skeletons {
        let nft_absent =
            (0..NFT_TABLES.len()).filter(|&i| nft_present(&NFT_TABLES[i]) == Some(false)).collect();
        let mut ipt_absent = Vec::new();
        for ipv6 in [false, true] {
            for (table, chains) in IPT_CHAINS {
                // A table iptables-save cannot read is unknown, not absent.
                let Ok(saved) = iptables::save(ipv6, table) else { continue };
                ipt_absent.extend(
                    chains.iter().filter(|c| !iptables::has_chain(&saved, c)).map(|c| (ipv6, table, *c)),
                );
            }
        }
        Skeletons { nft_absent, ipt_absent }
    }

    /// Removes those absent when `self` was taken that now exist and hold
    /// no attachment's rule.
    pub fn remove_brought(&self) {
        for table in self.nft_absent.iter().map(|&i| &NFT_TABLES[i]) {
            let rules = nftnl::list_rules(table.family, table.name, table.attachment_chains);
            if matches!(rules, Ok(Some(ref listing)) if listing.rules.is_empty()) {
                let mut batch = nftnl::Batch::new(table.family);
                batch.delete_table(table.name);
                let _ = batch.commit();
            }
        }
        for ipv6 in [false, true] {
            for (table, _) in IPT_CHAINS {
                let brought: Vec<&str> =
                    self.ipt_absent.iter().filter(|c| c.0 == ipv6 && c.1 == table).map(|c| c.2).collect();
                if !brought.is_empty() {
                    let _ = iptables::transact(ipv6, table, |saved| removal_lines(saved, &brought));
                }
            }
        }
    }
}

/// True for a rule a plugin's skeleton holds: no address, interface or
/// attachment comment, and a jump only to a skeleton chain or a plain target.
fn skeleton_rule(rule: &str) -> bool {
    let specific = [" -s ", " -d ", " -i ", " -o ", "id: ", "name: "];
    let target = rule.split(" -j ").nth(1).and_then(|t| t.split_whitespace().next()).unwrap_or("");
    let plain = ["MASQUERADE", "MARK", "RETURN"].contains(&target)
        || IPT_CHAINS.iter().any(|(_, chains)| chains.contains(&target));
    !specific.iter().any(|s| rule.contains(s)) && plain
}

/// Restore lines deleting those of `chains` that exist and hold only
/// skeleton rules: the built-in chains' jumps to them, then the chains
/// (all flushed first, as they jump to each other). A chain the lines
/// leave still jumping to one of them makes the restore fail whole, which
/// leaves everything as it was.
fn removal_lines(saved: &str, chains: &[&str]) -> String {
    let removable: Vec<&str> = chains
        .iter()
        .copied()
        .filter(|chain| iptables::has_chain(saved, chain))
        .filter(|chain| {
            let prefix = format!("-A {chain} ");
            saved.lines().filter(|l| l.starts_with(&prefix)).all(skeleton_rule)
        })
        .collect();
    let mut lines = String::new();
    for chain in &removable {
        for entry in BUILT_IN {
            for rule in iptables::rules_jumping_to(saved, entry, chain) {
                lines.push_str(&format!("-D{}\n", &rule[2..]));
            }
        }
    }
    for chain in &removable {
        lines.push_str(&format!("-F {chain}\n"));
    }
    for chain in &removable {
        lines.push_str(&format!("-X {chain}\n"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_skeleton_chains_are_removed() {
        let saved = "*filter\n:FORWARD ACCEPT [0:0]\n:CNI-FORWARD - [0:0]\n:CNI-ADMIN - [0:0]\n\
                     -A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n\
                     -A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN\nCOMMIT\n";
        let lines = removal_lines(saved, &["CNI-FORWARD", "CNI-ADMIN"]);
        assert!(lines.starts_with("-D FORWARD -m comment"), "{lines}");
        assert!(lines.contains("-F CNI-FORWARD\n-F CNI-ADMIN\n-X CNI-FORWARD\n-X CNI-ADMIN\n"), "{lines}");
        // A container's accept in CNI-FORWARD keeps that chain (and so CNI-ADMIN's jump).
        let live = saved.replace("COMMIT", "-A CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT\nCOMMIT");
        let lines = removal_lines(&live, &["CNI-FORWARD"]);
        assert!(lines.is_empty(), "{lines}");
        let dnat = "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"n\\\" id: \\\"c\\\"\" -j CNI-DN-1";
        assert!(!skeleton_rule(dnat));
    }

    #[test]
    fn netavarks_skeleton_goes_and_a_live_network_keeps_it() {
        // iptables-save after netavark 1.4's last teardown on a network.
        let saved = "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                     :NETAVARK-HOSTPORT-DNAT - [0:0]\n:NETAVARK-HOSTPORT-MASQ - [0:0]\n:NETAVARK-HOSTPORT-SETMARK - [0:0]\n\
                     -A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT\n\
                     -A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT\n\
                     -A POSTROUTING -j NETAVARK-HOSTPORT-MASQ\n\
                     -A NETAVARK-HOSTPORT-MASQ -m comment --comment \"netavark portfw masq mark\" -m mark --mark 0x2000/0x2000 -j MASQUERADE\n\
                     -A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000\nCOMMIT\n";
        let chains = ["NETAVARK-HOSTPORT-DNAT", "NETAVARK-HOSTPORT-MASQ", "NETAVARK-HOSTPORT-SETMARK"];
        let lines = removal_lines(saved, &chains);
        assert_eq!(lines.matches("-D ").count(), 3, "{lines}");
        assert!(lines.ends_with("-X NETAVARK-HOSTPORT-SETMARK\n"), "{lines}");
        // A container's port keeps the DNAT chain (and the jumps to it).
        let live = saved.replace(
            "COMMIT",
            "-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"dnat name: podman id: c1\" -j NETAVARK-DN-1\nCOMMIT",
        );
        assert!(!removal_lines(&live, &chains[..1]).contains("NETAVARK-HOSTPORT-DNAT"));
    }
}
