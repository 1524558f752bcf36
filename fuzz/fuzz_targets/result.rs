//! Plugin results in every spec version: what a plugin reads as
//! `prevResult` and cnictl reads from its cache (`CniResult::from_json`),
//! then writes in each version `cni::version::SUPPORTED` lists (`to_json`).
//!
//! Invariants: no panic; a result we write, we can read back; reading it
//! back gives the result again where the version can carry all of it (1.x:
//! everything; 0.3.x/0.4.0: all but the 1.1 interface keys), and writing
//! what we read back gives the same JSON (conversion is a fixpoint after
//! one round, also through the lossy 0.1.0/0.2.0 shape).
#![no_main]

use cni::result::{CniResult, Interface};
use cni::version::SUPPORTED;
use libfuzzer_sys::fuzz_target;

/// What a 0.3.x/0.4.0 result keeps of an interface.
fn pre_1_1(interface: &Interface) -> Interface {
    Interface {
        name: interface.name.clone(),
        mac: interface.mac.clone(),
        sandbox: interface.sandbox.clone(),
        ..Interface::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    // The fallback only matters without a cniVersion: try the two shapes.
    for fallback in ["1.1.0", "0.2.0"] {
        let Ok(result) = CniResult::from_json(&value, fallback) else { continue };
        for &ver in SUPPORTED {
            // 0.1.0/0.2.0 refuse a result without an address; nothing else may fail.
            let written = match result.to_json(ver) {
                Ok(written) => written,
                Err(err) => {
                    assert!(
                        matches!(ver, "0.1.0" | "0.2.0") && result.ips.is_empty(),
                        "to_json({ver}) failed: {err:?}"
                    );
                    continue;
                }
            };
            assert_eq!(written["cniVersion"], ver);
            let back = CniResult::from_json(&written, "0.0.0")
                .unwrap_or_else(|e| panic!("cannot read the {ver} result we wrote: {e:?}\n{written}"));
            if ver.starts_with("1.") {
                assert_eq!(back, result, "{ver} round trip changed the result\n{written}");
            } else if !matches!(ver, "0.1.0" | "0.2.0") {
                assert_eq!(back.ips, result.ips, "{ver} round trip changed ips\n{written}");
                assert_eq!(back.routes, result.routes, "{ver} round trip changed routes\n{written}");
                assert_eq!(back.dns, result.dns, "{ver} round trip changed dns\n{written}");
                let interfaces: Vec<Interface> = result.interfaces.iter().map(pre_1_1).collect();
                assert_eq!(back.interfaces, interfaces, "{ver} round trip changed interfaces\n{written}");
            }
            let again = back.to_json(ver).unwrap_or_else(|e| panic!("cannot rewrite {ver}: {e:?}"));
            assert_eq!(again, written, "{ver}: writing what we read back differs");
        }
    }
});
