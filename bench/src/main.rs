//! The side-by-side benchmark: our plugins against the reference plugins
//! (Debian's containernetworking-plugins in /usr/lib/cni), on the same
//! machine in one run, each plugin exec'd as a runtime does. Prints
//! medians, p90 and ours/reference ratios, and can write them into the
//! README. Needs root; run `cargo build --release --workspace` first.
//!
//! Usage: bench [--quick] [--only ROWS] [--iterations N] [--live N] [--seconds N] [--write-readme FILE]

mod dhcp;
mod exec;
mod floor;
mod interrupt;
mod leftovers;
mod netavark;
mod scenarios;
mod stats;

use std::path::{Path, PathBuf};

use floor::{default_is_iptables, Extras, Floor, Net, Step};
use scenarios::{AddRun, ChainFloor, ChainRun, ChainTimes, FloorRun, Side};
use serde_json::json;
use stats::{latency, markdown, summarize, Row, Summary};

/// Where Debian installs the reference plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

struct Options {
    /// Only these rows (`--only add,chain,netavark,...`, see ROWS); all when empty.
    only: Vec<String>,
    iterations: usize,
    live: usize,
    seconds: u64,
    readme: Option<PathBuf>,
}

const USAGE: &str =
    "usage: bench [--quick] [--only ROWS] [--iterations N] [--live N] [--seconds N] [--write-readme FILE]";

/// The options, or the message to print and the exit code (0 for --help).
fn options() -> Result<Options, (String, i32)> {
    let mut opts = Options { only: Vec::new(), iterations: 30, live: 500, seconds: 10, readme: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<usize, (String, i32)> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| (format!("{what} needs a number\n{USAGE}"), 2))
        };
        match arg.as_str() {
            "-h" | "--help" => return Err((format!("{}\n{USAGE}", HELP.trim()), 0)),
            "--quick" => {
                opts.iterations = 10;
                opts.live = 50;
                opts.seconds = 3;
            }
            "--iterations" => opts.iterations = number("--iterations")?,
            "--live" => opts.live = number("--live")?,
            "--seconds" => opts.seconds = number("--seconds")? as u64,
            "--only" => {
                let rows = args.next().ok_or(("--only needs rows".to_string(), 2))?;
                opts.only = rows.split(',').map(str::to_string).collect();
                if let Some(bad) = opts.only.iter().find(|r| !ROWS.contains(&r.as_str())) {
                    return Err((
                        format!("--only: unknown row {bad:?} (one of {})\n{USAGE}", ROWS.join(", ")),
                        2,
                    ));
                }
            }
            "--write-readme" => {
                opts.readme = Some(
                    args.next().map(PathBuf::from).ok_or(("--write-readme needs a file".to_string(), 2))?,
                )
            }
            other => return Err((format!("unknown argument {other:?}\n{USAGE}"), 2)),
        }
    }
    if !opts.only.is_empty() && opts.readme.is_some() {
        return Err((format!("--write-readme needs every row: leave out --only\n{USAGE}"), 2));
    }
    Ok(opts)
}

/// The row groups `--only` can name.
const ROWS: [&str; 8] = ["add", "chain", "dhcp", "netavark", "parallel", "scaling", "size", "status"];

impl Options {
    /// True when the row group `row` is to be measured.
    fn wants(&self, row: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|r| r == row)
    }
}

/// What `--help` says before the usage line.
const HELP: &str = "
bench: our CNI plugins against the reference plugins (/usr/lib/cni), side by side in one run,
each plugin exec'd as a runtime does; prints medians, p90 and ours/reference ratios, and the
floor (bench-floor: the same kernel work the shortest way) beside them.
Needs root; build with `cargo build --release --workspace` first.

