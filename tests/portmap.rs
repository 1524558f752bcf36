//! The portmap plugin chained after bridge, on both backends. Each test
//! runs the plugins inside a "host" netns of its own, so bridges, rules and
//! connections stay in namespaces the test made: a client netns reaches a
//! container through the host's port (prerouting), the host reaches it on
//! 127.0.0.1 (output, route_localnet, masquerade), and the container
//! reaches itself (hairpin). The iptables layout is compared line by line
//! with the reference's, and state is handed over in both directions.
//! Mappings are per network and container: a container on two networks
//! keeps one network's ports when the other's are deleted, and DEL cleans
//! whatever its netconf says and without a netns.
//! Subnets 10.230.N.0/24 and fd00:230:N::/64 belong to this file.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const CONTAINER_PORT: u16 = 8080;

/// A plugin call on a lab: ours or the reference's.
type Call = fn(&Lab, &str, &str) -> Outcome;

type Lab = HostLab;

/// What the portmap tests do with a lab.
trait PortmapLab {
    fn conf(&self, mappings: Value, extra: Value) -> String;
    fn ours(&self, command: &str, conf: &str) -> Outcome;
    fn reference(&self, command: &str, conf: &str) -> Outcome;
    fn client(&self) -> TestNetns;
    fn saved(&self, ipv6: bool) -> String;
    fn nft(&self, family: &str) -> String;
}

impl PortmapLab for HostLab {
    fn conf(&self, mappings: Value, extra: Value) -> String {
        let conf = json!({"cniVersion": "1.0.0", "name": self.network, "type": "portmap",
            "capabilities": {"portMappings": true}, "runtimeConfig": {"portMappings": mappings},
            "prevResult": self.result});
        with_keys(conf, &extra).to_string()
    }

    fn ours(&self, command: &str, conf: &str) -> Outcome {
        self.run_ours("portmap", command, conf)
    }

    fn reference(&self, command: &str, conf: &str) -> Outcome {
        self.run_reference("portmap", command, conf)
    }

    /// A client netns wired to the host by a veth on 10.230.(100+n).0/24.
    fn client(&self) -> TestNetns {
        let client = TestNetns::new("pmx");
        let (outer, inner) = (format!("pmx{}a", self.n), format!("pmx{}b", self.n));
        self.host.exec(&["ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner]);
        self.host.exec(&["ip", "link", "set", &inner, "netns", &client.name]);
        self.host.exec(&["ip", "addr", "add", &format!("10.230.{}.1/24", 100 + self.n), "dev", &outer]);
        self.host.exec(&["ip", "link", "set", &outer, "up"]);
        client.exec(&["ip", "addr", "add", &format!("10.230.{}.2/24", 100 + self.n), "dev", &inner]);
        client.exec(&["ip", "link", "set", &inner, "up"]);
        client
    }

    fn saved(&self, ipv6: bool) -> String {
        let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
        let text = self.host.output(&[tool, "-t", "nat"]);
        text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
    }

    fn nft(&self, family: &str) -> String {
        self.host.output(&["nft", "list", "table", family, "cni_hostport"])
    }
}

/// Serves `count` connections in the container: each is told the address it came from.
fn serve(container: &TestNetns, count: usize) -> std::thread::JoinHandle<()> {
    let listener = container
        .run(|| bind_retrying("the container port", || TcpListener::bind(("0.0.0.0", CONTAINER_PORT))))
        .join()
        .unwrap();
    std::thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut stream, peer)) = listener.accept() else { return };
            let _ = std::io::Write::write_all(&mut stream, peer.ip().to_string().as_bytes());
        }
    })
}

/// Connects from `ns` and returns the source address the container saw, or None.
fn connect_from(ns: &TestNetns, to: &str) -> Option<String> {
    let to: SocketAddr = to.parse().unwrap();
    ns.run(move || {
        let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(3)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        let mut seen = String::new();
        stream.read_to_string(&mut seen).ok()?;
        Some(seen)
    })
    .join()
    .unwrap()
}

