//! nftables over netlink (NETLINK_NETFILTER), without exec'ing `nft`.
//!
//! Just what the plugins need: list a table's chains and rules (with
//! handles and comments), and apply a batch of table, chain and rule
//! additions, flushes and deletions as one transaction. Messages are
//! built by hand from the kernel's uapi (`linux/netfilter/nf_tables.h`);
//! comments go into the user data the way libnftnl stores them, so `nft`
//! shows them and the reference finds them.

use crate::kernel::error::KernelError;
use crate::kernel::transport::{self, Message, NlError, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP};
pub(super) use crate::nlattr::{attr, attributes};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_DELCHAIN: u16 = 5;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NFT_MSG_DELRULE: u16 = 8;
const NFT_MSG_GETGEN: u16 = 16;

/// NLM_F_APPEND: a rule goes after the position, not before it.
const NLM_F_APPEND: u16 = 0x800;
pub(super) const NLA_F_NESTED: u16 = 0x8000;

// Attribute numbers from nf_tables.h.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_USERDATA: u16 = 6;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_CHAIN_USERDATA: u16 = 12;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_POSITION: u16 = 6;
const NFTA_RULE_USERDATA: u16 = 7;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

/// A rule as listed: its chain, handle and comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftRule {
    /// The chain it is in.
    pub chain: String,
    /// The kernel's handle, for deleting it.
    pub handle: u64,
    /// The rule's comment, empty when it has none.
    pub comment: String,
    /// The attachment a rule of ours was written for ([`Batch::add_rule_owned`]),
    /// empty on rules of others (the reference's) and ours of before.
    pub owner: String,
    /// How many expressions it has (tells a plain rule from one with extra matches).
    pub expressions: usize,
}

/// What a table holds: chain names and rules.
#[derive(Debug, Default)]
pub struct Listing {
    /// Names of the chains.
    pub chains: Vec<String>,
    /// The rules, in order.
    pub rules: Vec<NftRule>,
}

/// Address families (NFPROTO_*).
pub const FAMILY_INET: u8 = 1;
/// NFPROTO_IPV4, as the meta nfproto value and the `ip` family.
pub const FAMILY_IPV4: u8 = 2;
/// NFPROTO_IPV6.
pub const FAMILY_IPV6: u8 = 10;
/// NFPROTO_BRIDGE.
pub const FAMILY_BRIDGE: u8 = 7;

/// Verdicts.
pub const NFT_RETURN: i32 = -5;
/// `goto CHAIN`.
pub const NFT_GOTO: i32 = -4;
/// `jump CHAIN`.
pub const NFT_JUMP: i32 = -3;
/// `drop`.
pub const NF_DROP: i32 = 0;
/// `accept`.
pub const NF_ACCEPT: i32 = 1;

fn attr_str(buf: &mut Vec<u8>, kind: u16, value: &str) {
    let mut bytes = value.as_bytes().to_vec();
    bytes.push(0);
    attr(buf, kind, &bytes);
}

fn attr_u32(buf: &mut Vec<u8>, kind: u16, value: u32) {
    attr(buf, kind, &value.to_be_bytes());
}

fn nested(buf: &mut Vec<u8>, kind: u16, inner: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    inner(&mut body);
    attr(buf, kind | NLA_F_NESTED, &body);
}

/// The most of a comment nft writes and lists back (128 bytes, then the
/// NUL: NFTNL_UDATA_COMMENT_MAXLEN), cut on a character boundary as
/// knftables cuts the reference's.
pub const COMMENT_MAX: usize = 128;

/// `comment` cut to what nft keeps, so that it compares equal to a listed one.
pub fn fit_comment(mut comment: String) -> String {
    if comment.len() > COMMENT_MAX {
        let mut cut = COMMENT_MAX;
        while !comment.is_char_boundary(cut) {
            cut -= 1;
        }
        comment.truncate(cut);
    }
    comment
}

/// libnftnl's user data TLV type of a rule's comment.
const UDATA_COMMENT: u8 = 0;
/// Our own user data TLV type: which attachment a rule was written for,
/// where the comment must stay what the reference writes (portmap's is the
/// container ID alone, which its DEL matches). nft and the reference's
/// listings skip TLV types they do not know (libnftnl knows 0 and 1), so
/// the rule reads as theirs; a save and restore through `nft` drops it.
const UDATA_OWNER: u8 = 0xc1;

