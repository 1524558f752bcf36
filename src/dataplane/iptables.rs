//! The iptables FORWARD chain (iptables-nft or legacy, as `iptables-save`
//! prints the filter table) asked about one packet: its policy, and its
//! rules and the user chains they jump to (DOCKER-USER, DOCKER-FORWARD,
//! CNI-FORWARD...). The simple matches are evaluated (`-i`/`-o` with `+`
//! wildcards, `-s`/`-d`, conntrack state, `-p all`); any other makes a
//! rule's match "maybe", so its drop is said as one that may drop.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::packet::{protocol_number, Action, Match, Packet, Rules};

/// The filter table as saved: each chain's policy (`-` for user chains)
/// and rules (the words after `-A CHAIN`).
#[derive(Debug, Default)]
pub struct Filter {
    /// Chain name -> policy.
    pub policies: BTreeMap<String, String>,
    /// Chain name -> its rules, each as saved.
    pub rules: BTreeMap<String, Vec<String>>,
}

/// Reads `iptables-save -t filter` output.
pub fn parse(saved: &str) -> Filter {
    let mut filter = Filter::default();
    for line in saved.lines() {
        if let Some(decl) = line.strip_prefix(':') {
            let mut words = decl.split_whitespace();
            if let (Some(chain), Some(policy)) = (words.next(), words.next()) {
                filter.policies.insert(chain.to_string(), policy.to_string());
                filter.rules.entry(chain.to_string()).or_default();
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            if let Some((chain, spec)) = rule.split_once(' ') {
                filter.rules.entry(chain.to_string()).or_default().push(spec.to_string());
            }
        }
    }
    filter
}

/// Splits a saved rule into words, as iptables-restore reads quotes.
fn words(spec: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut escaped, mut started) = (false, false, false);
    for c in spec.chars() {
        if escaped {
            word.push(c);
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
            started = true;
        } else if c.is_whitespace() && !quoted {
            if started || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            started = false;
        } else {
            word.push(c);
        }
    }
    if started || !word.is_empty() {
        words.push(word);
    }
    words
}

/// `-i`/`-o` against an interface name (`+` at the end: any suffix).
fn interface_matches(pattern: &str, name: Option<&str>) -> Option<bool> {
    let name = name?;
    Some(match pattern.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    })
}

/// `-s`/`-d` against an address: `a.b.c.d/len` (or a mask) or one address.
fn address_matches(spec: &str, ip: IpAddr) -> Option<bool> {
    let net: IpNetwork = match spec.split_once('/') {
        Some((addr, mask)) if mask.contains('.') || mask.contains(':') => {
            let addr: IpAddr = addr.parse().ok()?;
            let mask: IpAddr = mask.parse().ok()?;
            IpNetwork::with_netmask(addr, mask).ok()?
        }
        _ => spec.parse().ok()?,
    };
    Some(net.contains(ip))
}

/// `--dport N`, `N:M`, or multiport's `A,B:C` against a port.
fn ports_match(spec: &str, port: u16) -> Option<bool> {
    let mut any = false;
    for part in spec.split(',') {
        let (low, high) = match part.split_once(':') {
            Some((low, high)) => (low.parse::<u16>().ok()?, high.parse::<u16>().ok()?),
            None => {
                let one = part.parse::<u16>().ok()?;
                (one, one)
            }
        };
        any |= (low..=high).contains(&port);
    }
    Some(any)
}

