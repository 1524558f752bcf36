//! The reference's iptables rules, spelled as `iptables-save` prints them,
//! so that their presence is read off one `iptables-save` and changes go
//! in one `iptables-restore --noflush`.

use cni::checked::{ChainName, LinkName};
use cni::netfilter::iptables;
use cni::CniError;
use ipnetwork::IpNetwork;

/// The chain holding per-container accept rules.
pub const PRIV_CHAIN: &str = "CNI-FORWARD";
const STAGE1: &str = "CNI-ISOLATION-STAGE-1";
const STAGE2: &str = "CNI-ISOLATION-STAGE-2";

pub use iptables::Rule;

fn rule(chain: &str, spec: String, first: bool) -> Rule {
    Rule::new(chain, spec, first)
}

fn comment(text: &str) -> String {
    iptables::comment_match(text)
}

/// `<address>/32` or `/128`, as the reference writes container addresses.
pub fn host(address: &IpNetwork) -> String {
    format!("{}/{}", address.ip(), if address.is_ipv4() { 32 } else { 128 })
}

/// The jumps that hook our chains in, in the order they are ensured.
pub fn base_rules(admin_chain: &ChainName) -> Vec<Rule> {
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
pub fn isolation_rules(bridge: &LinkName, isolated: bool) -> Vec<Rule> {
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

/// Makes sure chains and rules exist in `filter`, in one transaction per family.
pub fn ensure(ipv6: bool, chains: &[&str], rules: &[Rule]) -> Result<(), CniError> {
    iptables::transact(ipv6, "filter", |saved| iptables::missing_lines(saved, chains, rules))
}

/// Deletes the rules that exist, in one transaction.
pub fn remove(ipv6: bool, rules: &[Rule]) -> Result<(), CniError> {
    iptables::remove_rules(ipv6, "filter", rules)
}

/// The first expected chain or rule that is missing, if any.
pub fn first_missing(ipv6: bool, chains: &[&str], rules: &[Rule]) -> Result<Option<String>, CniError> {
    iptables::first_missing(ipv6, "filter", chains, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `iptables-save -t filter` after the Debian reference firewall
    /// (v1.1.1) ADDed 10.218.70.2/24 on bridge goldbr with ingressPolicy
    /// same-bridge (run by hand in a netns of its own), less the chain
    /// declarations.
    const REFERENCE: &str = r#"-A FORWARD -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-A CNI-FORWARD -d 10.218.70.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.218.70.2/32 -j ACCEPT
-A CNI-ISOLATION-STAGE-1 -i goldbr ! -o goldbr -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2
-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN
-A CNI-ISOLATION-STAGE-2 -o goldbr -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP
-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN"#;

    fn saved(rule: &Rule) -> String {
        format!("-A {} {}", rule.chain, rule.spec)
    }

    #[test]
    fn rules_are_the_references_as_iptables_save_prints_them() {
        let admin =
            ChainName::new("iptablesAdminChainName", "CNI-ADMIN").unwrap_or_else(|e| panic!("{}", e.msg));
        let bridge = LinkName::new("bridge", "goldbr").unwrap_or_else(|e| panic!("{}", e.msg));
        let address: IpNetwork = "10.218.70.2/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut ours: Vec<String> = base_rules(&admin).iter().map(saved).collect();
        ours.extend(address_rules(&address).iter().map(saved));
        // Current upstream's comment for the rules both policies share; the
        // Debian reference still writes "same-bridge" there.
        ours.extend(
            isolation_rules(&bridge, false)
                .iter()
                .map(|r| saved(r).replace("same-bridge|isolated", "same-bridge")),
        );
        let mut reference: Vec<&str> = REFERENCE.lines().collect();
        let mut ours: Vec<&str> = ours.iter().map(String::as_str).collect();
        reference.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, reference);
        let isolated: Vec<String> = isolation_rules(&bridge, true).iter().map(saved).collect();
        assert!(isolated.contains(&r#"-A CNI-ISOLATION-STAGE-1 -i goldbr -o goldbr -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j DROP"#.to_string()));
    }
}
