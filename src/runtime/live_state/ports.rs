//! An attachment's port mappings (the cached `capabilityArgs.portMappings`,
//! as the runtime asked for them), each checked against the DNAT rule the
//! portmap plugin keeps for it now: in iptables, the container's
//! `CNI-DN-<hash>` chain and the jump to it from `CNI-HOSTPORT-DNAT`; in
//! nftables, the `cni_hostport` table's rules commented with the container
//! ID. Read only.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::runtime::footprint::Rules;

/// One mapping the runtime asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// The host address it is bound to; none for every address.
    #[serde(rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// The host port.
    #[serde(rename = "hostPort")]
    pub host_port: u16,
    /// The container's port.
    #[serde(rename = "containerPort")]
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

impl Mapping {
    /// The host address as podman prints it: `0.0.0.0` for none.
    pub fn host_address(&self) -> &str {
        self.host_ip.as_deref().filter(|ip| !ip.is_empty()).unwrap_or("0.0.0.0")
    }

    /// As `podman ps` and `docker ps` show a mapping: `0.0.0.0:8080->80/tcp`.
    pub fn published(&self) -> String {
        format!("{}:{}->{}/{}", self.host_address(), self.host_port, self.container_port, self.protocol)
    }
}

/// The mappings of a cache entry's capability args, keys matched as Go
/// matches them (containerd sends `HostPort`, podman `hostPort`); entries
/// without a valid host and container port are left out.
pub fn cached_mappings(capability_args: Option<&serde_json::Map<String, Value>>) -> Vec<Mapping> {
    use cni::gojson::GoKeys;
    let Some(list) = capability_args.and_then(|c| c.go_get("portMappings")).and_then(Value::as_array) else {
        return Vec::new();
    };
    let port =
        |m: &Value, key: &str| m.go_get(key).and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok());
    list.iter()
        .filter_map(|m| {
            let protocol = m.go_get("protocol").and_then(Value::as_str).unwrap_or("tcp");
            Some(Mapping {
                host_ip: m
                    .go_get("hostIP")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                host_port: port(m, "hostPort").filter(|p| *p > 0)?,
                container_port: port(m, "containerPort").filter(|p| *p > 0)?,
                protocol: if protocol.is_empty() { "tcp".into() } else { protocol.to_lowercase() },
            })
        })
        .collect()
}

/// Whether a rule is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleState {
    /// The DNAT rule is there (and, in iptables, reached from CNI-HOSTPORT-DNAT).
    Present,
    /// The DNAT rule is there but no jump from CNI-HOSTPORT-DNAT leads to it for this port.
    Unreached,
    /// No DNAT rule for the mapping.
    Missing,
    /// The rules could not be listed (the backend's tool is not installed,
    /// or its listing failed): never reported as missing on a guess.
    Unknown,
}

impl RuleState {
    /// The word the views show.
    pub fn word(self) -> &'static str {
        match self {
            RuleState::Present => "present",
            RuleState::Unreached => "unreached",
            RuleState::Missing => "missing",
            RuleState::Unknown => "unknown",
        }
    }
}

/// The DNAT rule of a mapping for one of the container's addresses.
#[derive(Debug, Clone, Serialize)]
pub struct DnatRule {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// Where it sends the traffic: `10.1.0.2:80`, `[fd00::2]:80`.
    pub to: String,
    /// Whether it is there.
    pub state: RuleState,
    /// Where it was looked for (chain, or table and chain).
    #[serde(rename = "where")]
    pub place: String,
    /// Why the state is unknown: the listing that could not be read and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl DnatRule {
    /// Where it was looked for, and why it could not be read when it could not.
    pub fn place_and_reason(&self) -> String {
        match &self.reason {
            Some(why) => format!("{} (rules not read: {why})", self.place),
            None => self.place.clone(),
        }
    }
}

/// A mapping and its rules.
#[derive(Debug, Clone, Serialize)]
pub struct MappingState {
    /// What the runtime asked for.
    #[serde(flatten)]
    pub mapping: Mapping,
    /// The netfilter backend looked in.
    pub backend: &'static str,
    /// The worst of its rules' states (missing when the container has no
    /// address the mapping can go to).
    pub state: RuleState,
    /// One per container address of the mapping's family.
    pub rules: Vec<DnatRule>,
}

