//! The bridge + dhcp row: ADD (and DEL) latency of the bridge plugin with
//! dhcp IPAM against one dnsmasq that both sides share, each side through
//! its own bridge and dhcp plugins and its own `dhcp daemon`, interleaved.
//! Everything runs in namespaces made here: a server netns where dnsmasq
//! serves `srv<N>` (10.234.N.1/24), and a host netns where the daemons and
//! the bridge plugin run and where side N's bridge has `srv<N>`'s veth
//! peer `up<N>` as a port. Nothing touches the machine's own network, and
//! all of it (processes, namespaces, sockets, leases) is removed on drop,
//! also when a step panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::exec::{plugin_in, Netns};
use crate::floor::{link_index, Extras, Floor, Net};
use crate::scenarios::{floor_cycle, netns, netns_of, settle, with_prev, Side};

/// Polls `f` every 20 ms for up to `limit`.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// A program as root's PATH finds it (dnsmasq lives in /usr/sbin).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process started in a bench netns, its stderr in a file; killed on drop.
struct Process {
    child: Child,
    stderr: PathBuf,
}

impl Process {
    fn spawn(netns: &Netns, program: &Path, args: &[String], stderr: PathBuf) -> Process {
        let log = std::fs::File::create(&stderr).expect("process log");
        let mut cmd = crate::exec::new_command(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        netns.enter(&mut cmd).expect("open the netns");
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        Process { child, stderr }
    }

    /// Panics if it has exited, with what it wrote.
    fn assert_running(&mut self, what: &str, log: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{what} exited ({status}): {}{log}", self.stderr());
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server and host namespaces, dnsmasq and one daemon per side. The
/// fields drop in this order: daemons, dnsmasq, then the namespaces (their
/// links go with them), then the files.
struct Lab {
    daemons: Vec<Process>,
    dnsmasq: Process,
    host: Netns,
    _server: Netns,
    dir: TempDir,
}

/// Where side `n`'s daemon listens.
fn socket(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("daemon{n}")).join("dhcp.sock")
}

impl Lab {
    /// The lab, with bridge `bridges[n]` on dnsmasq's `srv<n>` (the
    /// sides' bridges first, then the floor's); a daemon per side.
    fn new(sides: &[Side], bridges: &[String], dnsmasq: &Path) -> Lab {
        let tag = &sides[0].tag;
        // Declared in the reverse of the order they must go in, so a panic
        // half-way drops what exists in the right order too.
        let dir =
            TempDir(std::env::temp_dir().join(format!("cnictl-bench-dhcp-{tag}-{}", std::process::id())));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0).expect("dhcp temp dir");
        let server = Netns::new(format!("bn{tag}ds"));
        let host = Netns::new(format!("bn{tag}dh"));
        server.ip(&["link", "set", "lo", "up"]);
        host.ip(&["link", "set", "lo", "up"]);
        for (n, bridge) in bridges.iter().enumerate() {
            let (srv, up) = (format!("srv{n}"), format!("up{n}"));
            server.ip(&["link", "add", &srv, "type", "veth", "peer", "name", &up, "netns", host.name()]);
            server.ip(&["addr", "add", &format!("10.234.{n}.1/24"), "dev", &srv]);
            server.ip(&["link", "set", &srv, "up"]);
            host.ip(&["link", "add", bridge, "type", "bridge"]);
            host.ip(&["link", "set", &up, "master", bridge]);
            host.ip(&["link", "set", bridge, "up"]);
            host.ip(&["link", "set", &up, "up"]);
        }

        let file = |name: &str| dir.0.join(name).display().to_string();
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            "--conf-file=/dev/null".into(),
            "--port=0".into(),
            "--bind-interfaces".into(),
            "--user=root".into(),
            "--no-ping".into(),
            format!("--dhcp-leasefile={}", file("dnsmasq.leases")),
            format!("--pid-file={}", file("dnsmasq.pid")),
            format!("--log-facility={}", file("dnsmasq.log")),
        ];
        for n in 0..bridges.len() {
            args.push(format!("--interface=srv{n}"));
            args.push(format!("--dhcp-range=10.234.{n}.10,10.234.{n}.250,255.255.255.0,2m"));
        }
        let mut dnsmasq = Process::spawn(&server, dnsmasq, &args, dir.0.join("dnsmasq.err"));
        let log = || std::fs::read_to_string(dir.0.join("dnsmasq.log")).unwrap_or_default();
        // "DHCP, sockets bound exclusively to interface" comes only with
        // --log-dhcp and one interface; the ranges are logged once the
        // DHCP socket is open, which is what is needed.
        let ready = wait_for(Duration::from_secs(10), || {
            let log = log();
            dnsmasq.assert_running("dnsmasq", &log);
            (0..bridges.len()).all(|n| log.contains(&format!("DHCP, IP range 10.234.{n}.10 ")))
        });
        assert!(ready, "dnsmasq not ready: {}", log());

        let mut daemons = Vec::new();
        for (n, side) in sides.iter().enumerate() {
            let socket = socket(&dir.0, n);
            let own = socket.parent().map(Path::to_path_buf).unwrap_or_default();
            std::fs::create_dir_all(&own).expect("daemon dir");
            let mut args = vec!["daemon".to_string(), "-socketpath".into(), socket.display().to_string()];
            if side.dir != Path::new(crate::REFERENCE_DIR) {
                // Ours keeps leases on disk: here, not in /var/lib/cni/dhcp.
                args.extend(["-leasedir".into(), own.join("leases").display().to_string()]);
            }
            let mut daemon = Process::spawn(&host, &side.dir.join("dhcp"), &args, own.join("daemon.log"));
            let up = wait_for(Duration::from_secs(10), || {
                daemon.assert_running(&format!("{} dhcp daemon", side.label), "");
                std::os::unix::net::UnixStream::connect(&socket).is_ok()
            });
            assert!(up, "{} dhcp daemon not serving: {}", side.label, daemon.stderr());
            daemons.push(daemon);
        }
        Lab { daemons, dnsmasq, host, _server: server, dir }
    }

