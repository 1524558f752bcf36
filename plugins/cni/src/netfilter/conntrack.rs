//! Connection tracking entries, over ctnetlink: portmap deletes the UDP
//! entries of a host port it maps, as the reference does, so that packets
//! of a "connection" seen before the mapping existed stop going to their
//! old destination.

use super::nftnl::{attr, attributes, Socket, NLA_F_NESTED};
use crate::kernel::error::KernelError;

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;

/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

/// True when an entry's original direction goes to `protocol` port `port`.
fn matches(entry: &[u8], protocol: u8, port: u16) -> bool {
    let Some((_, tuple)) = attributes(entry).into_iter().find(|(k, _)| *k == CTA_TUPLE_ORIG) else {
        return false;
    };
    let Some((_, proto)) = attributes(tuple).into_iter().find(|(k, _)| *k == CTA_TUPLE_PROTO) else {
        return false;
    };
    let fields = attributes(proto);
    let number = fields.iter().find(|(k, _)| *k == CTA_PROTO_NUM).and_then(|(_, v)| v.first().copied());
    let dport = fields
        .iter()
        .find(|(k, _)| *k == CTA_PROTO_DST_PORT)
        .and_then(|(_, v)| v.get(..2))
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    number == Some(protocol) && dport == Some(port)
}

/// Deletes every entry of `family` (AF_INET or AF_INET6) whose original
/// destination is `protocol` port `port`; returns how many went.
pub fn delete_by_destination_port(family: u8, protocol: u8, port: u16) -> Result<usize, KernelError> {
    let socket = Socket::open()?;
    let entries =
        socket.dump_subsystem(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, family, &[])?.unwrap_or_default();
    let mut deleted = 0;
    for entry in entries.iter().filter(|e| matches(e, protocol, port)) {
        // The entry is named by its original tuple (and zone).
        let mut body = Vec::new();
        for (kind, value) in attributes(entry) {
            match kind {
                CTA_TUPLE_ORIG => attr(&mut body, kind | NLA_F_NESTED, value),
                CTA_ZONE => attr(&mut body, kind, value),
                _ => {}
            }
        }
        match socket.request(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE, family, &body)? {
            0 => deleted += 1,
            libc::ENOENT => {}
            errno => return Err(KernelError::os("delete conntrack entry", errno)),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(kind: u16, inner: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        attr(&mut out, kind | NLA_F_NESTED, inner);
        out
    }

    #[test]
    fn entries_match_on_protocol_and_original_destination_port() {
        let mut proto = Vec::new();
        attr(&mut proto, CTA_PROTO_NUM, &[PROTO_UDP]);
        attr(&mut proto, 2, &5353u16.to_be_bytes());
        attr(&mut proto, CTA_PROTO_DST_PORT, &20001u16.to_be_bytes());
        let entry = nested(CTA_TUPLE_ORIG, &nested(CTA_TUPLE_PROTO, &proto));
        assert!(matches(&entry, PROTO_UDP, 20001));
        assert!(!matches(&entry, PROTO_UDP, 5353), "the source port is not the destination");
        assert!(!matches(&entry, 6, 20001), "another protocol");
    }
}