/// Which backend portmap wrote with: the chain's portmap netconf names it
/// (`backend`); else where the attachment's rules are found; else one
/// whose rules could not be listed though its tool is there (they may be
/// there: [`check`] then says unknown, not missing); else the reference's
/// choice on this host now.
pub fn backend(
    portmap_conf: Option<&Value>,
    network: &str,
    container_id: &str,
    rules: &Rules,
) -> &'static str {
    use cni::gojson::GoKeys;
    let named = portmap_conf.and_then(|c| c.go_get("backend")).and_then(Value::as_str);
    match named.and_then(cni::netfilter::Backend::parse) {
        Some(cni::netfilter::Backend::Nftables) => return "nftables",
        Some(cni::netfilter::Backend::Iptables) => return "iptables",
        None => {}
    }
    let chain = portmap::dnat_chain(network, container_id);
    let in_iptables = [false, true]
        .iter()
        .filter_map(|v6| rules.saved(*v6, "nat"))
        .any(|saved| cni::netfilter::iptables::has_chain(saved, &chain));
    if in_iptables {
        return "iptables";
    }
    let comment = portmap::rule_comment(container_id);
    let in_nftables = rules.nft().is_ok_and(|listed| {
        listed.iter().any(|r| str_of(r, "table") == portmap::NFT_TABLE && str_of(r, "comment") == comment)
    });
    if in_nftables {
        return "nftables";
    }
    let iptables_unread = [false, true]
        .iter()
        .any(|v6| cni::netfilter::iptables::available(*v6) && rules.table(*v6, "nat").is_err());
    if iptables_unread {
        return "iptables";
    }
    if rules.nft().is_err() && cni::netfilter::find_tool("nft").is_some() {
        return "nftables";
    }
    match cni::netfilter::Backend::reference_default() {
        cni::netfilter::Backend::Nftables => "nftables",
        cni::netfilter::Backend::Iptables => "iptables",
    }
}

