//! The DHCPv4 wire format (RFC 2131 messages, RFC 2132 options, RFC 3442
//! classless routes, RFC 3396 long options).
//!
//! Everything a server sends is untrusted input: [`decode`] checks every
//! length before it reads and returns an error, never panics, on any
//! bytes. Options are kept as raw values in arrival order and read through
//! typed accessors, so an option we do not understand is carried, not lost,
//! and a malformed one only makes its accessor answer `None`.

use std::fmt;
use std::net::Ipv4Addr;

/// The UDP port DHCP servers listen on.
pub const SERVER_PORT: u16 = 67;
/// The UDP port DHCP clients listen on.
pub const CLIENT_PORT: u16 = 68;
/// The four bytes that start the options field (RFC 2131 section 3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// `op` of a message from client to server.
pub const BOOTREQUEST: u8 = 1;
/// `op` of a message from server to client.
pub const BOOTREPLY: u8 = 2;
/// `htype` of Ethernet (and of veth, macvlan, ipvlan, bridges).
pub const HTYPE_ETHERNET: u8 = 1;
/// The BROADCAST bit of `flags`: the client cannot receive unicast before
/// it has an address, so the server must broadcast its reply.
pub const FLAG_BROADCAST: u16 = 0x8000;

/// Bytes before the options: the fixed BOOTP header (236) and the cookie.
const HEADER_LEN: usize = 236;
/// The smallest message BOOTP relays and old servers accept (RFC 1542).
const MIN_MESSAGE_LEN: usize = 300;

/// Option codes this crate reads or writes (RFC 2132 unless noted).
pub mod code {
    /// Padding, no length byte.
    pub const PAD: u8 = 0;
    /// Subnet mask, 4 bytes.
    pub const SUBNET_MASK: u8 = 1;
    /// Routers, a list of addresses, the first preferred.
    pub const ROUTERS: u8 = 3;
    /// Domain name servers.
    pub const DNS_SERVERS: u8 = 6;
    /// The client's host name.
    pub const HOST_NAME: u8 = 12;
    /// The domain name for the client.
    pub const DOMAIN_NAME: u8 = 15;
    /// Classful static routes: destination and router pairs.
    pub const STATIC_ROUTES: u8 = 33;
    /// Requested IP address (REQUEST in SELECTING and INIT-REBOOT).
    pub const REQUESTED_IP: u8 = 50;
    /// Lease time in seconds.
    pub const LEASE_TIME: u8 = 51;
    /// Option overload: options continue in `sname`/`file` (not supported).
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// A text message from the server (NAK reasons).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size the client accepts.
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal time (T1) in seconds.
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding time (T2) in seconds.
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor class identifier.
    pub const VENDOR_CLASS_ID: u8 = 60;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// User class (RFC 3004).
    pub const USER_CLASS: u8 = 77;
    /// Classless static routes (RFC 3442).
    pub const CLASSLESS_ROUTES: u8 = 121;
    /// Domain search list (RFC 3397).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// End of options, no length byte.
    pub const END: u8 = 255;
}

/// The DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Client looks for servers.
    Discover = 1,
    /// Server offers an address.
    Offer = 2,
    /// Client asks for (or renews) an address.
    Request = 3,
    /// Client says the address is in use.
    Decline = 4,
    /// Server grants the lease.
    Ack = 5,
    /// Server refuses the request.
    Nak = 6,
    /// Client gives the address back.
    Release = 7,
    /// Client asks for configuration only.
    Inform = 8,
}

