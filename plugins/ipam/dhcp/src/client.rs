//! The DHCPv4 client exchanges of RFC 2131 over one interface:
//! acquisition (INIT, SELECTING, REQUESTING), INIT-REBOOT, RENEWING,
//! REBINDING and RELEASE, each bounded in time.
//!
//! This is the layer the dhcp plugin's daemon stands on: each call is one
//! exchange, started and ended here, and the daemon decides when to make
//! it (at T1, T2, on ADD and DEL). Where the reference departs from the
//! RFC, this follows the RFC: at T2 it rebinds (a broadcast REQUEST with
//! ciaddr) instead of starting over with a DISCOVER, and a release leaves
//! from the leased address, unicast to the server (plugins#1278).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant, SystemTime};

use crate::lease::Lease;
use crate::message::{code, decode, Message, MessageType, BOOTREPLY, FLAG_BROADCAST, SERVER_PORT};
use crate::options::SentOptions;
use crate::socket::DhcpSocket;

/// The largest message the client says it accepts (option 57).
const MAX_MESSAGE_SIZE: u16 = 1500;

/// How long exchanges wait and how often they retransmit: RFC 2131
/// section 4.1's exponential backoff, randomized, with a cap and an
/// overall bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The wait for a reply after the first transmission.
    pub first_wait: Duration,
    /// The cap on the doubling wait (the reference's `-resendmax`, 62 s).
    pub max_wait: Duration,
    /// The bound on one whole exchange (the reference's `-resendtimeout`, 208 s).
    pub total: Duration,
    /// Each wait is moved by a random amount within plus or minus this.
    pub jitter: Duration,
    /// REQUESTs sent in REQUESTING before starting over with a DISCOVER.
    pub request_tries: u32,
    /// DHCPNAKs taken in acquisition before giving up.
    pub max_naks: u32,
    /// The first DISCOVER wait when the client set the link up itself.
    pub after_link_up: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            first_wait: Duration::from_secs(4),
            max_wait: Duration::from_secs(62),
            total: Duration::from_secs(208),
            jitter: Duration::from_secs(1),
            request_tries: 4,
            max_naks: 4,
            after_link_up: Duration::from_secs(1),
        }
    }
}

/// What a client sends as itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The interface, in the namespace the client is opened in.
    pub ifname: String,
    /// The client identifier (option 61), [`crate::options::client_id`]
    /// for an attachment. A provided option 61 replaces it everywhere,
    /// release included.
    pub client_id: Vec<u8>,
    /// Options from the netconf and the parameter request list.
    pub options: SentOptions,
    /// Retransmission and bounds.
    pub timing: Timing,
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpError {
    /// The socket or the interface failed.
    Io(String),
    /// No acceptable reply came in time.
    NoAnswer {
        /// What was waited for.
        waited_for: &'static str,
        /// The interface.
        ifname: String,
        /// How long the exchange took.
        elapsed: Duration,
        /// How many messages were sent.
        sent: u32,
    },
    /// The server refused.
    Nak {
        /// The interface.
        ifname: String,
        /// The refusing server.
        server: Ipv4Addr,
        /// Its explanation (option 56).
        message: Option<String>,
    },
    /// The server's reply cannot be used.
    BadReply(String),
}

impl fmt::Display for DhcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DhcpError::Io(msg) => f.write_str(msg),
            DhcpError::NoAnswer { waited_for, ifname, elapsed, sent } => write!(
                f,
                "no {waited_for} from a DHCP server on {ifname} within {:.1}s ({sent} messages sent)",
                elapsed.as_secs_f64()
            ),
            DhcpError::Nak { ifname, server, message } => {
                write!(f, "DHCP server {server} refused the request on {ifname} (DHCPNAK)")?;
                match message {
                    Some(m) if !m.is_empty() => write!(f, ": {m}"),
                    _ => Ok(()),
                }
            }
            DhcpError::BadReply(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for DhcpError {}

impl From<DhcpError> for cni::CniError {
    /// No answer is code 11 (try again later); the rest are internal errors.
    fn from(e: DhcpError) -> cni::CniError {
        let code = match e {
            DhcpError::NoAnswer { .. } => cni::ErrorCode::TryAgainLater,
            _ => cni::ErrorCode::Internal,
        };
        cni::CniError::new(code, e.to_string())
    }
}

/// Random bytes from the kernel (transaction IDs, jitter).
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        // No entropy: the clock still makes IDs differ between calls.
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        return (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    }
    u64::from_ne_bytes(bytes)
}

