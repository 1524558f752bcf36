//! The one netlink transport of the plugin binary: a blocking socket that
//! route (links, addresses, routes, rules, tc), nftables and conntrack
//! requests all go through.
//!
//! Synchronous on purpose: a plugin makes a handful of requests in order
//! and exits, so an async runtime bought nothing but its threads, their
//! start-up and their page faults. Here a request is one `send` and the
//! `recv`s of its answer, on the calling thread.
//!
//! What it owns: sequence numbers (each message of a send gets its own,
//! and answers to anything else are skipped), ACKs and error ACKs (the
//! kernel's errno kept, for `KernelError`), multipart dumps (read to
//! `NLMSG_DONE`; one the kernel marks `NLM_F_DUMP_INTR` is asked again),
//! batches (several messages in one send, each acknowledged), and the
//! bound on waiting ([`REQUEST_LIMIT`], a receive timeout on the socket).

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::error::KernelError;

/// `NETLINK_ROUTE`: links, addresses, routes, rules, tc.
pub const NETLINK_ROUTE: i32 = libc::NETLINK_ROUTE;
/// `NETLINK_NETFILTER`: nftables and conntrack.
pub const NETLINK_NETFILTER: i32 = libc::NETLINK_NETFILTER;

/// How long one request or dump may take. The kernel answers in
/// milliseconds, even under RTNL contention; a request it dropped (one
/// too large, say) is never answered, and without a limit the plugin
/// would wait forever.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(60);

/// NLM_F_REQUEST.
pub const NLM_F_REQUEST: u16 = 0x01;
/// NLM_F_MULTI: one part of a multipart answer.
pub const NLM_F_MULTI: u16 = 0x02;
/// NLM_F_ACK: answer with an ACK (an NLMSG_ERROR of code 0) when done.
pub const NLM_F_ACK: u16 = 0x04;
/// NLM_F_DUMP_INTR: the dump changed while it was read; ask again.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// NLM_F_DUMP (ROOT | MATCH).
pub const NLM_F_DUMP: u16 = 0x300;
/// NLM_F_REPLACE.
pub const NLM_F_REPLACE: u16 = 0x100;
/// NLM_F_EXCL.
pub const NLM_F_EXCL: u16 = 0x200;
/// NLM_F_CREATE.
pub const NLM_F_CREATE: u16 = 0x400;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const HEADER_LEN: usize = 16;
/// How many times a dump the kernel marks interrupted is asked again.
const DUMP_ATTEMPTS: usize = 10;
/// Receive buffer: the kernel's dump parts are at most 32 KiB (or a page).
const RECEIVE_BUFFER: usize = 64 * 1024;
/// NETLINK_CAP_ACK: error ACKs carry the request's header only.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// NETLINK_GET_STRICT_CHK: the kernel filters dumps by the header's fields.
const NETLINK_GET_STRICT_CHK: libc::c_int = 12;

/// A failed exchange: the kernel's errno, or the transport's own failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NlError {
    /// The kernel answered with this errno (positive).
    Kernel(i32),
    /// No answer within the socket's limit.
    TimedOut,
    /// The socket itself failed, or an answer could not be read.
    Transport(String),
}

impl NlError {
    /// The errno, for the kernel's refusals and for a timeout (ETIMEDOUT).
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Kernel(errno) => Some(*errno),
            NlError::TimedOut => Some(libc::ETIMEDOUT),
            NlError::Transport(_) => None,
        }
    }

    /// As the kernel layer's error, prefixed with what was asked.
    pub fn into_kernel(self, what: impl std::fmt::Display) -> KernelError {
        match self {
            NlError::Kernel(errno) => KernelError::os(what, errno),
            NlError::TimedOut => KernelError::os(what, libc::ETIMEDOUT),
            NlError::Transport(why) => KernelError::other(format!("{what}: {why}")),
        }
    }
}

/// One message to send: its type and flags and what follows its header.
/// The transport adds NLM_F_REQUEST and fills in length and sequence.
#[derive(Debug, Clone)]
pub struct Message {
    /// nlmsg_type.
    pub kind: u16,
    /// nlmsg_flags (NLM_F_REQUEST is always added).
    pub flags: u16,
    /// The payload after the header.
    pub payload: Vec<u8>,
}

