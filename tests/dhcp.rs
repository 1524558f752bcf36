//! The dhcp IPAM plugin and `dhcp daemon` (issue 11) against real DHCP
//! servers: dnsmasq, and a scripted server for short leases, silence and
//! chosen options. Each test has a server netns (`srv0`, 10.229.N.1/24)
//! joined by a veth to a host netns of its own (`up0`), where the daemon
//! and the main plugin run: bridge tests enslave `up0` to the test bridge
//! `dhbr0`, macvlan tests use it as the master. Only 10.229.N.0/24,
//! only between namespaces the test made.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::dhcp::{client_id_hex, wait_for, Daemon, Dnsmasq, Script, Scripted};
use common::*;
use serde_json::{json, Value};

/// A server netns and a host netns joined by a veth, with the plugins.
struct Lan {
    plugins: PluginDir,
    dir: tempfile::TempDir,
    server: TestNetns,
    host: TestNetns,
    n: u8,
    net: String,
}

impl Lan {
    fn new(n: u8, bridged: bool) -> Lan {
        let lan = Lan {
            plugins: PluginDir::new(),
            dir: tempfile::tempdir().expect("temp dir"),
            server: TestNetns::new("dls"),
            host: TestNetns::new("dlh"),
            n,
            net: unique("dhnet"),
        };
        let h = lan.host.name.clone();
        lan.server.exec(&["ip", "link", "add", "srv0", "type", "veth", "peer", "name", "up0", "netns", &h]);
        lan.server.exec(&["ip", "addr", "add", &format!("{}/24", lan.server_ip()), "dev", "srv0"]);
        lan.server.exec(&["ip", "link", "set", "srv0", "up"]);
        lan.server.exec(&["ip", "link", "set", "lo", "up"]);
        lan.host.exec(&["ip", "link", "set", "lo", "up"]);
        if bridged {
            lan.host.exec(&["ip", "link", "add", "dhbr0", "type", "bridge"]);
            lan.host.exec(&["ip", "link", "set", "up0", "master", "dhbr0"]);
            lan.host.exec(&["ip", "link", "set", "dhbr0", "up"]);
        }
        lan.host.exec(&["ip", "link", "set", "up0", "up"]);
        lan
    }

    fn server_ip(&self) -> String {
        format!("10.229.{}.1", self.n)
    }

    fn dnsmasq(&self) -> Dnsmasq {
        let n = self.n;
        Dnsmasq::start(&self.server, "srv0", &format!("10.229.{n}.10,10.229.{n}.200,255.255.255.0,2m"), &[])
    }

    fn scripted(&self, f: impl FnOnce(&mut Script)) -> Scripted {
        let mut script = Script::new([10, 229, self.n, 1]);
        f(&mut script);
        Scripted::start(&self.server, "srv0", script)
    }

    /// The daemon, with short waits so failures come quickly.
    fn daemon(&self, extra: &[&str]) -> Daemon {
        let dir = self.dir.path().join("daemon");
        std::fs::create_dir_all(&dir).expect("daemon dir");
        let mut flags = vec!["-timeout", "1s", "-resendtimeout", "8s"];
        flags.extend_from_slice(extra);
        Daemon::start(&self.plugins.plugin("dhcp"), &self.host, &dir, &flags)
    }

    fn conf(&self, main: &str, socket: &str, ipam: Value) -> String {
        let mut ipam_conf = json!({"type": "dhcp", "daemonSocketPath": socket});
        if let (Some(base), Some(extra)) = (ipam_conf.as_object_mut(), ipam.as_object()) {
            base.extend(extra.clone());
        }
        let mut conf = json!({"cniVersion": "1.1.0", "name": self.net, "type": main, "ipam": ipam_conf});
        let main_keys = match main {
            "bridge" => json!({"bridge": "dhbr0"}),
            "macvlan" => json!({"master": "up0", "mode": "bridge"}),
            _ => json!({}),
        };
        conf.as_object_mut().expect("object").extend(main_keys.as_object().cloned().unwrap_or_default());
        conf.to_string()
    }

    fn call(&self, plugin: &str, command: &str, id: &str, netns: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        run_plugin_in(
            &self.host,
            &self.plugins.plugin(plugin),
            &cni_env(command, id, netns, "eth0", path),
            conf,
        )
    }

    fn reference(&self, plugin: &str, command: &str, id: &str, netns: &str, conf: &str) -> Outcome {
        run_plugin_in(
            &self.host,
            &Path::new(REFERENCE_DIR).join(plugin),
            &cni_env(command, id, netns, "eth0", REFERENCE_DIR),
            conf,
        )
    }
}

/// The address (without prefix) of a result's first IP.
fn address_of(result: &Value) -> String {
    result["ips"][0]["address"].as_str().unwrap_or_default().split('/').next().unwrap_or_default().to_string()
}

