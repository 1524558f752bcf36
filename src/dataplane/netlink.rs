//! The two kernel questions the data-plane check asks over netlink, read
//! only: which route the kernel picks for a packet (RTM_GETROUTE, which
//! sends nothing), and what nftables holds (every chain of every table,
//! and a chain's rules with their expressions). Raw messages on the one
//! transport (`cni::kernel::transport`), as the kernel's uapi lays them out.

use cni::nlattr::attr;
pub use cni::nlattr::attributes;
use std::net::IpAddr;

use cni::kernel::transport::{Message, NlError, Socket, NETLINK_NETFILTER, NETLINK_ROUTE, NLM_F_DUMP};

/// The value of attribute `kind`, if present.
pub fn find(attrs: &[(u16, &[u8])], kind: u16) -> Option<Vec<u8>> {
    attrs.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.to_vec())
}

/// A big-endian u32 attribute value (nftables numbers).
pub fn be_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(value.get(..4)?.try_into().ok()?))
}

fn ne_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// A NUL-terminated string attribute.
pub fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).trim_end_matches('\0').to_string()
}

/// An address's bytes, as netlink and nftables carry them.
pub fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

fn ip_of(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(value).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(value).ok()?)),
        _ => None,
    }
}

const RTM_GETROUTE: u16 = 26;
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_IIF: u16 = 3;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;
/// rtm_type of a route to this host.
pub const RTN_LOCAL: u8 = 2;

/// The route the kernel picked for a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    /// rtm_type: 1 unicast, 2 local, ...
    pub kind: u8,
    /// The interface it leaves by.
    pub oif: Option<u32>,
    /// The next hop, when not on-link.
    pub gateway: Option<IpAddr>,
    /// The source address the host would pick.
    pub prefsrc: Option<IpAddr>,
}

/// Asks the kernel (of the calling thread's namespace) which route a
/// packet to `dst` takes: from `src` arriving on `iif` (the input path,
/// with its forwarding and reverse-path checks) when given, else as this
/// host would send it. No packet is sent. `Err` holds the errno the kernel
/// answers: EHOSTUNREACH, ENETUNREACH, EXDEV (reverse-path check), ...
pub fn route_get(dst: IpAddr, src: Option<IpAddr>, iif: Option<u32>) -> Result<Picked, i32> {
    let socket = Socket::open(NETLINK_ROUTE).map_err(|e| e.errno().unwrap_or(libc::EIO))?;
    let bits = if dst.is_ipv4() { 32u8 } else { 128 };
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let family = if dst.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 } as u8;
    let mut payload = vec![family, bits, if src.is_some() { bits } else { 0 }, 0, 0, 0, 0, 0];
    payload.extend_from_slice(&0u32.to_ne_bytes());
    attr(&mut payload, RTA_DST, &octets(dst));
    if let Some(src) = src {
        attr(&mut payload, RTA_SRC, &octets(src));
    }
    if let Some(iif) = iif {
        attr(&mut payload, RTA_IIF, &iif.to_ne_bytes());
    }
    let answers = socket.dump(Message::new(RTM_GETROUTE, 0, payload)).map_err(|e| match e {
        NlError::Kernel(errno) => errno,
        other => other.errno().unwrap_or(libc::EIO),
    })?;
    let answer = answers.first().ok_or(libc::EIO)?;
    let body = answer.payload();
    let kind = *body.get(7).ok_or(libc::EIO)?;
    let attrs = attributes(body.get(12..).unwrap_or_default());
    Ok(Picked {
        kind,
        oif: find(&attrs, RTA_OIF).as_deref().and_then(ne_u32),
        gateway: find(&attrs, RTA_GATEWAY).as_deref().and_then(ip_of),
        prefsrc: find(&attrs, RTA_PREFSRC).as_deref().and_then(ip_of),
    })
}

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_GETRULE: u16 = 7;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_USERDATA: u16 = 7;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;

/// An nftables chain as listed.
#[derive(Debug, Clone)]
pub struct NftChain {
    /// NFPROTO_* of its table.
    pub family: u8,
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// For a base chain: the hook number, priority, type and policy
    /// (NF_ACCEPT 1, NF_DROP 0).
    pub hook: Option<(u32, i32, String, u32)>,
}

/// One expression of a rule: its name and its attributes' bytes.
#[derive(Debug, Clone)]
pub struct NftExpr {
    /// `meta`, `cmp`, `payload`, `immediate`...
    pub name: String,
    /// The NFTA_EXPR_DATA attributes.
    pub data: Vec<u8>,
}

