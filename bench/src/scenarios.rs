//! The measured work, each run on ours and on the reference in one go,
//! interleaved where the measurement is a latency.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::exec::{delete_link, plugin, Netns, Run, Target};
use crate::floor::{default_is_iptables, Extras, Floor, Net, Step};
use crate::interrupt::interrupted;

/// One implementation under test.
pub struct Side {
    /// "ours" or "reference".
    pub label: &'static str,
    /// Short tag for names: a token of this run (so a second run's
    /// bridges, namespaces and networks do not collide) and the side's letter.
    pub tag: String,
    /// Where its bridge and host-local are.
    pub dir: PathBuf,
    /// CNI_PATH for its runs (ours first, then the reference's meta plugins).
    pub path: String,
    /// Second octet of its subnets, so the two never share addresses.
    pub octet: u8,
    /// Its host-local store.
    pub store: PathBuf,
}

impl Side {
    /// The name of its bridge in a scenario.
    pub fn bridge(&self, scenario: &str) -> String {
        format!("bn{}{scenario}", self.tag)
    }

    /// The bridge + host-local + ipMasq network of a scenario.
    pub fn conf(&self, scenario: &str, third: u8) -> Value {
        json!({
            "cniVersion": "1.0.0",
            "name": format!("bench-{}-{scenario}", self.tag),
            "type": "bridge",
            "bridge": self.bridge(scenario),
            "isGateway": true,
            "ipMasq": true,
            "ipam": {"type": "host-local", "subnet": format!("10.{}.{third}.0/24", self.octet),
                     "dataDir": self.store},
        })
    }

    fn cleanup(&self, scenario: &str) {
        delete_link(&self.bridge(scenario));
    }
}

/// `conf` with `prev` as its prevResult, as stdin.
pub fn with_prev(conf: &Value, prev: &Value) -> String {
    let mut conf = conf.clone();
    conf["prevResult"] = prev.clone();
    conf.to_string()
}

/// Lets the kernel finish tearing down the previous iteration's namespace
/// (`cleanup_net` runs in the background and takes RTNL), so that a timed
/// call measures the plugin and not the last iteration's cleanup.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

/// A fresh container netns for iteration `i` of a scenario, and its target.
pub fn netns(side: &Side, scenario: &str, i: usize) -> (Netns, Target) {
    netns_of(&side.tag, scenario, i)
}

/// [`netns`] for any tag (the floor's too).
pub fn netns_of(tag: &str, scenario: &str, i: usize) -> (Netns, Target) {
    let ns = Netns::new(format!("bn{tag}{scenario}{i}"));
    let target = Target { id: format!("bench-{tag}-{scenario}-{i}"), netns: ns.path() };
    (ns, target)
}

/// One ADD and DEL of the floor, each checked: their times.
pub fn floor_cycle(floor: &Floor, host: Option<&Netns>, request: &Value) -> (Duration, Duration) {
    let add = floor.add(host, request);
    assert!(add.ok, "floor ADD failed: {}", add.err);
    let del = floor.del(host, &Floor::del_request(request, &add));
    assert!(del.ok, "floor DEL failed: {}", del.err);
    (add.took, del.took)
}

/// One network of the ADD/DEL rows: whose plugins, under which scenario
/// letter (own bridge, subnet and namespaces), with which netconf.
pub struct AddRun<'a> {
    /// Whose plugins.
    pub side: &'a Side,
    /// The scenario letter.
    pub scenario: &'static str,
    /// The bridge + host-local + ipMasq netconf (`Side::conf`, perhaps
    /// with a backend key).
    pub conf: Value,
}

/// One of the floor's networks in the ADD/DEL rows, and its ADD's extras
/// (which backend its rule goes through).
#[derive(Clone, Copy)]
pub struct FloorRun {
    /// Its network.
    pub net: Net,
    /// What its ADD carries.
    pub extras: Extras,
}