/// ADD through `main` against dnsmasq: address, router and default route
/// from the server, the client id on the wire is the reference's, the
/// container reaches the server; CHECK passes; DEL frees the lease at
/// the server and in the daemon.
fn attach_against_dnsmasq(main: &str, n: u8) {
    let lan = Lan::new(n, main == "bridge");
    let dnsmasq = lan.dnsmasq();
    let daemon = lan.daemon(&[]);
    let container = TestNetns::new("dlc");
    let id = unique("dhctr");
    let conf = lan.conf(main, &daemon.socket(), json!({}));

    let add = lan.call(main, "ADD", &id, &container.path(), &conf);
    assert_eq!(
        add.code,
        0,
        "{main} ADD: {} {}\ndaemon: {}\ndnsmasq: {}",
        add.stdout,
        add.stderr,
        daemon.log(),
        dnsmasq.log()
    );
    let address = address_of(&add.json);
    let last: u8 = address.rsplit('.').next().and_then(|o| o.parse().ok()).unwrap_or(0);
    assert!(address.starts_with(&format!("10.229.{n}.")) && (10..=200).contains(&last), "{}", add.json);
    assert_eq!(add.json["ips"][0]["address"], format!("{address}/24"));
    assert_eq!(add.json["ips"][0]["gateway"], lan.server_ip());
    let routes = add.json["routes"].as_array().cloned().unwrap_or_default();
    assert!(routes.iter().any(|r| r["dst"] == "0.0.0.0/0" && r["gw"] == lan.server_ip()), "{}", add.json);
    assert_eq!(link_addresses(Some(&container.name), "eth0"), vec![format!("{address}/24")]);
    assert!(ping(Some(&container.name), &lan.server_ip()), "the container reaches the DHCP server");

    let mac = add.json["interfaces"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["name"] == "eth0"))
        .and_then(|i| i["mac"].as_str())
        .unwrap_or_default()
        .to_string();
    let leases = dnsmasq.leases();
    let lease =
        leases.iter().find(|l| l.2 == address).unwrap_or_else(|| panic!("dnsmasq leases: {leases:?}"));
    assert_eq!(lease.3, client_id_hex(&id, &lan.net, "eth0"), "the reference's client id bytes");
    assert_eq!(lease.1, mac, "chaddr is the interface MAC");
    assert_eq!(daemon.lease_files().len(), 1, "the lease is on disk");

    let check = lan.call(main, "CHECK", &id, &container.path(), &with_prev(&conf, &add.json));
    assert_eq!(check.code, 0, "CHECK: {}", check.stdout);

    let del = lan.call(main, "DEL", &id, &container.path(), &conf);
    assert_eq!(del.code, 0, "DEL: {}", del.stdout);
    assert!(
        dnsmasq.has_lease_within(&address, false),
        "dnsmasq freed the lease: {:?}\n{}",
        dnsmasq.leases(),
        daemon.log()
    );
    assert!(daemon.lease_files().is_empty(), "the daemon forgot it");
    assert!(daemon.log().contains("released"), "{}", daemon.log());
    let again = lan.call(main, "DEL", &id, &container.path(), &conf);
    assert_eq!(again.code, 0, "a second DEL: {}", again.stdout);
}

#[test]
fn bridge_with_dhcp_against_dnsmasq() {
    attach_against_dnsmasq("bridge", 1);
}

#[test]
fn macvlan_with_dhcp_against_dnsmasq() {
    attach_against_dnsmasq("macvlan", 2);
}

/// Milliseconds from `a` to `b`.
fn ms(a: Instant, b: Instant) -> i128 {
    b.saturating_duration_since(a).as_millis() as i128 - a.saturating_duration_since(b).as_millis() as i128
}

