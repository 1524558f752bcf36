//! The CNI spec as Rust types: versions, error objects, netconfs and
//! conflists, results and their conversions between versions, the CNI_*
//! environment, and the Go-compatible JSON reading they need. No I/O
//! beyond reading what they are given, so `cnictl` uses them too.

pub mod args;
pub mod checked;
pub mod conf;
pub mod conflist;
pub mod env;
pub mod error;
pub mod gojson;
pub mod jsonpos;
pub mod known_keys;
pub mod mac;
pub mod result;
pub mod version;