/// Each mapping checked against the rules of `backend` for each of the
/// container's `addresses` (from its cached result) of the mapping's family.
pub fn check(
    mappings: &[Mapping],
    backend: &'static str,
    network: &str,
    container_id: &str,
    addresses: &[IpAddr],
    rules: &Rules,
) -> Vec<MappingState> {
    mappings
        .iter()
        .map(|mapping| {
            let host: Option<IpAddr> = mapping.host_ip.as_deref().and_then(|h| h.parse().ok());
            let found: Vec<DnatRule> = addresses
                .iter()
                .filter(|a| host.is_none_or(|h| h.is_ipv6() == a.is_ipv6()))
                .map(|address| {
                    let to = match address {
                        IpAddr::V4(ip) => format!("{ip}:{}", mapping.container_port),
                        IpAddr::V6(ip) => format!("[{ip}]:{}", mapping.container_port),
                    };
                    let family = if address.is_ipv6() { "ipv6" } else { "ipv4" };
                    let (state, place, reason) = if backend == "iptables" {
                        iptables_state(rules, mapping, host, network, container_id, address.is_ipv6(), &to)
                    } else {
                        nftables_state(rules, mapping, host, container_id, *address)
                    };
                    DnatRule { family, to, state, place, reason }
                })
                .collect();
            let state = found
                .iter()
                .map(|r| r.state)
                .max_by_key(|s| match s {
                    RuleState::Present => 0,
                    RuleState::Unknown => 1,
                    RuleState::Unreached => 2,
                    RuleState::Missing => 3,
                })
                .unwrap_or(RuleState::Missing);
            MappingState { mapping: mapping.clone(), backend, state, rules: found }
        })
        .collect()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The DNAT rule in the container's `CNI-DN-` chain, as iptables-save
/// spells portmap's rule, and the jump to that chain from
/// `CNI-HOSTPORT-DNAT` whose `--dports` holds the host port.
fn iptables_state(
    rules: &Rules,
    mapping: &Mapping,
    host: Option<IpAddr>,
    network: &str,
    container_id: &str,
    ipv6: bool,
    to: &str,
) -> (RuleState, String, Option<String>) {
    let chain = portmap::dnat_chain(network, container_id);
    let tool = if ipv6 { "ip6tables" } else { "iptables" };
    let place = format!("{tool} nat {chain}");
    let saved = match rules.table(ipv6, "nat") {
        Ok(saved) => saved,
        Err(why) => return (RuleState::Unknown, place, Some(why)),
    };
    let protocol = &mapping.protocol;
    let port = format!("-p {protocol} -m {protocol} --dport {} ", mapping.host_port);
    let destination = host.map(|h| format!("-d {h}/{} ", if h.is_ipv6() { 128 } else { 32 }));
    let dnat = saved.lines().any(|line| {
        line.starts_with(&format!("-A {chain} "))
            && line.contains(&port)
            && line.ends_with(&format!("-j DNAT --to-destination {to}"))
            && destination.as_ref().is_none_or(|d| line.contains(d.as_str()))
    });
    if !dnat {
        return (RuleState::Missing, place, None);
    }
    let reached = saved.lines().any(|line| {
        line.starts_with("-A CNI-HOSTPORT-DNAT ")
            && line.contains(&format!("-p {protocol} "))
            && line.ends_with(&format!("-j {chain}"))
            && dports(line).any(|p| p == mapping.host_port.to_string())
    });
    (if reached { RuleState::Present } else { RuleState::Unreached }, place, None)
}

/// The ports of a rule's `--dports` list.
fn dports(line: &str) -> impl Iterator<Item = &str> {
    let list = line.split(" --dports ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap_or_default();
    list.split(',')
}

/// A rule of the `cni_hostport` table commented with the container ID that
/// matches the protocol and host port (and host address) and DNATs to the
/// container's address and port, as `nft -j` lists portmap's rules.
fn nftables_state(
    rules: &Rules,
    mapping: &Mapping,
    host: Option<IpAddr>,
    container_id: &str,
    address: IpAddr,
) -> (RuleState, String, Option<String>) {
    let family = if address.is_ipv6() { "ip6" } else { "ip" };
    let place = format!("nftables {family} {}", portmap::NFT_TABLE);
    let listed = match rules.nft() {
        Ok(listed) => listed,
        Err(why) => return (RuleState::Unknown, place, Some(why.to_string())),
    };
    let comment = portmap::rule_comment(container_id);
    let found = listed.iter().find(|rule| {
        str_of(rule, "family") == family
            && str_of(rule, "table") == portmap::NFT_TABLE
            && str_of(rule, "comment") == comment
            && nft_rule_is(rule, mapping, host, address)
    });
    match found {
        Some(rule) => (
            RuleState::Present,
            format!(
                "{place} {} (handle {})",
                str_of(rule, "chain"),
                rule.get("handle").and_then(Value::as_u64).unwrap_or(0)
            ),
            None,
        ),
        None => (RuleState::Missing, place, None),
    }
}

fn nft_rule_is(rule: &Value, mapping: &Mapping, host: Option<IpAddr>, address: IpAddr) -> bool {
    let exprs = rule.get("expr").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let matches = |field: &str, protocol: Option<&str>| -> Vec<&Value> {
        exprs
            .iter()
            .filter_map(|e| e.get("match"))
            .filter(|m| {
                let payload = m.get("left").and_then(|l| l.get("payload"));
                payload.is_some_and(|p| {
                    str_of(p, "field") == field && protocol.is_none_or(|want| str_of(p, "protocol") == want)
                })
            })
            .filter_map(|m| m.get("right"))
            .collect()
    };
    let port = matches("dport", Some(&mapping.protocol))
        .iter()
        .any(|v| v.as_u64() == Some(u64::from(mapping.host_port)));
    let daddr = matches("daddr", None);
    let host_ok = match host {
        Some(h) => daddr.iter().any(|v| v.as_str().and_then(|s| s.parse::<IpAddr>().ok()) == Some(h)),
        None => daddr.is_empty(),
    };
    let dnat = exprs.iter().filter_map(|e| e.get("dnat")).any(|d| {
        d.get("addr").and_then(Value::as_str).and_then(|s| s.parse::<IpAddr>().ok()) == Some(address)
            && d.get("port").and_then(Value::as_u64) == Some(u64::from(mapping.container_port))
    });
    port && host_ok && dnat
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mappings_read_as_go_reads_them() {
        let args = json!({"portMappings": [
            {"HostPort": 8080, "ContainerPort": 80, "Protocol": "TCP", "HostIP": ""},
            {"hostPort": 53, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
            {"hostPort": 0, "containerPort": 1}]});
        let found = cached_mappings(args.as_object());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].published(), "0.0.0.0:8080->80/tcp");
        assert_eq!(found[1].published(), "127.0.0.1:53->53/udp");
    }

    #[test]
    fn nft_rules_match_as_nft_lists_portmaps() {
        let rule = json!({"family": "ip", "table": "cni_hostport", "chain": "hostports", "comment": "c",
            "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
                     {"dnat": {"addr": "10.1.0.2", "port": 80}}]});
        let mapping = Mapping { host_ip: None, host_port: 8080, container_port: 80, protocol: "tcp".into() };
        let address: IpAddr = "10.1.0.2".parse().unwrap();
        assert!(nft_rule_is(&rule, &mapping, None, address));
        assert!(!nft_rule_is(&rule, &Mapping { host_port: 8081, ..mapping.clone() }, None, address));
        assert!(!nft_rule_is(&rule, &Mapping { protocol: "udp".into(), ..mapping.clone() }, None, address));
        assert!(!nft_rule_is(&rule, &mapping, Some("127.0.0.1".parse().unwrap()), address));
    }

    #[test]
    fn rules_not_listed_are_unknown_with_the_reason() {
        let mapping = Mapping { host_ip: None, host_port: 8080, container_port: 80, protocol: "tcp".into() };
        let address: IpAddr = "10.1.0.2".parse().unwrap();
        let rules = Rules::of(
            vec![("iptables", "nat", Err("iptables-save -t nat: locked".into()))],
            Err("nft -j list ruleset failed: no permission".into()),
        );
        for backend in ["iptables", "nftables"] {
            let found = check(std::slice::from_ref(&mapping), backend, "net", "c1", &[address], &rules);
            assert_eq!(found[0].state, RuleState::Unknown, "{backend}");
            let reason = found[0].rules[0].reason.clone().unwrap_or_default();
            assert!(reason.contains("locked") || reason.contains("no permission"), "{backend}: {reason}");
        }
        let listed = Rules::of(vec![("iptables", "nat", Ok(String::new()))], Ok(Vec::new()));
        let found = check(&[mapping], "nftables", "net", "c1", &[address], &listed);
        assert_eq!(found[0].state, RuleState::Missing);
        assert_eq!(found[0].rules[0].reason, None);
    }

    #[test]
    fn dports_lists_split() {
        let line =
            "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment x -m multiport --dports 80,8080 -j CNI-DN-1";
        assert_eq!(dports(line).collect::<Vec<_>>(), ["80", "8080"]);
    }
}