/// The most of an owner kept, so that a full comment and an owner fit the
/// kernel's 256 bytes of rule user data (NFT_USERDATA_MAXLEN).
pub const OWNER_MAX: usize = 256 - (COMMENT_MAX + 3) - 3;

/// One user data TLV: type, length, the text NUL-terminated (cut to what
/// nft keeps of a comment, an owner to [`OWNER_MAX`]).
fn udata_text(kind: u8, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.truncate(if kind == UDATA_OWNER { OWNER_MAX } else { COMMENT_MAX });
    bytes.push(0);
    let mut data = vec![kind, bytes.len() as u8];
    data.extend_from_slice(&bytes);
    data
}

/// A comment as libnftnl stores it: user data TLV type 0, NUL-terminated.
fn comment_udata(comment: &str) -> Vec<u8> {
    udata_text(UDATA_COMMENT, comment)
}

/// The text of the user data TLV of type `kind`; empty when there is none.
fn text_from_udata(data: &[u8], kind: u8) -> String {
    let mut at = 0;
    while at + 2 <= data.len() {
        let (found, len) = (data[at], data[at + 1] as usize);
        let value = data.get(at + 2..at + 2 + len).unwrap_or_default();
        if found == kind {
            return String::from_utf8_lossy(value).trim_end_matches('\0').to_string();
        }
        at += 2 + len;
    }
    String::new()
}

fn comment_from_udata(data: &[u8]) -> String {
    text_from_udata(data, UDATA_COMMENT)
}

/// One rule expression.
pub struct Expr {
    pub(super) name: &'static str,
    pub(super) data: Vec<u8>,
}

impl Expr {
    /// `meta nfproto` into `reg`.
    pub fn meta_nfproto(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_META_DREG
        attr_u32(&mut data, 2, 15); // NFTA_META_KEY: NFT_META_NFPROTO
        Expr { name: "meta", data }
    }

    /// `len` bytes of the network header at `offset` into `reg`.
    pub fn payload_network(reg: u32, offset: u32, len: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_PAYLOAD_DREG
        attr_u32(&mut data, 2, 1); // NFTA_PAYLOAD_BASE: network header
        attr_u32(&mut data, 3, offset);
        attr_u32(&mut data, 4, len);
        Expr { name: "payload", data }
    }

