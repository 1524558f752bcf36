//! Rules as `nft --debug=netlink` prints them, and the golden file of the
//! reference's rules printed that way (`testdata/nft-reference-rules.txt`).
//!
//! Our plugins write nftables rules over netlink rather than as nft text,
//! so "our rules are the reference's" is judged where both meet: the
//! expressions the kernel receives. nft prints those for any text it
//! compiles; this prints ours the same way, so a unit test can compare them
//! line for line without root or a kernel.

use super::nftnl::{Expr, NFT_GOTO, NFT_JUMP, NFT_RETURN, NF_ACCEPT, NF_DROP};
use crate::kernel::nlattr::attributes;

/// The reference's rules as nft compiled them: captured from v1.6.2 and
/// compiled from v1.9.1's text (the file's header says how).
pub const REFERENCE_RULES: &str = include_str!("../../testdata/nft-reference-rules.txt");

/// The expressions nft printed under `add_rule` (the whole `add rule ...`
/// line) in [`REFERENCE_RULES`], or `None` when the file has no such rule.
pub fn reference_dump(add_rule: &str) -> Option<String> {
    let mut blocks = REFERENCE_RULES.split("\n\n");
    let block = blocks.find(|b| b.lines().next() == Some(add_rule))?;
    let body: Vec<&str> = block.lines().skip(1).collect();
    Some(body.join("\n"))
}

/// A rule as nft's debug output prints it: one `  [ ... ]` line per
/// expression, then the comment's user data when there is one.
pub fn dump_rule(exprs: &[Expr], comment: Option<&str>) -> String {
    let mut lines: Vec<String> = exprs.iter().map(|e| format!("  [ {} ]", dump_expr(e))).collect();
    if let Some(comment) = comment {
        let mut udata = vec![0u8, comment.len() as u8 + 1];
        udata.extend_from_slice(comment.as_bytes());
        udata.push(0);
        lines.push(format!("  userdata = {{ {} }}", escaped(&udata)));
    }
    lines.join("\n")
}

/// Printable ASCII as itself, any other byte as `\xNN`, as nft prints user data.
fn escaped(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if (0x20..0x7f).contains(&b) { (b as char).to_string() } else { format!("\\x{b:02x}") })
        .collect()
}

/// Data as nft prints it: 4-byte words, zero-padded, each read in host order.
fn words(value: &[u8]) -> String {
    value
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            format!("0x{:08x}", u32::from_ne_bytes(word))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The attribute `kind` of `data` as a big-endian u32 (0 when absent).
fn number(data: &[(u16, &[u8])], kind: u16) -> u32 {
    data.iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, v)| v.get(..4))
        .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        .unwrap_or(0)
}

/// The value inside the nested data attribute `kind` (`NFTA_DATA_VALUE`).
fn value<'a>(data: &[(u16, &'a [u8])], kind: u16) -> &'a [u8] {
    data.iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, nested)| attributes(nested).into_iter().find(|(k, _)| *k == 1))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn meta_key(key: u32) -> String {
    match key {
        6 => "iifname".into(),
        7 => "oifname".into(),
        15 => "nfproto".into(),
        16 => "l4proto".into(),
        other => format!("key {other}"),
    }
}

fn verdict(nested: &[u8]) -> String {
    let Some((_, inner)) = attributes(nested).into_iter().find(|(k, _)| *k == 2) else {
        return "?".into();
    };
    let inner = attributes(inner);
    let code = number(&inner, 1) as i32;
    let chain = inner
        .iter()
        .find(|(k, _)| *k == 2)
        .map(|(_, v)| String::from_utf8_lossy(v).trim_end_matches('\0').to_string())
        .unwrap_or_default();
    match code {
        NFT_RETURN => "return".into(),
        NFT_GOTO => format!("goto -> {chain}"),
        NFT_JUMP => format!("jump -> {chain}"),
        NF_ACCEPT => "accept".into(),
        NF_DROP => "drop".into(),
        other => format!("verdict {other}"),
    }
}

/// One expression in nft's words (libnftnl's debug format).
fn dump_expr(expr: &Expr) -> String {
    let data = attributes(&expr.data);
    match expr.name {
        "meta" => format!("meta load {} => reg {}", meta_key(number(&data, 2)), number(&data, 1)),
        "payload" => {
            let base = match number(&data, 2) {
                0 => "link",
                1 => "network",
                _ => "transport",
            };
            format!(
                "payload load {}b @ {base} header + {} => reg {}",
                number(&data, 4),
                number(&data, 3),
                number(&data, 1)
            )
        }
        "cmp" => {
            let op = if number(&data, 2) == 0 { "eq" } else { "neq" };
            format!("cmp {op} reg {} {}", number(&data, 1), words(value(&data, 3)))
        }
        "bitwise" => format!(
            "bitwise reg {} = ( reg {} & {} ) ^ {}",
            number(&data, 2),
            number(&data, 1),
            words(value(&data, 4)),
            words(value(&data, 5))
        ),
        "immediate" if number(&data, 1) == 0 => {
            let nested = data.iter().find(|(k, _)| *k == 2).map(|(_, v)| *v).unwrap_or_default();
            format!("immediate reg 0 {}", verdict(nested))
        }
        "immediate" => format!("immediate reg {} {}", number(&data, 1), words(value(&data, 2))),
        "masq" => "masq".into(),
        "fib" if number(&data, 2) == 3 && number(&data, 3) == 2 => {
            format!("fib daddr type => reg {}", number(&data, 1))
        }
        "nat" => {
            let kind = if number(&data, 1) == 1 { "dnat" } else { "snat" };
            let family = if number(&data, 2) == 10 { "ip6" } else { "ip" };
            format!(
                "nat {kind} {family} addr_min reg {} proto_min reg {} flags 0x{:x}",
                number(&data, 3),
                number(&data, 5),
                number(&data, 7)
            )
        }
        "ct" if number(&data, 2) == 0 => format!("ct load state => reg {}", number(&data, 1)),
        other => format!("{other} (not printed here)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_golden_file_gives_each_rule_its_expressions() {
        let dump = reference_dump("add rule inet cni_plugins_masquerade postrouting goto masq_checks");
        assert_eq!(dump.as_deref(), Some("  [ immediate reg 0 goto -> masq_checks ]"));
        assert_eq!(reference_dump("add rule ip nowhere nothing"), None);
    }

    #[test]
    fn data_prints_as_host_order_words() {
        assert_eq!(words(&[10, 250, 12, 2]), "0x020cfa0a");
        assert_eq!(words(&18080u16.to_be_bytes()), "0x0000a046");
        assert_eq!(words(&[0xfd, 0x10, 2, 0x50, 0, 0x12, 0, 0]), "0x500210fd 0x00001200");
    }
}