/// `wait` moved by a random amount within `jitter` (at most a quarter of
/// the wait: RFC 2131's plus or minus 1 s is meant for its 4 s and up),
/// never below a tenth of a second.
fn jittered(wait: Duration, jitter: Duration) -> Duration {
    let span = jitter.min(wait / 4).as_millis().min(u128::from(u32::MAX)) as u64;
    if span == 0 {
        return wait.max(Duration::from_millis(100));
    }
    let offset = random_u64() % (2 * span + 1);
    let ms = (wait.as_millis().min(u128::from(u64::MAX / 2)) as u64 + offset).saturating_sub(span);
    Duration::from_millis(ms.max(100))
}

/// The limited broadcast address and the server port.
fn broadcast() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT)
}

/// A reply an exchange accepted, and when its request was first sent.
struct Reply {
    message: Message,
    from: SocketAddrV4,
    first_sent: SystemTime,
    sent: u32,
}

/// When an exchange may send: the whole operation's start (for `secs`)
/// and deadline, the first wait, and at most how many sends.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    deadline: Instant,
    first_wait: Duration,
    tries: Option<u32>,
}

/// The outcome of one exchange: a reply, or how many were sent in vain.
enum Outcome {
    Reply(Reply),
    Silent(u32),
}

/// A DHCP client on one interface.
#[derive(Debug)]
pub struct Client {
    config: Config,
    socket: DhcpSocket,
}

impl Client {
    /// Opens the client's socket on `config.ifname` in the calling
    /// thread's network namespace (bringing the link up if needed).
    pub fn open(config: Config) -> Result<Client, DhcpError> {
        let socket = DhcpSocket::open(&config.ifname).map_err(|e| DhcpError::Io(e.to_string()))?;
        Ok(Client { config, socket })
    }

    /// Opens the client inside `netns` (on a thread of its own, which
    /// ends); the socket stays in that namespace, usable from any thread.
    pub fn open_in(netns: &cni::netns::Netns, config: Config) -> Result<Client, DhcpError> {
        netns
            .run(|| Client::open(config).map_err(|e| cni::CniError::internal(e.to_string())))
            .map_err(|e| DhcpError::Io(e.msg))
    }

    /// The interface's hardware address.
    pub fn mac(&self) -> [u8; 6] {
        self.socket.mac()
    }

    /// The client identifier on the wire: a provided option 61, else the
    /// configured one.
    pub fn client_id(&self) -> &[u8] {
        self.config
            .options
            .provided
            .iter()
            .find(|(c, _)| *c == code::CLIENT_ID)
            .map_or(self.config.client_id.as_slice(), |(_, v)| v.as_slice())
    }

    /// A client message with the client id, request list and provided options.
    fn message(&self, xid: u32, kind: MessageType, secs: u16) -> Message {
        let mut m = Message::new_request(xid, self.mac(), kind);
        m.secs = secs;
        m.options.set(code::CLIENT_ID, self.client_id().to_vec());
        if !self.config.options.request_list.is_empty() {
            m.options.set(code::PARAMETER_REQUEST_LIST, self.config.options.request_list.clone());
        }
        m.options.set(code::MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE.to_be_bytes().to_vec());
        for (c, v) in &self.config.options.provided {
            m.options.set(*c, v.clone());
        }
        m
    }

