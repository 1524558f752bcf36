//! The netconf on a plugin's stdin, as every plugin reads it first: the
//! strict ADD-side parse of the common keys (`conf::parse::<NetConf>`) and
//! the lenient DEL-side one (`DelConf::load`, `parse_lenient`), which must
//! never fail ("DEL always cleans").
//!
//! Invariants: no panic; when the strict parse of an object succeeds, the
//! lenient parse reads the same name, version and IPAM type (lenient only
//! differs on keys of the wrong type, and the strict parse had none).
#![no_main]

use cni::conf::{parse, parse_lenient, DelConf, NetConf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let del = DelConf::load(data);
    let _ = del.ipam_type();
    let _ = del.prev_addresses();
    let _: serde_json::Value = parse_lenient(data);

    let Ok(conf) = parse::<NetConf>(data) else { return };
    let _ = conf.ipam_type();
    let _ = conf.prev_result();
    if !matches!(serde_json::from_slice(data), Ok(serde_json::Value::Object(_))) {
        return;
    }
    assert_eq!(del.name, conf.name, "lenient and strict parses read different names");
    assert_eq!(del.cni_version, conf.cni_version, "lenient and strict parses read different versions");
    assert_eq!(del.ipam_type(), conf.ipam_type(), "lenient and strict parses read different IPAM types");
});