impl MessageType {
    /// The type for an option 53 byte, if it is one.
    pub fn from_byte(b: u8) -> Option<MessageType> {
        Some(match b {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            MessageType::Discover => "DHCPDISCOVER",
            MessageType::Offer => "DHCPOFFER",
            MessageType::Request => "DHCPREQUEST",
            MessageType::Decline => "DHCPDECLINE",
            MessageType::Ack => "DHCPACK",
            MessageType::Nak => "DHCPNAK",
            MessageType::Release => "DHCPRELEASE",
            MessageType::Inform => "DHCPINFORM",
        };
        f.write_str(name)
    }
}

/// Why bytes are not a DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the fixed header and cookie.
    TooShort(usize),
    /// The options field does not start with the magic cookie.
    BadCookie,
    /// `hlen` larger than the 16 bytes of `chaddr`.
    BadHardwareLength(u8),
    /// An option's length runs past the end of the message.
    TruncatedOption {
        /// The option's code.
        code: u8,
        /// Where it starts in the message.
        offset: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort(n) => write!(f, "{n} bytes is shorter than a DHCP message"),
            DecodeError::BadCookie => f.write_str("no DHCP magic cookie"),
            DecodeError::BadHardwareLength(n) => write!(f, "hardware address length {n} exceeds 16"),
            DecodeError::TruncatedOption { code, offset } => {
                write!(f, "option {code} at byte {offset} runs past the end of the message")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// A message's options: raw values in arrival order, one entry per code
/// (RFC 3396: the pieces of a repeated option are joined in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    entries: Vec<(u8, Vec<u8>)>,
}

impl Options {
    /// The raw value of option `code`.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    /// Sets option `code`, replacing an earlier value in its place. Pad and
    /// end have no value and are ignored.
    pub fn set(&mut self, code: u8, value: Vec<u8>) {
        if code == code::PAD || code == code::END {
            return;
        }
        match self.entries.iter_mut().find(|(c, _)| *c == code) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((code, value)),
        }
    }

    /// Removes option `code`.
    pub fn remove(&mut self, code: u8) {
        self.entries.retain(|(c, _)| *c != code);
    }

    /// Every option in order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.entries.iter().map(|(c, v)| (*c, v.as_slice()))
    }

    /// Appends bytes to option `code` (a repeated option on the wire).
    fn append(&mut self, code: u8, value: &[u8]) {
        match self.entries.iter_mut().find(|(c, _)| *c == code) {
            Some(entry) => entry.1.extend_from_slice(value),
            None => self.entries.push((code, value.to_vec())),
        }
    }
}

/// One DHCPv4 message. `sname` and `file` are sent as zeros and not kept
/// on decode (no option overload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// BOOTREQUEST or BOOTREPLY.
    pub op: u8,
    /// Hardware type.
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction ID chosen by the client.
    pub xid: u32,
    /// Seconds since the client began the exchange.
    pub secs: u16,
    /// Flags; [`FLAG_BROADCAST`] is the only one defined.
    pub flags: u16,
    /// Client address (a client that holds one: RENEWING, REBINDING, RELEASE).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: what the server gives.
    pub yiaddr: Ipv4Addr,
    /// Next server (BOOTP).
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client hardware address, `hlen` bytes used.
    pub chaddr: [u8; 16],
    /// The options.
    pub options: Options,
}

