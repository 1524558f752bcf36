//! Native nftables rules asked about one packet: each rule's expressions
//! run over a model of the packet (its interfaces, addresses, family and
//! conntrack state in the registers the expressions load them into), so
//! `iifname "cni0" accept`, `ip saddr 10.0.0.0/8 drop`, `ct state
//! established accept` and jumps are evaluated. Whatever else a rule
//! compares (a port, a set, a mark) makes its match "maybe".

use std::collections::HashMap;

use super::netlink::{attributes, be_u32, find, text, NftExpr, NftRuleExprs};
use super::packet::{Action, Match, Packet};

const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NF_DROP: i32 = 0;
const NF_ACCEPT: i32 = 1;
const NFT_CONTINUE: i32 = -1;
/// Ends the rule, not the chain: the next rule follows.
const NFT_BREAK: i32 = -2;
const NFT_JUMP: i32 = -3;
const NFT_GOTO: i32 = -4;
const NFT_RETURN: i32 = -5;
/// NFPROTO_IPV4 and NFPROTO_IPV6, as `meta nfproto` loads them.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// Expressions that change nothing a match depends on, nor the verdict.
const STATEMENTS: [&str; 6] = ["counter", "log", "notrack", "dynset", "objref", "last"];

/// The registers of one rule's run: a known value, or absent (unknown).
type Registers = HashMap<u32, Vec<u8>>;

fn u32_attr(attrs: &[(u16, &[u8])], kind: u16) -> Option<u32> {
    be_u32(&find(attrs, kind)?)
}

fn data_value(attrs: &[(u16, &[u8])], kind: u16) -> Option<Vec<u8>> {
    find(&attributes(&find(attrs, kind)?), NFTA_DATA_VALUE)
}

/// The bytes `meta KEY` loads for the packet, if it is one the check knows.
fn meta_value(key: u32, packet: &Packet) -> Option<Vec<u8>> {
    let name = |n: &str| {
        let mut bytes = n.as_bytes().to_vec();
        bytes.resize(16, 0);
        bytes
    };
    match key {
        1 => Some(if packet.src.is_ipv4() { 0x0800u16 } else { 0x86dd }.to_be_bytes().to_vec()),
        4 => packet.iif_index.map(|i| i.to_ne_bytes().to_vec()),
        5 => packet.oif_index.map(|i| i.to_ne_bytes().to_vec()),
        6 => Some(name(&packet.iif)),
        7 => packet.oif.as_deref().map(name),
        15 => Some(vec![if packet.src.is_ipv4() { NFPROTO_IPV4 } else { NFPROTO_IPV6 }]),
        16 => packet.l4.map(|(proto, _)| vec![proto]),
        _ => None,
    }
}

/// The bytes of the network header at `offset` for `len` bytes, when they
/// are the packet's source or destination address.
fn network_header(offset: usize, len: usize, packet: &Packet) -> Option<Vec<u8>> {
    let (src_at, dst_at, src, dst) = match (packet.src, packet.dst) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            (12, 16, s.octets().to_vec(), d.octets().to_vec())
        }
        (std::net::IpAddr::V6(s), std::net::IpAddr::V6(d)) => {
            (8, 24, s.octets().to_vec(), d.octets().to_vec())
        }
        _ => return None,
    };
    for (at, bytes) in [(src_at, &src), (dst_at, &dst)] {
        if offset >= at && offset + len <= at + bytes.len() {
            return Some(bytes[offset - at..offset - at + len].to_vec());
        }
    }
    None
}

/// `reg OP data`, where the register holds at least as many bytes.
fn compare(reg: &[u8], op: u32, data: &[u8]) -> Option<bool> {
    let held = reg.get(..data.len())?;
    let order = held.cmp(data);
    Some(match op {
        0 => order.is_eq(),
        1 => order.is_ne(),
        2 => order.is_lt(),
        3 => order.is_le(),
        4 => order.is_gt(),
        5 => order.is_ge(),
        _ => return None,
    })
}

/// A verdict from an `immediate` into the verdict register.
fn verdict(attrs: &[(u16, &[u8])]) -> Option<Action> {
    let data = attributes(&find(attrs, 2)?).into_iter().find(|(k, _)| *k == NFTA_DATA_VERDICT)?.1.to_vec();
    let inner = attributes(&data);
    let code = u32_attr(&inner, 1)? as i32;
    let chain = find(&inner, 2).map(|c| text(&c)).unwrap_or_default();
    Some(match code {
        NF_ACCEPT => Action::Accept,
        NF_DROP => Action::Drop,
        NFT_RETURN => Action::Return,
        NFT_JUMP => Action::Jump(chain),
        NFT_GOTO => Action::Goto(chain),
        NFT_CONTINUE | NFT_BREAK => Action::Continue,
        _ => Action::Unknown,
    })
}