impl Message {
    /// A message of `kind` with `flags` and `payload`.
    pub fn new(kind: u16, flags: u16, payload: Vec<u8>) -> Message {
        Message { kind, flags, payload }
    }

    /// A message from bytes that already start with a netlink header (as
    /// the netlink-packet crates serialize one): type and flags are read
    /// from it, the rest is its payload.
    pub fn from_serialized(bytes: &[u8]) -> Option<Message> {
        let len = (u32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?) as usize).min(bytes.len());
        let kind = u16::from_ne_bytes(bytes.get(4..6)?.try_into().ok()?);
        let flags = u16::from_ne_bytes(bytes.get(6..8)?.try_into().ok()?);
        Some(Message { kind, flags, payload: bytes.get(HEADER_LEN..len)?.to_vec() })
    }

    fn append_to(&self, buf: &mut Vec<u8>, seq: u32) {
        let len = HEADER_LEN + self.payload.len();
        buf.extend_from_slice(&(len as u32).to_ne_bytes());
        buf.extend_from_slice(&self.kind.to_ne_bytes());
        buf.extend_from_slice(&(self.flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&self.payload);
        buf.resize(buf.len() + (4 - len % 4) % 4, 0);
    }
}

/// One message of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// nlmsg_type.
    pub kind: u16,
    /// nlmsg_flags.
    pub flags: u16,
    /// nlmsg_seq.
    pub seq: u32,
    /// The whole message, header included (what the netlink-packet
    /// crates parse).
    pub bytes: Vec<u8>,
}

impl Answer {
    /// What follows the header.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }

    /// For an NLMSG_ERROR, its code: 0 for an ACK, else the errno (positive).
    fn error_code(&self) -> Option<i32> {
        if self.kind != NLMSG_ERROR {
            return None;
        }
        let code = self.payload().get(..4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        Some(code.map(|c| -c).unwrap_or(libc::EIO))
    }
}

/// Splits one datagram into its messages; a truncated one ends the list.
pub fn split_datagram(datagram: &[u8]) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut at = 0;
    while at + HEADER_LEN <= datagram.len() {
        let word = |i: usize| [datagram[i], datagram[i + 1], datagram[i + 2], datagram[i + 3]];
        let len = u32::from_ne_bytes(word(at)) as usize;
        if len < HEADER_LEN || at + len > datagram.len() {
            break;
        }
        answers.push(Answer {
            kind: u16::from_ne_bytes([datagram[at + 4], datagram[at + 5]]),
            flags: u16::from_ne_bytes([datagram[at + 6], datagram[at + 7]]),
            seq: u32::from_ne_bytes(word(at + 8)),
            bytes: datagram[at..at + len].to_vec(),
        });
        at += (len + 3) & !3;
    }
    answers
}

/// How reading one dump ended.
#[derive(Debug, PartialEq, Eq)]
enum DumpEnd {
    /// Complete: every part's message.
    Done(Vec<Answer>),
    /// The kernel marked a part NLM_F_DUMP_INTR: read to the end, to be asked again.
    Interrupted,
}

/// Reads the answers of one dump (sequence `seq`) from `next` (one
/// datagram's messages per call) to its end. A non-multipart answer is
/// the whole answer (a GET of one object).
fn read_dump(seq: u32, mut next: impl FnMut() -> Result<Vec<Answer>, NlError>) -> Result<DumpEnd, NlError> {
    let mut parts = Vec::new();
    let mut interrupted = false;
    loop {
        for answer in next()? {
            if answer.seq != seq || answer.kind == NLMSG_NOOP {
                continue;
            }
            interrupted |= answer.flags & NLM_F_DUMP_INTR != 0;
            match answer.kind {
                NLMSG_DONE => {
                    return Ok(if interrupted { DumpEnd::Interrupted } else { DumpEnd::Done(parts) })
                }
                NLMSG_ERROR => {
                    return match answer.error_code() {
                        Some(0) | None => Ok(DumpEnd::Done(parts)),
                        Some(errno) => Err(NlError::Kernel(errno)),
                    };
                }
                NLMSG_OVERRUN => return Err(NlError::Transport("answer overrun".into())),
                _ => {
                    let multi = answer.flags & NLM_F_MULTI != 0;
                    parts.push(answer);
                    if !multi {
                        return Ok(DumpEnd::Done(parts));
                    }
                }
            }
        }
    }
}

