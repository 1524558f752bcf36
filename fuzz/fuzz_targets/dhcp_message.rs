//! The DHCPv4 decoder of the dhcp plugin and daemon, on any datagram: a
//! LAN's server (or anyone on the LAN) chooses these bytes. Invariants:
//! no panic, and a message that decodes encodes to bytes that decode to
//! the same message (what the client sends back from a lease is what it
//! read).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = dhcp::decode(data) else { return };
    let again = dhcp::decode(&message.encode()).expect("our own encoding decodes");
    assert_eq!(again, message, "decode(encode(m)) == m");
    if let Some(routes) = message.options.get(121) {
        let _ = dhcp::message::decode_classless_routes(routes);
    }
    if let Some(routes) = message.options.get(33) {
        let _ = dhcp::message::decode_static_routes(routes);
    }
});
