//! Crash consistency (issue 14). A chain of bridge (with `ipMasq`) and
//! host-local, portmap (a real `portMappings` runtimeConfig), tuning (a
//! sysctl, a MAC and an MTU, so it saves a backup file) and bandwidth (an
//! egress limit, so it makes an ifb) is run by cnictl as libcni runs it,
//! on each netfilter backend. ADD is killed with SIGKILL at moments spread
//! from its start to a bit past the time a whole ADD takes (measured
//! first): the whole process group, cnictl and whatever plugin process is
//! at work, as a node crash or a killed runtime cgroup stops them. Each
//! killed ADD is followed by DEL of that attachment, which must exit 0 and
//! leave nothing of it: no host-local reservation, cache entry or tuning
//! backup, no veth or ifb, no rule or chain, no held lock; the netfilter
//! rules must be those of the host before the trials. Then GC with no
//! valid attachment, and a last ADD and DEL on each network. Findings are
//! gathered over every trial and reported together, each with the moment
//! it was killed and the processes that were running then.
//!
//! The plugins run in a host netns of the test's own (links, rules and
//! devices go with it), and every state directory is a temp dir of the
//! test's. Subnet 10.227.0.0/24 belongs to this file (nftables .0/25,
//! iptables .128/25).

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// Killed ADDs per backend; `CRASH_TRIALS` sets another count (a longer
/// soak run by hand).
const TRIALS_PER_BACKEND: usize = 10;
/// The last kill comes at this share of a whole ADD's time (past its end).
const SPREAD: f64 = 1.3;
/// How long any cnictl call may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(20);

/// One network of the test: its conflist's name, backend and bridge.
struct Network {
    name: String,
    backend: &'static str,
    bridge: String,
    /// host-local's store of this network (`<dataDir>/<name>`).
    store: PathBuf,
}

/// Plugin dir, state dirs, the host netns, and the two networks.
struct Rig {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    ipam: tempfile::TempDir,
    tuning: tempfile::TempDir,
    host: TestNetns,
    /// Every container ID of this test starts with it.
    prefix: String,
    nets: Vec<Network>,
}

/// What the host holds between attachments: links and netfilter rules.
struct Baseline {
    links: BTreeSet<String>,
    rules: BTreeSet<String>,
}

/// One attachment: its container netns, ID and host port.
struct Attach {
    ctr: TestNetns,
    id: String,
    port: u16,
}

