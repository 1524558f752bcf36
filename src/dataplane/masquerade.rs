//! The attachment's masquerade rule, when its config asks for ipMasq:
//! on nftables, a rule in `inet cni_plugins_masquerade masq_checks`
//! commented with the attachment's hash, reached from the `postrouting`
//! base chain; on iptables, the chain `CNI-<hash>` in `nat` with its
//! MASQUERADE rule, jumped to from POSTROUTING for the address. Either
//! backend counts (the reference's plugins may have made it).

use std::net::IpAddr;

use cni::netfilter::{chain_name, iptables_comment, Backend, Owner};
use ipnetwork::IpNetwork;

use super::netlink::udata_text;
use super::ruleset::Ruleset;
use super::{finding, Finding, Status, Target};

const TABLE: &str = "cni_plugins_masquerade";

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

/// What nftables holds for the address: Ok(where) or Err(what is missing).
fn nft_state(target: &Target, address: IpNetwork, ruleset: &Ruleset) -> Result<String, String> {
    let owner =
        Owner { network: &target.network, ifname: &target.ifname, container_id: &target.container_id };
    let chains = ruleset.nft_chains().unwrap_or_default();
    let ours: Vec<_> = chains.iter().filter(|c| c.family == 1 && c.table == TABLE).collect();
    if !ours.iter().any(|c| c.name == "postrouting" && c.hook.is_some()) {
        return Err(format!("no nftables table inet {TABLE} with its postrouting chain"));
    }
    let hash = owner.hash();
    let rules = ruleset.nft_rules(1, TABLE, "masq_checks").unwrap_or_default();
    let ip = octets(address.ip());
    let found = rules.iter().any(|rule| {
        udata_text(&rule.userdata, 0).starts_with(&hash)
            && rule.exprs.iter().any(|e| e.name == "masq")
            && rule
                .exprs
                .iter()
                .any(|e| e.name == "cmp" && e.data.windows(ip.len()).any(|w| w == ip.as_slice()))
    });
    if found {
        Ok(format!("nftables: inet {TABLE} masq_checks"))
    } else {
        Err(format!("no rule for {} in inet {TABLE} masq_checks", address.ip()))
    }
}

/// What iptables lacks: what is missing, and the commands that add it.
type Lacking = (Vec<String>, Vec<String>);

/// What iptables holds: Ok(where) or Err(what it lacks).
fn iptables_state(target: &Target, address: IpNetwork, ruleset: &Ruleset) -> Option<Result<String, Lacking>> {
    let tool = if address.is_ipv6() { "ip6tables" } else { "iptables" };
    let saved = ruleset.iptables_nat(address.is_ipv6())?;
    let chain = chain_name(&target.network, &target.container_id);
    let comment =
        format!("-m comment --comment '{}'", iptables_comment(&target.network, &target.container_id));
    let host = if address.is_ipv6() { 128 } else { 32 };
    let multicast = if address.is_ipv6() { "ff00::/8" } else { "224.0.0.0/4" };
    let source = format!("-s {}/{host}", address.ip());
    let (mut missing, mut what) = (Vec::new(), Vec::new());
    let declared = cni::netfilter::iptables::has_chain(saved, &chain);
    if !declared {
        what.push(format!("the chain {chain}"));
        missing.push(format!("{tool} -t nat -N {chain}"));
        missing.push(format!(
            "{tool} -t nat -A {chain} -d {}/{} {comment} -j ACCEPT",
            address.network(),
            address.prefix()
        ));
    }
    let masquerades =
        saved.lines().any(|l| l.starts_with(&format!("-A {chain} ")) && l.ends_with("-j MASQUERADE"));
    if !masquerades {
        what.push(format!("the MASQUERADE rule of {chain}"));
        missing.push(format!("{tool} -t nat -A {chain} ! -d {multicast} {comment} -j MASQUERADE"));
    }
    let jumps = cni::netfilter::iptables::rules_jumping_to(saved, "POSTROUTING", &chain);
    if !jumps.iter().any(|rule| rule.contains(&format!("{source} "))) {
        what.push(format!("the POSTROUTING rule sending {} to {chain}", address.ip()));
        missing.push(format!("{tool} -t nat -A POSTROUTING {source} {comment} -j {chain}"));
    }
    Some(if missing.is_empty() {
        Ok(format!("iptables: nat {chain}, jumped to from POSTROUTING"))
    } else {
        Err((what, missing))
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
    for address in &target.addresses {
        let nft = nft_state(target, *address, ruleset);
        let ipt = iptables_state(target, *address, ruleset);
        let found = match (&nft, &ipt) {
            (Ok(place), _) | (_, Some(Ok(place))) => Some(place.clone()),
            _ => None,
        };
        if let Some(place) = found {
            findings.push(finding(
                check,
                Status::Ok,
                format!("{} is masqueraded ({place})", address.ip()),
                None,
            ));
            continue;
        }
        let attach = format!("cnictl del {0} {1} && cnictl add {0} {1}", target.network, target.netns);
        let (why, fix) = match (configured, &nft, &ipt) {
            (Backend::Iptables, _, Some(Err((what, lines)))) => {
                (format!("iptables lacks {}", what.join(" and ")), lines.join("; "))
            }
            (_, Err(why), _) if why.starts_with("no rule") => (
                why.clone(),
                format!(
                    "nft 'add rule inet {TABLE} masq_checks {0} saddr {1} {0} daddr != {2}/{3} masquerade comment \"{4}\"'",
                    if address.is_ipv4() { "ip" } else { "ip6" },
                    address.ip(),
                    address.network(),
                    address.prefix(),
                    cni::ipmasq::nft_comment(&Owner {
                        network: &target.network,
                        ifname: &target.ifname,
                        container_id: &target.container_id
                    })
                ),
            ),
            (_, Err(why), _) => (why.clone(), format!("{attach} (re-attach: ADD writes the table again)")),
            _ => ("no rule on either backend".into(), attach),
        };
        findings.push(finding(
            check,
            Status::Fail,
            format!("{} is not masqueraded: its packets leave with a private source and no answer comes back ({why})", address.ip()),
            Some(fix),
        ));
    }
}
