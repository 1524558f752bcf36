//! Each plugin's ADD-side config parsing and checks, on any stdin: the
//! first byte picks the plugin, the rest is `CNI_ARGS`, a NUL, and the
//! netconf (no NUL: all netconf). Plugins are reached through
//! `Plugin::validate`, the public entry point that runs exactly what ADD
//! checks of its config and nothing that touches the kernel, the disk or
//! a netns; then through `skel::dispatch` with `CNI_COMMAND=VALIDATE`, the
//! way cnictl calls it (stdin checks, version negotiation, error object).
//! The plugins' `config` modules are private, so their DEL-side lenient
//! loaders are not reachable from here; `conf::DelConf` (target
//! `netconf`) is what they build on.
//!
//! Invariants: no panic (the skel would turn one into code 999; here
//! libFuzzer's panic hook aborts first), and an error object that is
//! JSON with a code.
#![no_main]

use cni::env::{CmdArgs, Command};
use cni::skel::dispatch;
use libfuzzer_sys::fuzz_target;
use multicall::PLUGINS;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let plugin = PLUGINS[pick as usize % PLUGINS.len()];
    let (cni_args, stdin) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (String::from_utf8_lossy(&rest[..nul]).into_owned(), &rest[nul + 1..]),
        None => (String::new(), rest),
    };
    let config_version = serde_json::from_slice(stdin)
        .ok()
        .and_then(|v| cni::version::of_config(&v).ok())
        .unwrap_or_else(|| "0.1.0".to_string());
    let args = CmdArgs {
        command: Command::Add,
        container_id: "fuzz-container".into(),
        netns: String::new(),
        ifname: "eth0".into(),
        args: cni_args.clone(),
        // No directory: an IPAM plugin is looked for and not found.
        path: String::new(),
        stdin: stdin.to_vec(),
        config_version,
    };
    let _ = plugin.validate(&args);

    let getenv = |key: &str| match key {
        "CNI_COMMAND" => Some("VALIDATE".to_string()),
        "CNI_CONTAINERID" => Some("fuzz-container".to_string()),
        "CNI_IFNAME" => Some("eth0".to_string()),
        "CNI_ARGS" => Some(cni_args.clone()),
        _ => None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = dispatch(plugin, &getenv, &mut &stdin[..], &mut out, &mut err);
    if code != 0 {
        let object: serde_json::Value = serde_json::from_slice(&out).expect("the error object is JSON");
        assert!(object["code"].is_u64(), "error object without a code: {object}");
        let msg = object["msg"].as_str().unwrap_or_default();
        assert!(!msg.contains("panicked"), "a panic: {object}");
    }
});