/// The chain a rule jumps or goes to, when it ends in such a verdict.
pub fn jump_target(exprs: &[NftExpr]) -> Option<String> {
    exprs.iter().filter(|e| e.name == "immediate").find_map(|e| match verdict(&attributes(&e.data))? {
        Action::Jump(chain) | Action::Goto(chain) => Some(chain),
        _ => None,
    })
}

/// Runs one rule's expressions over `packet`: its match and action.
pub fn evaluate(exprs: &[NftExpr], packet: &Packet) -> (Match, Action) {
    let mut regs = Registers::new();
    let mut matched = Match::Yes;
    let mut action = Action::Continue;
    for expr in exprs {
        let attrs = attributes(&expr.data);
        match expr.name.as_str() {
            "meta" => {
                // Without a destination register: `meta KEY set`, a statement.
                if let (Some(reg), Some(key)) = (u32_attr(&attrs, 1), u32_attr(&attrs, 2)) {
                    match meta_value(key, packet) {
                        Some(value) => regs.insert(reg, value),
                        None => regs.remove(&reg),
                    };
                }
            }
            "payload" => {
                let Some(reg) = u32_attr(&attrs, 1) else { continue }; // a payload write
                let (base, offset, len) = (u32_attr(&attrs, 2), u32_attr(&attrs, 3), u32_attr(&attrs, 4));
                let value = match (base, offset, len) {
                    (Some(1), Some(offset), Some(len)) => {
                        network_header(offset as usize, len as usize, packet)
                    }
                    // The transport header's destination port (tcp, udp, sctp).
                    (Some(2), Some(2), Some(2)) => packet.l4.map(|(_, port)| port.to_be_bytes().to_vec()),
                    _ => None,
                };
                match value {
                    Some(value) => regs.insert(reg, value),
                    None => regs.remove(&reg),
                };
            }
            "ct" => {
                let Some(reg) = u32_attr(&attrs, 1) else { continue }; // `ct ... set`
                if u32_attr(&attrs, 2) == Some(0) && find(&attrs, 3).is_none() {
                    regs.insert(reg, packet.state.nft_bit().to_ne_bytes().to_vec());
                } else {
                    regs.remove(&reg);
                }
            }
            "bitwise" => {
                let (sreg, dreg) = (u32_attr(&attrs, 1), u32_attr(&attrs, 2));
                let plain = u32_attr(&attrs, 6).is_none_or(|op| op == 0);
                let (mask, xor) = (data_value(&attrs, 4), data_value(&attrs, 5));
                let result = match (sreg.and_then(|r| regs.get(&r)), mask, xor, plain) {
                    (Some(value), Some(mask), Some(xor), true) => {
                        Some(value.iter().zip(mask.iter().zip(&xor)).map(|(v, (m, x))| (v & m) ^ x).collect())
                    }
                    _ => None,
                };
                if let Some(dreg) = dreg {
                    match result {
                        Some(value) => regs.insert(dreg, value),
                        None => regs.remove(&dreg),
                    };
                }
            }
            "cmp" => {
                let (reg, op, data) = (u32_attr(&attrs, 1), u32_attr(&attrs, 2), data_value(&attrs, 3));
                let known = match (reg.and_then(|r| regs.get(&r)), op, data) {
                    (Some(value), Some(op), Some(data)) => compare(value, op, &data),
                    _ => None,
                };
                matched = matched.and(known.map_or(Match::Maybe, |yes| Match::from_bool(yes, false)));
            }
            "immediate" => match u32_attr(&attrs, 1) {
                Some(0) => action = verdict(&attrs).unwrap_or(Action::Unknown),
                Some(reg) => match data_value(&attrs, 2) {
                    Some(value) => {
                        regs.insert(reg, value);
                    }
                    None => {
                        regs.remove(&reg);
                    }
                },
                None => {}
            },
            "reject" => action = Action::Drop,
            "lookup" => {
                // A set or a verdict map: beyond what is evaluated.
                matched = matched.and(Match::Maybe);
                if u32_attr(&attrs, 3) == Some(0) {
                    action = Action::Unknown;
                }
            }
            "target" => {
                if find(&attrs, 1).is_some_and(|n| text(&n) == "REJECT") {
                    action = Action::Drop;
                }
            }
            "queue" => action = Action::Unknown,
            name if STATEMENTS.contains(&name) => {}
            _ => {
                // Anything else (fib, range, limit, an xt match...) may
                // load any register or decide the match.
                regs.clear();
                matched = matched.and(Match::Maybe);
            }
        }
        if matched == Match::No {
            break;
        }
    }
    (matched, action)
}

