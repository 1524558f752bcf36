//! The gob decoder of the dhcp daemon and plugin, on any stream: whoever
//! connects to the daemon's socket (or answers on it) chooses these bytes.
//! Invariant: no panic and no unbounded allocation, whatever the types
//! and values the stream defines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = dhcp::gob::Decoder::new(data);
    while let Ok(Some(_)) = decoder.next_value() {}
});
