//! The measured work, each run on ours and on the reference in one go,
//! interleaved where the measurement is a latency.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::exec::{delete_link, plugin, Netns, Target};

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
    let ns = Netns::new(format!("bn{}{scenario}{i}", side.tag));
    let target = Target { id: format!("bench-{}-{scenario}-{i}", side.tag), netns: ns.path() };
    (ns, target)
}

/// ADD and DEL latency of bridge + host-local + ipMasq, interleaved.
pub fn add_del(sides: &[Side], iterations: usize) -> Vec<(Vec<Duration>, Vec<Duration>)> {
    let mut times = vec![(Vec::new(), Vec::new()); sides.len()];
    let warmup = 3;
    for i in 0..iterations + warmup {
        for (side, (adds, dels)) in sides.iter().zip(times.iter_mut()) {
            let conf = side.conf("l", 1);
            let (_ns, target) = netns(side, "l", i);
            settle();
            let add = plugin(&side.dir, &side.path, "bridge", "ADD", &target, &conf.to_string());
            assert!(add.ok, "{} ADD failed: {}", side.label, add.out);
            let del = plugin(&side.dir, &side.path, "bridge", "DEL", &target, &with_prev(&conf, &add.out));
            assert!(del.ok, "{} DEL failed: {}", side.label, del.out);
            if i >= warmup {
                adds.push(add.took);
                dels.push(del.took);
            }
        }
    }
    sides.iter().for_each(|s| s.cleanup("l"));
    times
}

/// One run of the five-plugin chain: a side, with the firewall entry it
/// uses (ours also runs with `"backend": "nftables"`), under its own
/// scenario letter (own bridge, subnet and namespaces).
pub struct ChainRun<'a> {
    /// Whose plugins.
    pub side: &'a Side,
    /// The scenario letter and the third octet of its subnet.
    pub scenario: &'static str,
    /// Third octet of its subnet.
    pub third: u8,
    /// The firewall plugin's netconf entry.
    pub firewall: Value,
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
    vec![
        (side.dir.clone(), bridge),
        (
            side.dir.clone(),
            common(json!({"type": "portmap", "capabilities": {"portMappings": true}, "runtimeConfig":
                {"portMappings": [{"hostPort": 20000 + i, "containerPort": 80, "protocol": "tcp"}]}})),
        ),
        (side.dir.clone(), common(run.firewall.clone())),
        (side.dir.clone(), common(json!({"type": "tuning", "sysctl": {"net.core.somaxconn": "512"}}))),
        (
            side.dir.clone(),
            common(json!({"type": "bandwidth", "capabilities": {"bandwidth": true}, "runtimeConfig":
                {"bandwidth": {"ingressRate": 100000000, "ingressBurst": 1000000,
                               "egressRate": 100000000, "egressBurst": 1000000}}})),
        ),
    ]
}

/// ADD + DEL of the whole chain, as libcni runs it, the runs interleaved;
/// every plugin is each side's own.
pub fn chain_add_del(runs: &[ChainRun], iterations: usize) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::new(); runs.len()];
    let warmup = 2;
    for i in 0..iterations + warmup {
        for (run, times) in runs.iter().zip(times.iter_mut()) {
            let side = run.side;
            let (_ns, target) = netns(side, run.scenario, i);
            let plugins = chain(run, i);
            let start = Instant::now();
            let mut prev = Value::Null;
            for (dir, conf) in &plugins {
                let stdin = if prev.is_null() { conf.to_string() } else { with_prev(conf, &prev) };
                let run = plugin(
                    dir,
                    &side.path,
                    conf["type"].as_str().unwrap_or_default(),
                    "ADD",
                    &target,
                    &stdin,
                );
                assert!(run.ok, "{} chain ADD {} failed: {}", side.label, conf["type"], run.out);
                prev = run.out;
            }
            for (dir, conf) in plugins.iter().rev() {
                let run = plugin(
                    dir,
                    &side.path,
                    conf["type"].as_str().unwrap_or_default(),
                    "DEL",
                    &target,
                    &with_prev(conf, &prev),
                );
                assert!(run.ok, "{} chain DEL {} failed: {}", side.label, conf["type"], run.out);
            }
            if i >= warmup {
                times.push(start.elapsed());
            }
        }
    }
    runs.iter().for_each(|r| r.side.cleanup(r.scenario));
    times
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

/// Runs the workers for `seconds` on one side.
pub fn parallel(side: &Side, workers: usize, seconds: u64) -> Throughput {
    let conf = side.conf("p", 3);
    let namespaces: Vec<(Netns, Target)> = (0..workers).map(|w| netns(side, "p", w)).collect();
    let live: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let (cycles, duplicates, failures) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for (_, target) in &namespaces {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let add = plugin(&side.dir, &side.path, "bridge", "ADD", target, &conf.to_string());
                    if !add.ok {
                        failures.fetch_add(1, Ordering::SeqCst);
                        let _ = plugin(&side.dir, &side.path, "bridge", "DEL", target, &conf.to_string());
                        continue;
                    }
                    let ip = add.out["ips"][0]["address"].as_str().unwrap_or_default().to_string();
                    if !live.lock().map(|mut l| l.insert(ip.clone())).unwrap_or(false) {
                        duplicates.fetch_add(1, Ordering::SeqCst);
                    }
                    if let Ok(mut l) = live.lock() {
                        l.remove(&ip);
                    }
                    let del =
                        plugin(&side.dir, &side.path, "bridge", "DEL", target, &with_prev(&conf, &add.out));
                    if del.ok {
                        cycles.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    drop(namespaces);
    side.cleanup("p");
    Throughput {
        per_second: cycles.load(Ordering::SeqCst) as f64 / elapsed,
        duplicates: duplicates.load(Ordering::SeqCst),
        failures: failures.load(Ordering::SeqCst),
    }
}

/// ADD latency with no other attachment, and with `live` attachments on the bridge.
pub fn scaling(side: &Side, live: usize, samples: usize) -> (Vec<Duration>, Vec<Duration>) {
    let conf = side.conf("s", 0);
    // A /24 is too small for 500: this network uses a /20.
    let mut conf = conf;
    conf["ipam"]["subnet"] = json!(format!("10.{}.16.0/20", side.octet));
    let sample = |offset: usize| -> Vec<Duration> {
        (0..samples)
            .map(|i| {
                let (_ns, target) = netns(side, "s", offset + i);
                settle();
                let add = plugin(&side.dir, &side.path, "bridge", "ADD", &target, &conf.to_string());
                assert!(add.ok, "{} ADD failed: {}", side.label, add.out);
                let _ = plugin(&side.dir, &side.path, "bridge", "DEL", &target, &with_prev(&conf, &add.out));
                add.took
            })
            .collect()
    };
    let first = sample(100_000);
    let held: Vec<(Netns, Target, Value)> = (0..live)
        .map(|i| {
            let (ns, target) = netns(side, "s", i);
            let add = plugin(&side.dir, &side.path, "bridge", "ADD", &target, &conf.to_string());
            assert!(add.ok, "{} ADD {i} failed: {}", side.label, add.out);
            (ns, target, add.out)
        })
        .collect();
    let loaded = sample(200_000);
    for (_ns, target, result) in &held {
        let _ = plugin(&side.dir, &side.path, "bridge", "DEL", target, &with_prev(&conf, result));
    }
    drop(held);
    side.cleanup("s");
    (first, loaded)
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