/// ADD and DEL latency of bridge + host-local + ipMasq, interleaved: the
/// runs' and, with a floor, each floor run's (the same kernel work) in
/// every round; the floor runs' times come last.
pub fn add_del(
    runs: &[AddRun],
    floor: Option<&Floor>,
    floor_runs: &[FloorRun],
    iterations: usize,
) -> Vec<(Vec<Duration>, Vec<Duration>)> {
    let floor_runs = if floor.is_some() { floor_runs } else { &[] };
    let mut times = vec![(Vec::new(), Vec::new()); runs.len() + floor_runs.len()];
    let floor = floor.map(|f| (f, floor_runs.iter().map(|r| f.make_bridge(r.net, None)).collect::<Vec<_>>()));
    let warmup = 3;
    for i in (0..iterations + warmup).take_while(|_| !interrupted()) {
        if let Some((floor, bridges)) = &floor {
            for (k, (run, bridge)) in floor_runs.iter().zip(bridges).enumerate() {
                let (_ns, target) = netns_of(&floor.tag, run.net.scenario, i);
                settle();
                let request = floor.request(run.net, *bridge, i as u32, &target, run.extras);
                let (add, del) = floor_cycle(floor, None, &request);
                if i >= warmup {
                    times[runs.len() + k].0.push(add);
                    times[runs.len() + k].1.push(del);
                }
            }
        }
        for (run, (adds, dels)) in runs.iter().zip(times.iter_mut()) {
            let side = run.side;
            let (_ns, target) = netns(side, run.scenario, i);
            settle();
            let add = plugin(&side.dir, &side.path, "bridge", "ADD", &target, &run.conf.to_string());
            assert!(add.ok, "{} ADD failed: {}", side.label, add.out);
            let del =
                plugin(&side.dir, &side.path, "bridge", "DEL", &target, &with_prev(&run.conf, &add.out));
            assert!(del.ok, "{} DEL failed: {}", side.label, del.out);
            if i >= warmup {
                adds.push(add.took);
                dels.push(del.took);
            }
        }
    }
    runs.iter().for_each(|r| r.side.cleanup(r.scenario));
    if let Some((floor, _)) = floor {
        floor_runs.iter().for_each(|r| floor.cleanup(r.net.scenario));
    }
    times
}

/// One run of the chain: a side, with the firewall entry it uses (ours
/// also runs with `"backend": "nftables"`), under its own scenario letter
/// (own bridge, subnet and namespaces).
pub struct ChainRun<'a> {
    /// Whose plugins.
    pub side: &'a Side,
    /// The scenario letter and the third octet of its subnet.
    pub scenario: &'static str,
    /// Third octet of its subnet.
    pub third: u8,
    /// The firewall plugin's netconf entry.
    pub firewall: Value,
    /// The five-plugin chain (with tuning and bandwidth), or bridge,
    /// portmap and firewall only.
    pub shaping: bool,
}

fn chain(run: &ChainRun, i: usize) -> Vec<(PathBuf, Value)> {
    let side = run.side;
    let name = format!("bench-{}-{}", side.tag, run.scenario);
    let common = |mut v: Value| {
        v["name"] = json!(name);
        v["cniVersion"] = json!("1.0.0");
        v
    };
    let mut bridge = side.conf(run.scenario, run.third);
    bridge["name"] = json!(name);
    let mut plugins = vec![
        (side.dir.clone(), bridge),
        (
            side.dir.clone(),
            common(json!({"type": "portmap", "capabilities": {"portMappings": true}, "runtimeConfig":
                {"portMappings": [{"hostPort": 20000 + i, "containerPort": 80, "protocol": "tcp"}]}})),
        ),
        (side.dir.clone(), common(run.firewall.clone())),
    ];
    if run.shaping {
        plugins.extend([
            (side.dir.clone(), common(json!({"type": "tuning", "sysctl": {"net.core.somaxconn": "512"}}))),
            (
                side.dir.clone(),
                common(json!({"type": "bandwidth", "capabilities": {"bandwidth": true}, "runtimeConfig":
                    {"bandwidth": {"ingressRate": 100000000, "ingressBurst": 1000000,
                                   "egressRate": 100000000, "egressBurst": 1000000}}})),
            ),
        ]);
    }
    plugins
}

/// One run's chain times: the whole ADD + DEL, and each plugin's ADD and
/// DEL (in chain order), to say where the time goes.
#[derive(Default, Clone)]
pub struct ChainTimes {
    /// ADD + DEL of the whole chain.
    pub total: Vec<Duration>,
    /// Per plugin of the chain: its type, its ADDs and its DELs.
    pub plugins: Vec<(String, Vec<Duration>, Vec<Duration>)>,
}

impl ChainTimes {
    /// Adds one round: its total and each step's ADD and DEL times, named by `names`.
    fn push(
        &mut self,
        total: Duration,
        names: impl Iterator<Item = String>,
        adds: &[Duration],
        dels: &[Duration],
    ) {
        if self.plugins.is_empty() {
            self.plugins = names.map(|name| (name, vec![], vec![])).collect();
        }
        self.total.push(total);
        for (k, (_, a, d)) in self.plugins.iter_mut().enumerate() {
            a.extend(adds.get(k));
            d.extend(dels.get(k));
        }
    }
}

