//! The CNI spec as Rust types and the machinery every plugin shares.
//!
//! Spec types (versions, errors, netconfs, results and their conversions)
//! do no I/O, so `cnictl` can use them too. The plugin side adds the
//! skeleton that turns the exec protocol into calls (`skel`), and helpers
//! for kernel and process work (`netns`, `netlink`, `invoke`, `ipam`).

pub mod args;
pub mod checked;
pub mod conf;
pub mod conflist;
pub mod env;
pub mod error;
pub mod gojson;
pub mod iface;
pub mod invoke;
pub mod ipam;
pub mod ipmasq;
pub mod jsonpos;
pub mod kernel_error;
pub mod netfilter;
pub mod netlink;
pub mod netns;
mod nlattr;
pub mod overlap;
pub mod result;
pub mod rollback;
pub mod skel;
pub mod spoofcheck;
pub mod statefile;
pub mod sublink;
pub mod sysctl;
pub mod version;
pub mod veth;

pub use error::{CniError, ErrorCode};
pub use result::CniResult;

/// The file name of the multicall binary that carries every plugin of this
/// project; it runs as whichever plugin it is invoked as (its `argv[0]`).
pub const MULTICALL_BINARY: &str = "cni-plugins";

/// The plugin types the multicall binary answers to. Runtimes find them as
/// links named after the type; `cnictl` and our plugins can also run the
/// multicall binary directly under one of these names.
pub const BUILTIN_PLUGIN_TYPES: &[&str] = &[
    "bridge",
    "ptp",
    "loopback",
    "host-local",
    "static",
    "dhcp",
    "tuning",
    "firewall",
    "portmap",
    "bandwidth",
    "macvlan",
    "ipvlan",
    "vlan",
    "dummy",
    "host-device",
    "sbr",
    "vrf",
    "tap",
];
