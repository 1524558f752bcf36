//! The DHCPv4 client core of the `dhcp` IPAM plugin and its daemon (issue
//! 11): the wire format ([`message`]), the netconf's option names and the
//! reference's client identifier ([`options`]), lease exchanges over a UDP
//! socket inside the container's netns ([`client`], [`socket`]), the lease
//! as kept and persisted ([`lease`]), and the CNI result a lease gives
//! ([`result`]).
//!
//! Not yet here: the plugin, the daemon, its socket protocol and lease
//! store, and the loop that renews at T1 and rebinds at T2.

#![warn(missing_docs)]

pub mod client;
pub mod lease;
pub mod message;
pub mod options;
pub mod result;
pub mod socket;

pub use client::{Client, Config, DhcpError, Timing};
pub use lease::{Lease, Phase};
pub use message::{decode, Message, MessageType};
