//! The packets the FORWARD hook is asked about (the container's first
//! packet out, and the answer coming back), what a rule's match can say of
//! one (yes, no, or beyond what is evaluated), and how a walk through a
//! chain ends. The iptables and nftables readers share them.

use std::net::IpAddr;

/// A packet crossing the FORWARD hook, as far as the rules can tell.
#[derive(Debug, Clone)]
pub struct Packet {
    /// What it is, for the findings ("out from 10.1.0.2 to 192.0.2.1").
    pub label: String,
    /// The interface it arrives on.
    pub iif: String,
    /// Its index, when known.
    pub iif_index: Option<u32>,
    /// The interface it leaves by (none when the host has no route).
    pub oif: Option<String>,
    /// Its index, when known.
    pub oif_index: Option<u32>,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Its conntrack state.
    pub state: CtState,
    /// Its transport protocol number and destination port, when the
    /// packet stands for one (a port mapping's); `None` for any traffic.
    pub l4: Option<(u8, u16)>,
}

/// A transport protocol's name as iptables and nft take it.
pub fn protocol_name(number: u8) -> String {
    match number {
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        other => other.to_string(),
    }
}

/// A transport protocol's number by name (`tcp`, `udp`, `sctp`, or a number).
pub fn protocol_number(name: &str) -> Option<u8> {
    match name.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmpv6" => Some(58),
        other => other.parse().ok(),
    }
}

/// The conntrack states the check asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtState {
    /// The first packet of a connection.
    New,
    /// An answer within one.
    Established,
}

impl CtState {
    /// Its name as iptables spells it (`--ctstate NEW`).
    pub fn iptables_name(self) -> &'static str {
        match self {
            CtState::New => "NEW",
            CtState::Established => "ESTABLISHED",
        }
    }

    /// Its bit as nftables' `ct state` loads it (NF_CT_STATE_BIT).
    pub fn nft_bit(self) -> u32 {
        match self {
            CtState::New => 1 << 3,
            CtState::Established => 1 << 1,
        }
    }
}

/// What a match (or a whole rule's matches) says of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// It matches.
    Yes,
    /// It does not.
    No,
    /// It depends on what is not evaluated (a protocol, a port, a set).
    Maybe,
}

impl Match {
    /// Both this and `other`.
    pub fn and(self, other: Match) -> Match {
        match (self, other) {
            (Match::No, _) | (_, Match::No) => Match::No,
            (Match::Yes, Match::Yes) => Match::Yes,
            _ => Match::Maybe,
        }
    }

    /// From a yes/no answer, turned over when the match is negated.
    pub fn from_bool(matches: bool, negated: bool) -> Match {
        if matches != negated {
            Match::Yes
        } else {
            Match::No
        }
    }
}

/// What a rule does with a packet it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Accept: this hook's chain is done with it.
    Accept,
    /// Drop or reject.
    Drop,
    /// Back to the calling chain.
    Return,
    /// Into a user chain, and back.
    Jump(String),
    /// Into a user chain, not back.
    Goto(String),
    /// A verdict that is not evaluated (a verdict map).
    Unknown,
    /// Nothing that ends the walk (a counter, a log, a mark).
    Continue,
}

/// A chain's rules as a walk reads them: each one's label, what its
/// match says of the packet, and its action.
pub type Rules = Vec<(String, Match, Action)>;

/// How a walk through one base chain ends for one packet.
#[derive(Debug, Default, Clone)]
pub struct Walk {
    /// The rule (or policy) that surely drops it, if one does.
    pub drops: Option<String>,
    /// Rules that drop it or not, depending on what is not evaluated.
    pub may_drop: Vec<String>,
    /// Rules that accept part of it (a port, a protocol): a later drop
    /// then drops only the rest.
    pub partly_accepted: Vec<String>,
}

impl Walk {
    /// True when nothing here may drop the packet.
    pub fn passes(&self) -> bool {
        self.drops.is_none() && self.may_drop.is_empty()
    }
}

/// The end of a walk through one chain (before the base chain's policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Accepted by the named rule.
    Accepted,
    /// Dropped by the named rule.
    Dropped(String),
    /// Fell off the end, or returned.
    Returned,
}

