//! bench-floor: the kernel's floor for each bench row. It does the kernel
//! work of one attachment (the links, qdiscs, addresses, routes, netfilter
//! rules, sysctls, the reservation file, a DHCP exchange) with the fewest
//! syscalls a program can: one exec, one route batch per namespace, one
//! nftables transaction (or, where the row's plugins write iptables, one
//! `iptables-restore --noflush`), no configuration to parse but the
//! request on stdin, and on DEL the link and rule deletions side by side.
//! The bench times it beside ours and the reference's; ours/floor is what
//! is left to close. A request with `"part"` (bridge, portmap, firewall,
//! tuning, bandwidth) does one chain plugin's share only: exec'd once per
//! plugin, as CNI runs a chain, the floor pays the protocol's processes too.
//!
//! Usage: bench-floor ADD|DEL < request.json, or bench-floor SETUP|TEARDOWN
//! [TABLE] to make and remove the floor's nftables table (default
//! `cnictl_bench_floor`).

mod rtnl;
mod work;

use std::io::Read;

fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    match run(&command) {
        Ok(out) => {
            if !out.is_null() {
                println!("{out}");
            }
        }
        Err(e) => {
            eprintln!("bench-floor {command}: {e}");
            std::process::exit(1);
        }
    }
}

/// The table SETUP and TEARDOWN name.
fn table() -> String {
    std::env::args().nth(2).unwrap_or_else(|| work::TABLE.to_string())
}

fn run(command: &str) -> Result<serde_json::Value, String> {
    let request = || -> Result<work::Attachment, String> {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("read stdin: {e}"))?;
        let value = serde_json::from_str(&text).map_err(|e| format!("request: {e}"))?;
        work::Attachment::parse(&value)
    };
    match command {
        "ADD" => work::add(&request()?),
        "DEL" => work::del(&request()?).map(|()| serde_json::Value::Null),
        "SETUP" => work::setup(&table()).map(|()| serde_json::Value::Null),
        "TEARDOWN" => work::teardown(&table()).map(|()| serde_json::Value::Null),
        other => Err(format!("unknown command {other:?} (ADD, DEL, SETUP or TEARDOWN)")),
    }
}
