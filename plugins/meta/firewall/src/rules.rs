//! The reference's iptables rules, spelled as `iptables-save` prints them,
//! so that their presence is read off one `iptables-save` and changes go
//! in one `iptables-restore --noflush`.

use cni::netfilter::iptables;
use cni::CniError;
use ipnetwork::IpNetwork;

/// The chain holding per-container accept rules.
pub const PRIV_CHAIN: &str = "CNI-FORWARD";
const STAGE1: &str = "CNI-ISOLATION-STAGE-1";
const STAGE2: &str = "CNI-ISOLATION-STAGE-2";

/// A rule: its chain, its spec, and whether it goes first or last.
#[derive(Clone)]
pub struct Rule {
    chain: String,
    spec: String,
    first: bool,
}

fn rule(chain: &str, spec: String, first: bool) -> Rule {
    Rule { chain: chain.to_string(), spec, first }
}

fn comment(text: &str) -> String {
    format!("-m comment --comment {}", iptables::quote(text))
}

/// `<address>/32` or `/128`, as the reference writes container addresses.
pub fn host(address: &IpNetwork) -> String {
    format!("{}/{}", address.ip(), if address.is_ipv4() { 32 } else { 128 })
}

/// The jumps that hook our chains in, in the order they are ensured.
pub fn base_rules(admin_chain: &str) -> Vec<Rule> {
    vec![
        rule("FORWARD", format!("{} -j {PRIV_CHAIN}", comment("CNI firewall plugin rules")), true),
        rule(
            PRIV_CHAIN,
            format!("{} -j {admin_chain}", comment("CNI firewall plugin admin overrides")),
            true,
        ),
    ]
}

/// The two accept rules of one container address.
pub fn address_rules(address: &IpNetwork) -> Vec<Rule> {
    let ip = host(address);
    vec![
        rule(PRIV_CHAIN, format!("-d {ip} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), false),
        rule(PRIV_CHAIN, format!("-s {ip} -j ACCEPT"), false),
    ]
}

/// The bridge isolation rules of `ingressPolicy` same-bridge or isolated.
pub fn isolation_rules(bridge: &str, isolated: bool) -> Vec<Rule> {
    let default = comment("CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)");
    let policy = comment(&format!(
        "CNI firewall plugin rules (ingressPolicy: {})",
        if isolated { "isolated" } else { "same-bridge" }
    ));
    let mut rules = vec![
        rule("FORWARD", format!("{default} -j {STAGE1}"), true),
        rule(STAGE1, format!("-i {bridge} ! -o {bridge} {policy} -j {STAGE2}"), true),
    ];
    if isolated {
        rules.push(rule(STAGE1, format!("-i {bridge} -o {bridge} {policy} -j DROP"), true));
    }
    rules.push(rule(STAGE1, format!("{default} -j RETURN"), false));
    rules.push(rule(STAGE2, format!("-o {bridge} {default} -j DROP"), true));
    rules.push(rule(STAGE2, format!("{default} -j RETURN"), false));
    rules
}

/// The chains the isolation rules use.
pub const ISOLATION_CHAINS: [&str; 2] = [STAGE1, STAGE2];

/// True when `saved` (iptables-save output) holds the rule.
pub fn present(saved: &str, rule: &Rule) -> bool {
    let line = format!("-A {} {}", rule.chain, rule.spec);
    saved.lines().any(|l| l.trim_end() == line)
}

/// Makes sure chains and rules exist, in one transaction per family. A
/// concurrent ADD may create a chain first: then it is read again and retried.
pub fn ensure(ipv6: bool, chains: &[&str], rules: &[Rule]) -> Result<(), CniError> {
    let mut last = None;
    for _ in 0..3 {
        let saved = iptables::save(ipv6, "filter")?;
        let mut input = String::from("*filter\n");
        for chain in chains {
            if !iptables::has_chain(&saved, chain) {
                input.push_str(&format!("-N {chain}\n"));
            }
        }
        let mut missing = 0;
        for rule in rules.iter().filter(|r| !present(&saved, r)) {
            missing += 1;
            if rule.first {
                input.push_str(&format!("-I {} 1 {}\n", rule.chain, rule.spec));
            } else {
                input.push_str(&format!("-A {} {}\n", rule.chain, rule.spec));
            }
        }
        if missing == 0 && chains.iter().all(|c| iptables::has_chain(&saved, c)) {
            return Ok(());
        }
        input.push_str("COMMIT\n");
        match iptables::restore(ipv6, &input) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CniError::internal("iptables-restore failed")))
}

/// Deletes the rules that exist, in one transaction.
pub fn remove(ipv6: bool, rules: &[Rule]) -> Result<(), CniError> {
    let saved = iptables::save(ipv6, "filter")?;
    let doomed: Vec<&Rule> = rules.iter().filter(|r| present(&saved, r)).collect();
    if doomed.is_empty() {
        return Ok(());
    }
    let mut input = String::from("*filter\n");
    for rule in doomed {
        input.push_str(&format!("-D {} {}\n", rule.chain, rule.spec));
    }
    input.push_str("COMMIT\n");
    iptables::restore(ipv6, &input)
}

/// The first expected chain or rule that is missing, if any.
pub fn first_missing(ipv6: bool, chains: &[&str], rules: &[Rule]) -> Result<Option<String>, CniError> {
    let saved = iptables::save(ipv6, "filter")?;
    if let Some(chain) = chains.iter().find(|c| !iptables::has_chain(&saved, c)) {
        return Ok(Some(format!("chain {chain}")));
    }
    Ok(rules.iter().find(|r| !present(&saved, r)).map(|r| format!("{} rule {}", r.chain, r.spec)))
}