    /// `ether saddr` (link-layer header, offset 6, 6 bytes) into `reg`.
    pub fn payload_ether_saddr(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg);
        attr_u32(&mut data, 2, 0); // NFT_PAYLOAD_LL_HEADER
        attr_u32(&mut data, 3, 6);
        attr_u32(&mut data, 4, 6);
        Expr { name: "payload", data }
    }

    /// `reg == value` (or `!=`).
    pub fn cmp(reg: u32, equal: bool, value: &[u8]) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_CMP_SREG
        attr_u32(&mut data, 2, if equal { 0 } else { 1 }); // NFTA_CMP_OP
        nested(&mut data, 3, |d| attr(d, NFTA_DATA_VALUE, value)); // NFTA_CMP_DATA
        Expr { name: "cmp", data }
    }

    /// `reg = (reg & mask) ^ 0`.
    pub fn mask(reg: u32, mask: &[u8]) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_BITWISE_SREG
        attr_u32(&mut data, 2, reg); // NFTA_BITWISE_DREG
        attr_u32(&mut data, 3, mask.len() as u32); // NFTA_BITWISE_LEN
        nested(&mut data, 4, |d| attr(d, NFTA_DATA_VALUE, mask));
        nested(&mut data, 5, |d| attr(d, NFTA_DATA_VALUE, &vec![0u8; mask.len()]));
        Expr { name: "bitwise", data }
    }

    /// A verdict, with a chain for jump and goto.
    pub fn verdict(code: i32, chain: Option<&str>) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, 0); // NFTA_IMMEDIATE_DREG: NFT_REG_VERDICT
        nested(&mut data, 2, |d| {
            nested(d, NFTA_DATA_VERDICT, |v| {
                attr_u32(v, NFTA_VERDICT_CODE, code as u32);
                if let Some(chain) = chain {
                    attr_str(v, NFTA_VERDICT_CHAIN, chain);
                }
            })
        });
        Expr { name: "immediate", data }
    }

    /// `masquerade`.
    pub fn masquerade() -> Expr {
        Expr { name: "masq", data: Vec::new() }
    }

    /// `meta l4proto` into `reg` (one byte: 6 tcp, 17 udp, 132 sctp).
    pub fn meta_l4proto(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg);
        attr_u32(&mut data, 2, 16); // NFT_META_L4PROTO
        Expr { name: "meta", data }
    }

    /// The transport header's destination port (2 bytes at offset 2) into `reg`.
    pub fn payload_dport(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg);
        attr_u32(&mut data, 2, 2); // NFT_PAYLOAD_TRANSPORT_HEADER
        attr_u32(&mut data, 3, 2);
        attr_u32(&mut data, 4, 2);
        Expr { name: "payload", data }
    }

    /// `fib daddr type` into `reg` (compare with RTN_LOCAL, 2, as a native u32).
    pub fn fib_daddr_type(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_FIB_DREG
        attr_u32(&mut data, 2, 3); // NFTA_FIB_RESULT: NFT_FIB_RESULT_ADDRTYPE
        attr_u32(&mut data, 3, 2); // NFTA_FIB_FLAGS: NFTA_FIB_F_DADDR
        Expr { name: "fib", data }
    }

    /// Loads a constant into `reg`.
    pub fn immediate(reg: u32, value: &[u8]) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_IMMEDIATE_DREG
        nested(&mut data, 2, |d| attr(d, NFTA_DATA_VALUE, value));
        Expr { name: "immediate", data }
    }

    /// `dnat to` the address in `addr_reg` and the port in `port_reg`.
    pub fn dnat(family: u8, addr_reg: u32, port_reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, 1); // NFTA_NAT_TYPE: NFT_NAT_DNAT
        attr_u32(&mut data, 2, family as u32); // NFTA_NAT_FAMILY
        attr_u32(&mut data, 3, addr_reg); // NFTA_NAT_REG_ADDR_MIN
        attr_u32(&mut data, 5, port_reg); // NFTA_NAT_REG_PROTO_MIN
        attr_u32(&mut data, 7, 2); // NFTA_NAT_FLAGS: NF_NAT_RANGE_PROTO_SPECIFIED
        Expr { name: "nat", data }
    }

    /// `meta iifname` into `reg` (compare with the name NUL-padded to 16 bytes).
    pub fn meta_iifname(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg);
        attr_u32(&mut data, 2, 6); // NFT_META_IIFNAME
        Expr { name: "meta", data }
    }
}

impl Expr {
    /// `meta oifname` into `reg` (compare with the name NUL-padded to 16 bytes).
    pub fn meta_oifname(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg);
        attr_u32(&mut data, 2, 7); // NFT_META_OIFNAME
        Expr { name: "meta", data }
    }

    /// `ct state` into `reg` (a native u32 of NF_CT_STATE_BIT flags).
    pub fn ct_state(reg: u32) -> Expr {
        let mut data = Vec::new();
        attr_u32(&mut data, 1, reg); // NFTA_CT_DREG
        attr_u32(&mut data, 2, 0); // NFTA_CT_KEY: NFT_CT_STATE
        Expr { name: "ct", data }
    }
}

/// `ct state established,related` as nft compiles it: the state bits
/// masked and compared with zero.
pub fn match_established(exprs: &mut Vec<Expr>) {
    // NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED).
    let bits: u32 = (1 << 1) | (1 << 2);
    exprs.push(Expr::ct_state(1));
    exprs.push(Expr::mask(1, &bits.to_ne_bytes()));
    exprs.push(Expr::cmp(1, false, &0u32.to_ne_bytes()));
}

/// An interface name as `meta iifname`/`oifname` compare it: NUL-padded to 16 bytes.
pub fn ifname_bytes(name: &str) -> Vec<u8> {
    let mut bytes = name.as_bytes().to_vec();
    bytes.resize(16, 0);
    bytes
}

