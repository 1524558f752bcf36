//! The CNI spec as Rust types and the machinery every plugin shares, in
//! layers, each a folder: `spec` (types, no I/O: what cnictl needs),
//! `plugin` (the plugin side of the protocol: the skeleton, invoking
//! plugins and IPAM, rollback, state files; cnictl's `runtime` is the
//! caller side), `kernel` (netlink, netns, sysctl, and their error type),
//! `netfilter` (nftables, iptables, conntrack, the reference's names,
//! ipMasq, spoof check), `container` (veth pairs, the interface a plugin
//! makes, applying and checking a result).

pub mod container;
pub mod kernel;
pub mod netfilter;
pub mod plugin;
pub mod spec;

// Each module under its short name, as the plugins and cnictl use them.
pub use container::{apply, interface, veth};
pub use kernel::nlattr;
pub use kernel::{netlink, netns, sysctl};
pub use netfilter::{ipmasq, spoofcheck};
pub use plugin::{attachment_lock, invoke, ipam, journal, overlap, rollback, skel, statefile};
pub use spec::{args, checked, conf, conflist, env, error, gojson, jsonpos, known_keys, result, version};

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