/// A blocking netlink socket of one protocol, in the namespace of the
/// thread that opened it.
pub struct Socket {
    fd: OwnedFd,
    next_seq: Cell<u32>,
    buffer: RefCell<Vec<u8>>,
}

impl Socket {
    /// Opens and binds a socket of `protocol` ([`NETLINK_ROUTE`],
    /// [`NETLINK_NETFILTER`]), its receives bounded by [`REQUEST_LIMIT`].
    pub fn open(protocol: i32) -> Result<Socket, KernelError> {
        let failed = |what: &str| {
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
            KernelError::os(format!("netlink: {what}"), errno)
        };
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(failed("open socket"));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        let size = std::mem::size_of::<libc::sockaddr_nl>() as u32;
        // SAFETY: addr is a valid sockaddr_nl of `size` bytes.
        if unsafe { libc::bind(fd.as_raw_fd(), (&addr as *const libc::sockaddr_nl).cast(), size) } < 0 {
            return Err(failed("bind socket"));
        }
        // Reserved, not zeroed: only the pages an answer is written to are
        // touched (an answer is mostly one page; zeroing 64 KiB cost every
        // socket 16 page faults).
        let buffer = RefCell::new(Vec::with_capacity(RECEIVE_BUFFER));
        let socket = Socket { fd, next_seq: Cell::new(1), buffer };
        socket.set_limit(REQUEST_LIMIT).map_err(|e| e.into_kernel("netlink: set receive timeout"))?;
        // Best effort: an older kernel echoes the whole request in an error.
        let _ = socket.set_option(NETLINK_CAP_ACK, 1);
        Ok(socket)
    }

    /// Lets the kernel filter dumps by the request header's fields (the
    /// addresses of one link, say) instead of sending everything. Best
    /// effort: kernels before 4.20 ignore it and send everything, which
    /// callers filter again.
    pub fn set_strict_check(&self) {
        let _ = self.set_option(NETLINK_GET_STRICT_CHK, 1);
    }