/// `meta nfproto ipv4` (or `ipv6`): what an `inet` table's address match needs first.
pub fn match_nfproto(exprs: &mut Vec<Expr>, ipv4: bool) {
    exprs.push(Expr::meta_nfproto(1));
    exprs.push(Expr::cmp(1, true, &[if ipv4 { FAMILY_IPV4 } else { FAMILY_IPV6 }]));
}

/// Matches the source or destination address against `net` (`==` or
/// `!=`) as nft compiles it, so `nft list` shows `ip daddr != 10.22.0.0/16`:
/// the prefix bytes when the prefix is byte-aligned, else the whole
/// address masked.
pub fn match_network(exprs: &mut Vec<Expr>, net: ipnetwork::IpNetwork, destination: bool, equal: bool) {
    let (bytes, base): (Vec<u8>, u32) = match net.ip() {
        std::net::IpAddr::V4(ip) => (ip.octets().to_vec(), if destination { 16 } else { 12 }),
        std::net::IpAddr::V6(ip) => (ip.octets().to_vec(), if destination { 24 } else { 8 }),
    };
    let prefix = net.prefix() as usize;
    let length = if prefix.is_multiple_of(8) { prefix / 8 } else { bytes.len() };
    let mut value = bytes[..length].to_vec();
    exprs.push(Expr::payload_network(1, base, length as u32));
    if !prefix.is_multiple_of(8) {
        let mask: Vec<u8> = (0..length)
            .map(|i| match (prefix / 8).cmp(&i) {
                std::cmp::Ordering::Greater => 0xff,
                std::cmp::Ordering::Equal => 0xffu8 << (8 - prefix % 8),
                std::cmp::Ordering::Less => 0,
            })
            .collect();
        for (v, m) in value.iter_mut().zip(&mask) {
            *v &= m;
        }
        exprs.push(Expr::mask(1, &mask));
    }
    exprs.push(Expr::cmp(1, equal, &value));
}

/// Matches one whole address (`/32`, `/128`) as source or destination.
pub fn match_host(exprs: &mut Vec<Expr>, ip: std::net::IpAddr, destination: bool) {
    let host = ipnetwork::IpNetwork::new(ip, if ip.is_ipv4() { 32 } else { 128 });
    if let Ok(host) = host {
        match_network(exprs, host, destination, true);
    }
}

/// A base chain's hook.
pub struct Hook {
    /// The chain type: "nat", "filter".
    pub kind: &'static str,
    /// NF_INET_* hook number.
    pub hooknum: u32,
    /// Priority.
    pub priority: i32,
}

/// Where a new rule goes in its chain.
enum Placement {
    End,
    Head,
    Before(u64),
}

/// A transaction under construction.
pub struct Batch {
    family: u8,
    messages: Vec<(u16, u16, u8, Vec<u8>)>,
}

impl Batch {
    /// A batch for tables of `family`.
    pub fn new(family: u8) -> Batch {
        Batch { family, messages: Vec::new() }
    }