/// One of the floor's runs in the chain rows: its network, what its ADD
/// carries, and the steps it is exec'd in (none: one ADD and one DEL
/// doing the whole attachment's work; else one exec per plugin step).
pub struct ChainFloor {
    /// Its network.
    pub net: Net,
    /// The whole attachment's work.
    pub extras: Extras,
    /// The plugins' steps, in chain order; empty for one process.
    pub steps: Vec<Step>,
}

/// A peer that is no CNI chain (netavark): its setup and teardown times
/// for iteration `i`.
pub type Peer<'a> = &'a dyn Fn(usize) -> (Duration, Duration);

/// ADD + DEL of the whole chain, as libcni runs it, the runs interleaved;
/// every plugin is each side's own. The runs' times come first, then the
/// peer's (setup + teardown) if any, then, with a floor, each floor run's.
pub fn chain_add_del(
    runs: &[ChainRun],
    peer: Option<Peer>,
    floor: Option<&Floor>,
    floor_runs: &[ChainFloor],
    iterations: usize,
) -> Vec<ChainTimes> {
    let floor_runs = if floor.is_some() { floor_runs } else { &[] };
    let first_floor = runs.len() + usize::from(peer.is_some());
    let mut times = vec![ChainTimes::default(); first_floor + floor_runs.len()];
    let floor = floor.map(|f| (f, floor_runs.iter().map(|r| f.make_bridge(r.net, None)).collect::<Vec<_>>()));
    let warmup = 2;
    for i in (0..iterations + warmup).take_while(|_| !interrupted()) {
        if let Some((floor, bridges)) = &floor {
            for (k, (run, bridge)) in floor_runs.iter().zip(bridges).enumerate() {
                let (_ns, target) = netns_of(&floor.tag, run.net.scenario, i);
                let request = floor.request(run.net, *bridge, i as u32, &target, run.extras);
                let (adds, dels) = if run.steps.is_empty() {
                    let (add, del) = floor_cycle(floor, None, &request);
                    (vec![add], vec![del])
                } else {
                    floor.steps(&request, &run.steps)
                };
                if i >= warmup {
                    let names: Vec<String> = if run.steps.is_empty() {
                        vec!["all".to_string()]
                    } else {
                        run.steps.iter().map(|(part, _)| part.to_string()).collect()
                    };
                    let total = adds.iter().chain(&dels).sum();
                    times[first_floor + k].push(total, names.into_iter(), &adds, &dels);
                }
            }
        }
        if let Some(peer) = peer {
            let (setup, teardown) = peer(i);
            if i >= warmup {
                times[runs.len()].push(
                    setup + teardown,
                    ["all".to_string()].into_iter(),
                    &[setup],
                    &[teardown],
                );
            }
        }
        for (run, times) in runs.iter().zip(times.iter_mut()) {
            let (_ns, target) = netns(run.side, run.scenario, i);
            let plugins = chain(run, i);
            let start = Instant::now();
            let (adds, dels) = run_chain(run.side, &plugins, &target);
            if i >= warmup {
                let names =
                    plugins.iter().map(|(_, conf)| conf["type"].as_str().unwrap_or_default().to_string());
                times.push(start.elapsed(), names, &adds, &dels);
            }
        }
    }
    runs.iter().for_each(|r| r.side.cleanup(r.scenario));
    if let Some((floor, _)) = floor {
        floor_runs.iter().for_each(|r| floor.cleanup(r.net.scenario));
    }
    times
}

/// ADD through the chain, then DEL in reverse, each checked: each
/// plugin's ADD and DEL time, in chain order.
fn run_chain(side: &Side, plugins: &[(PathBuf, Value)], target: &Target) -> (Vec<Duration>, Vec<Duration>) {
    let call = |dir: &PathBuf, conf: &Value, command: &str, stdin: &str| {
        let run = plugin(dir, &side.path, conf["type"].as_str().unwrap_or_default(), command, target, stdin);
        assert!(run.ok, "{} chain {command} {} failed: {}", side.label, conf["type"], run.out);
        run
    };
    let mut prev = Value::Null;
    let mut adds = Vec::new();
    for (dir, conf) in plugins {
        let stdin = if prev.is_null() { conf.to_string() } else { with_prev(conf, &prev) };
        let run = call(dir, conf, "ADD", &stdin);
        adds.push(run.took);
        prev = run.out;
    }
    let mut dels: Vec<Duration> = plugins
        .iter()
        .rev()
        .map(|(dir, conf)| call(dir, conf, "DEL", &with_prev(conf, &prev)).took)
        .collect();
    dels.reverse();
    (adds, dels)
}

