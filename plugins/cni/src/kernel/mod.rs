//! The kernel layer: netlink (links, addresses, routes, rules, tc),
//! network namespaces, /proc/sys, raw netlink attributes, and the error
//! all of it returns (`error::KernelError`, with the errno).

pub mod error;
pub mod netlink;
pub mod netns;
pub mod nlattr;
pub mod sysctl;
pub mod transport;
