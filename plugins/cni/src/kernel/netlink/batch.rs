//! Several changes to one link in one send. The kernel runs the messages
//! of a datagram one after another and acknowledges each, so a container
//! end's addresses, its coming up and its routes cost one round trip
//! instead of one each; every answer is still read and checked.

use ipnetwork::IpNetwork;
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::address_request;
use super::link::link_up_request;
use super::route::RouteSpec;
use super::{encode, nl_error, KernelError, Netlink, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use crate::kernel::transport::NlError;

/// One change of a batch.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add this address (one already there counts as added).
    Address(IpNetwork),
    /// Set the link administratively up.
    Up,
    /// Add this route beside any with the same destination, as
    /// [`Netlink::append_route`] does (an identical one counts as added).
    Route(RouteSpec),
}

/// A batch the kernel (or the socket) refused.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The position of the first refused change; `None` when the batch
    /// could not be sent or its answers read.
    pub at: Option<usize>,
    /// The error, worded as that change's own request words it.
    pub error: KernelError,
}

impl Change {
    fn request(&self, index: u32) -> (RouteNetlinkMessage, u16) {
        match self {
            Change::Address(address) => (address_request(index, *address), NLM_F_CREATE | NLM_F_EXCL),
            Change::Up => (link_up_request(index), NLM_F_CREATE | NLM_F_EXCL),
            Change::Route(route) => (route.add_request(), NLM_F_CREATE),
        }
    }

    /// What the change's own request is called in its error.
    fn what(&self, index: u32) -> String {
        match self {
            Change::Address(address) => format!("add address {address} to link {index}"),
            Change::Up => format!("set link {index} up"),
            Change::Route(route) => format!("add route {route}"),
        }
    }

    /// Whether the kernel's answer leaves the change made.
    fn done(&self, outcome: Result<(), i32>) -> bool {
        match (self, outcome) {
            (_, Ok(())) => true,
            (Change::Address(_) | Change::Route(_), Err(errno)) => errno == libc::EEXIST,
            (Change::Up, Err(_)) => false,
        }
    }
}

impl Netlink {
    /// Applies `changes` to link `index` in one send, in order.
    pub fn apply(&self, index: u32, changes: &[Change]) -> Result<(), Refused> {
        let messages: Vec<_> = changes
            .iter()
            .map(|change| {
                let (message, flags) = change.request(index);
                encode(message, flags | NLM_F_ACK)
            })
            .collect();
        let outcomes = self
            .socket
            .transact(&messages, false)
            .map_err(|e| Refused { at: None, error: nl_error("apply changes", e) })?;
        for (at, (change, outcome)) in changes.iter().zip(outcomes).enumerate() {
            if let (false, Err(errno)) = (change.done(outcome), outcome) {
                return Err(Refused {
                    at: Some(at),
                    error: nl_error(&change.what(index), NlError::Kernel(errno)),
                });
            }
        }
        Ok(())
    }
}