/// Walks a chain of rules, each `(label, match, action)`, following jumps
/// through `chain_rules` (None: no such chain). `walk` collects what may
/// drop; the end is returned. Depth is bounded (a loop of jumps ends).
pub fn walk_chain<F>(chain: &str, chain_rules: &F, walk: &mut Walk, depth: usize) -> End
where
    F: Fn(&str) -> Option<Rules>,
{
    if depth > 16 {
        walk.may_drop.push(format!("jumps nested deeper than 16 at {chain}"));
        return End::Returned;
    }
    let Some(rules) = chain_rules(chain) else {
        return End::Returned;
    };
    for (label, matched, action) in rules {
        if matched == Match::No {
            continue;
        }
        let action_kind = if matches!(action, Action::Goto(_)) { Kind::Goto } else { Kind::Other };
        let sure = matched == Match::Yes;
        match action {
            Action::Continue => {}
            Action::Accept if sure => return End::Accepted,
            Action::Accept => walk.partly_accepted.push(label),
            Action::Drop if sure => return End::Dropped(label),
            Action::Drop => walk.may_drop.push(label),
            Action::Return if sure => return End::Returned,
            Action::Return => walk.partly_accepted.push(format!("{label} (returns part of it)")),
            Action::Unknown => walk.may_drop.push(format!("{label} (a verdict not evaluated)")),
            Action::Jump(target) | Action::Goto(target) => {
                let goto = matches!(action_kind, Kind::Goto);
                let end = if sure {
                    walk_chain(&target, chain_rules, walk, depth + 1)
                } else {
                    // Only part of the traffic goes in: what the chain would
                    // decide holds for that part alone.
                    let mut part = Walk::default();
                    let end = walk_chain(&target, chain_rules, &mut part, depth + 1);
                    walk.may_drop.extend(part.may_drop);
                    walk.may_drop.extend(part.drops);
                    walk.partly_accepted.extend(part.partly_accepted);
                    match end {
                        End::Accepted => walk.partly_accepted.push(format!("{label} -> {target}")),
                        End::Dropped(by) => walk.may_drop.push(format!("{label} -> {by}")),
                        End::Returned => {}
                    }
                    End::Returned
                };
                match end {
                    End::Returned if goto && sure => return End::Returned,
                    End::Returned => {}
                    other => return other,
                }
            }
        }
    }
    End::Returned
}

/// Whether an action was a goto (read before the action is taken apart).
enum Kind {
    Goto,
    Other,
}

/// A base chain's walk for a packet, its policy applied at the end:
/// `policy_drops` when the chain's policy is DROP.
#[cfg(test)]
pub fn walk_base<F>(chain: &str, policy_drops: bool, chain_rules: &F) -> Walk
where
    F: Fn(&str) -> Option<Rules>,
{
    walk_base_named(chain, policy_drops, &format!("{chain}'s policy DROP"), chain_rules)
}

/// [`walk_base`], with the policy named as the findings name it.
pub fn walk_base_named<F>(chain: &str, policy_drops: bool, policy: &str, chain_rules: &F) -> Walk
where
    F: Fn(&str) -> Option<Rules>,
{
    let mut walk = Walk::default();
    match walk_chain(chain, chain_rules, &mut walk, 0) {
        End::Accepted => {}
        End::Dropped(by) => settle_drop(&mut walk, by),
        End::Returned if policy_drops => settle_drop(&mut walk, policy.to_string()),
        End::Returned => {}
    }
    walk
}

/// A drop reached: sure unless earlier rules accepted part of the traffic.
fn settle_drop(walk: &mut Walk, by: String) {
    if walk.partly_accepted.is_empty() {
        walk.drops = Some(by);
    } else {
        walk.may_drop.push(format!("{by} (for what {} does not accept)", walk.partly_accepted.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Table<'a> = [(&'a str, Vec<(&'a str, Match, Action)>)];

    fn rules(table: &Table, chain: &str) -> Option<Vec<(String, Match, Action)>> {
        table
            .iter()
            .find(|(name, _)| *name == chain)
            .map(|(_, rules)| rules.iter().map(|(l, m, a)| (l.to_string(), *m, a.clone())).collect())
    }

    #[test]
    fn policy_drop_without_an_accept_drops_surely() {
        let table = vec![
            ("FORWARD", vec![("-j DOCKER-USER", Match::Yes, Action::Jump("DOCKER-USER".into()))]),
            ("DOCKER-USER", vec![("-j RETURN", Match::Yes, Action::Return)]),
        ];
        let walk = walk_base("FORWARD", true, &|c: &str| rules(&table, c));
        assert_eq!(walk.drops.as_deref(), Some("FORWARD's policy DROP"));
    }

    #[test]
    fn an_accept_in_a_user_chain_passes_and_a_partial_one_leaves_a_may_drop() {
        let table = vec![
            ("FORWARD", vec![("-j CNI-FORWARD", Match::Yes, Action::Jump("CNI-FORWARD".into()))]),
            ("CNI-FORWARD", vec![("-i br0 -j ACCEPT", Match::Yes, Action::Accept)]),
        ];
        assert!(walk_base("FORWARD", true, &|c: &str| rules(&table, c)).passes());
        let table = vec![("FORWARD", vec![("-p tcp -j ACCEPT", Match::Maybe, Action::Accept)])];
        let walk = walk_base("FORWARD", true, &|c: &str| rules(&table, c));
        assert!(walk.drops.is_none() && walk.may_drop.len() == 1, "{walk:?}");
    }

    #[test]
    fn a_maybe_drop_is_said_and_a_loop_of_jumps_ends() {
        let table = vec![(
            "A",
            vec![
                ("-p udp -j DROP", Match::Maybe, Action::Drop),
                ("-j A", Match::Yes, Action::Jump("A".into())),
            ],
        )];
        let walk = walk_base("A", false, &|c: &str| rules(&table, c));
        assert!(walk.drops.is_none() && !walk.may_drop.is_empty());
    }
}
