//! The floor's route netlink: many requests in one sendmsg(2) and their
//! acknowledgements, the fewest syscalls the kernel's rtnetlink allows
//! (it runs every message of one send in order, in the sender's context).
//! It goes through the plugins' own transport (`cni::kernel::transport`),
//! so floor and plugins pay the same per-message costs.

use cni::kernel::transport::{Socket, NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::RouteNetlinkMessage;

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
        Request { message, flags: NLM_F_CREATE | NLM_F_EXCL }
    }

    /// A deletion (or any request without creation flags).
    pub fn plain(message: RouteNetlinkMessage) -> Request {
        Request { message, flags: 0 }
    }
}

impl Rtnl {
    /// Opens and binds the socket (its waits bounded by the transport's minute).
    pub fn open() -> Result<Rtnl, String> {
        Socket::open(NETLINK_ROUTE).map(|socket| Rtnl { socket }).map_err(|e| e.to_string())
    }

    /// Sends `requests` in one sendmsg and waits for every acknowledgement;
    /// the first error names the request it answered.
    pub fn batch(&self, requests: Vec<Request>) -> Result<(), String> {
        let kinds: Vec<&str> = requests.iter().map(|r| kind(&r.message)).collect();
        let messages: Vec<_> = requests
            .into_iter()
            .map(|r| cni::netlink::encode(r.message, r.flags | cni::netlink::NLM_F_ACK))
            .collect();
        let outcomes = self.socket.transact(&messages, true).map_err(|e| format!("{e:?}"))?;
        match outcomes.iter().position(Result::is_err) {
            Some(at) => {
                let errno = outcomes[at].err().unwrap_or(nix::libc::EIO);
                Err(format!("{}: {}", kinds[at], std::io::Error::from_raw_os_error(errno)))
            }
            None => Ok(()),
        }
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