/// An nftables rule as listed, with its expressions.
#[derive(Debug, Clone)]
pub struct NftRuleExprs {
    /// The kernel's handle.
    pub handle: u64,
    /// Its expressions, in order.
    pub exprs: Vec<NftExpr>,
    /// Its user data (comment TLVs).
    pub userdata: Vec<u8>,
}

fn nfgen(kind: u16, family: u8, body: &[u8]) -> Message {
    let mut payload = vec![family, 0, 0, 0];
    payload.extend_from_slice(body);
    Message::new((NFNL_SUBSYS_NFTABLES << 8) | kind, NLM_F_DUMP, payload)
}

/// A dump's answers, after their nfgenmsg header: (family, attributes' bytes).
fn nft_dump(message: Message) -> Result<Vec<(u8, Vec<u8>)>, String> {
    let socket = Socket::open(NETLINK_NETFILTER).map_err(|e| e.to_string())?;
    match socket.dump(message) {
        Ok(answers) => Ok(answers
            .iter()
            .filter_map(|a| {
                let p = a.payload();
                Some((*p.first()?, p.get(4..)?.to_vec()))
            })
            .collect()),
        Err(NlError::Kernel(libc::ENOENT)) => Ok(Vec::new()),
        Err(e) => Err(e.into_kernel("nftables netlink: list").to_string()),
    }
}

/// Every chain of every nftables table (iptables-nft's included).
pub fn nft_chains() -> Result<Vec<NftChain>, String> {
    let mut chains = Vec::new();
    for (family, body) in nft_dump(nfgen(NFT_MSG_GETCHAIN, 0, &[]))? {
        let attrs = attributes(&body);
        let hook = find(&attrs, NFTA_CHAIN_HOOK).and_then(|hook| {
            let inner = attributes(&hook);
            let hooknum = be_u32(&find(&inner, NFTA_HOOK_HOOKNUM)?)?;
            let priority = be_u32(&find(&inner, NFTA_HOOK_PRIORITY)?)? as i32;
            let kind = find(&attrs, NFTA_CHAIN_TYPE).map(|t| text(&t)).unwrap_or_default();
            let policy = find(&attrs, NFTA_CHAIN_POLICY).and_then(|p| be_u32(&p)).unwrap_or(1);
            Some((hooknum, priority, kind, policy))
        });
        chains.push(NftChain {
            family,
            table: find(&attrs, NFTA_CHAIN_TABLE).map(|t| text(&t)).unwrap_or_default(),
            name: find(&attrs, NFTA_CHAIN_NAME).map(|t| text(&t)).unwrap_or_default(),
            hook,
        });
    }
    Ok(chains)
}

/// The rules of one chain, in order, with their expressions.
pub fn nft_rules(family: u8, table: &str, chain: &str) -> Result<Vec<NftRuleExprs>, String> {
    let mut body = Vec::new();
    attr(&mut body, NFTA_RULE_TABLE, format!("{table}\0").as_bytes());
    attr(&mut body, NFTA_RULE_CHAIN, format!("{chain}\0").as_bytes());
    let mut rules = Vec::new();
    for (_, body) in nft_dump(nfgen(NFT_MSG_GETRULE, family, &body))? {
        let attrs = attributes(&body);
        let same = |kind, want: &str| find(&attrs, kind).is_some_and(|v| text(&v) == want);
        if !same(NFTA_RULE_TABLE, table) || !same(NFTA_RULE_CHAIN, chain) {
            continue;
        }
        let handle = find(&attrs, NFTA_RULE_HANDLE)
            .and_then(|h| Some(u64::from_be_bytes(h.get(..8)?.try_into().ok()?)))
            .unwrap_or_default();
        let list = find(&attrs, NFTA_RULE_EXPRESSIONS).unwrap_or_default();
        let exprs = attributes(&list)
            .into_iter()
            .map(|(_, elem)| {
                let inner = attributes(elem);
                NftExpr {
                    name: find(&inner, NFTA_EXPR_NAME).map(|n| text(&n)).unwrap_or_default(),
                    data: find(&inner, NFTA_EXPR_DATA).unwrap_or_default(),
                }
            })
            .collect();
        let userdata = find(&attrs, NFTA_RULE_USERDATA).unwrap_or_default();
        rules.push(NftRuleExprs { handle, exprs, userdata });
    }
    Ok(rules)
}

/// The text of a user data TLV of `kind` (0: the comment nft shows).
pub fn udata_text(data: &[u8], kind: u8) -> String {
    let mut at = 0;
    while at + 2 <= data.len() {
        let (found, len) = (data[at], data[at + 1] as usize);
        let value = data.get(at + 2..at + 2 + len).unwrap_or_default();
        if found == kind {
            return text(value);
        }
        at += 2 + len;
    }
    String::new()
}
