//! Raw netlink attributes, for messages the netlink crates do not encode
//! (nftables, ctnetlink, tc options; cnictl's route and nftables reads):
//! writing one, and reading a run of them.

/// Appends one netlink attribute (padded to 4 bytes).
pub fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

/// The top-level attributes of a message: (type without flags, value).
pub fn attributes(data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut found = Vec::new();
    let mut at = 0;
    while at + 4 <= data.len() {
        let len = u16::from_ne_bytes([data[at], data[at + 1]]) as usize;
        let kind = u16::from_ne_bytes([data[at + 2], data[at + 3]]) & 0x3fff;
        if len < 4 || at + len > data.len() {
            break;
        }
        found.push((kind, &data[at + 4..at + len]));
        at += (len + 3) & !3;
    }
    found
}
