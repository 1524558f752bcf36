//! `dhcp-probe`: one DHCP client exchange from the command line, the
//! library's front end for the integration tests (tests/dhcp_client.rs)
//! and for trying a server by hand. Not the plugin and not installed.
//!
//! ```text
//! dhcp-probe acquire|renew|rebind|reboot|release --netns PATH --ifname IF
//!     --container-id ID --net-name NET [--lease FILE] [--request OPT]...
//!     [--provide OPT=VALUE]... [--first-wait-ms N] [--max-wait-ms N]
//!     [--total-ms N] [--jitter-ms N]
//! dhcp-probe result --lease FILE [--priority N]
//! ```
//!
//! Exchanges print `{"lease": .., "elapsedMs": .., "openMs": .., "mac": ..}`
//! (the exchange's time, and the socket's with the link coming up); `result`
//! prints the CNI result (1.1.0). Errors go to stderr, exit status 1.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use dhcp::options::{self, ProvideOption, RequestOption};
use dhcp::{Client, Config, Lease, Timing};

#[derive(Default)]
struct Args {
    verb: String,
    netns: Option<String>,
    ifname: String,
    container_id: String,
    net_name: String,
    lease: Option<String>,
    request: Vec<RequestOption>,
    provide: Vec<ProvideOption>,
    priority: u32,
    timing: Timing,
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut args = Args { verb: argv.first().cloned().ok_or("a verb is needed")?, ..Default::default() };
    let mut it = argv.iter().skip(1);
    let ms = |v: &str| v.parse::<u64>().map(Duration::from_millis).map_err(|e| format!("{v:?}: {e}"));
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--netns" => args.netns = Some(value.clone()),
            "--ifname" => args.ifname = value.clone(),
            "--container-id" => args.container_id = value.clone(),
            "--net-name" => args.net_name = value.clone(),
            "--lease" => args.lease = Some(value.clone()),
            "--priority" => args.priority = value.parse().map_err(|e| format!("--priority: {e}"))?,
            "--request" => args.request.push(RequestOption { option: value.clone(), skip_default: false }),
            "--provide" => {
                let (option, value) = value.split_once('=').ok_or("--provide takes OPTION=VALUE")?;
                args.provide.push(ProvideOption {
                    option: option.into(),
                    value: value.into(),
                    from_arg: String::new(),
                })
            }
            "--first-wait-ms" => args.timing.first_wait = ms(value)?,
            "--max-wait-ms" => args.timing.max_wait = ms(value)?,
            "--total-ms" => args.timing.total = ms(value)?,
            "--jitter-ms" => args.timing.jitter = ms(value)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

fn read_lease(path: Option<&str>) -> Result<Lease, String> {
    let path = path.ok_or("--lease FILE is needed")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let lease = value.get("lease").cloned().unwrap_or(value);
    serde_json::from_value(lease).map_err(|e| format!("{path}: {e}"))
}

fn run(argv: &[String]) -> Result<serde_json::Value, String> {
    let args = parse(argv)?;
    if args.verb == "result" {
        let lease = read_lease(args.lease.as_deref())?;
        let result = dhcp::result::lease_result(&lease, args.priority).map_err(|e| e.msg)?;
        return result.to_json("1.1.0").map_err(|e| e.msg);
    }
    let sent = options::prepare("", &args.provide, &args.request).map_err(|e| e.to_string())?;
    let config = Config {
        ifname: args.ifname.clone(),
        client_id: options::client_id(&args.container_id, &args.net_name, &args.ifname),
        options: sent,
        timing: args.timing,
    };
    let opening = Instant::now();
    let client = match &args.netns {
        Some(path) => {
            let netns = cni::netns::Netns::open(path).map_err(|e| e.msg)?;
            Client::open_in(&netns, config)
        }
        None => Client::open(config),
    }
    .map_err(|e| e.to_string())?;
    let open_ms = opening.elapsed().as_millis() as u64;
    let started = Instant::now();
    let lease = match args.verb.as_str() {
        "acquire" => client.acquire(),
        "renew" => client.renew(&read_lease(args.lease.as_deref())?),
        "rebind" => client.rebind(&read_lease(args.lease.as_deref())?),
        "reboot" => client.reboot(&read_lease(args.lease.as_deref())?),
        "release" => {
            let lease = read_lease(args.lease.as_deref())?;
            client.release(&lease).map(|()| lease)
        }
        other => return Err(format!("unknown verb {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    let mac = client.mac().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    Ok(serde_json::json!({
        "lease": lease,
        "elapsedMs": started.elapsed().as_millis() as u64,
        "openMs": open_ms,
        "mac": mac,
    }))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dhcp-probe: {e}");
            ExitCode::FAILURE
        }
    }
}
