//! What plugins leave after their last DEL, ours and the reference's
//! alike: the shared nftables tables and iptables chains every attachment
//! of a kind uses. The bench removes those that were not there before it
//! ran, so that a run leaves the machine as it found it.

use cni::netfilter::iptables;

/// The shared nftables tables: (family, name).
const NFT_TABLES: [(&str, &str); 4] = [
    ("inet", "cni_plugins_masquerade"),
    ("ip", "cni_hostport"),
    ("ip6", "cni_hostport"),
    ("inet", "cni_plugins_firewall"),
];

/// The shared iptables chains, per table.
const IPT_CHAINS: [(&str, &[&str]); 2] = [
    ("nat", &["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"]),
    ("filter", &["CNI-FORWARD", "CNI-ADMIN", "CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"]),
];

/// The built-in chains that jump to them.
const BUILT_IN: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// Which of them exist at one moment.
pub struct Skeletons {
    nft: Vec<(&'static str, &'static str)>,
    ipt: Vec<(bool, &'static str, &'static str)>,
}

fn nft_table_exists(family: &str, name: &str) -> bool {
    crate::exec::new_command("nft")
        .args(["list", "table", family, name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Skeletons {
    /// Those that exist now.
    pub fn present() -> Skeletons {
        let nft = NFT_TABLES.into_iter().filter(|(family, name)| nft_table_exists(family, name)).collect();
        let mut ipt = Vec::new();
        for ipv6 in [false, true] {
            for (table, chains) in IPT_CHAINS {
                let saved = iptables::save(ipv6, table).unwrap_or_default();
                ipt.extend(
                    chains.iter().filter(|c| iptables::has_chain(&saved, c)).map(|c| (ipv6, table, *c)),
                );
            }
        }
        Skeletons { nft, ipt }
    }

    /// Removes those that exist now and did not when `self` was taken.
    pub fn remove_new_since(&self) {
        let now = Skeletons::present();
        for (family, name) in now.nft.iter().filter(|t| !self.nft.contains(t)) {
            let _ = crate::exec::new_command("nft")
                .args(["delete", "table", family, name])
                .stderr(std::process::Stdio::null())
                .status();
        }
        for ipv6 in [false, true] {
            for (table, _) in IPT_CHAINS {
                let new: Vec<&str> = now
                    .ipt
                    .iter()
                    .filter(|c| c.0 == ipv6 && c.1 == table && !self.ipt.contains(c))
                    .map(|c| c.2)
                    .collect();
                if new.is_empty() {
                    continue;
                }
                let _ = iptables::transact(ipv6, table, |saved| removal_lines(saved, &new));
            }
        }
    }
}

/// Restore lines deleting the jumps to `chains` from the built-in chains,
/// then flushing and deleting them (flushed first, as they jump to each other).
fn removal_lines(saved: &str, chains: &[&str]) -> String {
    let mut lines = String::new();
    for chain in chains {
        for entry in BUILT_IN {
            for rule in iptables::rules_jumping_to(saved, entry, chain) {
                lines.push_str(&format!("-D{}\n", &rule[2..]));
            }
        }
    }
    for chain in chains.iter().filter(|c| iptables::has_chain(saved, c)) {
        lines.push_str(&format!("-F {chain}\n"));
    }
    for chain in chains.iter().filter(|c| iptables::has_chain(saved, c)) {
        lines.push_str(&format!("-X {chain}\n"));
    }
    lines
}