#[test]
fn renewal_at_t1_rebinding_at_t2_and_reboot_after_expiry() {
    let lan = Lan::new(3, true);
    let server = lan.scripted(|s| s.times = (9, 3, 6));
    let daemon = lan.daemon(&[]);
    let container = TestNetns::new("dlc");
    let id = unique("dhctr");
    let conf = lan.conf("bridge", &daemon.socket(), json!({}));
    let add = lan.call("bridge", "ADD", &id, &container.path(), &conf);
    assert_eq!(add.code, 0, "ADD: {}\n{}", add.stdout, daemon.log());
    assert_eq!(address_of(&add.json), "10.229.3.77");
    let acked = server.seen().iter().rev().find(|s| s.kind == 3).map(|s| s.at).expect("a REQUEST");

    // T1 (3 s): a unicast REQUEST from the leased address, ciaddr set.
    let renewed =
        wait_for(Duration::from_secs(6), || server.seen().iter().any(|s| s.kind == 3 && s.ciaddr != [0; 4]));
    assert!(renewed, "no renewal: {:?}\n{}", server.seen(), daemon.log());
    let renew = server.seen().into_iter().find(|s| s.kind == 3 && s.ciaddr != [0; 4]).expect("renewal");
    assert_eq!(renew.ciaddr, [10, 229, 3, 77]);
    assert_eq!(renew.from.ip().to_string(), "10.229.3.77", "from the leased address");
    assert_eq!(renew.flags, 0, "a renewal asks for a unicast reply");
    assert!(renew.option(50).is_none() && renew.option(54).is_none(), "RFC 2131 RENEWING: no 50, no 54");
    let t1 = ms(acked, renew.at);
    assert!((2500..4500).contains(&t1), "renewed {t1} ms after the ACK (T1 3 s)");

    // Renewals go unanswered from here: after the renewed lease's T1
    // (3 s) unicast REQUESTs to the server, from its T2 (6 s) broadcast
    // ones with ciaddr (REBINDING, RFC 2131 4.4.5), not a DISCOVER.
    server.change(|s| s.answer_confirmations = false);
    let last_ack = renew.at;
    let confirming = |broadcast: bool| {
        server
            .seen()
            .into_iter()
            .filter(|s| s.kind == 3 && s.ciaddr == [10, 229, 3, 77] && s.at > last_ack)
            .filter(|s| s.to.is_broadcast() == broadcast)
            .collect::<Vec<_>>()
    };
    assert!(
        wait_for(Duration::from_secs(12), || !confirming(true).is_empty()),
        "{:?}\n{}",
        server.seen(),
        daemon.log()
    );
    let unicast = confirming(false);
    let rebinding = confirming(true);
    assert!(!unicast.is_empty() && unicast.iter().all(|s| s.to.to_string() == "10.229.3.1"), "{unicast:?}");
    let renewing_from = ms(last_ack, unicast[0].at);
    let rebinding_from = ms(last_ack, rebinding[0].at);
    assert!((2500..4500).contains(&renewing_from), "renewing {renewing_from} ms after the last ACK (T1 3 s)");
    let timeline: Vec<String> = server
        .seen()
        .iter()
        .map(|s| format!("{} ms: type {} to {} ciaddr {:?}", ms(last_ack, s.at), s.kind, s.to, s.ciaddr))
        .collect();
    assert!(
        (5800..7000).contains(&rebinding_from),
        "rebinding {rebinding_from} ms after the last ACK (T2 6 s): {timeline:#?}\n{}",
        daemon.log()
    );
    assert!(unicast.iter().all(|s| ms(last_ack, s.at) < 6100), "no unicast renewal past T2: {unicast:?}");
    assert!(rebinding.iter().all(|s| s.from.ip().to_string() == "10.229.3.77" && s.option(54).is_none()));
    assert!(
        !server.seen().iter().any(|s| s.kind == 1 && s.at > last_ack),
        "no DISCOVER while the lease lasts"
    );

    // Past expiry (9 s): INIT-REBOOT, broadcast with option 50 and no ciaddr.
    let rebooted = wait_for(Duration::from_secs(10), || {
        server.seen().iter().any(|s| {
            s.kind == 3 && s.ciaddr == [0; 4] && s.option(50) == Some(vec![10, 229, 3, 77]) && s.at > last_ack
        })
    });
    assert!(rebooted, "no INIT-REBOOT: {:?}\n{}", server.seen(), daemon.log());
    server.change(|s| s.answer_confirmations = true);

    let del = lan.call("bridge", "DEL", &id, &container.path(), &conf);
    assert_eq!(del.code, 0, "DEL: {}", del.stdout);
}

#[test]
fn daemon_killed_and_restarted_renews_and_releases() {
    let lan = Lan::new(4, true);
    let server = lan.scripted(|s| s.times = (12, 4, 9));
    let mut daemon = lan.daemon(&[]);
    let container = TestNetns::new("dlc");
    let id = unique("dhctr");
    let conf = lan.conf("bridge", &daemon.socket(), json!({}));
    let add = lan.call("bridge", "ADD", &id, &container.path(), &conf);
    assert_eq!(add.code, 0, "ADD: {}\n{}", add.stdout, daemon.log());
    let acked = server.seen().iter().rev().find(|s| s.kind == 3).map(|s| s.at).expect("a REQUEST");

    daemon.kill();
    daemon.restart();
    assert!(daemon.log().contains("1 resumed"), "{}", daemon.log());
    let renewed =
        wait_for(Duration::from_secs(8), || server.seen().iter().any(|s| s.kind == 3 && s.ciaddr != [0; 4]));
    assert!(renewed, "no renewal after the restart: {}", daemon.log());
    let renew = server.seen().into_iter().find(|s| s.kind == 3 && s.ciaddr != [0; 4]).expect("renewal");
    let t1 = ms(acked, renew.at);
    assert!((3500..5500).contains(&t1), "renewed {t1} ms after the ACK (T1 4 s)");

    daemon.kill();
    daemon.restart();
    let del = lan.call("bridge", "DEL", &id, &container.path(), &conf);
    assert_eq!(del.code, 0, "DEL: {}", del.stdout);
    let released = wait_for(Duration::from_secs(3), || server.seen().iter().any(|s| s.kind == 7));
    assert!(released, "no DHCPRELEASE: {}", daemon.log());
    let release = server.seen().into_iter().find(|s| s.kind == 7).expect("release");
    assert_eq!(release.ciaddr, [10, 229, 4, 77]);
    assert_eq!(release.from.ip().to_string(), "10.229.4.77", "from the leased address (plugins#1278)");
    assert_eq!(release.option(54), Some(vec![10, 229, 4, 1]));
    assert!(daemon.lease_files().is_empty());

    // SIGTERM removes the socket and the pidfile.
    assert_eq!(daemon.terminate(), Some(0));
    assert!(!Path::new(&daemon.socket()).exists() && !daemon.dir.join("pid").exists());
}