impl Message {
    /// An empty client message for an Ethernet address.
    pub fn new_request(xid: u32, mac: [u8; 6], kind: MessageType) -> Message {
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&mac);
        let mut options = Options::default();
        options.set(code::MESSAGE_TYPE, vec![kind as u8]);
        Message {
            op: BOOTREQUEST,
            htype: HTYPE_ETHERNET,
            hlen: 6,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            options,
        }
    }

    /// The wire bytes: header, cookie, options (values over 255 bytes
    /// split as RFC 3396 says), end, padded to 300 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MIN_MESSAGE_LEN + 64);
        out.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for addr in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&addr.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.resize(HEADER_LEN, 0); // sname (64) and file (128)
        out.extend_from_slice(&MAGIC_COOKIE);
        for (code, value) in self.options.iter() {
            if value.is_empty() {
                out.extend_from_slice(&[code, 0]);
            }
            for piece in value.chunks(255) {
                out.push(code);
                out.push(piece.len() as u8);
                out.extend_from_slice(piece);
            }
        }
        out.push(code::END);
        if out.len() < MIN_MESSAGE_LEN {
            out.resize(MIN_MESSAGE_LEN, code::PAD);
        }
        out
    }

    /// The message type (option 53).
    pub fn message_type(&self) -> Option<MessageType> {
        match self.options.get(code::MESSAGE_TYPE) {
            Some([b]) => MessageType::from_byte(*b),
            _ => None,
        }
    }

    /// The client hardware address as `hlen` says.
    pub fn hardware_address(&self) -> &[u8] {
        &self.chaddr[..usize::from(self.hlen).min(16)]
    }

    /// Whether the BROADCAST flag is set.
    pub fn broadcast(&self) -> bool {
        self.flags & FLAG_BROADCAST != 0
    }

    /// Option 54.
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        self.options.get(code::SERVER_ID).and_then(addr)
    }

    /// Option 50.
    pub fn requested_ip(&self) -> Option<Ipv4Addr> {
        self.options.get(code::REQUESTED_IP).and_then(addr)
    }

    /// Option 1.
    pub fn subnet_mask(&self) -> Option<Ipv4Addr> {
        self.options.get(code::SUBNET_MASK).and_then(addr)
    }

    /// Option 3; empty when absent or malformed.
    pub fn routers(&self) -> Vec<Ipv4Addr> {
        self.options.get(code::ROUTERS).map(addrs).unwrap_or_default()
    }

    /// Option 6; empty when absent or malformed.
    pub fn dns_servers(&self) -> Vec<Ipv4Addr> {
        self.options.get(code::DNS_SERVERS).map(addrs).unwrap_or_default()
    }

    /// Option 15, as text (NULs at the end dropped, as some servers send them).
    pub fn domain_name(&self) -> Option<String> {
        self.options.get(code::DOMAIN_NAME).map(text)
    }

    /// Option 119, the domain search list (RFC 3397: DNS names with
    /// compression pointers into the option's data); empty when absent or
    /// malformed.
    pub fn search_domains(&self) -> Vec<String> {
        self.options.get(code::DOMAIN_SEARCH).map(search_list).unwrap_or_default()
    }

    /// Option 12.
    pub fn host_name(&self) -> Option<String> {
        self.options.get(code::HOST_NAME).map(text)
    }

    /// Option 56, the server's explanation (of a NAK).
    pub fn server_message(&self) -> Option<String> {
        self.options.get(code::MESSAGE).map(text)
    }

    /// Option 51.
    pub fn lease_time(&self) -> Option<u32> {
        self.options.get(code::LEASE_TIME).and_then(seconds)
    }

    /// Option 58 (T1).
    pub fn renewal_time(&self) -> Option<u32> {
        self.options.get(code::RENEWAL_TIME).and_then(seconds)
    }

    /// Option 59 (T2).
    pub fn rebinding_time(&self) -> Option<u32> {
        self.options.get(code::REBINDING_TIME).and_then(seconds)
    }

    /// Option 61.
    pub fn client_id(&self) -> Option<&[u8]> {
        self.options.get(code::CLIENT_ID)
    }

    /// Option 55.
    pub fn parameter_request_list(&self) -> Option<&[u8]> {
        self.options.get(code::PARAMETER_REQUEST_LIST)
    }

    /// Option 33 as routes; entries that are no route are skipped.
    pub fn static_routes(&self) -> Vec<Route> {
        self.options.get(code::STATIC_ROUTES).map(decode_static_routes).unwrap_or_default()
    }

    /// Option 121: `None` when absent or malformed (a client then uses
    /// option 33 and the routers, as the reference does).
    pub fn classless_routes(&self) -> Option<Vec<Route>> {
        self.options.get(code::CLASSLESS_ROUTES).and_then(|v| decode_classless_routes(v).ok())
    }
}

/// Reads bytes as a DHCP message. Any input gives a message or an error,
/// never a panic (the fuzzing entry point).
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    if buf.len() < HEADER_LEN + MAGIC_COOKIE.len() {
        return Err(DecodeError::TooShort(buf.len()));
    }
    if buf[HEADER_LEN..HEADER_LEN + 4] != MAGIC_COOKIE {
        return Err(DecodeError::BadCookie);
    }
    let hlen = buf[2];
    if hlen > 16 {
        return Err(DecodeError::BadHardwareLength(hlen));
    }
    let be32 = |at: usize| u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    let ip = |at: usize| Ipv4Addr::from(be32(at));
    let mut chaddr = [0u8; 16];
    chaddr.copy_from_slice(&buf[28..44]);
    let options = decode_options(&buf[HEADER_LEN + 4..], HEADER_LEN + 4)?;
    Ok(Message {
        op: buf[0],
        htype: buf[1],
        hlen,
        hops: buf[3],
        xid: be32(4),
        secs: u16::from_be_bytes([buf[8], buf[9]]),
        flags: u16::from_be_bytes([buf[10], buf[11]]),
        ciaddr: ip(12),
        yiaddr: ip(16),
        siaddr: ip(20),
        giaddr: ip(24),
        chaddr,
        options,
    })
}

