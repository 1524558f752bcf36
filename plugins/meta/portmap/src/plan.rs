//! What an ADD would make, said before it runs (`cnictl add --dry-run`,
//! `cnictl explain`): the backend chosen as ADD chooses it, and per port
//! mapping the rules it would add, spelled as `iptables-save` or `nft list`
//! shows them. Nothing is read from or written to the kernel.

use cni::env::CmdArgs;
use cni::CniError;
use ipnetwork::IpNetwork;

use crate::config::{self, Backend, Mapping};
use crate::{ipt, nft};

pub use cni::netfilter::PlannedRule;

/// portmap's plan for one attachment.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the rules go.
    pub backend: Backend,
    /// The mappings from the capability args.
    pub mappings: Vec<Mapping>,
    /// Whether hairpin and localhost traffic is masqueraded (`snat`).
    pub snat: bool,
    /// The rules, shared ones (made once per host) first.
    pub rules: Vec<PlannedRule>,
}

/// The plan of an ADD of the netconf in `args` whose container gets
/// `containers` (its addresses, at most one per family are used, as ADD uses them).
pub fn plan(args: &CmdArgs, containers: &[IpNetwork]) -> Result<Plan, CniError> {
    let conf = config::load(args)?;
    let mut rules = Vec::new();
    if !conf.mappings.is_empty() {
        let mut seen = [false, false];
        for container in containers {
            let ipv6 = container.is_ipv6();
            if std::mem::replace(&mut seen[usize::from(ipv6)], true) {
                continue;
            }
            match conf.backend {
                Backend::Iptables => iptables_rules(&conf, *container, &mut rules),
                Backend::Nftables => nft_rules(&conf, *container, &mut rules),
            }
        }
    }
    Ok(Plan { backend: conf.backend, mappings: conf.mappings.clone(), snat: conf.snat, rules })
}

/// The iptables rules of one family: the shared chains' rules, the jumps
/// to the container's chain, and its marks and DNATs.
fn iptables_rules(conf: &config::Config, container: IpNetwork, out: &mut Vec<PlannedRule>) {
    let ipv6 = container.is_ipv6();
    let table = if ipv6 { "ip6 nat" } else { "ip nat" };
    let chain = ipt::dnat_chain(&conf.net.name, &conf.container_id);
    let (_, mut rules) = ipt::shared(conf);
    rules.extend(ipt::entry_rules(conf, &chain, ipv6));
    rules.extend(ipt::dnat_rules(conf, &chain, container));
    out.extend(rules.into_iter().map(|r| PlannedRule {
        table: table.to_string(),
        chain: r.chain,
        rule: r.spec,
    }));
}

/// The nftables rules of one family, as `nft list` prints them: the entry
/// jumps, a DNAT per mapping, the hairpin and localhost masquerades.
fn nft_rules(conf: &config::Config, container: IpNetwork, out: &mut Vec<PlannedRule>) {
    let ipv6 = container.is_ipv6();
    let family = if ipv6 { "ip6" } else { "ip" };
    let table = format!("{family} {}", nft::TABLE);
    let comment = format!("comment {}", cni::netfilter::go_quote(&nft::rule_comment(&conf.container_id)));
    let ip = container.ip();
    let mut add = |chain: &str, rule: String| {
        out.push(PlannedRule { table: table.clone(), chain: chain.to_string(), rule })
    };
    if conf.nft_conditions(ipv6).is_none() {
        for chain in ["prerouting", "output"] {
            add(chain, "fib daddr type local jump hostports_all".into());
        }
    }
    for mapping in conf.mappings.iter().filter(|m| m.applies_to(ipv6)) {
        let destination = mapping.destination().map(|d| format!("{family} daddr {d} ")).unwrap_or_default();
        let to = if ipv6 { format!("[{ip}]") } else { ip.to_string() };
        add(
            nft::HOSTPORTS,
            format!(
                "{destination}{} dport {} dnat to {to}:{} {comment}",
                mapping.protocol, mapping.host_port, mapping.container_port
            ),
        );
    }
    if conf.snat {
        let source = if conf.masq_all { String::new() } else { format!("{family} saddr {ip} ") };
        add(nft::MASQUERADING, format!("{source}{family} daddr {ip} masquerade {comment}"));
        if !ipv6 && !conf.masq_all {
            add(nft::MASQUERADING, format!("ip saddr 127.0.0.1 ip daddr {ip} masquerade {comment}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(backend: &str) -> CmdArgs {
        let stdin = serde_json::json!({"cniVersion": "1.0.0", "name": "net1", "type": "portmap", "backend": backend,
            "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}});
        CmdArgs {
            command: cni::env::Command::Add,
            container_id: "c1".into(),
            netns: String::new(),
            ifname: "eth0".into(),
            args: String::new(),
            path: String::new(),
            stdin: stdin.to_string().into_bytes(),
            config_version: "1.0.0".into(),
        }
    }

    fn rules(backend: &str) -> Vec<String> {
        let container: IpNetwork = "10.0.0.2/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let plan = plan(&args(backend), &[container]).unwrap_or_else(|e| panic!("{}", e.msg));
        plan.rules.iter().map(|r| format!("{} {}: {}", r.table, r.chain, r.rule)).collect()
    }

    #[test]
    fn the_dnat_is_spelled_as_each_backend_lists_it() {
        let nft = rules("nftables");
        assert!(
            nft.contains(
                &r#"ip cni_hostport hostports: tcp dport 8080 dnat to 10.0.0.2:80 comment "c1""#.to_string()
            ),
            "{nft:?}"
        );
        let ipt = rules("iptables");
        let chain = ipt::dnat_chain("net1", "c1");
        let dnat = format!("ip nat {chain}: -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80");
        assert!(ipt.contains(&dnat), "{ipt:?}");
    }
}