/// What one saved rule says of `packet`, and what it does: its match and
/// action. Options beyond the evaluated ones make the match "maybe".
pub fn evaluate(spec: &str, packet: &Packet, chains: &Filter) -> (Match, Action) {
    let words = words(spec);
    let mut matched = Match::Yes;
    let mut action = Action::Continue;
    let mut negate = false;
    let mut at = 0;
    let value = |i: usize| words.get(i + 1).map(String::as_str);
    while at < words.len() {
        let word = words[at].as_str();
        let mut take = 2;
        let verdict = |known: Option<bool>| match known {
            Some(yes) => Match::from_bool(yes, negate),
            None => Match::Maybe,
        };
        match word {
            "!" => {
                negate = true;
                at += 1;
                continue;
            }
            "-i" | "--in-interface" => {
                matched =
                    matched.and(verdict(value(at).and_then(|p| interface_matches(p, Some(&packet.iif)))))
            }
            "-o" | "--out-interface" => {
                matched =
                    matched.and(verdict(value(at).and_then(|p| interface_matches(p, packet.oif.as_deref()))))
            }
            "-s" | "--source" => {
                matched = matched.and(verdict(value(at).and_then(|s| address_matches(s, packet.src))))
            }
            "-d" | "--destination" => {
                matched = matched.and(verdict(value(at).and_then(|s| address_matches(s, packet.dst))))
            }
            "-p" | "--protocol" => {
                let named = value(at).unwrap_or_default();
                let known = if named == "all" || named == "0" {
                    Some(true)
                } else {
                    packet.l4.and_then(|(proto, _)| protocol_number(named).map(|n| n == proto))
                };
                matched = matched.and(verdict(known));
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                let known = packet.l4.and_then(|(_, port)| ports_match(value(at).unwrap_or_default(), port));
                matched = matched.and(verdict(known));
            }
            "-m" | "--match" => {
                // The module's own options follow and are read one by one.
            }
            "--ctstate" | "--state" => {
                let states = value(at).unwrap_or_default();
                let names: Vec<&str> = states.split(',').collect();
                let exact = names.contains(&packet.state.iptables_name());
                // DNAT/SNAT states depend on the connection's NAT.
                let depends = names.iter().any(|n| matches!(*n, "DNAT" | "SNAT"));
                matched = matched.and(if exact || !depends { verdict(Some(exact)) } else { Match::Maybe });
            }
            "--comment" => {}
            "-j" | "--jump" | "-g" | "--goto" => {
                let target = value(at).unwrap_or_default();
                let goto = matches!(word, "-g" | "--goto");
                action = match target {
                    "ACCEPT" => Action::Accept,
                    "DROP" | "REJECT" => Action::Drop,
                    "RETURN" => Action::Return,
                    chain if chains.rules.contains_key(chain) => {
                        if goto {
                            Action::Goto(chain.to_string())
                        } else {
                            Action::Jump(chain.to_string())
                        }
                    }
                    _ => Action::Continue,
                };
                // The target's own options end the rule.
                break;
            }
            other if other.starts_with('-') => {
                // An option not evaluated (a port, a mark, a module's own).
                matched = matched.and(Match::Maybe);
                take = 1 + words[at + 1..].iter().take_while(|w| !w.starts_with('-') && *w != "!").count();
            }
            _ => take = 1,
        }
        negate = false;
        at += take;
    }
    (matched, action)
}

/// The rules of `chain` as the walk needs them: (label, match, action);
/// `None` when the table has no such chain.
/// Each label is the rule as `tool -A CHAIN ...` would add it.
pub fn chain_rules(tool: &str, filter: &Filter, chain: &str, packet: &Packet) -> Option<Rules> {
    let rules = filter.rules.get(chain)?;
    Some(
        rules
            .iter()
            .map(|spec| {
                let (matched, action) = evaluate(spec, packet, filter);
                (format!("{tool} -A {chain} {spec}"), matched, action)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::packet::{walk_base, CtState};

    const DOCKER: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER-FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -o docker0 -j DOCKER
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
";

    fn out_of(bridge: &str) -> Packet {
        Packet {
            label: "out".into(),
            iif: bridge.into(),
            iif_index: None,
            oif: Some("eth0".into()),
            oif_index: None,
            src: "10.171.1.2".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            state: CtState::New,
            l4: None,
        }
    }

    #[test]
    fn dockers_forward_drop_drops_another_bridge_and_passes_its_own() {
        let filter = parse(DOCKER);
        let packet = out_of("cni0");
        let walk = walk_base("FORWARD", true, &|c: &str| chain_rules("iptables", &filter, c, &packet));
        assert_eq!(walk.drops.as_deref(), Some("FORWARD's policy DROP"));
        let packet = out_of("docker0");
        let walk = walk_base("FORWARD", true, &|c: &str| chain_rules("iptables", &filter, c, &packet));
        assert!(walk.passes(), "{walk:?}");
    }

    #[test]
    fn matches_are_evaluated_and_others_are_maybe() {
        let filter = parse(DOCKER);
        let packet = out_of("cni0");
        assert_eq!(evaluate("-s 10.171.0.0/16 -j ACCEPT", &packet, &filter), (Match::Yes, Action::Accept));
        assert_eq!(evaluate("! -s 10.171.0.0/255.255.0.0 -j ACCEPT", &packet, &filter).0, Match::No);
        assert_eq!(evaluate("-i cni+ -o eth0 -j DROP", &packet, &filter), (Match::Yes, Action::Drop));
        assert_eq!(evaluate("-p tcp -m tcp --dport 22 -j DROP", &packet, &filter).0, Match::Maybe);
        assert_eq!(
            evaluate(
                "-m comment --comment \"a -j DROP b\" -i cni0 -j REJECT --reject-with icmp-port-unreachable",
                &packet,
                &filter
            ),
            (Match::Yes, Action::Drop)
        );
        assert_eq!(
            evaluate("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", &packet, &filter).0,
            Match::No
        );
        assert_eq!(evaluate("-j DOCKER-USER", &packet, &filter).1, Action::Jump("DOCKER-USER".into()));
        assert_eq!(evaluate("-j LOG --log-prefix x", &packet, &filter).1, Action::Continue);
        let mut mapped = packet.clone();
        mapped.l4 = Some((6, 80));
        assert_eq!(evaluate("-p tcp -m tcp --dport 80 -j ACCEPT", &mapped, &filter).0, Match::Yes);
        assert_eq!(
            evaluate("-p tcp -m multiport --dports 22,8000:8080 -j ACCEPT", &mapped, &filter).0,
            Match::No
        );
        assert_eq!(evaluate("-p udp -j ACCEPT", &mapped, &filter).0, Match::No);
    }
}
