//! Addresses on links.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{is_exists, is_gone, nl_error, Netlink, NLM_F_CREATE, NLM_F_EXCL};
use crate::kernel::error::KernelError;

/// The request adding `address` to link `index`, as `ip address add`
/// makes it: local and address, and for IPv4 below /31 the broadcast.
pub(super) fn address_request(index: u32, address: IpNetwork) -> RouteNetlinkMessage {
    let mut message = AddressMessage::default();
    message.header.index = index;
    message.header.prefix_len = address.prefix();
    match address.ip() {
        IpAddr::V4(ip) => {
            message.header.family = AddressFamily::Inet;
            message.attributes.push(AddressAttribute::Address(ip.into()));
            message.attributes.push(AddressAttribute::Local(ip.into()));
            if address.prefix() < 31 {
                let broadcast = u32::MAX >> u32::from(address.prefix()) | u32::from(ip);
                message.attributes.push(AddressAttribute::Broadcast(broadcast.into()));
            }
        }
        IpAddr::V6(ip) => {
            message.header.family = AddressFamily::Inet6;
            message.attributes.push(AddressAttribute::Address(ip.into()));
            message.attributes.push(AddressAttribute::Local(ip.into()));
        }
    }
    RouteNetlinkMessage::NewAddress(message)
}

impl Netlink {
    fn address_messages(&self, index: u32) -> Result<Vec<AddressMessage>, KernelError> {
        // With strict checking on the socket the kernel filters by index;
        // without it (old kernels) the filter below does.
        let mut request = AddressMessage::default();
        request.header.index = index;
        self.dump(RouteNetlinkMessage::GetAddress(request), "list addresses", |a| match a {
            RouteNetlinkMessage::NewAddress(msg) if msg.header.index == index => Some(msg),
            _ => None,
        })
    }

    /// The addresses on a link, with prefix lengths.
    pub fn addresses(&self, index: u32) -> Result<Vec<IpNetwork>, KernelError> {
        let mut found = Vec::new();
        for msg in self.address_messages(index)? {
            for attr in &msg.attributes {
                if let AddressAttribute::Address(ip) = attr {
                    if let Ok(net) = IpNetwork::new(*ip, msg.header.prefix_len) {
                        found.push(net);
                    }
                }
            }
        }
        Ok(found)
    }

    /// How IPv6 duplicate address detection stands on a link: failed for
    /// an address, still running for one, or done for all.
    pub fn dad_state(&self, index: u32) -> Result<DadState, KernelError> {
        let has = |msg: &AddressMessage, header: AddressHeaderFlags, flag: AddressFlags| {
            msg.header.flags.contains(header)
                || msg.attributes.iter().any(|a| matches!(a, AddressAttribute::Flags(f) if f.contains(flag)))
        };
        let messages = self.address_messages(index)?;
        let v6 = messages.iter().filter(|m| m.header.family == AddressFamily::Inet6);
        let mut state = DadState::Done;
        for msg in v6 {
            if has(msg, AddressHeaderFlags::Dadfailed, AddressFlags::Dadfailed) {
                let address = msg.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                });
                return Ok(DadState::Failed(address));
            }
            if has(msg, AddressHeaderFlags::Tentative, AddressFlags::Tentative) {
                state = DadState::Tentative;
            }
        }
        Ok(state)
    }

    /// Adds an address. Returns false when it was already there.
    pub fn add_address(&self, index: u32, address: IpNetwork) -> Result<bool, KernelError> {
        match self.request(address_request(index, address), NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => Ok(true),
            Err(e) if is_exists(&e) => Ok(false),
            Err(e) => Err(nl_error(&format!("add address {address} to link {index}"), e)),
        }
    }

    /// Removes an address; one already gone is no error.
    pub fn del_address(&self, index: u32, address: IpNetwork) -> Result<(), KernelError> {
        let found = self.address_messages(index)?.into_iter().find(|msg| {
            msg.header.prefix_len == address.prefix()
                && msg
                    .attributes
                    .iter()
                    .any(|a| matches!(a, AddressAttribute::Address(ip) if *ip == address.ip()))
        });
        let Some(message) = found else { return Ok(()) };
        match self.request(RouteNetlinkMessage::DelAddress(message), 0) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("remove address {address} from link {index}"), e)),
        }
    }
}

/// Where IPv6 duplicate address detection stands on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DadState {
    /// No address is tentative.
    Done,
    /// An address is still being checked.
    Tentative,
    /// The kernel found an address in use elsewhere.
    Failed(Option<std::net::IpAddr>),
}