#[test]
fn twenty_containers_through_one_daemon() {
    let lan = Lan::new(5, true);
    let dnsmasq = lan.dnsmasq();
    let daemon = lan.daemon(&[]);
    let idle = daemon.threads();
    let conf = lan.conf("bridge", &daemon.socket(), json!({}));
    let containers: Vec<(TestNetns, String)> =
        (0..20).map(|_| (TestNetns::new("dlc"), unique("dhctr"))).collect();
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let calls: Vec<_> = containers
            .iter()
            .map(|(netns, id)| scope.spawn(|| lan.call("bridge", "ADD", id, &netns.path(), &conf)))
            .collect();
        calls.into_iter().map(|c| c.join().expect("ADD thread")).collect()
    });
    let mut addresses: Vec<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r.code, 0, "ADD: {}", r.stdout);
            address_of(&r.json)
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 20, "20 distinct leases");
    assert_eq!(daemon.lease_files().len(), 20);
    assert!(wait_for(Duration::from_secs(5), || dnsmasq.leases().len() == 20), "{:?}", dnsmasq.leases());
    // Per-call threads end with their calls; nothing is kept per lease.
    let settled = wait_for(Duration::from_secs(5), || daemon.threads() <= idle + 1);
    assert!(settled, "{} threads with 20 leases, {idle} with none", daemon.threads());
    for (netns, id) in &containers {
        let del = lan.call("bridge", "DEL", id, &netns.path(), &conf);
        assert_eq!(del.code, 0, "DEL: {}", del.stdout);
    }
    assert!(wait_for(Duration::from_secs(5), || dnsmasq.leases().is_empty()), "{:?}", dnsmasq.leases());
    assert!(daemon.lease_files().is_empty());
}