    /// Makes the messages that follow address tables of `family`: one
    /// transaction (one wait for the kernel's grace period) can then change
    /// the `ip` and `ip6` tables together.
    pub fn set_family(&mut self, family: u8) {
        self.family = family;
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// `add table` (no error if it exists).
    pub fn add_table(&mut self, table: &str, comment: Option<&str>) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_TABLE_NAME, table);
        if let Some(comment) = comment {
            attr(&mut body, NFTA_TABLE_USERDATA, &comment_udata(comment));
        }
        self.messages.push((NFT_MSG_NEWTABLE, NLM_F_CREATE, self.family, body));
    }

    /// `add chain` (no error if it exists).
    pub fn add_chain(&mut self, table: &str, chain: &str, hook: Option<&Hook>, comment: Option<&str>) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_CHAIN_TABLE, table);
        attr_str(&mut body, NFTA_CHAIN_NAME, chain);
        if let Some(hook) = hook {
            nested(&mut body, NFTA_CHAIN_HOOK, |h| {
                attr_u32(h, NFTA_HOOK_HOOKNUM, hook.hooknum);
                attr_u32(h, NFTA_HOOK_PRIORITY, hook.priority as u32);
            });
            attr_u32(&mut body, NFTA_CHAIN_POLICY, NF_ACCEPT as u32);
            attr_str(&mut body, NFTA_CHAIN_TYPE, hook.kind);
        }
        if let Some(comment) = comment {
            attr(&mut body, NFTA_CHAIN_USERDATA, &comment_udata(comment));
        }
        self.messages.push((NFT_MSG_NEWCHAIN, NLM_F_CREATE, self.family, body));
    }

    /// `flush chain`.
    pub fn flush_chain(&mut self, table: &str, chain: &str) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_RULE_TABLE, table);
        attr_str(&mut body, NFTA_RULE_CHAIN, chain);
        self.messages.push((NFT_MSG_DELRULE, 0, self.family, body));
    }

    /// `add rule` at the end of the chain.
    pub fn add_rule(&mut self, table: &str, chain: &str, exprs: &[Expr], comment: Option<&str>) {
        let udata = comment.map(comment_udata);
        self.new_rule(table, chain, exprs, udata, Placement::End);
    }

    /// `add rule` at the end of the chain, with the comment the reference
    /// writes and, hidden from nft and the reference, the attachment it is
    /// for (listed as [`NftRule::owner`]).
    pub fn add_rule_owned(&mut self, table: &str, chain: &str, exprs: &[Expr], comment: &str, owner: &str) {
        let mut udata = comment_udata(comment);
        udata.extend(udata_text(UDATA_OWNER, owner));
        self.new_rule(table, chain, exprs, Some(udata), Placement::End);
    }

    /// `insert rule`: before the rule with handle `before`, or at the head of the chain.
    pub fn insert_rule(
        &mut self,
        table: &str,
        chain: &str,
        before: Option<u64>,
        exprs: &[Expr],
        comment: Option<&str>,
    ) {
        let at = before.map_or(Placement::Head, Placement::Before);
        self.new_rule(table, chain, exprs, comment.map(comment_udata), at);
    }

    fn new_rule(&mut self, table: &str, chain: &str, exprs: &[Expr], udata: Option<Vec<u8>>, at: Placement) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_RULE_TABLE, table);
        attr_str(&mut body, NFTA_RULE_CHAIN, chain);
        nested(&mut body, NFTA_RULE_EXPRESSIONS, |list| {
            for expr in exprs {
                nested(list, NFTA_LIST_ELEM, |e| {
                    attr_str(e, NFTA_EXPR_NAME, expr.name);
                    if !expr.data.is_empty() {
                        attr(e, NFTA_EXPR_DATA | NLA_F_NESTED, &expr.data);
                    }
                });
            }
        });
        if let Some(udata) = udata {
            attr(&mut body, NFTA_RULE_USERDATA, &udata);
        }
        // The kernel inserts before the position without NLM_F_APPEND, at
        // the head with neither.
        let flags = match at {
            Placement::End => NLM_F_CREATE | NLM_F_APPEND,
            Placement::Head => NLM_F_CREATE,
            Placement::Before(handle) => {
                attr(&mut body, NFTA_RULE_POSITION, &handle.to_be_bytes());
                NLM_F_CREATE
            }
        };
        self.messages.push((NFT_MSG_NEWRULE, flags, self.family, body));
    }

    /// `delete table`, with everything in it.
    pub fn delete_table(&mut self, table: &str) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_TABLE_NAME, table);
        self.messages.push((NFT_MSG_DELTABLE, 0, self.family, body));
    }

    /// `delete chain` (it must hold no rules, or be flushed first in the batch).
    pub fn delete_chain(&mut self, table: &str, chain: &str) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_CHAIN_TABLE, table);
        attr_str(&mut body, NFTA_CHAIN_NAME, chain);
        self.messages.push((NFT_MSG_DELCHAIN, 0, self.family, body));
    }

    /// `delete rule ... handle N`.
    pub fn delete_rule(&mut self, table: &str, chain: &str, handle: u64) {
        let mut body = Vec::new();
        attr_str(&mut body, NFTA_RULE_TABLE, table);
        attr_str(&mut body, NFTA_RULE_CHAIN, chain);
        attr(&mut body, NFTA_RULE_HANDLE, &handle.to_be_bytes());
        self.messages.push((NFT_MSG_DELRULE, 0, self.family, body));
    }

    /// Applies the batch as one transaction.
    pub fn commit(self) -> Result<(), KernelError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        let socket = Socket::open()?;
        let mut batch = vec![nfgen_message(NFNL_MSG_BATCH_BEGIN, 0, 0, NFNL_SUBSYS_NFTABLES, &[])];
        for (kind, flags, family, body) in &self.messages {
            let msg_type = (NFNL_SUBSYS_NFTABLES << 8) | kind;
            batch.push(nfgen_message(msg_type, NLM_F_ACK | flags, *family, 0, body));
        }
        batch.push(nfgen_message(NFNL_MSG_BATCH_END, 0, 0, NFNL_SUBSYS_NFTABLES, &[]));
        // One ACK (or error) per message of the batch; the kernel aborts
        // the whole transaction at the first refusal.
        let outcomes = socket.0.transact(&batch, true).map_err(|e| e.into_kernel("nftables netlink"))?;
        let refused = outcomes.iter().filter_map(|o| o.err());
        match refused.clone().find(|errno| *errno != libc::ECANCELED).or(refused.clone().next()) {
            Some(errno) => Err(KernelError::os("nftables transaction failed", errno)),
            None => Ok(()),
        }
    }
}