--only ROWS, comma-separated, of:
  add       bridge + host-local + ipMasq ADD and DEL, with no backend key and on nftables
  chain     bridge, portmap, firewall, tuning, bandwidth; floors in one process and one per plugin
  dhcp      bridge + dhcp against dnsmasq
  netavark  netavark (podman's backend) setup + teardown against bridge, portmap, firewall
  parallel  8 workers' ADD+DEL cycles per second
  scaling   ADD latency with live attachments
  size      plugins on disk
  status    STATUS per call, and ADD/DEL while STATUS is polled";

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_string();
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let reference = crate::exec::new_command("dpkg-query")
        .args(["-W", "-f", "${Version}", "containernetworking-plugins"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let reference = if reference.is_empty() { "unknown version".to_string() } else { reference };
    format!(
        "{model}, {cores} cores, Linux {}; reference: Debian's containernetworking-plugins {reference}",
        kernel.trim()
    )
}

/// Three base-36 digits from the process ID: short enough for link names
/// (the bridge is `bn<token><side><scenario>`), different for runs side by side.
fn run_token() -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = std::process::id() % (36 * 36 * 36);
    let mut token = Vec::new();
    for _ in 0..3 {
        token.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    String::from_utf8_lossy(&token).into_owned()
}

fn side(label: &'static str, tag: &'static str, dir: PathBuf, octet: u8) -> Side {
    let tag = format!("{}{tag}", run_token());
    let store = std::env::temp_dir().join(format!("cnictl-bench-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let path = if dir == Path::new(REFERENCE_DIR) {
        REFERENCE_DIR.to_string()
    } else {
        format!("{}:{REFERENCE_DIR}", dir.display())
    };
    Side { label, tag, dir, path, octet, store }
}

/// The options, or the usage (exit 0) or an error (exit 2) printed.
fn options_or_exit() -> Options {
    match options() {
        Ok(opts) => opts,
        Err((message, code)) => {
            if code == 0 {
                println!("{message}");
            } else {
                eprintln!("bench: {message}");
            }
            std::process::exit(code);
        }
    }
}

fn main() {
    let code = run();
    std::process::exit(code);
}

/// The run, and its exit code: 0, or 130 when a signal stopped it (what
/// it made is removed by then: the scenarios' clean-up and the drops at
/// the end of this function).
fn run() -> i32 {
    let opts = options_or_exit();
    interrupt::install();
    let skeletons = leftovers::Skeletons::absent();
    assert!(
        std::fs::metadata("/proc/self/ns/net").is_ok() && nix_is_root(),
        "the benchmark needs root (network namespaces)"
    );
    let exe = std::env::current_exe().expect("own path");
    let multicall = exe.parent().map(|d| d.join("cni-plugins")).filter(|p| p.exists()).unwrap_or_else(|| {
        panic!("cni-plugins not found next to {}: cargo build --release --workspace", exe.display())
    });
    let our_dir = exec::our_plugin_dir(&multicall, cni::BUILTIN_PLUGIN_TYPES);
    let sides =
        [side("ours", "o", our_dir.clone(), 232), side("reference", "r", PathBuf::from(REFERENCE_DIR), 233)];
    let floor = exe.parent().and_then(|d| Floor::new(d.join("bench-floor"), &run_token()));
    let floor = floor.as_ref();

    let mut rows = Vec::new();
    if wants(&opts, "add") {
        rows.extend(latency_rows(&sides, floor, opts.iterations));
    }
    if wants(&opts, "chain") {
        rows.extend(chain_rows(&sides, floor, opts.iterations.min(20)));
    }
    if wants(&opts, "netavark") {
        rows.extend(netavark_rows(&sides, floor, opts.iterations.min(20)));
    }
    if wants(&opts, "dhcp") {
        rows.extend(dhcp_row(&sides, floor, opts.iterations.min(20)));
    }
    if wants(&opts, "status") {
        rows.extend(status_row(&sides, opts.iterations));
        rows.extend(polled_rows(&sides, floor, opts.iterations));
    }
    if wants(&opts, "parallel") {
        rows.push(parallel_row(&sides, floor, opts.seconds));
    }
    if wants(&opts, "scaling") {
        rows.extend(scaling_rows(&sides, floor, opts.live));
    }

    let ours_size = std::fs::metadata(&multicall).map(|m| m.len()).unwrap_or(0);
    let ref_size = scenarios::size_of_files(Path::new(REFERENCE_DIR));
    let floor_size = floor.map(Floor::size);
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_000_000.0);
    rows.extend(wants(&opts, "size").then(|| Row {
        what: "plugins on disk (ours: the multicall binary; links cost nothing)".into(),
        ours: mb(ours_size),
        reference: mb(ref_size),
        floor: floor_size.map(mb).unwrap_or_else(|| "n/a".into()),
        ratio: ours_size as f64 / ref_size as f64,
        floor_ratio: floor_size.map(|f| ours_size as f64 / f as f64),
        target: "<= 10 MB".into(),
    }));
    // The static build (scripts/build-static), for nodes without glibc
    // and scratch images: what a packager ships besides the dynamic one.
    let static_build = exe
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("x86_64-unknown-linux-gnu/release/cni-plugins"))
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|m| m.len());
    rows.extend(wants(&opts, "size").then(|| Row {
        what: "same, the static build (`scripts/build-static`: no library needed)".into(),
        ours: static_build.map(mb).unwrap_or_else(|| "n/a (not built)".into()),
        reference: mb(ref_size),
        floor: floor_size.map(mb).unwrap_or_else(|| "n/a".into()),
        ratio: static_build.map(|b| b as f64 / ref_size as f64).unwrap_or(f64::NAN),
        floor_ratio: static_build.zip(floor_size).map(|(b, f)| b as f64 / f as f64),
        target: "<= 10 MB".into(),
    }));
    let code = if interrupt::interrupted() {
        eprintln!("bench: interrupted: no table; what the run made is being removed");
        130
    } else {
        let table = markdown(&rows);
        let machine = machine();
        println!("{table}\nmachine: {machine}");
        if let Some(readme) = &opts.readme {
            write_readme(readme, &table, &machine, &opts);
        }
        0
    };
    let _ = std::fs::remove_dir_all(&our_dir);
    for side in &sides {
        let _ = std::fs::remove_dir_all(&side.store);
    }
    skeletons.remove_brought();
    code
}