#[test]
fn host_ports_reach_the_container_on_both_backends() {
    for (n, backend) in [(1, "nftables"), (2, "iptables")] {
        let lab = Lab::new("10.230", n);
        let client = lab.client();
        let host_port = 20000 + n as u16;
        let conf = lab.conf(
            json!([{"hostPort": host_port, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
            json!({"backend": backend}),
        );
        let add = lab.ours("ADD", &conf);
        assert_eq!(add.code, 0, "{backend}: {}", add.stdout);
        assert_eq!(add.json["ips"], lab.result["ips"], "prevResult passes through");
        let route_localnet = lab.host.output(&["cat", "/proc/sys/net/ipv4/conf/labbr0/route_localnet"]);
        assert_eq!(route_localnet.trim(), "1", "{backend}: route_localnet on the bridge");

        let server = serve(&lab.container, 3);
        let external = format!("10.230.{}.1:{host_port}", 100 + n);
        assert_eq!(
            connect_from(&client, &external).as_deref(),
            Some(format!("10.230.{}.2", 100 + n).as_str()),
            "{backend}: a client reaches the container through the host port"
        );
        assert_eq!(
            connect_from(&lab.host, &format!("127.0.0.1:{host_port}")).as_deref(),
            Some(lab.gateway().as_str()),
            "{backend}: localhost reaches it, masqueraded"
        );
        assert_eq!(
            connect_from(&lab.container, &format!("{}:{host_port}", lab.gateway())).as_deref(),
            Some(lab.gateway().as_str()),
            "{backend}: the container reaches itself through the host port (hairpin)"
        );
        server.join().unwrap();

        let check = lab.ours("CHECK", &conf);
        assert_eq!(check.code, 0, "{backend}: {}", check.stdout);
        let del = lab.ours("DEL", &conf);
        assert_eq!(del.code, 0, "{backend}: {}", del.stdout);
        assert!(!lab.nft("ip").contains(&lab.id), "{backend}: nftables rules left");
        assert!(!lab.saved(false).contains("CNI-DN-"), "{backend}: iptables chain left");
        let _server = serve(&lab.container, 1);
        assert_eq!(connect_from(&client, &external), None, "{backend}: the port is closed after DEL");
        let again = lab.ours("DEL", &conf);
        assert_eq!(again.code, 0, "{backend}: a second DEL succeeds: {}", again.stdout);
        let check = lab.ours("CHECK", &conf);
        assert_eq!(check.code, 1, "{backend}: CHECK sees the rules gone: {}", check.stdout);
    }
}

#[test]
fn nftables_rules_are_the_reference_layout() {
    let lab = Lab::new("10.230", 3);
    let ip = lab.container_ip();
    let v6 = lab.result["ips"][1]["address"].as_str().unwrap().split('/').next().unwrap().to_string();
    let conf = lab.conf(
        json!([{"hostPort": 20031, "containerPort": 80, "protocol": "tcp"},
               {"hostPort": 20032, "containerPort": 53, "protocol": "UDP", "hostIP": "10.230.3.1"}]),
        json!({"backend": "nftables"}),
    );
    let add = lab.ours("ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let table = lab.nft("ip");
    // The reference's comment, the container ID alone, which its DEL and
    // CHECK match (the attachment rides along where nft does not show it).
    let id = &lab.id;
    for line in [
        "comment \"CNI portmap plugin\"".to_string(),
        format!("tcp dport 20031 dnat to {ip}:80 comment \"{id}\""),
        format!("ip daddr 10.230.3.1 udp dport 20032 dnat to {ip}:53 comment \"{id}\""),
        "jump hostip_hostports".to_string(),
        "type nat hook prerouting priority dstnat; policy accept;".to_string(),
        "fib daddr type local jump hostports_all".to_string(),
        "type nat hook output priority -100; policy accept;".to_string(),
        format!("ip saddr {ip} ip daddr {ip} masquerade comment \"{id}\""),
        format!("ip saddr 127.0.0.1 ip daddr {ip} masquerade comment \"{id}\""),
    ] {
        assert!(table.lines().any(|l| l.trim() == line), "{line:?} in\n{table}");
    }
    let table6 = lab.nft("ip6");
    let line = format!("tcp dport 20031 dnat to [{v6}]:80 comment \"{id}\"");
    assert!(table6.lines().any(|l| l.trim() == line), "{line:?} in\n{table6}");
    assert!(!table6.contains("udp dport 20032"), "an IPv4 host IP maps no IPv6 port");

    // A second ADD rewrites nothing shared: the entry rules stay single.
    let other = lab.conf(
        json!([{"hostPort": 20033, "containerPort": 80, "protocol": "tcp"}]),
        json!({"backend": "nftables"}),
    );
    let add = lab.run_ours_as("pmother", "portmap", "ADD", &other);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let table = lab.nft("ip");
    assert_eq!(table.matches("fib daddr type local jump hostports_all").count(), 2, "{table}");
    let del = lab.ours("DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    let table = lab.nft("ip");
    assert!(!table.contains(id.as_str()) && table.contains("comment \"pmother\""), "{table}");
}

#[test]
fn iptables_rules_match_the_reference_line_for_line() {
    require_reference();
    let ours = Lab::new("10.230", 4);
    let theirs = TestNetns::new("pmr");
    let conf = ours.conf(
        json!([{"hostPort": 20041, "containerPort": 80, "protocol": "tcp"},
               {"hostPort": 20042, "containerPort": 81, "protocol": "tcp"},
               {"hostPort": 20043, "containerPort": 53, "protocol": "udp", "hostIP": "10.230.4.1"}]),
        json!({"backend": "iptables"}),
    );
    let add = ours.ours("ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    // The reference (iptables only in v1.1.1) with the same input in a host netns of its own.
    let reference = run_plugin_in(
        &theirs,
        &Path::new(REFERENCE_DIR).join("portmap"),
        &cni_env("ADD", &ours.id, &ours.container.path(), "eth0", REFERENCE_DIR),
        &conf,
    );
    assert_eq!(reference.code, 0, "{}", reference.stdout);
    for ipv6 in [false, true] {
        let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
        let theirs_saved: String = theirs
            .output(&[tool, "-t", "nat"])
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(ours.saved(ipv6), theirs_saved, "{tool}");
    }
}

#[test]
fn iptables_state_hands_over_with_the_reference() {
    require_reference();
    for (n, made_by_ours) in [(5, true), (6, false)] {
        let lab = Lab::new("10.230", n);
        let conf = lab.conf(
            json!([{"hostPort": 20050 + n as u16, "containerPort": 80, "protocol": "tcp"}]),
            json!({"backend": "iptables"}),
        );
        let (make, take): (Call, Call) = if made_by_ours {
            (<Lab as PortmapLab>::ours, <Lab as PortmapLab>::reference)
        } else {
            (<Lab as PortmapLab>::reference, <Lab as PortmapLab>::ours)
        };
        let add = make(&lab, "ADD", &conf);
        assert_eq!(add.code, 0, "{}", add.stdout);
        assert!(lab.saved(false).contains("CNI-DN-"));
        // CHECK by ours only: the reference v1.1.1's CHECK fails even on its
        // own ADD (it looks for the chain in both ip6tables and iptables).
        let check = lab.ours("CHECK", &conf);
        assert_eq!(check.code, 0, "CHECK (ours made it: {made_by_ours}): {}", check.stdout);
        let del = take(&lab, "DEL", &conf);
        assert_eq!(del.code, 0, "{}", del.stdout);
        let saved = lab.saved(false);
        assert!(!saved.contains("CNI-DN-"), "chain left (ours made it: {made_by_ours}):\n{saved}");
    }
}

#[test]
fn conditions_go_on_the_entry_rules() {
    let lab = Lab::new("10.230", 7);
    let mappings = json!([{"hostPort": 20071, "containerPort": 80, "protocol": "tcp"}]);
    let nft = lab.conf(mappings.clone(), json!({"conditionsV4": ["ip", "saddr", "10.230.107.0/24"]}));
    let add = lab.ours("ADD", &nft);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let table = lab.nft("ip");
    assert_eq!(
        table.matches("ip saddr 10.230.107.0/24 fib daddr type local jump hostports_all").count(),
        2,
        "nft-syntax conditions pick nftables and guard both entry rules:\n{table}"
    );
    let ipt = lab.conf(mappings, json!({"conditionsV4": ["-s", "10.230.107.0/24"]}));
    let add = lab.ours("ADD", &ipt);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let saved = lab.saved(false);
    assert!(
        saved.lines().any(|l| l.starts_with("-A CNI-HOSTPORT-DNAT -s 10.230.107.0/24 -p tcp")),
        "iptables-syntax conditions pick iptables:\n{saved}"
    );
    let check = lab.ours("CHECK", &ipt);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let del = lab.ours("DEL", &ipt);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(!lab.saved(false).contains("CNI-DN-") && !lab.nft("ip").contains(&lab.id));
}

#[test]
fn bad_input_is_a_config_error_and_changes_nothing() {
    let lab = Lab::new("10.230", 8);
    let tcp = |host: Value, container: Value| json!([{"hostPort": host, "containerPort": container, "protocol": "tcp"}]);
    for (conf, says) in [
        (lab.conf(tcp(json!(0), json!(80)), json!({})), "Invalid host port number: 0"),
        (lab.conf(tcp(json!(70000), json!(80)), json!({})), "Invalid host port number: 70000"),
        (lab.conf(tcp(json!(20081), json!(-1)), json!({})), "Invalid container port number: -1"),
        (
            lab.conf(json!([{"hostPort": 20081, "containerPort": 80, "protocol": "icmp"}]), json!({})),
            "invalid protocol",
        ),
        (
            lab.conf(
                json!([{"hostPort": 20081, "containerPort": 80, "protocol": "tcp", "hostIP": "nope"}]),
                json!({}),
            ),
            "invalid hostIP",
        ),
        (lab.conf(tcp(json!(20081), json!(80)), json!({"backend": "bpf"})), "unrecognized backend"),
        (lab.conf(tcp(json!(20081), json!(80)), json!({"markMasqBit": 32})), "between 0 and 31"),
        (
            lab.conf(
                tcp(json!(20081), json!(80)),
                json!({"backend": "nftables", "externalSetMarkChain": "X"}),
            ),
            "iptables-specific options",
        ),
    ] {
        let out = lab.ours("ADD", &conf);
        assert_eq!((out.code, out.json["code"].as_u64()), (1, Some(7)), "{says}: {}", out.stdout);
        assert!(out.json["msg"].as_str().unwrap_or_default().contains(says), "{says}: {}", out.stdout);
    }
    let mut unchained: Value =
        serde_json::from_str(&lab.conf(tcp(json!(20081), json!(80)), json!({}))).unwrap();
    unchained.as_object_mut().unwrap().remove("prevResult");
    let out = lab.ours("ADD", &unchained.to_string());
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("must be called as chained plugin"), "{}", out.stdout);
    assert!(lab.nft("ip").is_empty() && !lab.saved(false).contains("CNI-HOSTPORT"), "nothing was set up");
}

/// Lines of the host netns's conntrack table that go to UDP `port`.
fn udp_entries(lab: &Lab, port: u16) -> usize {
    let table = lab.host.output(&["cat", "/proc/net/nf_conntrack"]);
    let needle = format!("dport={port} ");
    table
        .lines()
        .filter(|l| l.contains(" udp ") && l.split("src=").nth(1).is_some_and(|o| o.contains(&needle)))
        .count()
}

/// One UDP datagram from the container to each of the gateway's `ports`:
/// a conntrack entry each in the host netns.
fn send_udp_to_the_gateway(lab: &Lab, ports: [u16; 2]) {
    let gateway = lab.gateway();
    lab.container
        .run(move || {
            let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            for port in ports {
                socket.send_to(b"tracked", (gateway.as_str(), port)).unwrap();
            }
        })
        .join()
        .unwrap();
}

#[test]
fn add_forgets_udp_connections_to_the_mapped_port() {
    let lab = Lab::new("10.230", 9);
    // A first mapping makes the host netns track connections (nat hooks).
    let tcp = lab.conf(json!([{"hostPort": 20090, "containerPort": 80, "protocol": "tcp"}]), json!({}));
    let add = lab.ours("ADD", &tcp);
    assert_eq!(add.code, 0, "{}", add.stdout);
    send_udp_to_the_gateway(&lab, [20091, 20092]);
    assert_eq!((udp_entries(&lab, 20091), udp_entries(&lab, 20092)), (1, 1), "tracked before ADD");
    let udp = lab.conf(json!([{"hostPort": 20091, "containerPort": 53, "protocol": "udp"}]), json!({}));
    let add = lab.run_ours_as("pmudp", "portmap", "ADD", &udp);
    assert_eq!(add.code, 0, "{}", add.stdout);
    assert_eq!(udp_entries(&lab, 20091), 0, "the mapped port's entry is gone");
    assert_eq!(udp_entries(&lab, 20092), 1, "other ports' entries stay");
}

#[test]
fn del_forgets_udp_connections_to_the_unmapped_port() {
    // plugins#1190: entries tracked through a mapping outlive its DEL and
    // keep sending a peer's packets to the old address.
    let lab = Lab::new("10.230", 17);
    let udp = lab.conf(json!([{"hostPort": 20170, "containerPort": 53, "protocol": "udp"}]), json!({}));
    let add = lab.ours("ADD", &udp);
    assert_eq!(add.code, 0, "{}", add.stdout);
    send_udp_to_the_gateway(&lab, [20170, 20171]);
    assert_eq!((udp_entries(&lab, 20170), udp_entries(&lab, 20171)), (1, 1), "tracked while mapped");
    let del = lab.ours("DEL", &udp);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(udp_entries(&lab, 20170), 0, "the unmapped port's entry is gone");
    assert_eq!(udp_entries(&lab, 20171), 1, "other ports' entries stay");
}

#[test]
fn go_cased_port_mappings_from_containerd_are_read_as_the_reference_reads_them() {
    // The exact runtimeConfig containerd 1.6's go-cni writes (Go field names).
    let lab = Lab::new("10.230", 10);
    let client = lab.client();
    let conf = lab.conf(
        json!([{"HostPort": 20100, "ContainerPort": CONTAINER_PORT, "Protocol": "tcp", "HostIP": ""}]),
        json!({}),
    );
    let add = lab.ours("ADD", &conf);
    assert_eq!(add.code, 0, "{}", add.stdout);
    let server = serve(&lab.container, 1);
    assert_eq!(
        connect_from(&client, "10.230.110.1:20100").as_deref(),
        Some("10.230.110.2"),
        "the Go-cased mapping forwards the port"
    );
    server.join().unwrap();
    assert_eq!(lab.ours("CHECK", &conf).code, 0);
    let del = lab.ours("DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(!lab.nft("ip").contains(&lab.id), "rules left: {}", lab.nft("ip"));
}

/// A second bridge network (`labbr1`, 10.230.(N+50).0/24, eth1, its own
/// default route) on the lab's container.
fn second_network(lab: &Lab, store: &Path) -> (String, Value) {
    let network = unique("labm");
    let conf = json!({"cniVersion": "1.0.0", "name": network, "type": "bridge", "bridge": "labbr1",
        "isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("10.230.{}.0/24", lab.n + 50)}]],
                 "dataDir": store}});
    let path = lab.plugins.path().to_str().unwrap();
    let out = run_plugin_in(
        &lab.host,
        &lab.plugins.plugin("bridge"),
        &cni_env("ADD", &lab.id, &lab.container.path(), "eth1", path),
        &conf.to_string(),
    );
    assert_eq!(out.code, 0, "second bridge ADD: {}", out.stdout);
    (network, out.json)
}

#[test]
fn del_of_one_network_keeps_the_other_networks_ports_on_both_backends() {
    for (n, backend) in [(11u8, "nftables"), (12, "iptables")] {
        let lab = Lab::new("10.230", n);
        let store = tempfile::tempdir().unwrap();
        let client = lab.client();
        let (second, second_result) = second_network(&lab, store.path());
        let defaults = lab.container.output(&["ip", "-4", "route", "show", "default"]);
        assert_eq!(defaults.lines().count(), 2, "a default route per interface: {defaults}");

        let port_a = 20000 + 100 * n as u16;
        let port_b = port_a + 1;
        let first_conf = lab.conf(
            json!([{"hostPort": port_a, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
            json!({"backend": backend}),
        );
        let mut second_conf: Value = serde_json::from_str(&lab.conf(
            json!([{"hostPort": port_b, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
            json!({"backend": backend, "name": second}),
        ))
        .unwrap();
        second_conf["prevResult"] = second_result;
        let second_conf = second_conf.to_string();
        let path = lab.plugins.path().to_str().unwrap().to_string();
        let on_eth1 = |command: &str, conf: &str| {
            run_plugin_in(
                &lab.host,
                &lab.plugins.plugin("portmap"),
                &cni_env(command, &lab.id, &lab.container.path(), "eth1", &path),
                conf,
            )
        };
        assert_eq!(lab.ours("ADD", &first_conf).code, 0, "{backend}: first network");
        let add = on_eth1("ADD", &second_conf);
        assert_eq!(add.code, 0, "{backend}: second network: {}", add.stdout);
        let host = format!("10.230.{}.1", 100 + n);
        let server = serve(&lab.container, 2);
        assert!(connect_from(&client, &format!("{host}:{port_a}")).is_some(), "{backend}: first port");
        assert!(connect_from(&client, &format!("{host}:{port_b}")).is_some(), "{backend}: second port");
        server.join().unwrap();

        let del = on_eth1("DEL", &second_conf);
        assert_eq!(del.code, 0, "{backend}: {}", del.stdout);
        let server = serve(&lab.container, 1);
        assert!(
            connect_from(&client, &format!("{host}:{port_a}")).is_some(),
            "{backend}: the first network's port still answers after the second's DEL"
        );
        server.join().unwrap();
        let _server = serve(&lab.container, 1);
        assert_eq!(connect_from(&client, &format!("{host}:{port_b}")), None, "{backend}: second port closed");
        assert_eq!(lab.ours("CHECK", &first_conf).code, 0, "{backend}: the first network checks");
        assert_eq!(on_eth1("CHECK", &second_conf).code, 1, "{backend}: the second's rules are gone");
    }
}

#[test]
fn del_cleans_whatever_the_netconf_says_and_without_a_netns() {
    let lab = Lab::new("10.230", 13);
    let good =
        lab.conf(json!([{"hostPort": 20130, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]), json!({}));
    for (backend, bad) in [
        ("nftables", json!([{"hostPort": 0, "containerPort": -1, "protocol": "icmp", "hostIP": "nope"}])),
        ("iptables", json!("not a list")),
    ] {
        let mapping = json!([{"hostPort": 20130, "containerPort": 80, "protocol": "tcp"}]);
        let add = lab.ours("ADD", &lab.conf(mapping, json!({"backend": backend})));
        assert_eq!(add.code, 0, "{backend}: {}", add.stdout);
        // A DEL whose mappings and options ADD would reject, or with none at all.
        let del = lab.ours("DEL", &lab.conf(bad, json!({"backend": "bpf", "markMasqBit": 99})));
        assert_eq!(del.code, 0, "{backend}: {}", del.stdout);
        assert!(!lab.nft("ip").contains(&lab.id), "{backend}: nftables rules left");
        assert!(!lab.saved(false).contains("CNI-DN-"), "{backend}: iptables chain left");
    }
    // The netns gone (a node reboot): DEL with an empty CNI_NETNS.
    assert_eq!(lab.ours("ADD", &good).code, 0);
    let path = lab.plugins.path().to_str().unwrap();
    let mut env = cni_env("DEL", &lab.id, "", "eth0", path);
    env.retain(|(k, _)| *k != "CNI_NETNS");
    env.push(("CNI_NETNS", ""));
    let del = run_plugin_in(&lab.host, &lab.plugins.plugin("portmap"), &env, &lab.conf(json!([]), json!({})));
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(!lab.nft("ip").contains(&lab.id), "rules left after a DEL without netns");
}

#[test]
fn del_removes_rules_of_the_reference_and_of_our_earlier_layout() {
    // The reference's nftables portmap comments rules with the container
    // ID alone, and ours before with `<containerID> <network>`: a node
    // upgraded with such rules in place gets them removed by DEL.
    let lab = Lab::new("10.230", 14);
    let conf = lab.conf(
        json!([{"hostPort": 20140, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
        json!({"backend": "nftables"}),
    );
    assert_eq!(lab.ours("ADD", &conf).code, 0);
    for (port, comment) in [(20141, lab.id.clone()), (20142, format!("{} {}", lab.id, lab.network))] {
        let old = format!(
            "add rule ip cni_hostport hostports tcp dport {port} dnat to {}:80 comment \"{comment}\"",
            lab.container_ip(),
        );
        lab.host.exec(&["nft", &old]);
    }
    assert!(lab.nft("ip").contains("dport 20141") && lab.nft("ip").contains("dport 20142"));
    let del = lab.ours("DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    let left = lab.nft("ip");
    assert!(!left.contains("dport 2014"), "{left}");
}

#[test]
fn gc_removes_the_mappings_of_stale_attachments_and_keeps_the_valid_ones() {
    for (n, backend) in [(15u8, "nftables"), (16, "iptables")] {
        let lab = Lab::new("10.230", n);
        let client = lab.client();
        let (live_port, stale_port) = (20000 + 100 * n as u16, 20001 + 100 * n as u16);
        let live = lab.conf(
            json!([{"hostPort": live_port, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
            json!({"backend": backend}),
        );
        let stale = lab.conf(
            json!([{"hostPort": stale_port, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]),
            json!({"backend": backend}),
        );
        assert_eq!(lab.ours("ADD", &live).code, 0, "{backend}");
        let add = lab.run_ours_as("pmstale", "portmap", "ADD", &stale);
        assert_eq!(add.code, 0, "{backend}: {}", add.stdout);
        let before = if backend == "nftables" { lab.nft("ip") } else { lab.saved(false) };
        assert!(before.contains("pmstale"), "{backend}: the stale attachment's rules are there first");

        let gc = json!({"cniVersion": "1.1.0", "name": lab.network, "type": "portmap",
            "cni.dev/valid-attachments": [{"containerID": lab.id, "ifname": "eth0"}]});
        let out = lab.ours("GC", &gc.to_string());
        assert_eq!(out.code, 0, "{backend}: {}", out.stdout);
        let (nft, saved) = (lab.nft("ip"), lab.saved(false));
        assert!(
            !nft.contains("pmstale") && !saved.contains("pmstale"),
            "{backend}: stale rules left:\n{nft}\n{saved}"
        );
        assert_eq!(lab.ours("CHECK", &live).code, 0, "{backend}: the valid attachment's rules stay");
        let server = serve(&lab.container, 1);
        let host = format!("10.230.{}.1", 100 + n);
        assert!(
            connect_from(&client, &format!("{host}:{live_port}")).is_some(),
            "{backend}: the valid port answers"
        );
        server.join().unwrap();
        let _server = serve(&lab.container, 1);
        assert_eq!(
            connect_from(&client, &format!("{host}:{stale_port}")),
            None,
            "{backend}: the stale port is closed"
        );
    }
}

#[test]
fn on_a_host_with_nftables_and_no_iptables_no_backend_named_means_nftables_and_works() {
    let lab = Lab::new("10.230", 18);
    let client = lab.client();
    let conf =
        lab.conf(json!([{"hostPort": 20180, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]), json!({}));
    let add = lab.run_ours_without_iptables("portmap", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert!(
        lab.nft("ip").contains(&format!("dport 20180 dnat to 10.230.18.2:{CONTAINER_PORT}")),
        "{}",
        lab.nft("ip")
    );
    assert!(!lab.saved(false).contains("CNI-DN-"), "no iptables chain");
    let server = serve(&lab.container, 1);
    assert_eq!(
        connect_from(&client, "10.230.118.1:20180").as_deref(),
        Some("10.230.118.2"),
        "the nftables DNAT forwards the port"
    );
    server.join().unwrap();
    assert_eq!(lab.run_ours_without_iptables("portmap", "CHECK", &conf).code, 0);
    let del = lab.run_ours_without_iptables("portmap", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(!lab.nft("ip").contains("dport 20180"), "{}", lab.nft("ip"));
}