impl Rig {
    fn new() -> Rig {
        require_root();
        let mut rig = Rig {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().expect("conf dir"),
            cache: tempfile::tempdir().expect("cache dir"),
            ipam: tempfile::tempdir().expect("host-local dir"),
            tuning: tempfile::tempdir().expect("tuning dir"),
            host: TestNetns::new("cch"),
            prefix: unique("cc"),
            nets: Vec::new(),
        };
        rig.host.exec(&["ip", "link", "set", "lo", "up"]);
        for (backend, subnet, mac) in [
            ("nftables", "10.227.0.0/25", "0a:58:0a:e3:00:77"),
            ("iptables", "10.227.0.128/25", "0a:58:0a:e3:00:f7"),
        ] {
            let name = unique("ccn");
            let bridge = unique("ccbr");
            let list = json!({"cniVersion": "1.1.0", "name": name, "plugins": [
                {"type": "bridge", "bridge": bridge, "isGateway": true,
                 "ipMasq": true, "ipMasqBackend": backend,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": rig.ipam.path()}},
                {"type": "portmap", "backend": backend, "capabilities": {"portMappings": true}},
                {"type": "tuning", "dataDir": rig.tuning.path(), "mac": mac, "mtu": 1400,
                 "sysctl": {"net.ipv4.conf.eth0.arp_filter": "1"}},
                {"type": "bandwidth", "ingressRate": 16_000_000, "ingressBurst": 80_000,
                 "egressRate": 16_000_000, "egressBurst": 80_000},
            ]});
            let file = rig.conf.path().join(format!("10-{name}.conflist"));
            std::fs::write(file, serde_json::to_vec_pretty(&list).expect("conflist"))
                .expect("write conflist");
            let store = rig.ipam.path().join(&name);
            rig.nets.push(Network { name, backend, bridge, store });
        }
        rig
    }

    /// cnictl with this rig's dirs, in the host netns, in a process group of its own.
    fn cnictl(&self, args: &[String]) -> Command {
        let mut cmd = in_netns(&self.host.name, cnictl());
        cmd.args(args)
            .env("NETCONFPATH", self.conf.path())
            .env("CNI_CACHE_DIR", self.cache.path())
            .env("CNI_PATH", self.plugins.path())
            .env("NO_COLOR", "1");
        for var in ["CNI_ARGS", "CAP_ARGS", "CNI_IFNAME", "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS"] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        cmd
    }

    /// A fresh container netns and ID (`tag` tells trials apart).
    fn attach(&self, tag: &str, port: u16) -> Attach {
        let ctr = TestNetns::new("ccc");
        ctr.exec(&["ip", "link", "set", "lo", "up"]);
        Attach { ctr, id: format!("{}-{tag}", self.prefix), port }
    }

    /// `cnictl VERB NET NETNS --container-id ID --cap-args {portMappings}`,
    /// the same runtime config for ADD and DEL, as a runtime sends them.
    fn verb(&self, verb: &str, net: &Network, att: &Attach) -> Command {
        let caps = json!({"portMappings": [{"hostPort": att.port, "containerPort": 80, "protocol": "tcp"}]});
        let args =
            [verb, &net.name, &att.ctr.path(), "--container-id", &att.id, "--cap-args", &caps.to_string()];
        self.cnictl(&args.map(String::from))
    }

    /// Runs a verb to its end; Err when it fails or hangs.
    fn run(&self, verb: &str, net: &Network, att: &Attach) -> Result<Finished, String> {
        let done = Running::spawn(self.verb(verb, net, att)).finish(DEADLINE);
        match done.status {
            Some(s) if s.success() => Ok(done),
            Some(s) => Err(format!("cnictl {verb} exited {s}: {}", done.stderr.trim())),
            None => Err(format!("cnictl {verb} still running after {DEADLINE:?}: {}", done.stderr.trim())),
        }
    }

    /// A whole ADD, timed, then its DEL; panics on failure (before the trials).
    fn add_del(&self, net: &Network, tag: &str, port: u16) -> Duration {
        let att = self.attach(tag, port);
        let added = self.run("add", net, &att).unwrap_or_else(|e| panic!("{} ADD: {e}", net.backend));
        let result: Value = serde_json::from_str(&added.stdout).expect("ADD result");
        let names: Vec<&str> = result["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["name"].as_str())
            .collect();
        assert!(names.iter().any(|n| n.starts_with("veth")), "{}: a host veth: {result}", net.backend);
        assert!(names.iter().any(|n| n.starts_with("bwp")), "{}: bandwidth's ifb: {result}", net.backend);
        assert!(
            std::fs::read_dir(self.tuning.path()).map(|d| d.count()).unwrap_or(0) == 1,
            "{}: tuning saved its backup",
            net.backend
        );
        assert!(
            self.rules().iter().any(|r| r.contains(&att.id)),
            "{}: the container's rules are there",
            net.backend
        );
        self.run("del", net, &att).unwrap_or_else(|e| panic!("{} DEL: {e}", net.backend));
        added.took
    }

    /// Netfilter state, one entry per rule or user chain: iptables-save's
    /// `-A` lines and non-builtin chains (both families, every table), and
    /// the chains and rules of nftables tables named `cni_*` (counters left out).
    fn rules(&self) -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        for tool in ["iptables-save", "ip6tables-save"] {
            let mut table = String::new();
            for line in self.host.output(&[tool]).lines() {
                if let Some(t) = line.strip_prefix('*') {
                    table = t.to_string();
                } else if line.starts_with("-A ") {
                    set.insert(format!("{tool} -t {table} {line}"));
                } else if let Some((chain, _)) = line.strip_prefix(':').and_then(|l| l.split_once(" - [")) {
                    set.insert(format!("{tool} -t {table} chain {chain}"));
                }
            }
        }
        let (mut table, mut chain) = (String::new(), String::new());
        for line in self.host.output(&["nft", "list", "ruleset"]).lines() {
            let line = line.trim();
            if let Some(t) = line.strip_prefix("table ") {
                table = t.trim_end_matches('{').trim().to_string();
                chain.clear();
            } else if let Some(c) = line.strip_prefix("chain ") {
                chain = c.trim_end_matches('{').trim().to_string();
                if is_ours(&table) {
                    set.insert(format!("nft {table} chain {chain}"));
                }
            } else if line == "}" {
                if chain.is_empty() {
                    table.clear();
                } else {
                    chain.clear();
                }
            } else if !line.is_empty() && is_ours(&table) {
                set.insert(format!("nft {table} {chain}: {}", without_counters(line)));
            }
        }
        set
    }

    /// The host's links (names).
    fn links(&self) -> Vec<Value> {
        let text = self.host.output(&["ip", "-j", "-d", "link", "show"]);
        serde_json::from_str::<Value>(&text).ok().and_then(|v| v.as_array().cloned()).unwrap_or_default()
    }

    fn baseline(&self) -> Baseline {
        let links = self.links().iter().filter_map(|l| l["ifname"].as_str()).map(String::from).collect();
        Baseline { links, rules: self.rules() }
    }

    /// Everything an attachment may have left, one line each (stable text,
    /// so that the same leftover seen by two trials is told once).
    fn leftovers(&self, base: &Baseline, ctr: Option<&TestNetns>) -> Vec<String> {
        let mut left = Vec::new();
        for file in files_under(self.cache.path()) {
            left.push(format!("cnictl cache file {}", shown(&file)));
        }
        for net in &self.nets {
            for file in files_under(&net.store) {
                let name = file.file_name().unwrap_or_default().to_string_lossy().to_string();
                if name != "lock" && !name.starts_with("last_reserved_ip.") {
                    left.push(format!("host-local file {}/{name} {:?}", net.name, read(&file)));
                }
            }
            if lock_held(&net.store.join("lock")) {
                left.push(format!("host-local's lock of {} is held", net.name));
            }
        }
        for file in files_under(self.tuning.path()) {
            left.push(format!("tuning backup {} {:?}", shown(&file), read(&file)));
        }
        for link in self.links() {
            let name = link["ifname"].as_str().unwrap_or_default();
            if !base.links.contains(name) {
                let kind = link["linkinfo"]["info_kind"].as_str().unwrap_or("?");
                let master = link["master"].as_str().map(|m| format!(" on {m}")).unwrap_or_default();
                left.push(format!("host link {name} ({kind}{master})"));
            }
        }
        let rules = self.rules();
        for rule in rules.difference(&base.rules) {
            left.push(format!("netfilter: {rule}"));
        }
        for rule in base.rules.difference(&rules) {
            left.push(format!("netfilter entry gone that was there before the trials: {rule}"));
        }
        for line in self.host.output(&["nft", "list", "ruleset"]).lines() {
            if line.contains(&self.prefix) {
                left.push(format!("nft ruleset mentions a test container: {}", line.trim()));
            }
        }
        if let Some(ctr) = ctr {
            let text = ctr.output(&["ip", "-j", "link", "show"]);
            let links: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            for name in links.as_array().into_iter().flatten().filter_map(|l| l["ifname"].as_str()) {
                if name != "lo" {
                    left.push(format!("container link {name}"));
                }
            }
        }
        left
    }
}

/// Tables of the plugins (iptables-nft's own tables are read through iptables-save).
fn is_ours(table: &str) -> bool {
    table.split_whitespace().nth(1).is_some_and(|name| name.starts_with("cni_"))
}

/// An nft rule line without its `packets N bytes M`.
fn without_counters(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let numeric = words.get(i + 1).is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()));
        if (words[i] == "packets" || words[i] == "bytes") && numeric {
            i += 2;
        } else {
            kept.push(words[i]);
            i += 1;
        }
    }
    kept.join(" ")
}

