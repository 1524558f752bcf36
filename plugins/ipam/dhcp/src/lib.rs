//! The DHCPv4 client core of the `dhcp` IPAM plugin and its daemon (issue
//! 11): the wire format ([`message`]), the netconf's option names and the
//! reference's client identifier ([`options`]), lease exchanges over a UDP
//! socket inside the container's netns ([`client`], [`socket`]), the lease
//! as kept and persisted ([`lease`]), and the CNI result a lease gives
//! ([`result`]).
//!
//! The plugin ([`plugin`]) and `dhcp daemon` ([`daemon`]) are one binary,
//! as in the reference; they talk over a unix socket ([`protocol`]), and
//! each also speaks the reference's protocol (Go's net/rpc: [`gorpc`] over
//! [`gob`]) with the other side of the reference, as during a rolling
//! upgrade; the daemon keeps its leases on disk ([`store`]) and renews them.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod daemon;
pub mod gob;
pub mod gorpc;
pub mod lease;
pub mod message;
pub mod options;
pub mod plugin;
pub mod protocol;
pub mod result;
pub mod socket;
pub mod store;

pub use client::{Client, Config, DhcpError, Timing};
pub use lease::{Lease, Phase};
pub use message::{decode, Message, MessageType};
pub use plugin::Dhcp;
