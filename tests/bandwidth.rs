//! The bandwidth plugin chained after bridge, run inside a host netns of
//! the test's own: the qdiscs, filter and ifb read back with `tc -j` and
//! compared with what the reference makes from the same input, traffic
//! slowed to the configured rate in both directions (and counted on the
//! ifb), CHECK, DEL, config errors, and handover with the reference.
//! Subnets 10.231.N.0/24 and fd00:231:N::/64 belong to this file.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const BASE: &str = "10.231";
/// 16 Mbit/s = 2 MB/s, so 2 MB take about a second; 10 kB bursts.
const RATE: u64 = 16_000_000;
const BURST: u64 = 80_000;
const PAYLOAD: usize = 2_000_000;

fn conf(lab: &HostLab, limits: Value, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": lab.network, "type": "bandwidth",
        "capabilities": {"bandwidth": true}, "runtimeConfig": {"bandwidth": limits},
        "prevResult": lab.result});
    with_keys(conf, &extra).to_string()
}

fn both_ways() -> Value {
    json!({"ingressRate": RATE, "ingressBurst": BURST, "egressRate": RATE, "egressBurst": BURST})
}

fn ifb_of(result: &Value) -> String {
    let interfaces = result["interfaces"].as_array().cloned().unwrap_or_default();
    interfaces
        .iter()
        .filter_map(|i| i["name"].as_str())
        .find(|n| n.starts_with("bwp"))
        .unwrap_or_default()
        .into()
}

/// `tc -j ARGS` in the lab's host netns, without what differs between two
/// equal setups (device names, counters, action indexes).
fn tc(lab: &HostLab, args: &[&str]) -> Value {
    let mut command = vec!["tc", "-j", "-d"];
    command.extend_from_slice(args);
    let text = lab.host.output(&command);
    let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    scrub(&mut value);
    value
}

fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["dev", "to_dev", "index", "ref", "bind", "refcnt", "not_in_hw", "fh", "order"] {
                map.remove(key);
            }
            map.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// Bytes the ifb's tbf has sent.
fn ifb_sent_bytes(lab: &HostLab, ifb: &str) -> u64 {
    let text = lab.host.output(&["tc", "-j", "-s", "qdisc", "show", "dev", ifb]);
    let qdiscs: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    qdiscs.as_array().into_iter().flatten().filter_map(|q| q["bytes"].as_u64()).sum()
}

/// Sends PAYLOAD bytes from `from` to a listener in `to` on `address`; the time it took.
fn transfer(from: &TestNetns, to: &TestNetns, address: &str, port: u16) -> Duration {
    let bind = format!("{address}:{port}");
    let listener = to.run(move || bind_retrying(&bind, || TcpListener::bind(&bind))).join().unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        stream.write_all(&got.len().to_le_bytes()).unwrap();
    });
    let target = format!("{address}:{port}");
    let elapsed = from
        .run(move || {
            let mut stream = TcpStream::connect(target).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let start = Instant::now();
            stream.write_all(&vec![7u8; PAYLOAD]).unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut count = [0u8; 8];
            stream.read_exact(&mut count).unwrap();
            assert_eq!(usize::from_le_bytes(count), PAYLOAD);
            start.elapsed()
        })
        .join()
        .unwrap();
    receiver.join().unwrap();
    elapsed
}