#[test]
fn check_gc_status_and_bad_input() {
    let lan = Lan::new(6, true);
    let dnsmasq = lan.dnsmasq();
    let mut daemon = lan.daemon(&[]);
    let conf = lan.conf("bridge", &daemon.socket(), json!({}));
    let (a, b) = ((TestNetns::new("dlc"), unique("dhctr")), (TestNetns::new("dlc"), unique("dhctr")));
    let add_a = lan.call("bridge", "ADD", &a.1, &a.0.path(), &conf);
    let add_b = lan.call("bridge", "ADD", &b.1, &b.0.path(), &conf);
    assert!(add_a.code == 0 && add_b.code == 0, "{} {}", add_a.stdout, add_b.stdout);

    // CHECK with an address the daemon does not hold fails, and makes no lease.
    let mut wrong = add_a.json.clone();
    wrong["ips"][0]["address"] = json!("10.229.6.250/24");
    let check = lan.call("dhcp", "CHECK", &a.1, &a.0.path(), &with_prev(&conf, &wrong));
    assert_ne!(check.code, 0);
    assert!(
        check.json["msg"].as_str().unwrap_or_default().contains("prevResult reports 10.229.6.250/24"),
        "{}",
        check.stdout
    );
    let unknown = lan.call("dhcp", "CHECK", "nosuchctr", &a.0.path(), &with_prev(&conf, &add_a.json));
    assert!(
        unknown.code != 0 && unknown.json["msg"].as_str().unwrap_or_default().contains("holds no lease"),
        "{}",
        unknown.stdout
    );
    assert_eq!(daemon.lease_files().len(), 2);

    // GC keeps a, releases b.
    let mut gc_conf: Value = serde_json::from_str(&conf).expect("conf");
    gc_conf["cni.dev/valid-attachments"] = json!([{"containerID": a.1, "ifname": "eth0"}]);
    let gc = lan.call("dhcp", "GC", "", "", &gc_conf.to_string());
    assert_eq!(gc.code, 0, "GC: {}", gc.stdout);
    assert!(dnsmasq.has_lease_within(&address_of(&add_b.json), false), "b released");
    assert!(dnsmasq.has_lease_within(&address_of(&add_a.json), true), "a kept");
    assert_eq!(daemon.lease_files().len(), 1);

    // STATUS: 0 while the daemon runs, 50 naming the socket when it does not.
    assert_eq!(lan.call("dhcp", "STATUS", "", "", &conf).code, 0);
    let missing = lan.conf("bridge", "/nonexistent/dhcp.sock", json!({}));
    let status = lan.call("dhcp", "STATUS", "", "", &missing);
    assert_eq!(status.json["code"], 50, "{}", status.stdout);
    assert!(
        status.json["msg"].as_str().unwrap_or_default().contains("/nonexistent/dhcp.sock"),
        "{}",
        status.stdout
    );
    assert!(status.json["details"].as_str().unwrap_or_default().contains("dhcp daemon"), "{}", status.stdout);

    // ADD with no daemon: code 11, and the bridge plugin leaves no veth.
    let c = (TestNetns::new("dlc"), unique("dhctr"));
    let ports_before = bridge_ports_in(&lan.host, "dhbr0");
    let add = lan.call("bridge", "ADD", &c.1, &c.0.path(), &missing);
    assert_eq!(add.json["code"], 11, "{}", add.stdout);
    assert_eq!(bridge_ports_in(&lan.host, "dhbr0"), ports_before, "no port left behind");
    assert!(ip_json(Some(&c.0.name), &["link", "show", "eth0"]).as_array().is_none_or(|a| a.is_empty()));

    // Bad option names: code 7, before the daemon is asked.
    let bad = lan.conf("bridge", &daemon.socket(), json!({"request": [{"option": "no-such-option"}]}));
    let add = lan.call("bridge", "ADD", &c.1, &c.0.path(), &bad);
    assert_eq!(add.json["code"], 7, "{}", add.stdout);
    assert!(add.json["msg"].as_str().unwrap_or_default().contains("no-such-option"), "{}", add.stdout);
    let bad = lan.conf(
        "bridge",
        &daemon.socket(),
        json!({"provide": [{"option": "host-name", "value": "h".repeat(256)}]}),
    );
    assert_eq!(lan.call("dhcp", "ADD", &c.1, &c.0.path(), &bad).json["code"], 7);

    // A netns path that is not a netns: code 4 from the daemon.
    let plain = lan.dir.path().join("not-a-netns");
    std::fs::write(&plain, b"").expect("plain file");
    let add = lan.call("dhcp", "ADD", &c.1, &plain.display().to_string(), &conf);
    assert_eq!(add.json["code"], 4, "{}", add.stdout);
    assert_eq!(daemon.lease_files().len(), 1, "nothing new held");

    // DEL with the daemon down and a lease on disk elsewhere: nothing to
    // release in the default directory, so it succeeds.
    daemon.kill();
    let del = lan.call("dhcp", "DEL", &c.1, &c.0.path(), &conf);
    assert_eq!(del.code, 0, "DEL without daemon or lease: {}", del.stdout);
    daemon.restart();
    let del = lan.call("bridge", "DEL", &a.1, &a.0.path(), &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(dnsmasq.has_lease_within(&address_of(&add_a.json), false));
}

fn bridge_ports_in(netns: &TestNetns, bridge: &str) -> Vec<String> {
    let links = ip_json(Some(&netns.name), &["link", "show", "master", bridge]);
    links
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(String::from))
        .collect()
}