/// The options field up to END (or the end of the bytes: a missing END is
/// tolerated). `base` is the field's offset, for error messages.
fn decode_options(field: &[u8], base: usize) -> Result<Options, DecodeError> {
    let mut options = Options::default();
    let mut at = 0;
    while let Some(&c) = field.get(at) {
        match c {
            code::PAD => at += 1,
            code::END => break,
            _ => {
                let truncated = DecodeError::TruncatedOption { code: c, offset: base + at };
                let len = usize::from(*field.get(at + 1).ok_or(truncated.clone())?);
                let value = field.get(at + 2..at + 2 + len).ok_or(truncated)?;
                options.append(c, value);
                at += 2 + len;
            }
        }
    }
    Ok(options)
}

fn addr(v: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from)
}

fn addrs(v: &[u8]) -> Vec<Ipv4Addr> {
    if !v.len().is_multiple_of(4) {
        return Vec::new();
    }
    v.chunks_exact(4).filter_map(addr).collect()
}

fn seconds(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

fn text(v: &[u8]) -> String {
    let end = v.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// A route from option 33 or 121: destination network and router
/// (`0.0.0.0` in option 121 means on-link, no router).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Route {
    /// Destination network address (host bits zero).
    pub dst: Ipv4Addr,
    /// Destination prefix length, 0 to 32.
    pub prefix: u8,
    /// Next hop.
    pub router: Ipv4Addr,
}

impl Route {
    /// A route, with the destination's host bits cleared. `None` when the
    /// prefix length exceeds 32.
    pub fn new(dst: Ipv4Addr, prefix: u8, router: Ipv4Addr) -> Option<Route> {
        let mask = prefix_mask(prefix)?;
        Some(Route { dst: Ipv4Addr::from(u32::from(dst) & mask), prefix, router })
    }
}

/// The netmask of a prefix length, as a number; `None` past 32.
pub fn prefix_mask(prefix: u8) -> Option<u32> {
    match prefix {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - u32::from(prefix))),
        _ => None,
    }
}

/// The prefix length of a netmask; `None` when its ones are not contiguous.
pub fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// Option 121 (RFC 3442): per route a prefix length, the destination's
/// significant octets (`ceil(prefix / 8)` of them), then the router. A
/// prefix over 32 or a route cut short makes the whole option invalid.
pub fn decode_classless_routes(v: &[u8]) -> Result<Vec<Route>, DecodeError> {
    let bad = DecodeError::TruncatedOption { code: code::CLASSLESS_ROUTES, offset: 0 };
    let mut routes = Vec::new();
    let mut at = 0;
    while let Some(&prefix) = v.get(at) {
        let significant = usize::from(prefix).div_ceil(8);
        if prefix > 32 {
            return Err(bad);
        }
        let dst_bytes = v.get(at + 1..at + 1 + significant).ok_or(bad.clone())?;
        let router = v.get(at + 1 + significant..at + 5 + significant).and_then(addr).ok_or(bad.clone())?;
        let mut dst = [0u8; 4];
        dst[..significant].copy_from_slice(dst_bytes);
        routes.extend(Route::new(Ipv4Addr::from(dst), prefix, router));
        at += 5 + significant;
    }
    Ok(routes)
}

/// Option 121 bytes for routes (the inverse of [`decode_classless_routes`]).
pub fn encode_classless_routes(routes: &[Route]) -> Vec<u8> {
    let mut out = Vec::new();
    for route in routes {
        let prefix = route.prefix.min(32);
        out.push(prefix);
        out.extend_from_slice(&route.dst.octets()[..usize::from(prefix).div_ceil(8)]);
        out.extend_from_slice(&route.router.octets());
    }
    out
}

