//! An interrupted bench leaves nothing of its run: SIGINT part way through
//! a quick run of the ADD/DEL rows (and of the netavark rows, when netavark
//! is installed), and it exits 130 with no namespace, link, nftables table,
//! iptables chain, rule or file of its run left.
//! The bench runs inside a netns of the test's own (its bridges, rules and
//! tables live there); its container namespaces are named by its run
//! token. Needs root and target/debug/cni-plugins (`cargo build --workspace`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test's host netns, deleted on drop.
struct Host(String);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).stderr(Stdio::null()).status();
    }
}

/// The bench child, killed on drop if a step of the test fails before it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The bench's run token for `pid` (bench/src/main.rs: three base-36 digits, lowest first).
fn token(pid: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = pid % (36 * 36 * 36);
    (0..3)
        .map(|_| {
            let d = digits[(n % 36) as usize] as char;
            n /= 36;
            d
        })
        .collect()
}

fn namespaces_of(token: &str) -> Vec<String> {
    std::fs::read_dir("/var/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&format!("bn{token}")))
        .collect()
}

fn in_host(host: &str, args: &[&str]) -> String {
    let out = Command::new("ip").args(["netns", "exec", host]).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_interrupted_run_removes_what_it_made() {
    interrupt_and_check("add", 0);
}

#[test]
fn an_interrupted_netavark_run_removes_what_it_and_netavark_made() {
    if !Path::new("/usr/lib/podman/netavark").exists() {
        eprintln!("netavark is not installed (apt-get install netavark): nothing to check");
        return;
    }
    interrupt_and_check("netavark", 1);
}

/// Runs `bench --quick --only ROWS` in a netns of the test's own (test
/// `n`'s), interrupts it part way and checks that nothing of its run is left.
fn interrupt_and_check(rows: &str, n: u32) {
    let bench = Path::new(env!("CARGO_BIN_EXE_bench"));
    if !bench.with_file_name("cni-plugins").exists() {
        panic!("{} is missing: cargo build --workspace first", bench.with_file_name("cni-plugins").display());
    }
    let host = Host(format!("bint{}{n}", std::process::id() % 100_000));
    let _ = Command::new("ip").args(["netns", "del", &host.0]).stderr(Stdio::null()).status();
    assert!(Command::new("ip").args(["netns", "add", &host.0]).status().unwrap().success());
    assert!(Command::new("ip").args(["-n", &host.0, "link", "set", "lo", "up"]).status().unwrap().success());

    let mut child = Child(
        Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", host.0))
            .arg(bench)
            .args(["--quick", "--only", rows])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (pid, token) = (child.0.id(), token(child.0.id()));
    // Under way: its namespaces appear, then a few iterations run.
    let started = Instant::now();
    while namespaces_of(&token).is_empty() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!namespaces_of(&token).is_empty(), "the bench made no namespace in 60 s");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.0.try_wait().unwrap().is_none(), "the quick run ended before the interrupt");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let waited = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(waited.elapsed() < Duration::from_secs(90), "no exit 90 s after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    assert_eq!(namespaces_of(&token), Vec::<String>::new());
    let links = in_host(&host.0, &["ip", "-br", "link"]);
    assert_eq!(links.lines().count(), 1, "links left: {links}");
    let ruleset = in_host(&host.0, &["nft", "list", "ruleset"]);
    for left in ["bench-", "cnictl_bench_floor", "cni_plugins_masquerade", "CNI-", "NETAVARK"] {
        assert!(!ruleset.contains(left), "{left} left in the ruleset:\n{ruleset}");
    }
    let saved = in_host(&host.0, &["iptables-save"]);
    for left in ["CNI-", "bench-", "NETAVARK", "10.245."] {
        assert!(!saved.contains(left), "{left} left in iptables:\n{saved}");
    }
    let temp: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cnictl-bench") && (n.contains(&token) || n.ends_with(&format!("-{pid}"))))
        .collect();
    assert!(temp.is_empty(), "{temp:?}");
}