#[test]
fn options_on_the_wire_routes_and_priority() {
    let lan = Lan::new(7, true);
    // 121: 10.229.128.0/17 via .1 and an on-link 10.229.64.0/18; 6, 15, 119.
    let server = lan.scripted(|s| {
        s.extra = vec![
            (121, vec![17, 10, 229, 128, 10, 229, 7, 1, 18, 10, 229, 64, 0, 0, 0, 0]),
            (6, vec![10, 229, 7, 1]),
            (15, b"lan.test".to_vec()),
            (119, vec![3, b'l', b'a', b'n', 4, b't', b'e', b's', b't', 0]),
        ]
    });
    let daemon = lan.daemon(&[]);
    let container = TestNetns::new("dlc");
    let id = unique("dhctr");
    let ipam = json!({
        "provide": [{"option": "host-name", "fromArg": "K8S_POD_NAME"}, {"option": "user-class", "value": "cnictl-test"}],
        "request": [{"option": "121"}, {"option": "routers"}],
        "priority": 120,
    });
    let conf = lan.conf("bridge", &daemon.socket(), ipam);
    let path = lan.plugins.path().to_str().unwrap_or_default().to_string();
    let netns_path = container.path();
    let mut env = cni_env("ADD", &id, &netns_path, "eth0", &path);
    env.push(("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web-0"));
    let add = run_plugin_in(&lan.host, &lan.plugins.plugin("bridge"), &env, &conf);
    assert_eq!(add.code, 0, "ADD: {}\n{}", add.stdout, daemon.log());
    assert_eq!(
        add.json["routes"],
        json!([{"dst": "10.229.128.0/17", "gw": "10.229.7.1", "priority": 120}, {"dst": "10.229.64.0/18", "scope": 253, "priority": 120}]),
        "option 121 replaces 33 and the default route; priority on each"
    );
    assert_eq!(
        add.json["dns"],
        json!({"nameservers": ["10.229.7.1"], "domain": "lan.test", "search": ["lan.test"]})
    );
    let routes = container.output(&["ip", "route", "show", "10.229.128.0/17"]);
    assert!(routes.contains("via 10.229.7.1") && routes.contains("metric 120"), "{routes}");
    for message in server.seen().iter().filter(|s| matches!(s.kind, 1 | 3)) {
        assert_eq!(message.option(12), Some(b"web-0".to_vec()), "host-name from CNI_ARGS");
        assert_eq!(message.option(77), Some(b"cnictl-test".to_vec()));
        assert_eq!(message.option(55), Some(vec![121, 3, 1, 6, 15, 119]), "request list");
    }
    let del = lan.call("bridge", "DEL", &id, &container.path(), &conf);
    assert_eq!(del.code, 0);
}

/// Whose plugin or daemon.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Ours,
    Reference,
}

/// A daemon of either side, stopped on drop.
enum AnyDaemon {
    Ours(Daemon),
    Reference(std::process::Child, String),
}

impl AnyDaemon {
    fn start(lan: &Lan, side: Side) -> AnyDaemon {
        if side == Side::Ours {
            return AnyDaemon::Ours(lan.daemon(&[]));
        }
        let dir = lan.dir.path().join("refd");
        std::fs::create_dir_all(&dir).expect("dir");
        let socket = dir.join("dhcp.sock").display().to_string();
        let child = in_netns(&lan.host.name, Path::new(REFERENCE_DIR).join("dhcp"))
            .args(["daemon", "-socketpath", &socket])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("reference daemon");
        let up =
            wait_for(Duration::from_secs(10), || std::os::unix::net::UnixStream::connect(&socket).is_ok());
        assert!(up, "reference daemon did not listen");
        AnyDaemon::Reference(child, socket)
    }

    fn socket(&self) -> String {
        match self {
            AnyDaemon::Ours(d) => d.socket(),
            AnyDaemon::Reference(_, socket) => socket.clone(),
        }
    }
}