    /// Sends `build(secs)` and waits for a reply `accept` takes,
    /// retransmitting with backoff until the window's end or its tries.
    fn exchange(
        &self,
        build: &dyn Fn(u16) -> Message,
        dst: SocketAddrV4,
        source: Option<Ipv4Addr>,
        accept: &dyn Fn(&Message) -> bool,
        window: Window,
    ) -> Result<Outcome, DhcpError> {
        let timing = &self.config.timing;
        let Window { started, deadline, first_wait, tries } = window;
        let mut wait = first_wait;
        let mut sent = 0u32;
        let mut first_sent = None;
        let mut buf = vec![0u8; 65536];
        while Instant::now() < deadline && tries.is_none_or(|t| sent < t) {
            let secs = started.elapsed().as_secs().min(u64::from(u16::MAX)) as u16;
            let bytes = build(secs).encode();
            self.socket
                .send(&bytes, dst, source)
                .map_err(|e| DhcpError::Io(format!("sending to {dst} on {}: {e}", self.config.ifname)))?;
            sent += 1;
            let first_sent = *first_sent.get_or_insert_with(SystemTime::now);
            let until = (Instant::now() + jittered(wait, timing.jitter)).min(deadline);
            loop {
                let left = until.saturating_duration_since(Instant::now());
                let Some((n, from)) = self
                    .socket
                    .recv(&mut buf, left)
                    .map_err(|e| DhcpError::Io(format!("receiving on {}: {e}", self.config.ifname)))?
                else {
                    break;
                };
                let Ok(message) = decode(&buf[..n]) else { continue };
                if message.op == BOOTREPLY && message.hardware_address() == self.mac() && accept(&message) {
                    return Ok(Outcome::Reply(Reply { message, from, first_sent, sent }));
                }
            }
            wait = (wait * 2).min(timing.max_wait);
        }
        Ok(Outcome::Silent(sent))
    }

    /// The retransmission window of an exchange within `started..deadline`.
    fn window(&self, started: Instant, deadline: Instant) -> Window {
        Window { started, deadline, first_wait: self.config.timing.first_wait, tries: None }
    }

    fn no_answer(&self, waited_for: &'static str, started: Instant, sent: u32) -> DhcpError {
        DhcpError::NoAnswer {
            waited_for,
            ifname: self.config.ifname.clone(),
            elapsed: started.elapsed(),
            sent,
        }
    }

    fn nak(&self, reply: &Reply) -> DhcpError {
        DhcpError::Nak {
            ifname: self.config.ifname.clone(),
            server: reply.message.server_id().unwrap_or(*reply.from.ip()),
            message: reply.message.server_message(),
        }
    }

    fn lease(&self, reply: &Reply) -> Result<Lease, DhcpError> {
        Lease::from_ack(&reply.message, reply.first_sent, *reply.from.ip()).map_err(DhcpError::BadReply)
    }

