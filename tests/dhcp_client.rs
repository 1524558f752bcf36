//! The DHCP client core (plugins/ipam/dhcp) against a real DHCP server:
//! dnsmasq in a netns of the test's own, on one end of a veth whose other
//! end sits in a client netns. The client runs as `dhcp-probe`, the
//! library's command-line front end, which opens its socket inside the
//! client netns through `cni::netns::Netns::run`. Only 10.228.0.0/24, only
//! between the two namespaces; dnsmasq has DNS off (`--port=0`), no
//! configuration file, and its lease, pid and log files in a temp dir.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::dhcp::{client_id_hex, wait_for, Dnsmasq, Script, Scripted, Seen};
use common::*;
use serde_json::Value;

/// The server's address on its veth end.
const SERVER: &str = "10.228.0.1";

fn probe_bin() -> PathBuf {
    built("dhcp-probe")
}

/// A server netns and a client netns joined by a veth (`srv0` and
/// `eth0`), with dnsmasq serving on `srv0` unless told not to. dnsmasq is
/// killed, and the namespaces deleted, on drop.
struct Lan {
    dnsmasq: Option<Dnsmasq>,
    dir: tempfile::TempDir,
    server: TestNetns,
    client: TestNetns,
    container_id: String,
}

impl Lan {
    fn new(dnsmasq_args: Option<&[&str]>) -> Lan {
        let server = TestNetns::new("dhs");
        let client = TestNetns::new("dhc");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut lan = Lan { dnsmasq: None, dir, server, client, container_id: unique("dhcpctr") };
        let c = lan.client.name.clone();
        lan.server.exec(&["ip", "link", "add", "srv0", "type", "veth", "peer", "name", "eth0", "netns", &c]);
        lan.server.exec(&["ip", "addr", "add", &format!("{SERVER}/24"), "dev", "srv0"]);
        lan.server.exec(&["ip", "link", "set", "srv0", "up"]);
        lan.server.exec(&["ip", "link", "set", "lo", "up"]);
        lan.client.exec(&["ip", "link", "set", "lo", "up"]);
        if let Some(extra) = dnsmasq_args {
            lan.start_dnsmasq(extra);
        }
        lan
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start_dnsmasq(&mut self, extra: &[&str]) {
        self.dnsmasq =
            Some(Dnsmasq::start(&self.server, "srv0", "10.228.0.10,10.228.0.50,255.255.255.0,2m", extra));
    }

    fn log(&self) -> String {
        self.dnsmasq.as_ref().map(Dnsmasq::log).unwrap_or_default()
    }

    /// dnsmasq's lease file: (expiry, MAC, address, client id) per line.
    fn leases(&self) -> Vec<(u64, String, String, String)> {
        self.dnsmasq.as_ref().map(Dnsmasq::leases).unwrap_or_default()
    }

    /// Runs one probe exchange on the client's eth0; the exit status, the
    /// JSON printed and stderr.
    fn probe(&self, verb: &str, extra: &[&str]) -> (bool, Value, String) {
        let netns = self.client.path();
        let out = Command::new(probe_bin())
            .args([verb, "--netns", &netns, "--ifname", "eth0"])
            .args(["--container-id", &self.container_id, "--net-name", "dhcpnet"])
            .args(extra)
            .output()
            .expect("run dhcp-probe");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (out.status.success(), json, String::from_utf8_lossy(&out.stderr).to_string())
    }

    /// Runs a probe exchange that must succeed and keeps its output in
    /// `lease.json` for the next one.
    fn probe_ok(&self, verb: &str, extra: &[&str]) -> Value {
        let (ok, json, err) = self.probe(verb, extra);
        assert!(ok, "dhcp-probe {verb} failed: {err}\ndnsmasq log:\n{}", self.log());
        std::fs::write(self.lease_file(), json.to_string()).expect("write lease.json");
        json
    }

    fn lease_file(&self) -> String {
        self.file("lease.json").display().to_string()
    }

    /// `dhcp-probe result` for the last lease.
    fn result(&self, extra: &[&str]) -> Value {
        let out = Command::new(probe_bin())
            .args(["result", "--lease", &self.lease_file()])
            .args(extra)
            .output()
            .expect("run dhcp-probe result");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("result JSON")
    }

    /// The client id the reference sends for this attachment, as dnsmasq writes it.
    fn client_id_hex(&self) -> String {
        client_id_hex(&self.container_id, "dhcpnet", "eth0")
    }

    /// Waits up to 3 s for `f` to hold of the lease file.
    fn wait_leases(&self, f: impl Fn(&[(u64, String, String, String)]) -> bool) -> bool {
        wait_for(Duration::from_secs(3), || f(&self.leases()))
    }
}

fn last_octet_in_range(address: &str) -> bool {
    let octets: Vec<u8> = address.split('.').filter_map(|o| o.parse().ok()).collect();
    octets.len() == 4 && octets[..3] == [10, 228, 0] && (10..=50).contains(&octets[3])
}

#[test]
fn acquire_renew_rebind_release_against_dnsmasq() {
    let lan = Lan::new(Some(&[]));

    let got = lan.probe_ok("acquire", &["--total-ms", "20000"]);
    let lease = &got["lease"];
    let address = lease["address"].as_str().expect("address").to_string();
    let mac = got["mac"].as_str().expect("mac").to_string();
    eprintln!(
        "dnsmasq (--no-ping) lease {address} in {} ms, socket and link up in {} ms",
        got["elapsedMs"], got["openMs"]
    );
    assert!(last_octet_in_range(&address), "{address} outside the dhcp-range");
    assert_eq!(lease["mask"], "255.255.255.0");
    assert_eq!(lease["routers"], serde_json::json!([SERVER]));
    assert_eq!(lease["serverId"], SERVER);
    assert_eq!(lease["leaseSecs"], 120);
    assert!(got["elapsedMs"].as_u64().unwrap() < 2000, "{got}");
    let entries = lan.leases();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (first_expiry, lease_mac, lease_ip, clid) = entries[0].clone();
    assert_eq!((lease_mac.as_str(), lease_ip.as_str()), (mac.as_str(), address.as_str()));
    assert_eq!(clid, lan.client_id_hex(), "the client id on the wire is the reference's bytes");

    // The CNI result, as the reference builds it: no option 121, so a
    // default route via the router.
    let result = lan.result(&["--priority", "0"]);
    assert_eq!(result["ips"], serde_json::json!([{"address": format!("{address}/24"), "gateway": SERVER}]));
    assert_eq!(result["routes"], serde_json::json!([{"dst": "0.0.0.0/0", "gw": SERVER}]));

    // The main plugin puts the address on the interface; renewals and the
    // release come from it.
    lan.client.exec(&["ip", "addr", "add", &format!("{address}/24"), "dev", "eth0"]);

    // RENEWING: unicast REQUEST with ciaddr; dnsmasq's expiry moves on
    // (it counts in seconds: wait past the next one).
    std::thread::sleep(Duration::from_millis(1100));
    let lease_arg = lan.lease_file();
    let renewed = lan.probe_ok("renew", &["--lease", &lease_arg, "--total-ms", "5000"]);
    eprintln!("renewed in {} ms", renewed["elapsedMs"]);
    assert_eq!(renewed["lease"]["address"], address.as_str());
    assert!(
        lan.wait_leases(|l| l.len() == 1 && l[0].0 > first_expiry),
        "expiry did not move: {:?} (was {first_expiry})",
        lan.leases()
    );
    let renewed_expiry = lan.leases()[0].0;
    assert!(lan.log().contains(&format!("DHCPREQUEST(srv0) {address} {mac}")));

    // REBINDING: the same REQUEST broadcast, answered with an ACK.
    std::thread::sleep(Duration::from_millis(1100));
    let rebound = lan.probe_ok("rebind", &["--lease", &lease_arg, "--total-ms", "5000"]);
    eprintln!("rebound in {} ms", rebound["elapsedMs"]);
    assert!(lan.wait_leases(|l| l.len() == 1 && l[0].0 > renewed_expiry), "{:?}", lan.leases());

    // RELEASE from the leased address: dnsmasq frees the lease (the
    // reference's release, from 0.0.0.0, left it there: plugins#1278).
    lan.probe_ok("release", &["--lease", &lease_arg]);
    assert!(
        lan.wait_leases(|l| l.iter().all(|e| e.1 != mac)),
        "dnsmasq still lists the lease: {:?}\n{}",
        lan.leases(),
        lan.log()
    );
    let log = lan.log();
    let released = log.lines().find(|l| l.contains("DHCPRELEASE(srv0)")).expect("dnsmasq logged the release");
    assert!(released.contains(&address) && !released.contains("unknown lease"), "{released}");

    // A renewal of a lease the server no longer holds is refused.
    let (ok, _, err) = lan.probe("renew", &["--lease", &lease_arg, "--total-ms", "3000"]);
    assert!(!ok);
    assert!(err.contains("DHCPNAK") && err.contains(SERVER) && err.contains("eth0"), "{err}");
}

#[test]
fn classless_routes_from_option_121() {
    let lan = Lan::new(Some(&["--dhcp-option=121,10.228.128.0/17,10.228.0.1,10.228.64.0/18,0.0.0.0"]));
    // dnsmasq sends option 121 only to a client that asks for it; the
    // reference's default request list (routers, subnet mask) does not.
    let plain = lan.probe_ok("acquire", &["--total-ms", "20000"]);
    assert!(plain["lease"]["classlessRoutes"].is_null(), "{plain}");
    let got = lan.probe_ok("acquire", &["--total-ms", "20000", "--request", "121"]);
    assert_eq!(
        got["lease"]["classlessRoutes"],
        serde_json::json!([
            {"dst": "10.228.128.0", "prefix": 17, "router": SERVER},
            {"dst": "10.228.64.0", "prefix": 18, "router": "0.0.0.0"},
        ])
    );
    let result = lan.result(&["--priority", "30"]);
    assert_eq!(result["ips"][0]["gateway"], SERVER, "the gateway is still option 3's");
    assert_eq!(
        result["routes"],
        serde_json::json!([
            {"dst": "10.228.128.0/17", "gw": SERVER, "priority": 30},
            {"dst": "10.228.64.0/18", "scope": 253, "priority": 30},
        ]),
        "option 121 replaces the default route; 0.0.0.0 is on-link"
    );
}

#[test]
fn no_server_ends_within_the_bound_with_a_clear_error() {
    let lan = Lan::new(None);
    // The link up and running beforehand, so the time measured is the
    // exchange's (the kernel marks a link running up to a second later).
    lan.client.exec(&["ip", "link", "set", "eth0", "up"]);
    let waited = Instant::now();
    while link_details(Some(&lan.client.name), "eth0")["operstate"] != "UP" {
        assert!(waited.elapsed() < Duration::from_secs(5), "eth0 never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let (ok, _, err) = lan.probe(
        "acquire",
        &["--first-wait-ms", "400", "--max-wait-ms", "1000", "--total-ms", "3000", "--jitter-ms", "0"],
    );
    let took = started.elapsed();
    eprintln!("no server: gave up after {took:?}: {err}");
    assert!(!ok);
    assert!(err.contains("no DHCPOFFER") && err.contains("eth0") && err.contains("within 3.0s"), "{err}");
    // Sends at 0, 0.4, 1.2 and 2.2 s; the next would fall past 3 s.
    assert!(err.contains("(4 messages sent)"), "{err}");
    assert!(took >= Duration::from_millis(3000) && took < Duration::from_millis(3700), "{took:?}");
}

#[test]
fn probe_refuses_a_path_that_is_not_a_netns() {
    let lan = Lan::new(None);
    let dir = lan.dir.path().display().to_string();
    let out = Command::new(probe_bin())
        .args(["acquire", "--netns", &dir, "--ifname", "eth0", "--total-ms", "1000"])
        .output()
        .expect("run dhcp-probe");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a network namespace"));
    let missing = Path::new(&lan.client.path()).with_file_name("dhcp-no-such-netns");
    let out = Command::new(probe_bin())
        .args(["acquire", "--netns", &missing.display().to_string(), "--ifname", "eth9"])
        .output()
        .expect("run dhcp-probe");
    assert!(!out.status.success());
    // In a real netns, an interface that is not there.
    let out = Command::new(probe_bin())
        .args(["acquire", "--netns", &lan.client.path(), "--ifname", "eth9", "--total-ms", "1000"])
        .output()
        .expect("run dhcp-probe");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such interface on eth9"), "{out:?}");
}

/// Runs the scripted server (common::dhcp) in the LAN's server netns for
/// one probe call; it NAKs the first `naks` REQUESTs.
fn with_scripted_server(
    lan: &Lan,
    naks: usize,
    verb: &str,
    extra: &[&str],
) -> ((bool, Value, String), Vec<Seen>) {
    let mut script = Script::new([10, 228, 0, 1]);
    script.naks = naks;
    let server = Scripted::start(&lan.server, "srv0", script);
    let outcome = lan.probe(verb, extra);
    // A RELEASE gets no answer: the probe may exit before the server's
    // thread has read it off its socket, so wait for the first message.
    wait_for(Duration::from_secs(3), || !server.seen().is_empty());
    let seen = server.seen();
    (outcome, seen)
}

#[test]
fn nak_restarts_with_a_new_discover() {
    let lan = Lan::new(None);
    let ((ok, got, err), seen) = with_scripted_server(&lan, 1, "acquire", &["--total-ms", "20000"]);
    assert!(ok, "{err}");
    let mut kinds: Vec<u8> = seen.iter().map(|s| s.kind).collect();
    // A retransmission (the link just set up may lose the first OFFER) repeats a step.
    kinds.dedup();
    assert_eq!(kinds, vec![1, 3, 1, 3], "DISCOVER, REQUEST (NAKed), DISCOVER, REQUEST");
    let lease = &got["lease"];
    assert_eq!(lease["address"], "10.228.0.77");
    assert_eq!(
        (lease["leaseSecs"].as_u64(), lease["renewSecs"].as_u64(), lease["rebindSecs"].as_u64()),
        (Some(300), Some(100), Some(200))
    );
    // What the reference puts on the wire, in every message: the client
    // id, its default request list (routers, subnet mask; then ours asks for
    // the DNS options the reference never requests), the BROADCAST
    // flag (our UDP socket cannot take unicast before it has an address),
    // and no ciaddr.
    let mut id = vec![0u8];
    id.extend_from_slice(format!("{}/dhcpnet/eth0", lan.container_id).as_bytes());
    for m in &seen {
        let kind = m.kind;
        assert_eq!(m.option(61), Some(id.clone()), "client id in message type {kind}");
        assert_eq!(m.option(55), Some(vec![3, 1, 6, 15, 119]), "request list in message type {kind}");
        assert_eq!((m.flags, m.ciaddr), (0x8000, [0; 4]));
        if kind == 3 {
            assert_eq!(m.option(50), Some(vec![10, 228, 0, 77]), "requested address");
            assert_eq!(m.option(54), Some(vec![10, 228, 0, 1]), "server id");
        }
    }
}

#[test]
fn naks_without_end_give_up_with_the_servers_reason() {
    let lan = Lan::new(None);
    let ((ok, _, err), seen) = with_scripted_server(&lan, usize::MAX, "acquire", &["--total-ms", "20000"]);
    assert!(!ok);
    assert!(
        err.contains("DHCPNAK") && err.contains("scripted refusal") && err.contains("10.228.0.1"),
        "{err}"
    );
    let requests = seen.iter().filter(|s| s.kind == 3).count();
    assert_eq!(requests, 5, "four NAKs taken, the fifth ends it");
}

#[test]
fn renew_rebind_and_release_on_the_wire() {
    let lan = Lan::new(None);
    let ((ok, got, err), _) = with_scripted_server(&lan, 0, "acquire", &["--total-ms", "20000"]);
    assert!(ok, "{err}");
    std::fs::write(lan.lease_file(), got.to_string()).expect("write lease.json");
    lan.client.exec(&["ip", "addr", "add", "10.228.0.77/24", "dev", "eth0"]);
    let lease_arg = lan.lease_file();
    let leased = "10.228.0.77:68".parse::<std::net::SocketAddr>().unwrap();
    for verb in ["renew", "rebind", "release"] {
        let ((ok, _, err), seen) =
            with_scripted_server(&lan, 0, verb, &["--lease", &lease_arg, "--total-ms", "5000"]);
        assert!(ok, "{verb}: {err}");
        assert_eq!(seen.len(), 1, "{verb}: one message, answered at once");
        let m = &seen[0];
        let has = |c: u8| m.option(c).is_some();
        assert_eq!(m.kind, if verb == "release" { 7 } else { 3 }, "{verb}");
        assert_eq!((m.flags, m.ciaddr), (0, [10, 228, 0, 77]), "{verb}: ciaddr set, no BROADCAST flag");
        assert_eq!(m.from, leased, "{verb} leaves from the leased address (plugins#1278)");
        assert!(!has(50), "{verb}: no requested-address option");
        // RFC 2131 table 5: a server id in RELEASE, never in RENEWING or REBINDING.
        assert_eq!(has(54), verb == "release", "{verb}: server id");
        assert!(has(61), "{verb}: client id");
    }
}