impl Drop for AnyDaemon {
    fn drop(&mut self) {
        if let AnyDaemon::Reference(child, _) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How many times dnsmasq acknowledged `address`.
fn acks(dnsmasq: &Dnsmasq, address: &str) -> usize {
    dnsmasq
        .log()
        .lines()
        .filter(|l| l.contains("DHCPACK(srv0)") && l.contains(&format!(" {address} ")))
        .count()
}

/// A rolling upgrade mixes the dhcp plugin and daemon of both sides: the
/// `plugin` side's bridge (which runs its own dhcp plugin) against the
/// `daemon` side's daemon and dnsmasq (2-minute leases): ADD, CHECK, a
/// renewal at T1 that dnsmasq acknowledges, DEL releasing the lease.
fn pairing(n: u8, plugin: Side, daemon: Side) {
    require_reference();
    let lan = Lan::new(n, true);
    let dnsmasq = lan.dnsmasq();
    let daemon_process = AnyDaemon::start(&lan, daemon);
    let container = TestNetns::new("dlc");
    let id = unique("dhctr");
    // The Debian reference speaks up to 1.0.0.
    let conf = lan.conf("bridge", &daemon_process.socket(), json!({})).replace("\"1.1.0\"", "\"1.0.0\"");
    let what = format!("{plugin:?} plugin, {daemon:?} daemon");
    let run = |command: &str, stdin: &str| match plugin {
        Side::Ours => lan.call("bridge", command, &id, &container.path(), stdin),
        Side::Reference => lan.reference("bridge", command, &id, &container.path(), stdin),
    };
    let add = run("ADD", &conf);
    assert_eq!(add.code, 0, "{what} ADD: {} {}\ndnsmasq: {}", add.stdout, add.stderr, dnsmasq.log());
    let address = address_of(&add.json);
    assert!(address.starts_with(&format!("10.229.{n}.")), "{what}: {}", add.json);
    assert_eq!(add.json["ips"][0]["gateway"], lan.server_ip(), "{what}");
    assert_eq!(link_addresses(Some(&container.name), "eth0"), vec![format!("{address}/24")], "{what}");
    let lease = dnsmasq.leases().into_iter().find(|l| l.2 == address);
    let lease = lease.unwrap_or_else(|| panic!("{what}: dnsmasq leases: {:?}", dnsmasq.leases()));
    assert_eq!(lease.3, client_id_hex(&id, &lan.net, "eth0"), "{what}: the reference's client id");

    let check = run("CHECK", &with_prev(&conf, &add.json));
    assert_eq!(check.code, 0, "{what} CHECK: {} {}", check.stdout, check.stderr);
    assert_eq!(address_of(&add.json), address, "{what}: CHECK kept the lease");

    // dnsmasq's 2-minute lease: T1 after a minute.
    let renewed = wait_for(Duration::from_secs(90), || acks(&dnsmasq, &address) >= 2);
    assert!(renewed, "{what}: no renewal acknowledged:\n{}", dnsmasq.log());

    let del = run("DEL", &conf);
    assert_eq!(del.code, 0, "{what} DEL: {} {}", del.stdout, del.stderr);
    // A DHCPRELEASE leaves from the container's interface. Debian's
    // reference bridge deletes the link before it calls IPAM's DEL, and its
    // daemon answers Release before it releases: with either, the lease
    // is left to expire at the server. Ours call DEL with the link there,
    // and our daemon releases before it answers.
    if (plugin, daemon) == (Side::Ours, Side::Ours) {
        let freed = dnsmasq.has_lease_within(&address, false);
        assert!(freed, "{what}: dnsmasq freed the lease: {:?}", dnsmasq.leases());
    }
}

#[test]
fn our_plugin_against_the_reference_daemon() {
    pairing(20, Side::Ours, Side::Reference);
}

#[test]
fn the_reference_plugin_against_our_daemon() {
    pairing(21, Side::Reference, Side::Ours);
}

#[test]
fn the_reference_plugin_against_its_own_daemon() {
    pairing(22, Side::Reference, Side::Reference);
}

#[test]
fn our_plugin_against_our_daemon() {
    pairing(23, Side::Ours, Side::Ours);
}

#[test]
fn doctor_and_status_take_the_reference_daemon_as_a_daemon() {
    require_reference();
    let lan = Lan::new(8, true);
    let daemon = AnyDaemon::start(&lan, Side::Reference);
    let conf = lan.conf("dhcp", &daemon.socket(), json!({}));
    let status = lan.call("dhcp", "STATUS", "", "", &conf);
    assert_eq!(status.code, 0, "it answers: {}", status.stdout);
    let netconfs = tempfile::tempdir().expect("conf dir");
    let cache = tempfile::tempdir().expect("cache dir");
    std::fs::write(
        netconfs.path().join("10-lan.conflist"),
        json!({"cniVersion": "1.0.0", "name": "lan", "plugins": [serde_json::from_str::<Value>(&conf).expect("conf")]})
            .to_string(),
    )
    .expect("write conflist");
    let (_, doctor, _) =
        run_cnictl(&["doctor", "-o", "json"], netconfs.path(), cache.path(), lan.plugins.path());
    let findings: Value = serde_json::from_str(&doctor).expect("doctor JSON");
    let dhcp = findings.as_array().and_then(|f| f.iter().find(|f| f["check"] == "dhcp daemon")).cloned();
    let dhcp = dhcp.unwrap_or_else(|| panic!("no dhcp finding: {findings}"));
    assert_ne!(dhcp["status"], "fail", "{dhcp}");
    assert!(dhcp["detail"].as_str().unwrap_or_default().contains("reference"), "{dhcp}");
}

#[test]
fn a_nak_at_renewal_or_a_vanished_interface_ends_the_lease() {
    let lan = Lan::new(9, true);
    let server = lan.scripted(|s| s.times = (9, 2, 6));
    let daemon = lan.daemon(&[]);
    let conf = lan.conf("bridge", &daemon.socket(), json!({}));
    let (a, b) = ((TestNetns::new("dlc"), unique("dhctr")), (TestNetns::new("dlc"), unique("dhctr")));
    let add = lan.call("bridge", "ADD", &a.1, &a.0.path(), &conf);
    assert_eq!(add.code, 0, "ADD: {}\n{}", add.stdout, daemon.log());

    // The server refuses the renewal at T1: the daemon forgets the lease.
    server.change(|s| s.naks = usize::MAX);
    let forgot = wait_for(Duration::from_secs(6), || daemon.lease_files().is_empty());
    assert!(forgot, "lease kept after a NAK: {}", daemon.log());
    assert!(daemon.log().contains("the lease is lost"), "{}", daemon.log());
    let del = lan.call("bridge", "DEL", &a.1, &a.0.path(), &conf);
    assert_eq!(del.code, 0, "DEL after the lease was lost: {}", del.stdout);

    // The container's netns goes without a DEL: at T1 the daemon finds it
    // gone and drops the lease (it has nothing to send a release from).
    server.change(|s| s.naks = 0);
    let add = lan.call("bridge", "ADD", &b.1, &b.0.path(), &conf);
    assert_eq!(add.code, 0, "ADD: {}\n{}", add.stdout, daemon.log());
    assert_eq!(daemon.lease_files().len(), 1);
    let name = b.0.name.clone();
    drop(b);
    assert!(!Path::new(&format!("/var/run/netns/{name}")).exists());
    let dropped = wait_for(Duration::from_secs(6), || daemon.lease_files().is_empty());
    assert!(dropped, "lease of a deleted netns kept: {}", daemon.log());
    assert!(daemon.log().contains("is gone"), "{}", daemon.log());
}

/// A bind mount of a netns under a directory, unmounted on drop.
struct BindMount(std::path::PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn hostprefix_prefixes_the_socket_and_every_netns_path() {
    let lan = Lan::new(10, true);
    let _dnsmasq = lan.dnsmasq();
    // The "host root" of a daemon in a container: the netns the runtime
    // names /ns/<name> is <prefix>/ns/<name> to the daemon.
    let prefix = lan.dir.path().join("hostroot");
    std::fs::create_dir_all(prefix.join("ns")).expect("prefix dir");
    let container = TestNetns::new("dlc");
    let seen_as = prefix.join("ns").join(&container.name);
    std::fs::write(&seen_as, b"").expect("mount point");
    let status =
        std::process::Command::new("mount").arg("--bind").arg(container.path()).arg(&seen_as).status();
    assert!(status.is_ok_and(|s| s.success()), "bind mount of the netns");
    let _mount = BindMount(seen_as);

    let dir = lan.dir.path().join("daemon");
    std::fs::create_dir_all(&dir).expect("daemon dir");
    let mut child = in_netns(&lan.host.name, lan.plugins.plugin("dhcp"))
        .args(["daemon", "-hostprefix", prefix.to_str().unwrap_or_default(), "-socketpath", "/run/dhcp.sock"])
        .arg(format!("-leasedir={}", dir.join("leases").display()))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    let socket = prefix.join("run/dhcp.sock");
    let up = wait_for(Duration::from_secs(10), || std::os::unix::net::UnixStream::connect(&socket).is_ok());
    let conf = lan.conf("bridge", socket.to_str().unwrap_or_default(), json!({}));
    let id = unique("dhctr");
    let netns = format!("/ns/{}", container.name);
    // The IPAM call alone (a main plugin would pass the runtime's path
    // on): its interface is a veth into the test bridge.
    let c = container.name.clone();
    lan.host.exec(&["ip", "link", "add", "dhv0", "type", "veth", "peer", "name", "eth0", "netns", &c]);
    lan.host.exec(&["ip", "link", "set", "dhv0", "master", "dhbr0", "up"]);
    let add = lan.call("dhcp", "ADD", &id, &netns, &conf);
    let del = lan.call("dhcp", "DEL", &id, &netns, &conf);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "no socket at {}", socket.display());
    assert_eq!(add.code, 0, "ADD through the prefix: {}", add.stdout);
    assert!(address_of(&add.json).starts_with("10.229.10."), "{}", add.json);
    assert_eq!(del.code, 0, "{}", del.stdout);
}

#[test]
fn a_socket_passed_by_systemd_is_served_and_left_to_systemd() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let lan = Lan::new(11, true);
    let dir = lan.dir.path();
    let socket = dir.join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let fd = listener.as_raw_fd();
    // systemd's protocol: the socket as fd 3, LISTEN_FDS=1, LISTEN_PID the
    // daemon's own PID (sh's $$ survives its exec).
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" daemon -leasedir \"$1\""])
        .arg(lan.plugins.plugin("dhcp"))
        .arg(dir.join("leases"))
        .stderr(std::fs::File::create(dir.join("activated.log")).expect("log"));
    // SAFETY: dup2 is async-signal-safe; the child makes fd 3 the listener.
    unsafe {
        command.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it then.
            let ok = if fd == 3 { libc::fcntl(3, libc::F_SETFD, 0) >= 0 } else { libc::dup2(fd, 3) >= 0 };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().expect("start the daemon");
    drop(listener);
    let conf = lan.conf("bridge", socket.to_str().unwrap_or_default(), json!({}));
    let answered = wait_for(Duration::from_secs(10), || lan.call("dhcp", "STATUS", "", "", &conf).code == 0);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("wait");
    let log = std::fs::read_to_string(dir.join("activated.log")).unwrap_or_default();
    assert!(answered, "the activated socket was not served: {log}");
    assert!(log.contains("serving the socket systemd passed"), "{log}");
    assert_eq!(status.code(), Some(0), "SIGTERM ends it cleanly");
    assert!(socket.exists(), "the socket file is systemd's to remove (RemoveOnStop)");
}
