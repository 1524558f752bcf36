//! The attachment's masquerade rule, when its config asks for ipMasq:
//! on nftables, a rule in `inet cni_plugins_masquerade masq_checks`
//! commented with the attachment's hash, reached from the `postrouting`
//! base chain; on iptables, the chain `CNI-<hash>` in `nat` with its
//! MASQUERADE rule, jumped to from POSTROUTING for the address. Either
//! backend counts (the reference's plugins may have made it). Rules that
//! cannot be read give a warning, never a failure whose fix would add a
//! rule that is there.

use cni::netfilter::{chain_name, Backend, Owner};
use ipnetwork::IpNetwork;

use super::netlink::{octets, udata_text};
use super::nftables::jump_target;
use super::ruleset::Ruleset;
use super::{finding, reload, Finding, Status, Target};

const TABLE: &str = "cni_plugins_masquerade";
const CHECKS: &str = "masq_checks";

/// What one backend holds for an address.
enum Held {
    /// The rule is there, and reached: where.
    Found(String),
    /// What is missing.
    Missing(String),
    /// The rules could not be read: why.
    Unknown(String),
}

/// What nftables holds for the address: the rule in masq_checks, and the
/// postrouting base chain that goes to masq_checks.
fn nft_state(target: &Target, address: IpNetwork, ruleset: &Ruleset) -> Held {
    let chains = match ruleset.nft_chains() {
        Ok(chains) => chains,
        Err(e) => return Held::Unknown(format!("nftables cannot be listed: {e}")),
    };
    let ours: Vec<_> = chains.iter().filter(|c| c.family == 1 && c.table == TABLE).collect();
    if !ours.iter().any(|c| c.name == "postrouting" && c.hook.is_some()) {
        return Held::Missing(format!("no nftables table inet {TABLE} with its postrouting chain"));
    }
    let owner =
        Owner { network: &target.network, ifname: &target.ifname, container_id: &target.container_id };
    let hash = owner.hash();
    let rules = match ruleset.nft_rules(1, TABLE, CHECKS) {
        Ok(rules) => rules,
        Err(e) => return Held::Unknown(format!("inet {TABLE} {CHECKS} cannot be listed: {e}")),
    };
    let ip = octets(address.ip());
    let found = rules.iter().any(|rule| {
        udata_text(&rule.userdata, 0).starts_with(&hash)
            && rule.exprs.iter().any(|e| e.name == "masq")
            && rule
                .exprs
                .iter()
                .any(|e| e.name == "cmp" && e.data.windows(ip.len()).any(|w| w == ip.as_slice()))
    });
    if !found {
        return Held::Missing(format!("no rule for {} in inet {TABLE} {CHECKS}", address.ip()));
    }
    let entry = match ruleset.nft_rules(1, TABLE, "postrouting") {
        Ok(rules) => rules,
        Err(e) => return Held::Unknown(format!("inet {TABLE} postrouting cannot be listed: {e}")),
    };
    if !entry.iter().any(|rule| jump_target(&rule.exprs).as_deref() == Some(CHECKS)) {
        return Held::Missing(format!("inet {TABLE} postrouting does not go to {CHECKS}"));
    }
    Held::Found(format!("nftables: inet {TABLE} {CHECKS}"))
}

/// What iptables holds: `None` without the tool.
fn iptables_state(target: &Target, address: IpNetwork, ruleset: &Ruleset) -> Option<Held> {
    let saved = match ruleset.iptables_nat(address.is_ipv6()) {
        Ok(saved) => saved?,
        Err(why) => return Some(Held::Unknown(why.to_string())),
    };
    let chain = chain_name(&target.network, &target.container_id);
    let source = format!("-s {}/{} ", address.ip(), if address.is_ipv6() { 128 } else { 32 });
    let mut lacks = Vec::new();
    if !cni::netfilter::iptables::has_chain(saved, &chain) {
        lacks.push(format!("the chain {chain}"));
    }
    let masquerades =
        saved.lines().any(|l| l.starts_with(&format!("-A {chain} ")) && l.ends_with("-j MASQUERADE"));
    if !masquerades {
        lacks.push(format!("the MASQUERADE rule of {chain}"));
    }
    let jumps = cni::netfilter::iptables::rules_jumping_to(saved, "POSTROUTING", &chain);
    if !jumps.iter().any(|rule| rule.contains(&source)) {
        lacks.push(format!("the POSTROUTING rule sending {} to {chain}", address.ip()));
    }
    Some(if lacks.is_empty() {
        Held::Found(format!("iptables: nat {chain}, jumped to from POSTROUTING"))
    } else {
        Held::Missing(format!("iptables lacks {}", lacks.join(" and ")))
    })
}

pub(super) fn check(target: &Target, ruleset: &Ruleset, findings: &mut Vec<Finding>) {
    let check = "masquerade";
    if !target.ip_masq {
        let subnets: Vec<String> =
            target.addresses.iter().map(|a| format!("{}/{}", a.network(), a.prefix())).collect();
        findings.push(finding(
            check,
            Status::Info,
            format!("ipMasq is off: the container's packets leave with its own address, so the network beyond must route {} back to this host", subnets.join(", ")),
            None,
        ));
        return;
    }
    let configured =
        target.masq_backend.as_deref().and_then(Backend::parse).unwrap_or_else(Backend::reference_default);
    let ip_masq = "ipMasq's rules";
    for address in &target.addresses {
        let nft = nft_state(target, *address, ruleset);
        let ipt = iptables_state(target, *address, ruleset);
        let found = [Some(&nft), ipt.as_ref()].into_iter().flatten().find_map(|held| match held {
            Held::Found(place) => Some(place.clone()),
            _ => None,
        });
        if let Some(place) = found {
            findings.push(finding(
                check,
                Status::Ok,
                format!("{} is masqueraded ({place})", address.ip()),
                None,
            ));
            continue;
        }
        let unknown: Vec<&str> = [Some(&nft), ipt.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|held| match held {
                Held::Unknown(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if !unknown.is_empty() {
            // A rule that cannot be read is never reported missing: its
            // fix would add it a second time.
            findings.push(finding(
                check,
                Status::Warn,
                format!("whether {} is masqueraded cannot be told: {}", address.ip(), unknown.join("; ")),
                None,
            ));
            continue;
        }
        let missing = |held: Option<&Held>| match held {
            Some(Held::Missing(why)) => Some(why.clone()),
            _ => None,
        };
        let why = match configured {
            Backend::Iptables => missing(ipt.as_ref()).or_else(|| missing(Some(&nft))),
            Backend::Nftables => missing(Some(&nft)),
        }
        .unwrap_or_else(|| "no rule on either backend".into());
        findings.push(finding(
            check,
            Status::Fail,
            format!("{} is not masqueraded: its packets leave with a private source and no answer comes back ({why})", address.ip()),
            Some(reload(target, ip_masq)),
        ));
    }
}