#[test]
fn traffic_is_held_to_the_rate_both_ways() {
    let lab = HostLab::new(BASE, 1);
    let (gateway, container_ip) = (lab.gateway(), lab.container_ip());
    let unshaped = transfer(&lab.container, &lab.host, &gateway, 9001);
    let conf = conf(&lab, both_ways(), json!({}));
    let add = lab.run_ours("bandwidth", "ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let ifb = ifb_of(&add.json);
    assert!(!ifb.is_empty(), "the ifb is in the result: {}", add.stdout);

    // At 2 MB/s, 2 MB cannot arrive in much under a second (one 10 kB
    // burst ahead); unshaped it takes milliseconds.
    let egress = transfer(&lab.container, &lab.host, &gateway, 9002);
    let ingress = transfer(&lab.host, &lab.container, &container_ip, 9003);
    assert!(
        egress >= Duration::from_millis(700) && ingress >= Duration::from_millis(700),
        "shaped: egress {egress:?}, ingress {ingress:?} (unshaped {unshaped:?})"
    );
    assert!(unshaped < Duration::from_millis(500), "unshaped took {unshaped:?}");
    assert!(ifb_sent_bytes(&lab, &ifb) >= PAYLOAD as u64, "the container's traffic went through the ifb");

    let check = lab.run_ours("bandwidth", "CHECK", &conf);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let slower = conf_with_rate(&lab, RATE / 2);
    let check = lab.run_ours("bandwidth", "CHECK", &slower);
    assert_eq!(check.code, 1, "CHECK sees another rate: {}", check.stdout);
    assert!(check.stdout.contains("Rate doesn't match"), "{}", check.stdout);

    let del = lab.run_ours("bandwidth", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(lab.host.output(&["ip", "link", "show", &ifb]).is_empty(), "the ifb is gone");
    let check = lab.run_ours("bandwidth", "CHECK", &conf);
    assert_eq!(check.code, 1, "CHECK sees the ifb gone: {}", check.stdout);
    let again = lab.run_ours("bandwidth", "DEL", &conf);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
}

fn conf_with_rate(lab: &HostLab, rate: u64) -> String {
    conf(
        lab,
        json!({"ingressRate": rate, "ingressBurst": BURST, "egressRate": rate, "egressBurst": BURST}),
        json!({}),
    )
}

/// Our ADD and the reference's from the same limits, on two labs: the
/// qdiscs, filter and ifb each made, read back with `tc -j`, are equal.
fn same_kernel_state_as_the_reference(limits: Value, n: u8) {
    let ours = HostLab::new(BASE, n);
    let theirs = HostLab::new(BASE, n + 1);
    let our_add = ours.run_ours("bandwidth", "ADD", &conf(&ours, limits.clone(), json!({})));
    assert_eq!(our_add.code, 0, "{}", our_add.stdout);
    let their_add = theirs.run_reference("bandwidth", "ADD", &conf(&theirs, limits, json!({})));
    assert_eq!(their_add.code, 0, "{}", their_add.stdout);
    let (our_ifb, their_ifb) = (ifb_of(&our_add.json), ifb_of(&their_add.json));
    assert!(!our_ifb.is_empty(), "an ifb for the egress limit: {}", our_add.stdout);
    assert_eq!(
        our_add.json["interfaces"].as_array().map(Vec::len),
        their_add.json["interfaces"].as_array().map(Vec::len)
    );
    for (what, args_ours, args_theirs) in [
        (
            "host qdiscs",
            vec!["qdisc", "show", "dev", &ours.host_veth()],
            vec!["qdisc", "show", "dev", &theirs.host_veth()],
        ),
        (
            "redirect filter",
            vec!["filter", "show", "dev", &ours.host_veth(), "ingress"],
            vec!["filter", "show", "dev", &theirs.host_veth(), "ingress"],
        ),
        ("ifb qdisc", vec!["qdisc", "show", "dev", &our_ifb], vec!["qdisc", "show", "dev", &their_ifb]),
    ] {
        let (a, b) = (tc(&ours, &args_ours), tc(&theirs, &args_theirs));
        assert!(
            a.as_array().is_some_and(|l| l.iter().any(|q| q["kind"] == "tbf" || q["kind"] == "u32")),
            "{what}: {a}"
        );
        assert_eq!(a, b, "{what}");
    }
    let link = |lab: &HostLab, ifb: &str| {
        let mut details = lab.host.output(&["ip", "-j", "-d", "link", "show", ifb]);
        details = details.replace(ifb, "IFB");
        let mut value: Value = serde_json::from_str(&details).unwrap_or(Value::Null);
        for key in ["ifindex", "address", "operstate"] {
            value[0].as_object_mut().map(|m| m.remove(key));
        }
        value
    };
    assert_eq!(link(&ours, &our_ifb), link(&theirs, &their_ifb), "ifb link settings");
}

#[test]
fn qdiscs_filter_and_ifb_are_the_references() {
    require_reference();
    let limits = json!({"ingressRate": 100_000_000u64, "ingressBurst": 1_000_000, "egressRate": 8_000_000,
                        "egressBurst": 80_000});
    same_kernel_state_as_the_reference(limits, 2);
}

#[test]
fn go_cased_limits_from_containerd_make_the_references_qdiscs() {
    // The exact runtimeConfig containerd 1.6's go-cni writes (Go field
    // names; the burst it sends when the pod names none).
    require_reference();
    let limits = json!({"IngressRate": 10_000_000, "IngressBurst": 4_294_967_295u64,
                        "EgressRate": 10_000_000, "EgressBurst": 4_294_967_295u64});
    same_kernel_state_as_the_reference(limits, 8);
}

#[test]
fn state_hands_over_with_the_reference() {
    require_reference();
    for (n, made_by_ours) in [(4, true), (5, false)] {
        let lab = HostLab::new(BASE, n);
        let conf = conf(&lab, both_ways(), json!({}));
        let (maker, taker) = if made_by_ours { ("ours", "reference") } else { ("reference", "ours") };
        let run = |who: &str, command: &str| match who {
            "ours" => lab.run_ours("bandwidth", command, &conf),
            _ => lab.run_reference("bandwidth", command, &conf),
        };
        let add = run(maker, "ADD");
        assert_eq!(add.code, 0, "{}", add.stdout);
        let check = run(taker, "CHECK");
        assert_eq!(check.code, 0, "CHECK by {taker} of {maker}'s: {}", check.stdout);
        let del = run(taker, "DEL");
        assert_eq!(del.code, 0, "{}", del.stdout);
        let ifb = ifb_of(&add.json);
        assert!(lab.host.output(&["ip", "link", "show", &ifb]).is_empty(), "{taker} removed {maker}'s ifb");
    }
}

#[test]
fn limits_come_from_the_top_level_first_and_bad_ones_are_refused() {
    let lab = HostLab::new(BASE, 6);
    // Top-level keys win over runtimeConfig: ingress only, so no ifb.
    let top = conf(&lab, both_ways(), json!({"ingressRate": RATE, "ingressBurst": BURST}));
    let add = lab.run_ours("bandwidth", "ADD", &top);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert!(
        ifb_of(&add.json).is_empty() && add.json["interfaces"] == lab.result["interfaces"],
        "{}",
        add.stdout
    );
    let qdiscs = tc(&lab, &["qdisc", "show", "dev", &lab.host_veth()]);
    assert_eq!(qdiscs[0]["kind"], "tbf", "{qdiscs}");
    assert!(!qdiscs.to_string().contains("ingress"), "no redirect without egress limits: {qdiscs}");

    let lab = HostLab::new(BASE, 7);
    for (limits, says) in [
        (json!({"ingressRate": RATE}), "burst must also be set"),
        (json!({"egressBurst": BURST}), "rate must also be set"),
        (json!({"egressRate": RATE, "egressBurst": 40_000_000_000u64}), "burst cannot be more than 4GB"),
    ] {
        let out = lab.run_ours("bandwidth", "ADD", &conf(&lab, limits, json!({})));
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{says}: {}", out.stdout);
        assert!(out.stdout.contains(says), "{says}: {}", out.stdout);
    }
    let out = lab.run_ours(
        "bandwidth",
        "ADD",
        &conf(&lab, json!({"ingressRate": -5, "ingressBurst": 10}), json!({})),
    );
    assert_eq!(out.json["code"], 6, "a negative rate is a decoding error: {}", out.stdout);
    let mut unchained: Value = serde_json::from_str(&conf(&lab, both_ways(), json!({}))).unwrap();
    unchained.as_object_mut().unwrap().remove("prevResult");
    let out = lab.run_ours("bandwidth", "ADD", &unchained.to_string());
    assert!(out.code == 1 && out.stdout.contains("must be called as chained plugin"), "{}", out.stdout);
    let qdiscs = tc(&lab, &["qdisc", "show", "dev", &lab.host_veth()]);
    assert!(!qdiscs.to_string().contains("tbf"), "nothing was set up: {qdiscs}");
    assert!(!lab.host.output(&["ip", "link", "show", "type", "ifb"]).contains("bwp"), "no ifb was made");
}

#[test]
fn gc_removes_ifbs_that_serve_no_link_and_keeps_those_that_do() {
    let lab = HostLab::new(BASE, 10);
    let conf = conf(&lab, both_ways(), json!({}));
    let add = lab.run_ours("bandwidth", "ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let live = ifb_of(&add.json);
    // An ifb whose container's veth went with its netns: nothing feeds it.
    lab.host.exec(&["ip", "link", "add", "bwpdeadbeef0000", "type", "ifb"]);
    for valid in [json!([]), json!([{"containerID": lab.id, "ifname": "eth0"}])] {
        let gc = json!({"cniVersion": "1.1.0", "name": lab.network, "type": "bandwidth",
                        "cni.dev/valid-attachments": valid});
        let out = lab.run_ours("bandwidth", "GC", &gc.to_string());
        assert_eq!(out.code, 0, "{}", out.stdout);
        let links = lab.host.output(&["ip", "-o", "link", "show"]);
        assert!(!links.contains("bwpdeadbeef0000"), "the orphan ifb is gone: {links}");
        assert!(links.contains(&live), "the ifb a veth still feeds stays, valid or not: {links}");
        assert_eq!(lab.run_ours("bandwidth", "CHECK", &conf).code, 0, "the live attachment checks");
    }
    // The container's netns deleted (a crashed pod): its ifb is fed no more.
    let deleted = std::process::Command::new("ip").args(["netns", "del", &lab.container.name]).status();
    assert!(deleted.unwrap().success());
    // The kernel tears a netns down asynchronously: wait for the host veth to go.
    let veth = lab.host_veth();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while lab.host.output(&["ip", "-o", "link", "show"]).contains(&format!(" {veth}@")) {
        assert!(std::time::Instant::now() < deadline, "the host veth {veth} never went");
        std::thread::sleep(Duration::from_millis(50));
    }
    let gc = json!({"cniVersion": "1.1.0", "name": lab.network, "type": "bandwidth", "cni.dev/valid-attachments": []});
    assert_eq!(lab.run_ours("bandwidth", "GC", &gc.to_string()).code, 0);
    let links = lab.host.output(&["ip", "-o", "link", "show"]);
    assert!(!links.contains(&live), "the dead container's ifb is gone: {links}");
}

#[test]
fn a_failing_egress_step_takes_back_what_this_add_made_and_only_that() {
    let lab = HostLab::new(BASE, 12);
    let veth = lab.host_veth();
    // Not ours: an ingress qdisc already on the host end makes egress
    // setup fail after the ingress tbf and the ifb exist.
    lab.host.exec(&["tc", "qdisc", "add", "dev", &veth, "ingress"]);
    let add = lab.run_ours("bandwidth", "ADD", &conf(&lab, both_ways(), json!({})));
    assert_eq!(add.code, 1, "{}", add.stdout);
    assert!(add.json["msg"].as_str().unwrap_or_default().contains("ingress qdisc"), "{}", add.stdout);
    let qdiscs = lab.host.output(&["tc", "qdisc", "show", "dev", &veth]);
    assert!(!qdiscs.contains("tbf"), "the ingress tbf this ADD made is gone: {qdiscs} ({})", add.stderr);
    assert!(qdiscs.contains("ingress"), "the ingress qdisc it did not make stays: {qdiscs}");
    let links = lab.host.output(&["ip", "-o", "link", "show", "type", "ifb"]);
    assert!(links.trim().is_empty(), "the ifb is gone: {links}");
}