/// Option 33 (RFC 2132 section 5.8): destination and router pairs, the
/// destination's mask taken from its class (A /8, B /16, C /24). Class D
/// and E destinations have no class mask, and 0.0.0.0 is, by the RFC, an
/// illegal destination: those entries are skipped, as is a trailing part
/// shorter than a pair.
pub fn decode_static_routes(v: &[u8]) -> Vec<Route> {
    v.chunks_exact(8)
        .filter_map(|pair| {
            let dst = Ipv4Addr::new(pair[0], pair[1], pair[2], pair[3]);
            let router = Ipv4Addr::new(pair[4], pair[5], pair[6], pair[7]);
            let prefix = match pair[0] {
                0 if dst.is_unspecified() => return None,
                0..=127 => 8,
                128..=191 => 16,
                192..=223 => 24,
                _ => return None,
            };
            Route::new(dst, prefix, router)
        })
        .collect()
}

/// The names of an RFC 3397 search list, or none when any is malformed.
fn search_list(data: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let Some((name, next)) = dns_name(data, at) else { return Vec::new() };
        if !name.is_empty() {
            names.push(name);
        }
        at = next;
    }
    names
}

/// The DNS name at `start` of `data` and where the next one starts.
/// Pointers (RFC 1035 4.1.4) must point backwards, so a loop cannot form.
fn dns_name(data: &[u8], start: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut at = start;
    let mut next = None;
    loop {
        let len = *data.get(at)?;
        match len {
            0 => {
                let end = next.unwrap_or(at + 1);
                return Some((labels.join("."), end));
            }
            l if l & 0xc0 == 0xc0 => {
                let target = (usize::from(l & 0x3f) << 8) | usize::from(*data.get(at + 1)?);
                if target >= at {
                    return None;
                }
                next.get_or_insert(at + 2);
                at = target;
            }
            l if l & 0xc0 == 0 => {
                let label = data.get(at + 1..at + 1 + usize::from(l))?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                if labels.len() > 127 {
                    return None;
                }
                at += 1 + usize::from(l);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_list_with_compression() {
        // RFC 3397's example: eng.apple.com and marketing.apple.com.
        let mut data = vec![3];
        data.extend_from_slice(b"eng");
        data.push(5);
        data.extend_from_slice(b"apple");
        data.push(3);
        data.extend_from_slice(b"com");
        data.push(0);
        data.push(9);
        data.extend_from_slice(b"marketing");
        data.extend_from_slice(&[0xc0, 4]);
        assert_eq!(search_list(&data), vec!["eng.apple.com", "marketing.apple.com"]);
        assert!(search_list(&[0xc0, 0]).is_empty(), "a pointer to itself");
        assert!(search_list(&[3, b'a']).is_empty(), "cut short");
    }

    fn sample() -> Message {
        let mut m = Message::new_request(0xdead_beef, [2, 0, 0, 0xaa, 0xbb, 0xcc], MessageType::Request);
        m.flags = FLAG_BROADCAST;
        m.secs = 3;
        m.ciaddr = Ipv4Addr::new(10, 228, 0, 9);
        m.options.set(code::CLIENT_ID, b"\0abc/net/eth0".to_vec());
        m.options.set(code::PARAMETER_REQUEST_LIST, vec![3, 1]);
        m.options.set(code::SERVER_ID, vec![10, 228, 0, 1]);
        m
    }

    #[test]
    fn encode_decode_round_trip() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(bytes.len(), 300, "padded to the BOOTP minimum");
        assert_eq!(&bytes[236..240], &MAGIC_COOKIE);
        assert_eq!(bytes[0], BOOTREQUEST);
        assert_eq!(&bytes[4..8], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&bytes[10..12], &[0x80, 0]);
        assert_eq!(&bytes[240..243], &[53, 1, 3], "message type first");
        let back = decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.message_type(), Some(MessageType::Request));
        assert!(back.broadcast());
        assert_eq!(back.hardware_address(), &[2, 0, 0, 0xaa, 0xbb, 0xcc]);
        assert_eq!(back.server_id(), Some(Ipv4Addr::new(10, 228, 0, 1)));
        assert_eq!(back.client_id(), Some(&b"\0abc/net/eth0"[..]));
    }

    #[test]
    fn reply_accessors() {
        let mut m = Message::new_request(1, [0; 6], MessageType::Ack);
        m.op = BOOTREPLY;
        m.yiaddr = Ipv4Addr::new(10, 228, 0, 20);
        m.options.set(code::SUBNET_MASK, vec![255, 255, 255, 0]);
        m.options.set(code::ROUTERS, vec![10, 228, 0, 1, 10, 228, 0, 2]);
        m.options.set(code::LEASE_TIME, 120u32.to_be_bytes().to_vec());
        m.options.set(code::RENEWAL_TIME, 60u32.to_be_bytes().to_vec());
        m.options.set(code::REBINDING_TIME, 105u32.to_be_bytes().to_vec());
        m.options.set(code::DOMAIN_NAME, b"example.test\0".to_vec());
        m.options.set(code::DNS_SERVERS, vec![10, 228, 0, 1, 10]);
        let back = decode(&m.encode()).unwrap();
        assert_eq!(back.subnet_mask(), Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(back.routers(), vec![Ipv4Addr::new(10, 228, 0, 1), Ipv4Addr::new(10, 228, 0, 2)]);
        assert_eq!(
            (back.lease_time(), back.renewal_time(), back.rebinding_time()),
            (Some(120), Some(60), Some(105))
        );
        assert_eq!(back.domain_name().as_deref(), Some("example.test"));
        assert!(back.dns_servers().is_empty(), "a list that is not whole addresses is no list");
    }

    #[test]
    fn long_options_are_split_and_joined() {
        let mut m = sample();
        let long: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        m.options.set(200, long.clone());
        let bytes = m.encode();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.options.get(200), Some(long.as_slice()));
        // Three pieces of 255, 255 and 90 on the wire.
        let pieces = bytes.windows(2).filter(|w| w[0] == 200 && (w[1] == 255 || w[1] == 90)).count();
        assert!(pieces >= 3);
    }

    #[test]
    fn garbage_and_truncated_packets_are_errors_not_panics() {
        let good = sample().encode();
        for len in 0..good.len() {
            // Every prefix decodes or fails cleanly; cut inside an option
            // is an error.
            let _ = decode(&good[..len]);
        }
        assert_eq!(decode(&good[..239]), Err(DecodeError::TooShort(239)));
        let mut bad_cookie = good.clone();
        bad_cookie[237] = 0;
        assert_eq!(decode(&bad_cookie), Err(DecodeError::BadCookie));
        let mut bad_hlen = good.clone();
        bad_hlen[2] = 17;
        assert_eq!(decode(&bad_hlen), Err(DecodeError::BadHardwareLength(17)));
        // An option whose length runs past the end.
        let mut cut = good[..240].to_vec();
        cut.extend_from_slice(&[61, 10, 1, 2]);
        assert!(matches!(decode(&cut), Err(DecodeError::TruncatedOption { code: 61, offset: 240 })));
        // A length byte missing.
        let mut cut = good[..240].to_vec();
        cut.push(53);
        assert!(matches!(decode(&cut), Err(DecodeError::TruncatedOption { code: 53, .. })));
        // No END: tolerated.
        let mut no_end = good[..240].to_vec();
        no_end.extend_from_slice(&[53, 1, 5]);
        assert_eq!(decode(&no_end).unwrap().message_type(), Some(MessageType::Ack));
        // Pseudo-random bytes with a valid cookie.
        let mut state = 0x1234_5678u32;
        for round in 0..2000 {
            let len = 240 + (round % 120);
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            buf[2] %= 17;
            buf[236..240].copy_from_slice(&MAGIC_COOKIE);
            if let Ok(m) = decode(&buf) {
                let _ = (m.classless_routes(), m.static_routes(), m.routers(), m.domain_name());
                let _ = m.encode();
            }
        }
    }

    #[test]
    fn wrong_sized_values_read_as_absent() {
        let mut m = sample();
        m.options.set(code::MESSAGE_TYPE, vec![5, 5]);
        m.options.set(code::SERVER_ID, vec![10, 228, 0]);
        m.options.set(code::LEASE_TIME, vec![0, 0, 1]);
        m.options.set(code::SUBNET_MASK, vec![]);
        let back = decode(&m.encode()).unwrap();
        assert_eq!(back.message_type(), None);
        assert_eq!(back.server_id(), None);
        assert_eq!(back.lease_time(), None);
        assert_eq!(back.subnet_mask(), None);
        assert_eq!(back.options.get(code::SUBNET_MASK), Some(&[][..]), "an empty option survives");
    }

    #[test]
    fn classless_routes_edge_cases() {
        let r = |a: [u8; 4], p, g: [u8; 4]| Route::new(a.into(), p, g.into()).unwrap();
        // Default route: prefix 0, no destination octets.
        assert_eq!(
            decode_classless_routes(&[0, 10, 228, 0, 1]).unwrap(),
            vec![r([0; 4], 0, [10, 228, 0, 1])]
        );
        // /32: four octets.
        assert_eq!(
            decode_classless_routes(&[32, 10, 228, 0, 7, 0, 0, 0, 0]).unwrap(),
            vec![r([10, 228, 0, 7], 32, [0; 4])]
        );
        // /9 takes two octets; bits past the prefix are cleared.
        assert_eq!(
            decode_classless_routes(&[9, 10, 0xff, 10, 228, 0, 1]).unwrap(),
            vec![Route {
                dst: Ipv4Addr::new(10, 128, 0, 0),
                prefix: 9,
                router: Ipv4Addr::new(10, 228, 0, 1)
            }]
        );
        // RFC 3442's own example: 10.17.0.0/16 via 10.27.129.1 is 16 10 17 10 27 129 1.
        let example = r([10, 17, 0, 0], 16, [10, 27, 129, 1]);
        assert_eq!(encode_classless_routes(&[example]), vec![16, 10, 17, 10, 27, 129, 1]);
        // Several routes round trip.
        let routes = vec![
            r([10, 228, 128, 0], 17, [10, 228, 0, 1]),
            r([10, 228, 64, 0], 18, [0; 4]),
            r([0; 4], 0, [10, 228, 0, 1]),
            r([10, 228, 0, 9], 32, [10, 228, 0, 1]),
        ];
        assert_eq!(decode_classless_routes(&encode_classless_routes(&routes)).unwrap(), routes);
        // Empty option: no routes (and not malformed).
        assert_eq!(decode_classless_routes(&[]).unwrap(), vec![]);
        // Prefix over 32, router cut short, destination cut short.
        assert!(decode_classless_routes(&[33, 1, 2, 3, 4, 5, 6, 7, 8]).is_err());
        assert!(decode_classless_routes(&[24, 10, 228, 0, 10, 228, 0]).is_err());
        assert!(decode_classless_routes(&[24, 10, 228]).is_err());
        // One good route then garbage: the whole option is malformed.
        assert!(decode_classless_routes(&[0, 10, 228, 0, 1, 8]).is_err());
        let mut m = sample();
        m.options.set(code::CLASSLESS_ROUTES, vec![33, 0, 0, 0, 0]);
        assert_eq!(decode(&m.encode()).unwrap().classless_routes(), None);
    }

    #[test]
    fn static_routes_use_class_masks() {
        let v = [
            10, 1, 2, 3, 10, 228, 0, 1, // class A: 10.0.0.0/8
            172, 16, 5, 0, 10, 228, 0, 2, // class B: 172.16.0.0/16
            192, 168, 7, 9, 10, 228, 0, 3, // class C: 192.168.7.0/24
            224, 0, 0, 1, 10, 228, 0, 4, // class D: skipped
            0, 0, 0, 0, 10, 228, 0, 5, // default: illegal, skipped
            1, 2, 3, // a part shorter than a pair: ignored
        ];
        let routes = decode_static_routes(&v);
        assert_eq!(
            routes.iter().map(|r| (r.dst.to_string(), r.prefix, r.router.octets()[3])).collect::<Vec<_>>(),
            vec![
                ("10.0.0.0".to_string(), 8, 1),
                ("172.16.0.0".to_string(), 16, 2),
                ("192.168.7.0".to_string(), 24, 3)
            ]
        );
    }

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(mask_prefix(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(mask_prefix(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(mask_prefix(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(mask_prefix(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert_eq!(prefix_mask(33), None);
        assert_eq!(prefix_mask(1), Some(0x8000_0000));
    }
}
