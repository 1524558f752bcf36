//! A blocking route netlink socket that sends many requests in one
//! sendmsg(2) and reads their acknowledgements: the fewest syscalls the
//! kernel's rtnetlink allows, since it runs every message of one send in
//! order, in the sender's context.

use rtnetlink::packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// A route socket in the namespace of the thread that opened it.
pub struct Rtnl {
    socket: Socket,
}

/// One request of a batch, with its netlink flags.
pub struct Request {
    message: RouteNetlinkMessage,
    flags: u16,
}

impl Request {
    /// A creation: NLM_F_CREATE | NLM_F_EXCL, as `ip ... add` sends.
    pub fn create(message: RouteNetlinkMessage) -> Request {
        Request { message, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL }
    }

    /// A deletion (or any request without creation flags).
    pub fn plain(message: RouteNetlinkMessage) -> Request {
        Request { message, flags: NLM_F_REQUEST | NLM_F_ACK }
    }
}

impl Rtnl {
    /// Opens and binds the socket.
    pub fn open() -> Result<Rtnl, String> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| format!("route socket: {e}"))?;
        socket.bind_auto().map_err(|e| format!("bind route socket: {e}"))?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(|e| format!("connect route socket: {e}"))?;
        // A request the kernel never answers (one interrupted there) ends
        // the wait with an error after a minute instead of never.
        let limit = nix::libc::timeval { tv_sec: 60, tv_usec: 0 };
        // SAFETY: a valid timeval of the size passed, on a socket we own.
        let set = unsafe {
            nix::libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                nix::libc::SOL_SOCKET,
                nix::libc::SO_RCVTIMEO,
                (&limit as *const nix::libc::timeval).cast(),
                std::mem::size_of::<nix::libc::timeval>() as nix::libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(format!("route socket timeout: {}", std::io::Error::last_os_error()));
        }
        Ok(Rtnl { socket })
    }

    /// Sends `requests` in one sendmsg and waits for every acknowledgement;
    /// the first error names the request it answered.
    pub fn batch(&self, requests: Vec<Request>) -> Result<(), String> {
        let mut buf = Vec::new();
        let mut kinds = Vec::new();
        for (seq, request) in requests.into_iter().enumerate() {
            kinds.push(kind(&request.message));
            let mut header = NetlinkHeader::default();
            header.flags = request.flags;
            header.sequence_number = seq as u32 + 1;
            let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request.message));
            message.finalize();
            let at = buf.len();
            buf.resize(at + message.buffer_len(), 0);
            message.serialize(&mut buf[at..]);
        }
        self.socket.send(&buf, 0).map_err(|e| format!("send: {e}"))?;
        let mut pending = kinds.len();
        let mut reply = vec![0u8; 65536];
        while pending > 0 {
            let len = self.socket.recv(&mut &mut reply[..], 0).map_err(|e| format!("recv: {e}"))?;
            let mut at = 0;
            while at + 16 <= len {
                let word =
                    |o: usize| u32::from_ne_bytes([reply[o], reply[o + 1], reply[o + 2], reply[o + 3]]);
                let size = word(at) as usize;
                let msg_type = u16::from_ne_bytes([reply[at + 4], reply[at + 5]]);
                let seq = word(at + 8) as usize;
                if size < 16 || at + size > len {
                    break;
                }
                // NLMSG_ERROR: an errno (0 is the acknowledgement).
                if msg_type == 2 && size >= 20 {
                    pending = pending.saturating_sub(1);
                    let code = word(at + 16) as i32;
                    if code < 0 {
                        let what = kinds.get(seq.wrapping_sub(1)).copied().unwrap_or("request");
                        return Err(format!("{what}: {}", std::io::Error::from_raw_os_error(-code)));
                    }
                }
                at += (size + 3) & !3;
            }
        }
        Ok(())
    }
}

/// What a request asks for, for error messages.
fn kind(message: &RouteNetlinkMessage) -> &'static str {
    match message {
        RouteNetlinkMessage::NewLink(_) => "create link",
        RouteNetlinkMessage::DelLink(_) => "delete link",
        RouteNetlinkMessage::NewAddress(_) => "add address",
        RouteNetlinkMessage::NewRoute(_) => "add route",
        RouteNetlinkMessage::NewQueueDiscipline(_) => "add qdisc",
        RouteNetlinkMessage::NewTrafficFilter(_) => "add filter",
        _ => "request",
    }
}
