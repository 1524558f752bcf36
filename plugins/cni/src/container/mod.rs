//! The container's interface: veth pairs (`veth`), the interface a plugin
//! makes and owns (`interface`: child links, dummy, tap, host-device's
//! moved device; its IPAM, CHECK and DEL), and applying and checking a
//! result on it (`apply`).

pub mod apply;
pub mod interface;
pub mod veth;