    fn set_option(&self, option: libc::c_int, value: libc::c_int) -> Result<(), NlError> {
        let len = std::mem::size_of::<libc::c_int>() as u32;
        // SAFETY: value is a valid c_int of `len` bytes.
        let set = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_NETLINK,
                option,
                (&value as *const libc::c_int).cast(),
                len,
            )
        };
        if set < 0 {
            return Err(NlError::Transport(io::Error::last_os_error().to_string()));
        }
        Ok(())
    }

    /// Bounds each wait for an answer (a receive timeout on the socket).
    pub fn set_limit(&self, limit: Duration) -> Result<(), NlError> {
        let timeout = libc::timeval {
            tv_sec: limit.as_secs() as libc::time_t,
            tv_usec: limit.subsec_micros() as libc::suseconds_t,
        };
        let len = std::mem::size_of::<libc::timeval>() as u32;
        // SAFETY: timeout is a valid timeval of `len` bytes.
        let set = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                len,
            )
        };
        if set < 0 {
            return Err(NlError::Transport(io::Error::last_os_error().to_string()));
        }
        Ok(())
    }

    /// Sends messages in one datagram, each with a sequence number of its
    /// own; returns the numbers.
    fn send(&self, messages: &[Message]) -> Result<Vec<u32>, NlError> {
        let mut buf = Vec::new();
        let mut seqs = Vec::with_capacity(messages.len());
        for message in messages {
            let seq = self.next_seq.get();
            self.next_seq.set(seq.wrapping_add(1).max(1));
            message.append_to(&mut buf, seq);
            seqs.push(seq);
        }
        // SAFETY: buf is valid for its length.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if sent < 0 {
            let err = io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(errno) => NlError::Kernel(errno),
                None => NlError::Transport(format!("send: {err}")),
            });
        }
        if sent as usize != buf.len() {
            return Err(NlError::Transport(format!("send: {sent} of {} bytes", buf.len())));
        }
        Ok(seqs)
    }

    /// The messages of the next datagram.
    fn receive(&self) -> Result<Vec<Answer>, NlError> {
        let mut buf = self.buffer.borrow_mut();
        buf.clear();
        loop {
            // SAFETY: the kernel writes at most `capacity` bytes to the
            // buffer's spare capacity; only what it wrote is read below.
            let got = unsafe {
                libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.capacity(), libc::MSG_TRUNC)
            };
            if got < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Err(NlError::TimedOut),
                    _ => return Err(NlError::Transport(format!("recv: {err}"))),
                }
            }
            if got as usize > buf.capacity() {
                return Err(NlError::Transport(format!("recv: a {got}-byte answer was cut")));
            }
            // SAFETY: recv wrote `got` bytes (no more than the capacity) from the start.
            unsafe { buf.set_len(got as usize) };
            return Ok(split_datagram(&buf));
        }
    }

    /// Sends messages in one datagram (a batch where the kernel takes
    /// them as one, as nftables does) and waits for the ACK of each that
    /// asks for one (NLM_F_ACK): their outcomes in order, `Err(errno)` for
    /// a refused one. With `stop_at_error` it returns at the first refusal
    /// (an nftables transaction acknowledges nothing after it), the rest
    /// reported as ECANCELED.
    pub fn transact(
        &self,
        messages: &[Message],
        stop_at_error: bool,
    ) -> Result<Vec<Result<(), i32>>, NlError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let seqs = self.send(messages)?;
        let mut outcomes: Vec<Option<Result<(), i32>>> =
            messages.iter().map(|m| if m.flags & NLM_F_ACK != 0 { None } else { Some(Ok(())) }).collect();
        while outcomes.iter().any(Option::is_none) {
            for answer in self.receive()? {
                let Some(code) = answer.error_code() else { continue };
                let Some(at) = seqs.iter().position(|s| *s == answer.seq) else { continue };
                outcomes[at] = Some(if code == 0 { Ok(()) } else { Err(code) });
                if code != 0 && stop_at_error {
                    return Ok(outcomes.into_iter().map(|o| o.unwrap_or(Err(libc::ECANCELED))).collect());
                }
            }
        }
        Ok(outcomes.into_iter().map(|o| o.unwrap_or(Ok(()))).collect())
    }

    /// Sends one request with NLM_F_ACK and waits for its ACK.
    pub fn request(&self, message: Message) -> Result<(), NlError> {
        let message = Message { flags: message.flags | NLM_F_ACK, ..message };
        match self.transact(std::slice::from_ref(&message), true)?.pop() {
            Some(Err(errno)) => Err(NlError::Kernel(errno)),
            _ => Ok(()),
        }
    }

    /// Sends a GET (with NLM_F_DUMP, or without for one object) and reads
    /// every answer: the parts of a dump to NLMSG_DONE, asked again when
    /// the kernel marks the dump interrupted.
    pub fn dump(&self, message: Message) -> Result<Vec<Answer>, NlError> {
        let ask = || Ok(self.send(std::slice::from_ref(&message))?.pop().unwrap_or_default());
        dump_retrying(ask, || self.receive())
    }
}