    /// Gets a new lease: broadcast DISCOVER, take the first OFFER,
    /// broadcast REQUEST for it, until an ACK. A NAK, or a REQUEST left
    /// unanswered `request_tries` times, starts over with a new DISCOVER;
    /// the whole is bounded by `timing.total`.
    pub fn acquire(&self) -> Result<Lease, DhcpError> {
        let started = Instant::now();
        let deadline = started + self.config.timing.total;
        let mut naks = 0;
        let mut sent_total = 0;
        // A link the client just set up may lose the first DISCOVER, or
        // its OFFER, while the kernel activates it and its peer (link
        // watch): the first retransmission then comes sooner.
        let mut discovering = self.window(started, deadline);
        if self.socket.brought_up() {
            discovering.first_wait = discovering.first_wait.min(self.config.timing.after_link_up);
        }
        loop {
            let xid = random_u64() as u32;
            let discover = |secs| {
                let mut m = self.message(xid, MessageType::Discover, secs);
                m.flags = FLAG_BROADCAST;
                m
            };
            let offered = |m: &Message| {
                m.xid == xid
                    && m.message_type() == Some(MessageType::Offer)
                    && m.server_id().is_some()
                    && !m.yiaddr.is_unspecified()
            };
            let offer = match self.exchange(&discover, broadcast(), None, &offered, discovering)? {
                Outcome::Reply(r) => {
                    sent_total += r.sent;
                    r.message
                }
                Outcome::Silent(sent) => return Err(self.no_answer("DHCPOFFER", started, sent_total + sent)),
            };
            let (address, server) = (offer.yiaddr, offer.server_id());
            let request = |secs| {
                let mut m = self.message(xid, MessageType::Request, secs);
                m.flags = FLAG_BROADCAST;
                m.options.set(code::REQUESTED_IP, address.octets().to_vec());
                if let Some(server) = server {
                    m.options.set(code::SERVER_ID, server.octets().to_vec());
                }
                m
            };
            let answered = |m: &Message| {
                m.xid == xid
                    && matches!(m.message_type(), Some(MessageType::Ack | MessageType::Nak))
                    && (m.server_id().is_none() || m.server_id() == server)
            };
            let tries = Some(self.config.timing.request_tries.max(1));
            let requesting = Window { tries, ..self.window(started, deadline) };
            match self.exchange(&request, broadcast(), None, &answered, requesting)? {
                Outcome::Reply(r) if r.message.message_type() == Some(MessageType::Ack) => {
                    return self.lease(&r)
                }
                Outcome::Reply(r) => {
                    sent_total += r.sent;
                    naks += 1;
                    if naks > self.config.timing.max_naks {
                        return Err(self.nak(&r));
                    }
                }
                Outcome::Silent(sent) => {
                    sent_total += sent;
                    if Instant::now() >= deadline {
                        return Err(self.no_answer("DHCPACK", started, sent_total));
                    }
                }
            }
        }
    }

    /// An exchange for an address the client holds or held: RENEWING
    /// (unicast to the server), REBINDING (broadcast) or INIT-REBOOT
    /// (broadcast, address in option 50).
    fn confirm(&self, lease: &Lease, state: State, by: Option<SystemTime>) -> Result<Lease, DhcpError> {
        let started = Instant::now();
        let mut deadline = started + self.config.timing.total;
        if let Some(by) = by {
            let left = by.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            deadline = deadline.min(started + left);
        }
        let xid = random_u64() as u32;
        let request = |secs| {
            let mut m = self.message(xid, MessageType::Request, secs);
            match state {
                State::Renewing | State::Rebinding => m.ciaddr = lease.address,
                State::Rebooting => {
                    m.flags = FLAG_BROADCAST;
                    m.options.set(code::REQUESTED_IP, lease.address.octets().to_vec());
                }
            }
            m
        };
        let answered = |m: &Message| {
            m.xid == xid && matches!(m.message_type(), Some(MessageType::Ack | MessageType::Nak))
        };
        let (dst, source) = match state {
            State::Renewing => (SocketAddrV4::new(lease.server_id, SERVER_PORT), Some(lease.address)),
            State::Rebinding => (broadcast(), Some(lease.address)),
            State::Rebooting => (broadcast(), None),
        };
        let reply = match self.exchange(&request, dst, source, &answered, self.window(started, deadline))? {
            Outcome::Reply(r) => r,
            Outcome::Silent(sent) => return Err(self.no_answer("DHCPACK", started, sent)),
        };
        if reply.message.message_type() == Some(MessageType::Nak) {
            return Err(self.nak(&reply));
        }
        let renewed = self.lease(&reply)?;
        if renewed.address != lease.address {
            return Err(DhcpError::BadReply(format!(
                "DHCP server {} acknowledged {} for the lease on {}",
                renewed.server_id, renewed.address, lease.address
            )));
        }
        Ok(renewed)
    }