/// True when the row group is asked for and no signal stopped the run.
fn wants(opts: &Options, row: &str) -> bool {
    opts.wants(row) && !interrupt::interrupted()
}

/// A latency row: ours against the reference and the floor.
fn latency_row(what: &str, ours: Summary, reference: Summary, floor: Option<Summary>, target: &str) -> Row {
    Row {
        what: what.into(),
        ours: latency(ours),
        reference: latency(reference),
        floor: floor.map(latency).unwrap_or_else(|| "n/a".into()),
        ratio: ours.median / reference.median,
        floor_ratio: floor.map(|f| ours.median / f.median),
        target: target.into(),
    }
}

/// What plugins given no backend key write here, for row names.
fn default_backend() -> &'static str {
    if default_is_iptables() {
        "iptables"
    } else {
        "nftables: no iptables tools"
    }
}

/// bridge + host-local + ipMasq as a node has it (no backend key), for
/// the ADD/DEL rows: each side's run, and the floor's run with its rule
/// through the same backend.
fn default_add_runs(sides: &[Side]) -> ([AddRun<'_>; 2], FloorRun) {
    let runs = [
        AddRun { side: &sides[0], scenario: "l", conf: sides[0].conf("l", 1) },
        AddRun { side: &sides[1], scenario: "l", conf: sides[1].conf("l", 1) },
    ];
    let floor = FloorRun {
        net: Net { scenario: "l", third: 1, prefix: 24 },
        extras: Extras::masquerade(default_is_iptables()),
    };
    (runs, floor)
}

/// bridge + host-local + ipMasq: ADD and DEL with no backend key (the
/// default, iptables where its tools are installed) and with
/// `"ipMasqBackend": "nftables"`, each against its own floor (one
/// `iptables-restore`, one nftables transaction); the reference, which has
/// no nftables masquerading, on its default in both.
fn latency_rows(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> [Row; 4] {
    eprintln!("bench: ADD/DEL latency, {iterations} iterations each, interleaved (ours twice: no backend key, nftables)");
    let ([ours, reference], default_floor) = default_add_runs(sides);
    let mut nftables = sides[0].conf("m", 5);
    nftables["ipMasqBackend"] = json!("nftables");
    let runs = [ours, AddRun { side: &sides[0], scenario: "m", conf: nftables }, reference];
    let nft_floor =
        FloorRun { net: Net { scenario: "m", third: 5, prefix: 24 }, extras: Extras::masquerade(false) };
    let add_del = scenarios::add_del(&runs, floor, &[default_floor, nft_floor], iterations);
    let adds: Vec<Summary> = add_del.iter().map(|(adds, _)| summarize(adds)).collect();
    let dels: Vec<Summary> = add_del.iter().map(|(_, dels)| summarize(dels)).collect();
    let default = default_backend();
    [
        latency_row(
            &format!("bridge + host-local + ipMasq, no backend key ({default}), ADD"),
            adds[0],
            adds[2],
            adds.get(3).copied(),
            "<= 5 ms",
        ),
        latency_row("same, DEL", dels[0], dels[2], dels.get(3).copied(), "<= 5 ms"),
        latency_row(
            "same, ours with `ipMasqBackend: nftables` (the reference: iptables), ADD",
            adds[1],
            adds[2],
            adds.get(4).copied(),
            "<= 5 ms",
        ),
        latency_row("same, DEL", dels[1], dels[2], dels.get(4).copied(), "<= 5 ms"),
    ]
}

/// The 8-worker throughput row.
fn parallel_row(sides: &[Side], floor: Option<&Floor>, seconds: u64) -> Row {
    eprintln!("bench: 8 parallel workers, {seconds} s per side");
    let par: Vec<scenarios::Throughput> = sides.iter().map(|s| scenarios::parallel(s, 8, seconds)).collect();
    let floor = floor.map(|f| scenarios::parallel_floor(f, 8, seconds));
    Row {
        what: "8 workers, ADD+DEL cycles per second (duplicates, failures)".into(),
        ours: format!("{:.1}/s ({}, {})", par[0].per_second, par[0].duplicates, par[0].failures),
        reference: format!("{:.1}/s ({}, {})", par[1].per_second, par[1].duplicates, par[1].failures),
        floor: floor
            .as_ref()
            .map(|f| format!("{:.1}/s (-, {})", f.per_second, f.failures))
            .unwrap_or("n/a".into()),
        ratio: par[0].per_second / par[1].per_second,
        floor_ratio: floor.map(|f| f.per_second / par[0].per_second),
        target: ">= 5x, 0 duplicates".into(),
    }
}

/// ADD latency growth at 110 live attachments (Kubernetes' default pod
/// limit per node) and at `live`, against the first.
fn scaling_rows(sides: &[Side], floor: Option<&Floor>, live: usize) -> Vec<Row> {
    let checkpoints: Vec<usize> = if live > 110 { vec![110, live] } else { vec![live] };
    eprintln!("bench: ADD latency at the first attachment and with {checkpoints:?} live");
    let mut growths: Vec<scenarios::Growth> =
        sides.iter().map(|s| scenarios::scaling(s, &checkpoints, 10)).collect();
    growths.extend(floor.map(|f| scenarios::scaling_floor(f, &checkpoints, 10)));
    let firsts: Vec<f64> = growths.iter().map(|g| summarize(&g.first).median).collect();
    checkpoints
        .iter()
        .enumerate()
        .map(|(k, live)| {
            let at: Vec<f64> = growths.iter().map(|g| summarize(&g.loaded[k]).median).collect();
            let growth = |n: usize| at[n] / firsts[n];
            let shown = |n: usize| format!("{:.2}x ({:.1} -> {:.1} ms)", growth(n), firsts[n], at[n]);
            Row {
                what: format!("ADD latency with {live} live attachments / first"),
                ours: shown(0),
                reference: shown(1),
                floor: if at.len() > 2 { shown(2) } else { "n/a".into() },
                ratio: growth(0) / growth(1),
                floor_ratio: (at.len() > 2).then(|| growth(0) / growth(2)),
                target: "<= 1.1x".into(),
            }
        })
        .collect()
}

/// A floor run of the chain exec'd once per plugin, as CNI runs a chain:
/// the plugins' steps, each writing its rules where ours does (`iptables`:
/// bridge's and portmap's, given no backend key; `firewall`: the firewall's).
fn steps(plugins: &[&'static str], iptables: bool, firewall: bool) -> Vec<Step> {
    plugins.iter().map(|&part| (part, if part == "firewall" { firewall } else { iptables })).collect()
}

/// Prints each run's per-plugin ADD + DEL medians (where the time goes).
fn print_medians(what: &str, labels: &[&str], measured: &[ChainTimes]) {
    for (label, times) in labels.iter().zip(measured) {
        let each: Vec<String> = times
            .plugins
            .iter()
            .map(|(name, adds, dels)| {
                format!("{name} {:.1} + {:.1}", summarize(adds).median, summarize(dels).median)
            })
            .collect();
        eprintln!("bench: {what}, {label}: ADD + DEL medians in ms: {}", each.join(", "));
    }
}

/// The five-plugin chain, ours with the firewall on iptables and on
/// nftables, interleaved with the reference's and three floors': one
/// process doing the whole attachment (nftables), and a process per
/// plugin with the rules where each of our two runs writes them. Four
/// rows: each of ours against both kinds of floor.
fn chain_rows(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> [Row; 4] {
    eprintln!("bench: bridge > portmap > firewall > tuning > bandwidth chain (ours twice: firewall on iptables, on nftables)");
    let firewall = |backend: Option<&str>| match backend {
        Some(backend) => json!({"type": "firewall", "backend": backend}),
        None => json!({"type": "firewall"}),
    };
    let runs = [
        ChainRun { side: &sides[0], scenario: "c", third: 2, firewall: firewall(None), shaping: true },
        ChainRun {
            side: &sides[0],
            scenario: "n",
            third: 4,
            firewall: firewall(Some("nftables")),
            shaping: true,
        },
        ChainRun { side: &sides[1], scenario: "c", third: 2, firewall: firewall(None), shaping: true },
    ];
    let ipt = default_is_iptables();
    let plugins = ["bridge", "portmap", "firewall", "tuning", "bandwidth"];
    let floor_runs = [
        ChainFloor {
            net: Net { scenario: "c", third: 2, prefix: 24 },
            extras: Extras::chain(false, true),
            steps: vec![],
        },
        ChainFloor {
            net: Net { scenario: "d", third: 6, prefix: 24 },
            extras: Extras::chain(ipt, true),
            steps: steps(&plugins, ipt, ipt),
        },
        ChainFloor {
            net: Net { scenario: "e", third: 7, prefix: 24 },
            extras: Extras::chain(ipt, true),
            steps: steps(&plugins, ipt, false),
        },
    ];
    let measured = scenarios::chain_add_del(&runs, None, floor, &floor_runs, iterations);
    let labels = [
        "ours, firewall on iptables",
        "ours, firewall on nftables",
        "reference",
        "floor, one process",
        "floor, a process per plugin",
        "floor, a process per plugin, firewall on nftables",
    ];
    print_medians("chain", &labels, &measured);
    let chain: Vec<Summary> = measured.iter().map(|t| summarize(&t.total)).collect();
    let default = default_backend();
    [
        latency_row(
            &format!("bridge, portmap, firewall, tuning, bandwidth (no backend keys: {default}): ADD + DEL; floor: one process"),
            chain[0],
            chain[2],
            chain.get(3).copied(),
            "<= 0.2x",
        ),
        latency_row(
            "same; floor: a process per plugin, as CNI runs a chain",
            chain[0],
            chain[2],
            chain.get(4).copied(),
            "<= 0.2x",
        ),
        latency_row(
            "same chain, our firewall on nftables (the reference's on iptables); floor: one process",
            chain[1],
            chain[2],
            chain.get(3).copied(),
            "<= 0.2x",
        ),
        latency_row(
            "same; floor: a process per plugin, its firewall on nftables",
            chain[1],
            chain[2],
            chain.get(5).copied(),
            "<= 0.2x",
        ),
    ]
}

/// netavark (podman's network backend) against the same work as a CNI
/// chain: bridge, portmap and firewall (ours and the reference's, no
/// backend keys), interleaved with netavark's setup + teardown of a
/// bridge, masquerading, one port and the firewall's accepts, and two
/// floors: a process per plugin (the chain's) and one process (netavark's
/// kind). Two rows: the chain against the reference, and ours against
/// netavark. None when netavark is not installed.
fn netavark_rows(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> Vec<Row> {
    eprintln!("bench: netavark setup + teardown against bridge > portmap > firewall (ours, the reference's)");
    let Some(netavark) = netavark::Netavark::new(&run_token(), std::process::id() % (36 * 36 * 36)) else {
        return Vec::new();
    };
    let runs = [
        ChainRun {
            side: &sides[0],
            scenario: "t",
            third: 10,
            firewall: json!({"type": "firewall"}),
            shaping: false,
        },
        ChainRun {
            side: &sides[1],
            scenario: "t",
            third: 10,
            firewall: json!({"type": "firewall"}),
            shaping: false,
        },
    ];
    let ipt = default_is_iptables();
    let floor_runs = [
        ChainFloor {
            net: Net { scenario: "t", third: 10, prefix: 24 },
            extras: Extras::chain(ipt, false),
            steps: steps(&["bridge", "portmap", "firewall"], ipt, ipt),
        },
        ChainFloor {
            net: Net { scenario: "u", third: 11, prefix: 24 },
            extras: Extras::chain(ipt, false),
            steps: vec![],
        },
    ];
    let peer = |i: usize| netavark.cycle(i);
    let measured = scenarios::chain_add_del(&runs, Some(&peer), floor, &floor_runs, iterations);
    let labels = ["ours", "reference", "netavark", "floor, a process per plugin", "floor, one process"];
    print_medians("bridge > portmap > firewall", &labels, &measured);
    let times: Vec<Summary> = measured.iter().map(|t| summarize(&t.total)).collect();
    let default = default_backend();
    let version = netavark.version();
    vec![
        latency_row(
            &format!("bridge, portmap, firewall (no backend keys: {default}): ADD + DEL; floor: a process per plugin"),
            times[0],
            times[1],
            times.get(3).copied(),
            "n/a",
        ),
        latency_row(
            &format!(
                "{version} (in the reference column): setup + teardown of a bridge, masquerade, one port, \
                 firewall accepts, on iptables; ours: the row above; floor: one process"
            ),
            times[0],
            times[2],
            times.get(4).copied(),
            "n/a (a peer)",
        ),
    ]
}

/// bridge + dhcp ADD (DEL and the releases dnsmasq saw go to stderr);
/// none when dnsmasq is not there.
fn dhcp_row(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> Option<Row> {
    eprintln!("bench: bridge + dhcp against one dnsmasq, each side with its own daemon");
    let measured = dhcp::add_del(sides, floor, iterations)?;
    let (add, del): (Vec<_>, Vec<_>) =
        measured.iter().map(|m| (summarize(&m.adds), summarize(&m.dels))).unzip();
    eprintln!(
        "bench: bridge + dhcp DEL (not in the table): ours {}, reference {}, floor {}; DHCPRELEASEs dnsmasq \
         logged: ours {} of {}, reference {} of {}",
        latency(del[0]),
        latency(del[1]),
        del.get(2).map(|d| latency(*d)).unwrap_or_else(|| "n/a".into()),
        measured[0].releases,
        measured[0].cycles,
        measured[1].releases,
        measured[1].cycles
    );
    Some(latency_row(
        "bridge + dhcp (dnsmasq), ADD",
        add[0],
        add[1],
        add.get(2).copied(),
        "n/a (kernel and DHCP server bound)",
    ))
}

/// ADD and DEL of bridge + host-local + ipMasq while our STATUS is polled
/// every 100 ms: against the rows without polling, what a node running
/// containerd 2.x sees.
fn polled_rows(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> Vec<Row> {
    eprintln!("bench: ADD/DEL latency again, with our STATUS polled every 100 ms");
    let (runs, floor_run) = default_add_runs(sides);
    let (add_del, calls, failures) = scenarios::with_status_polling(&sides[0], || {
        scenarios::add_del(&runs, floor, &[floor_run], iterations)
    });
    eprintln!("bench: {calls} STATUS calls meanwhile, {failures} failed");
    let adds: Vec<Summary> = add_del.iter().map(|(adds, _)| summarize(adds)).collect();
    let dels: Vec<Summary> = add_del.iter().map(|(_, dels)| summarize(dels)).collect();
    let polled =
        |what: &str| format!("{what}, STATUS polled every 100 ms ({calls} calls, {failures} failed)");
    vec![
        latency_row(&polled("same ADD"), adds[0], adds[1], adds.get(2).copied(), "as without"),
        latency_row(&polled("same DEL"), dels[0], dels[1], dels.get(2).copied(), "as without"),
    ]
}

/// The cost of one STATUS call (containerd 2.x makes one per loaded 1.1.0
/// network each time kubelet polls, every few seconds).
fn status_row(sides: &[Side], iterations: usize) -> Option<Row> {
    eprintln!("bench: STATUS of bridge + host-local, {iterations} calls");
    let measured = scenarios::status(sides, iterations);
    let ours = summarize(measured.first()?.as_ref()?);
    let reference = measured.get(1).and_then(Option::as_ref).map(|t| summarize(t));
    Some(Row {
        what: "bridge + host-local STATUS (1.1.0), per call".into(),
        ours: latency(ours),
        reference: reference.map(latency).unwrap_or_else(|| "n/a (no STATUS before spec 1.1.0)".into()),
        floor: "n/a".into(),
        ratio: reference.map_or(f64::NAN, |r| ours.median / r.median),
        floor_ratio: None,
        target: "n/a (changes nothing)".into(),
    })
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// Replaces the text between the README's benchmark markers.
fn write_readme(path: &Path, table: &str, machine: &str, opts: &Options) {
    let (start, end) = ("<!-- bench:start -->", "<!-- bench:end -->");
    let text = std::fs::read_to_string(path).expect("read README");
    let (Some(a), Some(b)) = (text.find(start), text.find(end)) else {
        panic!("{} has no {start} ... {end} markers", path.display())
    };
    let block = format!(
        "{start}\n{table}\nMeasured on {machine}, with {} iterations per latency, {} s of throughput per side and {} live \
         attachments. Regenerate with `sudo target/release/bench --write-readme README.md` after \
         `cargo build --release --workspace`.\n",
        opts.iterations, opts.seconds, opts.live
    );
    let updated = format!("{}{block}{}", &text[..a], &text[b..]);
    std::fs::write(path, updated).expect("write README");
}