/// A rule as the findings name it: table, chain, handle and its comment.
pub fn label(family: &str, table: &str, chain: &str, rule: &NftRuleExprs) -> String {
    let comment = super::netlink::udata_text(&rule.userdata, 0);
    let comment = if comment.is_empty() { String::new() } else { format!(" comment \"{comment}\"") };
    format!("nft rule {family} {table} {chain} handle {}{comment}", rule.handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::packet::CtState;

    fn expr(name: &str, attrs: &[(u16, Vec<u8>)]) -> NftExpr {
        let mut data = Vec::new();
        for (kind, value) in attrs {
            let len = 4 + value.len();
            data.extend_from_slice(&(len as u16).to_ne_bytes());
            data.extend_from_slice(&kind.to_ne_bytes());
            data.extend_from_slice(value);
            data.resize(data.len() + (4 - len % 4) % 4, 0);
        }
        NftExpr { name: name.into(), data }
    }

    fn nested(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let len = 4 + value.len();
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(out.len() + (4 - len % 4) % 4, 0);
        out
    }

    fn be(v: u32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn drop_verdict() -> NftExpr {
        let code = nested(1, &be(NF_DROP as u32));
        expr("immediate", &[(1, be(0)), (2, nested(NFTA_DATA_VERDICT, &code))])
    }

    fn packet() -> Packet {
        Packet {
            label: "out".into(),
            iif: "cni0".into(),
            iif_index: Some(5),
            oif: Some("up0".into()),
            oif_index: Some(3),
            src: "10.171.1.2".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            state: CtState::New,
            l4: None,
        }
    }

    #[test]
    fn a_goto_names_its_chain_and_a_drop_names_none() {
        let mut code = nested(1, &be(NFT_GOTO as u32));
        code.extend(nested(2, b"masq_checks\0"));
        let goto = expr("immediate", &[(1, be(0)), (2, nested(NFTA_DATA_VERDICT, &code))]);
        assert_eq!(jump_target(&[expr("counter", &[]), goto]).as_deref(), Some("masq_checks"));
        assert_eq!(jump_target(&[drop_verdict()]), None);
    }

    #[test]
    fn iifname_and_source_matches_are_evaluated() {
        let mut name = b"cni0".to_vec();
        name.resize(16, 0);
        let rule = vec![
            expr("meta", &[(1, be(1)), (2, be(6))]),
            expr("cmp", &[(1, be(1)), (2, be(0)), (3, nested(1, &name))]),
            expr("payload", &[(1, be(1)), (2, be(1)), (3, be(12)), (4, be(2))]),
            expr("cmp", &[(1, be(1)), (2, be(0)), (3, nested(1, &[10, 171]))]),
            expr("counter", &[]),
            drop_verdict(),
        ];
        assert_eq!(evaluate(&rule, &packet()), (Match::Yes, Action::Drop));
        let mut other = packet();
        other.iif = "br1".into();
        assert_eq!(evaluate(&rule, &other).0, Match::No);
    }

    #[test]
    fn ct_state_and_unknown_expressions() {
        let bits = (1u32 << 1 | 1 << 2).to_ne_bytes().to_vec();
        let established = vec![
            expr("ct", &[(1, be(1)), (2, be(0))]),
            expr(
                "bitwise",
                &[(1, be(1)), (2, be(1)), (3, be(4)), (4, nested(1, &bits)), (5, nested(1, &[0; 4]))],
            ),
            expr("cmp", &[(1, be(1)), (2, be(1)), (3, nested(1, &[0; 4]))]),
            drop_verdict(),
        ];
        assert_eq!(evaluate(&established, &packet()).0, Match::No, "a new packet is not established");
        let mut answer = packet();
        answer.state = CtState::Established;
        assert_eq!(evaluate(&established, &answer).0, Match::Yes);
        let port = vec![
            expr("meta", &[(1, be(1)), (2, be(16))]),
            expr("cmp", &[(1, be(1)), (2, be(0)), (3, nested(1, &[6]))]),
            drop_verdict(),
        ];
        assert_eq!(evaluate(&port, &packet()), (Match::Maybe, Action::Drop));
    }
}