    /// RENEWING (past T1): a REQUEST with ciaddr, unicast from the leased
    /// address to the server that granted it. The address must be on the
    /// interface: the ACK comes back unicast to it.
    pub fn renew(&self, lease: &Lease) -> Result<Lease, DhcpError> {
        self.confirm(lease, State::Renewing, None)
    }

    /// REBINDING (past T2): the same REQUEST broadcast, for any server to
    /// answer (RFC 2131 section 4.4.5), where the reference sends a new
    /// DISCOVER.
    pub fn rebind(&self, lease: &Lease) -> Result<Lease, DhcpError> {
        self.confirm(lease, State::Rebinding, None)
    }

    /// [`Client::renew`], retransmitting no later than `by` (T2, when
    /// rebinding takes over).
    pub fn renew_by(&self, lease: &Lease, by: Option<SystemTime>) -> Result<Lease, DhcpError> {
        self.confirm(lease, State::Renewing, by)
    }

    /// [`Client::rebind`], retransmitting no later than `by` (the expiry).
    pub fn rebind_by(&self, lease: &Lease, by: Option<SystemTime>) -> Result<Lease, DhcpError> {
        self.confirm(lease, State::Rebinding, by)
    }

    /// INIT-REBOOT: asks to keep an address the client held (after a
    /// restart, or once the lease expired), broadcast with the address in
    /// option 50 and no server id. A NAK means start over with
    /// [`Client::acquire`].
    pub fn reboot(&self, lease: &Lease) -> Result<Lease, DhcpError> {
        self.confirm(lease, State::Rebooting, None)
    }

    /// DHCPRELEASE: ciaddr and option 54 set, no option 50 (a server may
    /// take option 50 to mean ciaddr is not meant, and drop the release),
    /// sent once, unicast to the server from the leased address (RFC 2131
    /// section 4.4.6). No reply comes; the address must be on the
    /// interface.
    pub fn release(&self, lease: &Lease) -> Result<(), DhcpError> {
        let mut m = Message::new_request(random_u64() as u32, self.mac(), MessageType::Release);
        m.ciaddr = lease.address;
        m.options.set(code::SERVER_ID, lease.server_id.octets().to_vec());
        m.options.set(code::CLIENT_ID, self.client_id().to_vec());
        let dst = SocketAddrV4::new(lease.server_id, SERVER_PORT);
        self.socket.send(&m.encode(), dst, Some(lease.address)).map_err(|e| {
            DhcpError::Io(format!(
                "sending DHCPRELEASE for {} to {dst} on {}: {e}",
                lease.address, self.config.ifname
            ))
        })
    }
}

/// The states [`Client::confirm`] serves.
#[derive(Debug, Clone, Copy)]
enum State {
    Renewing,
    Rebinding,
    Rebooting,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_span() {
        for _ in 0..200 {
            let w = jittered(Duration::from_secs(4), Duration::from_secs(1));
            assert!(w >= Duration::from_secs(3) && w <= Duration::from_secs(5), "{w:?}");
        }
        for _ in 0..200 {
            let w = jittered(Duration::from_secs(1), Duration::from_secs(1));
            assert!(w >= Duration::from_millis(750) && w <= Duration::from_millis(1250), "{w:?}");
        }
        assert_eq!(jittered(Duration::from_millis(500), Duration::ZERO), Duration::from_millis(500));
        assert_eq!(jittered(Duration::ZERO, Duration::from_millis(50)), Duration::from_millis(100), "floor");
    }

    #[test]
    fn no_answer_message_names_interface_and_bound() {
        let e = DhcpError::NoAnswer {
            waited_for: "DHCPOFFER",
            ifname: "eth0".into(),
            elapsed: Duration::from_millis(3012),
            sent: 3,
        };
        assert_eq!(e.to_string(), "no DHCPOFFER from a DHCP server on eth0 within 3.0s (3 messages sent)");
        assert_eq!(cni::CniError::from(e).code, 11);
    }
}