/// A dump asked (`ask` sends it and gives its sequence number) and read
/// (`next` gives one datagram's messages) until one comes back whole: one
/// the kernel marks interrupted is asked again, at most [`DUMP_ATTEMPTS`]
/// times, then EINTR.
fn dump_retrying(
    mut ask: impl FnMut() -> Result<u32, NlError>,
    mut next: impl FnMut() -> Result<Vec<Answer>, NlError>,
) -> Result<Vec<Answer>, NlError> {
    for _ in 0..DUMP_ATTEMPTS {
        let seq = ask()?;
        if let DumpEnd::Done(parts) = read_dump(seq, &mut next)? {
            return Ok(parts);
        }
    }
    Err(NlError::Kernel(libc::EINTR))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as the kernel would send it.
    fn answer(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Answer {
        let mut bytes = Vec::new();
        Message::new(kind, 0, payload.to_vec()).append_to(&mut bytes, seq);
        bytes[6..8].copy_from_slice(&flags.to_ne_bytes());
        bytes.truncate(HEADER_LEN + payload.len());
        Answer { kind, flags, seq, bytes }
    }

    fn error(seq: u32, code: i32) -> Answer {
        answer(NLMSG_ERROR, 0, seq, &code.to_ne_bytes())
    }

    #[test]
    fn datagrams_split_into_messages_and_a_cut_one_ends_the_list() {
        let mut datagram = Vec::new();
        Message::new(16, 0, vec![1, 2, 3]).append_to(&mut datagram, 7);
        Message::new(3, 0, vec![]).append_to(&mut datagram, 7);
        let whole = split_datagram(&datagram);
        assert_eq!(whole.len(), 2);
        assert_eq!((whole[0].kind, whole[0].seq, whole[0].payload()), (16, 7, &[1u8, 2, 3][..]));
        assert_eq!(whole[0].flags, NLM_F_REQUEST);
        assert_eq!(split_datagram(&datagram[..datagram.len() - 4]).len(), 1);
    }

    #[test]
    fn a_multipart_dump_is_read_across_datagrams_to_done() {
        let mut datagrams = vec![
            vec![answer(16, NLM_F_MULTI, 5, b"a"), answer(16, NLM_F_MULTI, 4, b"stale")],
            vec![answer(16, NLM_F_MULTI, 5, b"b")],
            vec![answer(NLMSG_DONE, NLM_F_MULTI, 5, &0i32.to_ne_bytes())],
        ]
        .into_iter();
        let end = read_dump(5, || Ok(datagrams.next().unwrap_or_default())).unwrap();
        let DumpEnd::Done(parts) = end else { panic!("not done: {end:?}") };
        assert_eq!(
            parts.iter().map(|p| p.payload().to_vec()).collect::<Vec<_>>(),
            [b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn an_interrupted_dump_is_read_to_its_end_and_reported() {
        let mut datagrams = vec![
            vec![answer(16, NLM_F_MULTI, 9, b"a")],
            vec![answer(16, NLM_F_MULTI | NLM_F_DUMP_INTR, 9, b"b")],
            vec![answer(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, 9, &0i32.to_ne_bytes())],
        ]
        .into_iter();
        let end = read_dump(9, || Ok(datagrams.next().unwrap_or_default())).unwrap();
        assert_eq!(end, DumpEnd::Interrupted);
        assert!(datagrams.next().is_none(), "the dump was read to its end");
    }

    #[test]
    fn an_interrupted_dump_is_asked_again_and_the_whole_one_kept() {
        // The first answer is marked interrupted, the second is whole.
        let mut datagrams = vec![
            vec![answer(16, NLM_F_MULTI | NLM_F_DUMP_INTR, 1, b"stale")],
            vec![answer(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, 1, &0i32.to_ne_bytes())],
            vec![answer(16, NLM_F_MULTI, 2, b"fresh")],
            vec![answer(NLMSG_DONE, NLM_F_MULTI, 2, &0i32.to_ne_bytes())],
        ]
        .into_iter();
        let mut asked = 0u32;
        let ask = || {
            asked += 1;
            Ok(asked)
        };
        let parts = dump_retrying(ask, || Ok(datagrams.next().unwrap_or_default())).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].payload(), b"fresh");
        assert_eq!(asked, 2, "asked once more after the interrupted answer");

        // A dump interrupted every time gives up with EINTR.
        let seq = std::cell::Cell::new(0u32);
        let ask = || {
            seq.set(seq.get() + 1);
            Ok(seq.get())
        };
        let interrupted =
            || Ok(vec![answer(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, seq.get(), &0i32.to_ne_bytes())]);
        let err = dump_retrying(ask, interrupted).unwrap_err();
        assert_eq!(err, NlError::Kernel(libc::EINTR));
        assert_eq!(seq.get() as usize, DUMP_ATTEMPTS);
    }

    #[test]
    fn an_error_ack_in_a_dump_keeps_its_errno() {
        let mut datagrams = vec![vec![error(3, -libc::ENOENT)]].into_iter();
        let end = read_dump(3, || Ok(datagrams.next().unwrap_or_default()));
        assert_eq!(end, Err(NlError::Kernel(libc::ENOENT)));
        assert_eq!(NlError::Kernel(libc::ENOENT).into_kernel("netlink: x").errno(), Some(libc::ENOENT));
    }

    // The kernel's own answers (root, in the test's network namespace: these
    // ask and change nothing but what they name).

    #[test]
    fn the_kernel_refuses_with_its_errno() {
        let socket = Socket::open(NETLINK_ROUTE).unwrap();
        // RTM_DELLINK of an index no link has: ENODEV.
        let mut ifinfomsg = vec![0u8; 16];
        ifinfomsg[4..8].copy_from_slice(&0x7fff_fff0i32.to_ne_bytes());
        let err = socket.request(Message::new(libc::RTM_DELLINK, 0, ifinfomsg)).unwrap_err();
        assert_eq!(err, NlError::Kernel(libc::ENODEV));
        let kernel = err.into_kernel("netlink: delete link");
        assert_eq!(kernel.msg(), "netlink: delete link: No such device (os error 19)");
        // The socket goes on: the next request gets its own answer.
        let err = socket.request(Message::new(libc::RTM_DELLINK, 0, vec![0u8; 16])).unwrap_err();
        assert!(matches!(err, NlError::Kernel(_)), "{err:?}");
    }

    #[test]
    fn an_empty_batch_sends_nothing() {
        let socket = Socket::open(NETLINK_ROUTE).unwrap();
        assert_eq!(socket.transact(&[], false), Ok(Vec::new()));
    }

    #[test]
    fn a_batch_reports_each_message_in_order() {
        let socket = Socket::open(NETLINK_ROUTE).unwrap();
        // Two deletions of links that do not exist, then a no-op change of
        // loopback: two refusals and an ACK, each matched to its message.
        let mut missing = vec![0u8; 16];
        missing[4..8].copy_from_slice(&0x7fff_fff1i32.to_ne_bytes());
        let mut lo = vec![0u8; 16];
        lo[4..8].copy_from_slice(&1i32.to_ne_bytes());
        let batch = [
            Message::new(libc::RTM_DELLINK, NLM_F_ACK, missing.clone()),
            Message::new(libc::RTM_DELLINK, NLM_F_ACK, missing),
            Message::new(libc::RTM_SETLINK, NLM_F_ACK, lo),
        ];
        assert_eq!(socket.transact(&batch, false), Ok(vec![Err(libc::ENODEV), Err(libc::ENODEV), Ok(())]));
    }

    #[test]
    fn a_dump_of_the_kernel_ends_at_done() {
        let socket = Socket::open(NETLINK_ROUTE).unwrap();
        // RTM_GETLINK dump: at least loopback.
        let parts = socket.dump(Message::new(libc::RTM_GETLINK, NLM_F_DUMP, vec![0u8; 16])).unwrap();
        assert!(!parts.is_empty());
        assert!(parts.iter().all(|p| p.kind == libc::RTM_NEWLINK && p.flags & NLM_F_MULTI != 0));
    }

    #[test]
    fn a_request_without_an_answer_ends_in_a_timeout() {
        let socket = Socket::open(NETLINK_ROUTE).unwrap();
        socket.set_limit(Duration::from_millis(50)).unwrap();
        // An RTM_SETLINK of loopback that changes nothing, without
        // NLM_F_ACK: the kernel does it and sends no answer.
        let mut ifinfomsg = vec![0u8; 16];
        ifinfomsg[4..8].copy_from_slice(&1i32.to_ne_bytes());
        socket.send(&[Message::new(libc::RTM_SETLINK, 0, ifinfomsg)]).unwrap();
        let started = std::time::Instant::now();
        let err = socket.receive().unwrap_err();
        assert_eq!(err, NlError::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(err.into_kernel("netlink: request").errno(), Some(libc::ETIMEDOUT));
    }
}
