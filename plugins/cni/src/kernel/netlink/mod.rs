//! The one netlink layer: links, addresses, routes, rules and traffic
//! control over route netlink.
//!
//! A `Netlink` owns a route socket of the one transport
//! (`kernel::transport`), opened in the namespace of the thread that
//! creates it. Plugins open one inside `Netns::run` for container-side
//! work and one on their own thread for host-side work. Messages are the
//! netlink-packet-route types, built and read here; every call blocks on
//! the calling thread, with no runtime and no thread of its own.

mod addr;
mod batch;
mod link;
mod link_read;
mod route;
mod rule;
mod tc;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

use crate::kernel::transport::{Answer, Message, NlError, Socket, NETLINK_ROUTE};

pub use crate::kernel::error::KernelError;
pub use crate::kernel::transport::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
pub use addr::DadState;
pub use batch::{Change, Refused};
pub use link::{
    format_mac, parse_mac, ChildKind, ChildSpec, IpvlanMode, Link, LinkKind, MacvlanMode, PortFlags,
    VethSpec, VlanMembership,
};
pub use route::{RouteSpec, MAIN_TABLE};
pub use rule::Rule;
pub use tc::{ingress_qdisc_request, redirect_filter_request, tbf_request, tick_in_usec, Qdisc, Tbf};

/// A blocking netlink session in the current thread's namespace.
pub struct Netlink {
    socket: Socket,
}

/// A failed netlink request as the error a runtime shows: what was asked,
/// then the kernel's errno as the OS words it (`File exists (os error 17)`).
fn nl_error(what: &str, err: NlError) -> KernelError {
    err.into_kernel(format!("netlink: {what}"))
}

/// True when a netlink error is "no such device" (ENODEV).
fn is_no_device(err: &NlError) -> bool {
    err.errno() == Some(libc::ENODEV)
}

/// True when a netlink error is "already exists" (EEXIST).
fn is_exists(err: &NlError) -> bool {
    err.errno() == Some(libc::EEXIST)
}

/// True when the thing to delete was not there (ESRCH, ENOENT, EADDRNOTAVAIL, ENODEV).
fn is_gone(err: &NlError) -> bool {
    matches!(err.errno(), Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ENODEV))
}

/// A route message as the transport sends it, with `flags`.
pub fn encode(message: RouteNetlinkMessage, flags: u16) -> Message {
    let mut packet = NetlinkMessage::from(message);
    packet.header.flags = flags;
    packet.finalize();
    let mut bytes = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut bytes);
    // The header was just written: it always reads back.
    Message::from_serialized(&bytes).unwrap_or_else(|| Message::new(0, flags, Vec::new()))
}

/// A route message of an answer; an answer of another kind is an error.
fn decode(answer: &Answer) -> Result<RouteNetlinkMessage, NlError> {
    let packet = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&answer.bytes)
        .map_err(|e| NlError::Transport(format!("could not read the kernel's answer: {e}")))?;
    match packet.payload {
        NetlinkPayload::InnerMessage(message) => Ok(message),
        other => Err(NlError::Transport(format!("unexpected answer {other:?}"))),
    }
}

impl Netlink {
    /// Opens a route netlink socket in the calling thread's namespace.
    pub fn open() -> Result<Netlink, KernelError> {
        let socket = Socket::open(NETLINK_ROUTE)?;
        // Let the kernel filter dumps (addresses of one link) instead of
        // sending every address of the namespace: ADD stays flat as
        // attachments pile up on a bridge.
        socket.set_strict_check();
        Ok(Netlink { socket })
    }

    /// Sends one request with `flags` (NLM_F_ACK added) and waits for its ACK.
    fn request(&self, message: RouteNetlinkMessage, flags: u16) -> Result<(), NlError> {
        self.socket.request(encode(message, flags))
    }

    /// A dump: the answers `pick` keeps (it skips those of another kind),
    /// a failure worded with `what`.
    fn dump<T>(
        &self,
        message: RouteNetlinkMessage,
        what: &str,
        pick: impl FnMut(RouteNetlinkMessage) -> Option<T>,
    ) -> Result<Vec<T>, KernelError> {
        Ok(self
            .get(message, NLM_F_DUMP)
            .map_err(|e| nl_error(what, e))?
            .into_iter()
            .filter_map(pick)
            .collect())
    }

    /// A GET: every answer, parsed (a dump with NLM_F_DUMP in `flags`).
    fn get(&self, message: RouteNetlinkMessage, flags: u16) -> Result<Vec<RouteNetlinkMessage>, NlError> {
        self.get_raw(message, flags)?.iter().map(decode).collect()
    }

    /// A GET's answers as they came, for readers that take only what they
    /// need from the bytes (links).
    fn get_raw(&self, message: RouteNetlinkMessage, flags: u16) -> Result<Vec<Answer>, NlError> {
        self.socket.dump(encode(message, flags))
    }
}