/// Throughput of 8 workers doing ADD+DEL cycles on one network.
pub struct Throughput {
    /// Completed cycles per second.
    pub per_second: f64,
    /// Times an address was handed out while another attachment held it.
    pub duplicates: usize,
    /// Cycles whose ADD or DEL failed.
    pub failures: usize,
}

/// The addresses attachments hold at the moment, to catch one handed out twice.
#[derive(Default)]
pub struct Live(Mutex<HashSet<String>>);

impl Live {
    /// Takes `ip`; false when another attachment holds it.
    fn hold(&self, ip: &str) -> bool {
        self.0.lock().map(|mut l| l.insert(ip.to_string())).unwrap_or(false)
    }

    fn release(&self, ip: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.remove(ip);
        }
    }
}

/// `workers` threads, each in a netns of its own, running `cycle` (true
/// when its ADD and DEL succeeded) until `seconds` are up.
fn run_workers(
    tag: &str,
    workers: usize,
    seconds: u64,
    cycle: impl Fn(usize, &Target, &Live, &AtomicUsize) -> bool + Sync,
) -> Throughput {
    let namespaces: Vec<(Netns, Target)> = (0..workers).map(|w| netns_of(tag, "p", w)).collect();
    let live = Live::default();
    let (cycles, duplicates, failures) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for (w, (_, target)) in namespaces.iter().enumerate() {
            let (cycle, live, cycles, duplicates, failures) =
                (&cycle, &live, &cycles, &duplicates, &failures);
            scope.spawn(move || {
                while Instant::now() < deadline && !interrupted() {
                    let counter = if cycle(w, target, live, duplicates) { cycles } else { failures };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    drop(namespaces);
    Throughput {
        per_second: cycles.load(Ordering::SeqCst) as f64 / elapsed,
        duplicates: duplicates.load(Ordering::SeqCst),
        failures: failures.load(Ordering::SeqCst),
    }
}

/// Runs the workers for `seconds` on one side.
pub fn parallel(side: &Side, workers: usize, seconds: u64) -> Throughput {
    let conf = side.conf("p", 3);
    let throughput = run_workers(&side.tag, workers, seconds, |_, target, live, duplicates| {
        let add = plugin(&side.dir, &side.path, "bridge", "ADD", target, &conf.to_string());
        if !add.ok {
            let _ = plugin(&side.dir, &side.path, "bridge", "DEL", target, &conf.to_string());
            return false;
        }
        let ip = add.out["ips"][0]["address"].as_str().unwrap_or_default().to_string();
        if !live.hold(&ip) {
            duplicates.fetch_add(1, Ordering::SeqCst);
        }
        live.release(&ip);
        plugin(&side.dir, &side.path, "bridge", "DEL", target, &with_prev(&conf, &add.out)).ok
    });
    side.cleanup("p");
    throughput
}

/// The floor's cycles with `workers` in parallel (its addresses are the
/// bench's choice, one per worker: no duplicates to count).
pub fn parallel_floor(floor: &Floor, workers: usize, seconds: u64) -> Throughput {
    let net = Net { scenario: "p", third: 3, prefix: 24 };
    let bridge = floor.make_bridge(net, None);
    let extras = Extras::masquerade(default_is_iptables());
    let throughput = run_workers(&floor.tag, workers, seconds, |w, target, _, _| {
        let request = floor.request(net, bridge, w as u32, target, extras);
        let add = floor.add(None, &request);
        let del = floor.del(None, &Floor::del_request(&request, &add));
        add.ok && del.ok
    });
    floor.cleanup(net.scenario);
    throughput
}

/// ADD latencies on a bridge with no other attachment, and at each of
/// `checkpoints` live attachments.
pub struct Growth {
    /// With none live.
    pub first: Vec<Duration>,
    /// With `checkpoints[k]` live.
    pub loaded: Vec<Vec<Duration>>,
}

/// How to make and remove one attachment of the scaling network: ADD
/// gives its run and what DEL needs back.
pub struct Attacher<'a> {
    /// Tag for the namespaces' names.
    pub tag: &'a str,
    /// ADD of attachment `n` on a target.
    pub add: &'a dyn Fn(u32, &Target) -> (Run, Value),
    /// DEL with what ADD gave back.
    pub del: &'a dyn Fn(&Target, &Value),
}

/// ADD latency with no other attachment, and with each checkpoint's number
/// of attachments live on the bridge (the live ones are added in between).
pub fn growth(attacher: &Attacher, checkpoints: &[usize], samples: usize) -> Growth {
    let sample = |offset: usize| -> Vec<Duration> {
        (0..samples)
            .take_while(|_| !interrupted())
            .map(|i| {
                let (_ns, target) = netns_of(attacher.tag, "s", offset + i);
                settle();
                let (add, back) = (attacher.add)((offset + i) as u32, &target);
                assert!(add.ok, "ADD failed: {} {}", add.out, add.err);
                (attacher.del)(&target, &back);
                add.took
            })
            .collect()
    };
    let first = sample(100_000);
    let mut held: Vec<(Netns, Target, Value)> = Vec::new();
    let mut loaded = Vec::new();
    for (k, &live) in checkpoints.iter().enumerate() {
        while held.len() < live && !interrupted() {
            let i = held.len();
            let (ns, target) = netns_of(attacher.tag, "s", i);
            let (add, back) = (attacher.add)(i as u32, &target);
            assert!(add.ok, "ADD {i} failed: {} {}", add.out, add.err);
            held.push((ns, target, back));
        }
        loaded.push(sample(200_000 + k * 100));
    }
    for (_ns, target, back) in &held {
        (attacher.del)(target, back);
    }
    Growth { first, loaded }
}

/// [`growth`] of one side's bridge + host-local network (a /20: a /24 is too small for 500).
pub fn scaling(side: &Side, checkpoints: &[usize], samples: usize) -> Growth {
    let mut conf = side.conf("s", 0);
    conf["ipam"]["subnet"] = json!(format!("10.{}.16.0/20", side.octet));
    let add = |_: u32, target: &Target| {
        let add = plugin(&side.dir, &side.path, "bridge", "ADD", target, &conf.to_string());
        let result = add.out.clone();
        (add, result)
    };
    let del = |target: &Target, result: &Value| {
        let _ = plugin(&side.dir, &side.path, "bridge", "DEL", target, &with_prev(&conf, result));
    };
    let growth = growth(&Attacher { tag: &side.tag, add: &add, del: &del }, checkpoints, samples);
    side.cleanup("s");
    growth
}

/// [`growth`] of the floor, on a /20 of its own.
pub fn scaling_floor(floor: &Floor, checkpoints: &[usize], samples: usize) -> Growth {
    let net = Net { scenario: "s", third: 16, prefix: 20 };
    let bridge = floor.make_bridge(net, None);
    let extras = Extras::masquerade(default_is_iptables());
    let add = |n: u32, target: &Target| {
        let request = floor.request(net, bridge, n, target, extras);
        let add = floor.add(None, &request);
        let back = Floor::del_request(&request, &add);
        (add, back)
    };
    let del = |_: &Target, request: &Value| {
        let _ = floor.del(None, request);
    };
    let growth = growth(&Attacher { tag: &floor.tag, add: &add, del: &del }, checkpoints, samples);
    floor.cleanup(net.scenario);
    growth
}

/// Bytes on disk of every regular file in `dir` (links count nothing).
pub fn size_of_files(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::symlink_metadata(e.path()).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Runs `work` while another thread calls `side`'s STATUS every 100 ms, as
/// containerd 2.x does on each kubelet poll: what `work` returned, and how
/// many STATUS calls were made and failed.
pub fn with_status_polling<T>(side: &Side, work: impl FnOnce() -> T) -> (T, usize, usize) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let target = Target { id: String::new(), netns: String::new() };
    let mut conf = side.conf("sp", 8);
    conf["cniVersion"] = json!("1.1.0");
    let conf = conf.to_string();
    std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let (mut calls, mut failures) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let run = plugin(&side.dir, &side.path, "bridge", "STATUS", &target, &conf);
                calls += 1;
                failures += usize::from(!run.ok);
                std::thread::sleep(Duration::from_millis(100));
            }
            (calls, failures)
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        let (calls, failures) = poller.join().unwrap_or((0, 0));
        (result, calls, failures)
    })
}

/// STATUS of bridge + host-local at 1.1.0, as containerd 2.x calls it each
/// time kubelet polls: per side, the time of each call, or `None` when the
/// side has no STATUS (the reference before spec 1.1.0).
pub fn status(sides: &[Side], iterations: usize) -> Vec<Option<Vec<Duration>>> {
    let target = Target { id: String::new(), netns: String::new() };
    sides
        .iter()
        .map(|side| {
            let mut conf = side.conf("st", 9);
            conf["cniVersion"] = json!("1.1.0");
            let conf = conf.to_string();
            let mut times = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                if interrupted() {
                    break;
                }
                let run = plugin(&side.dir, &side.path, "bridge", "STATUS", &target, &conf);
                if !run.ok {
                    return None;
                }
                times.push(run.took);
            }
            Some(times)
        })
        .collect()
}