/// A netfilter netlink message: the nfgenmsg header (family, version 0,
/// resource ID) and then `body`.
fn nfgen_message(kind: u16, flags: u16, family: u8, res_id: u16, body: &[u8]) -> Message {
    let mut payload = Vec::with_capacity(4 + body.len());
    payload.push(family);
    payload.push(0);
    payload.extend_from_slice(&res_id.to_be_bytes());
    payload.extend_from_slice(body);
    Message::new(kind, flags, payload)
}

/// A netfilter netlink socket (NETLINK_NETFILTER) of the one transport.
pub(super) struct Socket(transport::Socket);

impl Socket {
    pub(super) fn open() -> Result<Socket, KernelError> {
        transport::Socket::open(transport::NETLINK_NETFILTER).map(Socket).map_err(|e| e.context("nftables"))
    }

    /// Sends one request to a subsystem and waits for its acknowledgement;
    /// the error number when the kernel refuses it (0 when it does not).
    pub(super) fn request(
        &self,
        subsystem: u16,
        kind: u16,
        family: u8,
        body: &[u8],
    ) -> Result<i32, KernelError> {
        match self.0.request(nfgen_message((subsystem << 8) | kind, 0, family, 0, body)) {
            Ok(()) => Ok(0),
            Err(NlError::Kernel(errno)) => Ok(errno),
            Err(e) => Err(e.into_kernel("nftables netlink")),
        }
    }

    /// Runs an nftables dump request and returns each answer's attributes (after nfgenmsg).
    fn dump(&self, kind: u16, family: u8, body: &[u8]) -> Result<Option<Vec<Vec<u8>>>, KernelError> {
        self.dump_subsystem(NFNL_SUBSYS_NFTABLES, kind, family, body)
    }

    /// A dump request to any nfnetlink subsystem; `None` on ENOENT.
    pub(super) fn dump_subsystem(
        &self,
        subsystem: u16,
        kind: u16,
        family: u8,
        body: &[u8],
    ) -> Result<Option<Vec<Vec<u8>>>, KernelError> {
        match self.0.dump(nfgen_message((subsystem << 8) | kind, NLM_F_DUMP, family, 0, body)) {
            Ok(answers) => {
                Ok(Some(answers.iter().map(|a| a.payload().get(4..).unwrap_or_default().to_vec()).collect()))
            }
            Err(NlError::Kernel(libc::ENOENT)) => Ok(None),
            Err(e) => Err(e.into_kernel("nftables netlink: list")),
        }
    }
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).trim_end_matches('\0').to_string()
}

/// True when the kernel answers nf_tables requests (asks for the ruleset generation).
pub fn available() -> bool {
    let Ok(socket) = Socket::open() else { return false };
    socket.request(NFNL_SUBSYS_NFTABLES, NFT_MSG_GETGEN, 0, &[]).is_ok_and(|errno| errno == 0)
}

/// A table's chain names and the rules of one of its chains (the kernel
/// filters them); `None` when the table or the chain does not exist.
pub fn list_chain_rules(family: u8, table: &str, chain: &str) -> Result<Option<Listing>, KernelError> {
    Ok(list(family, table, &[chain])?.filter(|listing| listing.chains.iter().any(|c| c == chain)))
}