/// Files (not directories) below `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn shown(path: &Path) -> String {
    path.file_name().unwrap_or_default().to_string_lossy().to_string()
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).to_string()
}

/// True when someone holds the flock host-local takes on `lock`.
fn lock_held(lock: &Path) -> bool {
    let Ok(file) = std::fs::File::open(lock) else { return false };
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(_held) => false,
        Err((_, errno)) => errno == nix::errno::Errno::EWOULDBLOCK,
    }
}

/// The live (not zombie) processes of process group `pgid`: pid and program name.
fn group_members(pgid: i32) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parens.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 3 || fields[0] == "Z" || fields[0] == "X" || fields[2] != pgid.to_string() {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let name =
            Path::new(&*String::from_utf8_lossy(argv0)).file_name().map(|n| n.to_string_lossy().to_string());
        found.push((pid, name.unwrap_or_else(|| "?".into())));
    }
    found.sort();
    found
}

/// A cnictl call in its own process group; killed with its group on drop.
struct Running {
    child: Child,
    spawned: Instant,
    pgid: i32,
    reaped: bool,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

/// How a call ended: its status (None: still running at the deadline,
/// then killed), and how long cnictl ran.
struct Finished {
    status: Option<ExitStatus>,
    took: Duration,
    stdout: String,
    stderr: String,
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let spawned = Instant::now();
        let mut child = cmd.spawn().expect("spawn cnictl");
        let pgid = child.id() as i32;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Running { child, spawned, pgid, reaped: false, stdout, stderr }
    }