    /// dnsmasq's log (one line per DHCP message, among others).
    fn dnsmasq_log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("dnsmasq.log")).unwrap_or_default()
    }

    /// What side `n`'s daemon and dnsmasq said, for a failure message.
    fn logs(&self, n: usize) -> String {
        format!(
            "daemon: {}\ndnsmasq: {}{}",
            self.daemons[n].stderr(),
            self.dnsmasq.stderr(),
            self.dnsmasq_log()
        )
    }
}

/// What is missing for the row, if anything: dnsmasq, or a side's dhcp plugin.
fn missing(sides: &[Side]) -> Result<PathBuf, String> {
    for side in sides {
        let dhcp = side.dir.join("dhcp");
        if !dhcp.is_file() {
            return Err(format!("{} not found ({} side)", dhcp.display(), side.label));
        }
    }
    find_program("dnsmasq").ok_or_else(|| "dnsmasq not found (Debian package dnsmasq-base)".to_string())
}

/// What the row measured on one side.
pub struct Measured {
    /// ADD latencies (warm-ups left out).
    pub adds: Vec<Duration>,
    /// DEL latencies (warm-ups left out).
    pub dels: Vec<Duration>,
    /// ADD + DEL cycles run, warm-ups included.
    pub cycles: usize,
    /// DHCPRELEASEs dnsmasq logged from this side: whether DEL gave the
    /// lease back at the server, which is part of what DEL's time buys.
    pub releases: usize,
}

/// ADD and DEL latency of bridge + dhcp against one dnsmasq, interleaved
/// side by side, after two warm-up rounds; the floor's (the links and one
/// DHCP exchange by our client in its process) last. `None` (with a note
/// on stderr) when dnsmasq or a side's dhcp plugin is not installed.
pub fn add_del(sides: &[Side], floor: Option<&Floor>, iterations: usize) -> Option<Vec<Measured>> {
    let dnsmasq = match missing(sides) {
        Ok(dnsmasq) => dnsmasq,
        Err(why) => {
            eprintln!("bench: leaving out the bridge + dhcp row: {why}");
            return None;
        }
    };
    let mut bridges: Vec<String> = sides.iter().map(|side| side.bridge("d")).collect();
    bridges.extend(floor.map(|f| f.bridge("d")));
    let lab = Lab::new(sides, &bridges, &dnsmasq);
    let floor = floor.map(|f| (f, link_index(&f.bridge("d"), Some(&lab.host))));
    let mut floor_times = (Vec::new(), Vec::new());
    let confs: Vec<Value> = sides
        .iter()
        .enumerate()
        .map(|(n, side)| {
            json!({
                "cniVersion": "1.0.0",
                "name": format!("bench-{}-d", side.tag),
                "type": "bridge",
                "bridge": side.bridge("d"),
                "ipam": {"type": "dhcp", "daemonSocketPath": socket(&lab.dir.0, n)},
            })
        })
        .collect();
    let mut times = vec![(Vec::new(), Vec::new()); sides.len()];
    let warmup = 2;
    let mut rounds = 0;
    for i in (0..iterations + warmup).take_while(|_| !crate::interrupt::interrupted()) {
        rounds += 1;
        for (n, ((side, conf), (adds, dels))) in sides.iter().zip(&confs).zip(times.iter_mut()).enumerate() {
            // CNI_PATH is the side's own directory only: its dhcp plugin.
            let path = side.dir.display().to_string();
            let (_ns, target) = netns(side, "d", i);
            settle();
            let add = plugin_in(&lab.host, &side.dir, &path, "bridge", "ADD", &target, &conf.to_string());
            assert!(add.ok, "{} bridge + dhcp ADD failed: {}\n{}", side.label, add.out, lab.logs(n));
            let address = add.out["ips"][0]["address"].as_str().unwrap_or_default();
            assert!(address.starts_with(&format!("10.234.{n}.")), "{} ADD gave {}", side.label, add.out);
            let del =
                plugin_in(&lab.host, &side.dir, &path, "bridge", "DEL", &target, &with_prev(conf, &add.out));
            assert!(del.ok, "{} bridge + dhcp DEL failed: {}\n{}", side.label, del.out, lab.logs(n));
            if i >= warmup {
                adds.push(add.took);
                dels.push(del.took);
            }
        }
        if let Some((floor, bridge)) = floor {
            let net = Net { scenario: "d", third: 0, prefix: 24 };
            let (_ns, target) = netns_of(&floor.tag, net.scenario, i);
            settle();
            let extras = Extras { dhcp: true, ..Extras::default() };
            let request = floor.request(net, bridge, i as u32, &target, extras);
            let (add, del) = floor_cycle(floor, Some(&lab.host), &request);
            if i >= warmup {
                floor_times.0.push(add);
                floor_times.1.push(del);
            }
        }
    }
    // Rounds run (fewer than planned when a signal stopped the loop).
    let cycles = rounds;
    let releases = |n: usize| lab.dnsmasq_log().matches(&format!("DHCPRELEASE(srv{n})")).count();
    // dnsmasq may log the last release a moment after DEL returned.
    wait_for(Duration::from_secs(1), || (0..bridges.len()).all(|n| releases(n) >= cycles));
    if floor.is_some() {
        times.push(floor_times);
    }
    let measured = times
        .into_iter()
        .enumerate()
        .map(|(n, (adds, dels))| Measured { adds, dels, cycles, releases: releases(n) })
        .collect();
    Some(measured)
}