/// A table's chain names and the rules of those of `chains` it has, from
/// one chain dump and one rule dump per chain; `None` when the table does
/// not exist (or, on some kernels, an empty listing).
pub fn list_rules(family: u8, table: &str, chains: &[&str]) -> Result<Option<Listing>, KernelError> {
    list(family, table, chains)
}

/// A table's chain names only (no rules); `None` or an empty list when
/// the table does not exist (kernels differ).
pub fn list_chains(family: u8, table: &str) -> Result<Option<Vec<String>>, KernelError> {
    Ok(list(family, table, &[])?.map(|listing| listing.chains))
}

fn list(family: u8, table: &str, rules_of: &[&str]) -> Result<Option<Listing>, KernelError> {
    let socket = Socket::open()?;
    let mut body = Vec::new();
    attr_str(&mut body, NFTA_CHAIN_TABLE, table);
    let Some(chain_msgs) = socket.dump(NFT_MSG_GETCHAIN, family, &body)? else { return Ok(None) };
    let mut chains = Vec::new();
    for msg in &chain_msgs {
        let attrs = attributes(msg);
        let in_table = attrs.iter().any(|(k, v)| *k == NFTA_CHAIN_TABLE && text(v) == table);
        if let (true, Some((_, name))) = (in_table, attrs.iter().find(|(k, _)| *k == NFTA_CHAIN_NAME)) {
            chains.push(text(name));
        }
    }
    let mut rules = Vec::new();
    // Only chains that exist: asking for another's rules is an error.
    for chain in rules_of.iter().filter(|c| chains.iter().any(|name| name == *c)) {
        let mut body = body.clone();
        attr_str(&mut body, NFTA_RULE_CHAIN, chain);
        let rule_msgs = socket.dump(NFT_MSG_GETRULE, family, &body)?.unwrap_or_default();
        rules.extend(rule_msgs.iter().filter_map(|msg| parse_rule(msg, table)));
    }
    Ok(Some(Listing { chains, rules }))
}

/// One rule of a dump, if it is `table`'s and has a handle.
fn parse_rule(msg: &[u8], table: &str) -> Option<NftRule> {
    let attrs = attributes(msg);
    if !attrs.iter().any(|(k, v)| *k == NFTA_RULE_TABLE && text(v) == table) {
        return None;
    }
    let chain = attrs.iter().find(|(k, _)| *k == NFTA_RULE_CHAIN).map(|(_, v)| text(v)).unwrap_or_default();
    let handle = attrs
        .iter()
        .find(|(k, _)| *k == NFTA_RULE_HANDLE)
        .and_then(|(_, v)| v.get(..8))
        .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    let udata = attrs.iter().find(|(k, _)| *k == NFTA_RULE_USERDATA).map(|(_, v)| *v).unwrap_or_default();
    let expressions = attrs
        .iter()
        .find(|(k, _)| *k == NFTA_RULE_EXPRESSIONS)
        .map(|(_, v)| attributes(v).len())
        .unwrap_or_default();
    Some(NftRule {
        chain,
        handle: handle?,
        comment: comment_from_udata(udata),
        owner: text_from_udata(udata, UDATA_OWNER),
        expressions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_read_back() {
        let mut buf = Vec::new();
        attr_str(&mut buf, 1, "abc");
        attr_u32(&mut buf, 2, 7);
        assert_eq!(buf.len(), 8 + 8);
        let attrs = attributes(&buf);
        assert_eq!(attrs.len(), 2);
        assert_eq!(text(attrs[0].1), "abc");
        assert_eq!(attrs[1].1, &7u32.to_be_bytes());
        assert_eq!(comment_from_udata(&comment_udata("hello")), "hello");
        let mut both = comment_udata("abc");
        both.extend(udata_text(UDATA_OWNER, "net eth0"));
        assert_eq!(comment_from_udata(&both), "abc", "the comment reads as the reference's");
        assert_eq!(text_from_udata(&both, UDATA_OWNER), "net eth0");
        assert_eq!(text_from_udata(&comment_udata("abc"), UDATA_OWNER), "", "no owner on others' rules");
    }
}