    fn kill(&self) {
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
    }

    /// Waits up to `limit` (then kills the group), and until no process of
    /// the group is left alive.
    fn finish(mut self, limit: Duration) -> Finished {
        let start = Instant::now();
        let mut status = None;
        while start.elapsed() < limit {
            if let Some(s) = self.child.try_wait().expect("wait cnictl") {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let took = self.spawned.elapsed();
        if status.is_none() {
            self.kill();
            let _ = self.child.wait();
        }
        self.reaped = true;
        // Plugins it started may outlive a killed cnictl for a moment.
        let gone = Instant::now();
        while !group_members(self.pgid).is_empty() && gone.elapsed() < Duration::from_secs(5) {
            self.kill();
            std::thread::sleep(Duration::from_millis(5));
        }
        let left = group_members(self.pgid);
        assert!(left.is_empty(), "processes of cnictl's group still alive after SIGKILL: {left:?}");
        let stdout = std::mem::replace(&mut self.stdout, std::thread::spawn(String::new));
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        Finished {
            status,
            took,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// One killed ADD and its DEL: what happened, and what was left.
fn trial(rig: &Rig, base: &Baseline, net: &Network, k: usize, delay: Duration) -> (String, Vec<String>) {
    let att = rig.attach(
        &format!("{}{k:02}", &net.backend[..3]),
        if net.backend == "iptables" { 40000 } else { 30000 } + k as u16,
    );
    let run = Running::spawn(rig.verb("add", net, &att));
    std::thread::sleep(delay);
    let running: Vec<String> = group_members(run.pgid).into_iter().map(|(_, name)| name).collect();
    run.kill();
    let add = run.finish(DEADLINE);
    let cached = rig.cache.path().join("results").join(format!("{}-{}-eth0", net.name, att.id)).exists();
    let outcome = match add.status {
        Some(s) if s.signal() == Some(libc::SIGKILL) => "killed".to_string(),
        Some(s) if s.success() => "finished before the kill".to_string(),
        Some(s) => format!("ADD failed on its own ({s}): {}", add.stderr.trim()),
        None => "ADD hung".to_string(),
    };
    let mut problems = Vec::new();
    if !outcome.starts_with("killed") && !outcome.starts_with("finished") {
        problems.push(outcome.clone());
    }
    // What the killed ADD left for DEL to clean (that DEL had work to do).
    let before = rig.leftovers(base, Some(&att.ctr)).len();
    let label = format!(
        "{} trial {k} ({} {:.1} ms after spawn, running [{}], {outcome}, cache entry {}, {before} items before DEL)",
        net.backend,
        att.id,
        delay.as_secs_f64() * 1000.0,
        running.join(", "),
        if cached { "written" } else { "absent" }
    );
    if let Err(e) = rig.run("del", net, &att) {
        problems.push(format!("DEL failed: {e}"));
    }
    problems.extend(rig.leftovers(base, Some(&att.ctr)));
    (label, problems)
}

#[test]
fn add_killed_at_any_moment_then_del_and_gc_leave_nothing() {
    let started = Instant::now();
    let rig = Rig::new();

    // Warm up (the bridge, tables and base chains of each backend are made
    // once and shared), then time whole ADDs.
    for (n, net) in rig.nets.iter().enumerate() {
        rig.add_del(net, &format!("warm{n}"), 29000 + n as u16);
    }
    let mut took = Vec::new();
    for (n, net) in rig.nets.iter().enumerate() {
        let mut times: Vec<Duration> =
            (0..3).map(|i| rig.add_del(net, &format!("time{n}{i}"), 29100 + n as u16)).collect();
        times.sort();
        took.push(times[1]);
    }
    let base = rig.baseline();
    let expected: BTreeSet<String> =
        ["lo".to_string()].into_iter().chain(rig.nets.iter().map(|n| n.bridge.clone())).collect();
    assert_eq!(base.links, expected, "after whole ADDs and DELs only lo and the bridges are left");
    let stray: Vec<&String> = base
        .rules
        .iter()
        .filter(|r| {
            r.contains(&rig.prefix) || (r.contains("chain CNI-") && !r.contains("chain CNI-HOSTPORT-"))
        })
        .collect();
    assert!(stray.is_empty(), "after whole ADDs and DELs no container's rules or chains: {stray:?}");
    let clean = rig.leftovers(&base, None);
    assert!(clean.is_empty(), "after whole ADDs and DELs nothing is left: {clean:#?}");
    for (net, t) in rig.nets.iter().zip(&took) {
        eprintln!("{}: a whole ADD takes {:.1} ms (median of 3)", net.backend, t.as_secs_f64() * 1000.0);
    }

    // The trials: kill moments from 0 to SPREAD times a whole ADD.
    let mut findings = Vec::new();
    let mut told = BTreeSet::new();
    let mut killed = 0;
    let trials =
        std::env::var("CRASH_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(TRIALS_PER_BACKEND);
    for (net, t) in rig.nets.iter().zip(&took) {
        for k in 0..trials {
            let delay = t.mul_f64(SPREAD * k as f64 / trials.saturating_sub(1).max(1) as f64);
            let (label, problems) = trial(&rig, &base, net, k, delay);
            killed += label.contains(", killed,") as usize;
            let new: Vec<String> = problems.into_iter().filter(|p| told.insert(p.clone())).collect();
            eprintln!("{label}: {}", if new.is_empty() { "clean".to_string() } else { new.join("; ") });
            if !new.is_empty() {
                findings.push(format!("{label}:\n    {}", new.join("\n    ")));
            }
        }
    }

    // GC with no valid attachment (the cache is empty, every netns gone).
    let gc = Running::spawn(rig.cnictl(&["gc".to_string()])).finish(DEADLINE);
    if !gc.status.is_some_and(|s| s.success()) {
        findings.push(format!("GC failed ({:?}): {}", gc.status, gc.stderr.trim()));
    }
    // Everything is told here, also what a trial told already.
    let after_gc = rig.leftovers(&base, None);
    if !after_gc.is_empty() {
        findings.push(format!("after GC:\n    {}", after_gc.join("\n    ")));
    }

    // No lock held, nothing wedged: a last ADD and DEL on each network.
    for (n, net) in rig.nets.iter().enumerate() {
        let att = rig.attach(&format!("last{n}"), 29200 + n as u16);
        let start = Instant::now();
        if let Err(e) = rig.run("add", net, &att) {
            findings.push(format!("{}: the last ADD failed: {e}", net.backend));
        } else if start.elapsed() > Duration::from_secs(5) {
            findings.push(format!("{}: the last ADD took {:?} (a lock?)", net.backend, start.elapsed()));
        }
        if let Err(e) = rig.run("del", net, &att) {
            findings.push(format!("{}: the last DEL failed: {e}", net.backend));
        }
        let left = rig.leftovers(&base, Some(&att.ctr));
        if !left.is_empty() {
            findings.push(format!(
                "{}: after the last ADD and DEL:\n    {}",
                net.backend,
                left.join("\n    ")
            ));
        }
    }

    eprintln!(
        "{} trials ({killed} ADDs killed, the rest finished first) in {:.1} s",
        rig.nets.len() * trials,
        started.elapsed().as_secs_f64()
    );
    assert!(findings.is_empty(), "crash consistency:\n{}", findings.join("\n"));
}
