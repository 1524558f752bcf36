//! `cnictl inspect`, `cnictl port` and the filters of `cnictl attachments`
//! against real attachments made by `cnictl add` (bridge, portmap,
//! firewall, bandwidth) on both netfilter backends: what they show is
//! read back from the kernel (`ip -j`, `tc -j`, the rules), and a DNAT
//! rule deleted by hand is shown as missing. cnictl, its plugins and every
//! rule, chain, bridge and veth they make live in a namespace of each
//! test's own that plays the host: nothing lands on the real host.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A config dir, cache and plugin dir of one test, and the namespace that
/// plays its host (deleted on drop, with every rule and link in it).
struct Lab {
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    data: tempfile::TempDir,
    plugins: PluginDir,
    host: TestNetns,
}

impl Lab {
    fn new() -> Lab {
        require_root();
        let host = TestNetns::new("insph");
        host.exec(&["ip", "link", "set", "lo", "up"]);
        Lab {
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            data: tempfile::tempdir().unwrap(),
            plugins: PluginDir::new(),
            host,
        }
    }

    /// Writes a network of bridge `bridge` (made in the lab's host) on
    /// `subnet` with the given chained plugins; returns its name.
    fn network(&self, bridge: &str, subnet: &str, chained: Vec<Value>) -> String {
        let name = unique("insp");
        let mut plugins = vec![json!({"type": "bridge", "bridge": bridge, "isGateway": true,
            "ipam": {"type": "host-local", "subnet": subnet, "dataDir": self.data.path(),
                     "routes": [{"dst": "0.0.0.0/0"}]}})];
        plugins.extend(chained);
        self.write(&name, &json!({"cniVersion": "1.0.0", "name": name, "plugins": plugins}));
        name
    }

    fn write(&self, name: &str, list: &Value) {
        let file = self.conf.path().join(format!("10-{name}.conflist"));
        std::fs::write(file, serde_json::to_vec_pretty(list).unwrap()).unwrap();
    }

    /// The firewall's netconf for `backend`, its files in the lab's data dir.
    fn firewall(&self, backend: &str) -> Value {
        json!({"type": "firewall", "backend": backend, "dataDir": self.data.path().join("firewall")})
    }

    /// cnictl run in the lab's host, as `ip netns exec` runs it: its own
    /// /sys shows the lab host's links.
    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        self.cnictl_with(args, &[])
    }

    /// `cnictl` with extra environment variables.
    fn cnictl_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let command = self.in_host("cnictl");
        run_cnictl_as(command, args, self.conf.path(), self.cache.path(), self.plugins.path(), env)
    }

    /// `program` (cnictl, or a tool on PATH) run in the lab's host.
    fn in_host(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.host.name]);
        if program == "cnictl" {
            cmd.arg(cnictl());
        } else {
            cmd.arg(program);
        }
        cmd
    }

    /// A tool's standard output, run in the lab's host.
    fn host_output(&self, program: &str, args: &[&str]) -> String {
        let out = self.in_host(program).args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// Waits, at most five seconds, for a link of the lab's host to go
    /// (the kernel removes a deleted namespace's veths asynchronously).
    fn wait_link_gone(&self, name: &str) -> bool {
        for _ in 0..50 {
            if link_details(Some(&self.host.name), name).is_null() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }

    /// cnictl's JSON answer, which must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, out, err) = self.cnictl(&all);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    /// Attaches `netns` to `network`; DEL'd when the guard drops.
    fn add<'a>(&'a self, network: &str, netns: &'a TestNetns, ifname: &str, extra: &[&str]) -> Attached<'a> {
        let mut args = vec!["add", network, &netns.name, "--ifname", ifname];
        args.extend(extra);
        let (code, _, err) = self.cnictl(&args);
        let guard = Attached { lab: self, network: network.to_string(), netns, ifname: ifname.to_string() };
        assert_eq!(code, 0, "add {network} {}: {err}", netns.name);
        guard
    }
}

/// An attachment deleted with `cnictl del` on drop, also when a test fails.
struct Attached<'a> {
    lab: &'a Lab,
    network: String,
    netns: &'a TestNetns,
    ifname: String,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let _ = self.lab.cnictl(&["del", &self.network, &self.netns.name, "--ifname", &self.ifname]);
    }
}

/// Host ports of this test process, apart from other processes' tests.
fn host_port(n: u16) -> u16 {
    20000 + (std::process::id() % 4000) as u16 * 10 + n
}

fn tc_qdiscs(lab: &Lab, dev: &str) -> Value {
    serde_json::from_str(&lab.host_output("tc", &["-j", "qdisc", "show", "dev", dev])).unwrap_or(Value::Null)
}

/// The tbf of a device of the lab's host as tc reports it: (rate in bytes/s, burst in bytes).
fn tbf(lab: &Lab, dev: &str) -> (u64, u64) {
    let qdiscs = tc_qdiscs(lab, dev);
    let tbf = qdiscs.as_array().unwrap().iter().find(|q| q["kind"] == "tbf").cloned().unwrap_or_default();
    (tbf["options"]["rate"].as_u64().unwrap_or(0), tbf["options"]["burst"].as_u64().unwrap_or(0))
}

/// Deletes the DNAT rule of `host_port` of the attachment (`network`,
/// `container_id`) by hand in the lab's host, as an operator's flush
/// would: only its own rule (its nftables comment, its `CNI-DN-` chain).
fn delete_dnat_rule(lab: &Lab, backend: &str, ipv6: bool, network: &str, container_id: &str, host_port: u16) {
    let family = if ipv6 { "ip6" } else { "ip" };
    if backend == "nftables" {
        let out = lab.host_output("nft", &["-j", "list", "chain", family, "cni_hostport", "hostports"]);
        let listing: Value = serde_json::from_str(&out).unwrap();
        let comment = portmap::rule_comment(container_id);
        let handle = listing["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.get("rule"))
            .find(|r| {
                r["comment"] == comment.as_str() && r.to_string().contains(&format!("\"right\":{host_port}"))
            })
            .map(|r| r["handle"].as_u64().unwrap())
            .expect("the mapping's nftables rule");
        let handle = handle.to_string();
        let args = ["delete", "rule", family, "cni_hostport", "hostports", "handle", &handle];
        assert!(lab.in_host("nft").args(args).status().unwrap().success());
    } else {
        let tool = if ipv6 { "ip6tables" } else { "iptables" };
        let saved = lab.host_output(&format!("{tool}-save"), &["-t", "nat"]);
        let chain = portmap::dnat_chain(network, container_id);
        let line = saved
            .lines()
            .find(|l| {
                l.starts_with(&format!("-A {chain} ")) && l.contains(&format!("--dport {host_port} -j DNAT"))
            })
            .expect("the mapping's DNAT rule");
        let mut args = vec!["-t", "nat", "-D"];
        args.extend(line.trim_start_matches("-A ").split_whitespace());
        let status = lab.in_host(tool).args(&args).status().unwrap();
        assert!(status.success(), "{tool} {args:?}");
    }
}

/// The words of an iptables-save line, its quoted comment as one word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => word.extend(chars.next()),
            '"' => quoted = !quoted,
            ' ' if !quoted => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

fn mapping(inspected: &Value, host_port: u16) -> &Value {
    let all = inspected["portMappings"].as_array().unwrap();
    all.iter().find(|m| m["hostPort"] == host_port).unwrap_or_else(|| panic!("{host_port} in {all:?}"))
}

#[test]
fn inspect_and_port_agree_with_the_kernel_on_both_backends() {
    for (n, backend) in [(1u16, "nftables"), (2, "iptables")] {
        let lab = Lab::new();
        let subnet = format!("10.170.{n}.0/24");
        let chained = vec![
            json!({"type": "portmap", "backend": backend, "capabilities": {"portMappings": true}}),
            lab.firewall(backend),
            json!({"type": "bandwidth", "capabilities": {"bandwidth": true}}),
        ];
        let network = lab.network("inspbr0", &subnet, chained);
        let ns = TestNetns::new("insp");
        let (tcp, udp) = (host_port(n * 2), host_port(n * 2 + 1));
        let caps = json!({"portMappings": [
                {"hostPort": tcp, "containerPort": 80, "protocol": "tcp"},
                {"hostPort": udp, "containerPort": 53, "protocol": "udp"}],
            "bandwidth": {"ingressRate": 1_000_000, "ingressBurst": 100_000,
                          "egressRate": 2_000_000, "egressBurst": 200_000}})
        .to_string();
        let args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0";
        let _attached = lab.add(&network, &ns, "eth0", &["--args", args, "--cap-args", &caps]);

        let all = lab.json(&["inspect", &ns.name]);
        assert_eq!(all.as_array().map(Vec::len), Some(1), "{backend}: {all}");
        let a = &all[0];
        let mut keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bandwidth",
                "cniArgs",
                "config",
                "containerID",
                "containerInterface",
                "firewall",
                "hostVeth",
                "ifname",
                "netns",
                "network",
                "owner",
                "portMappings",
                "resultIPs"
            ],
            "the JSON shape"
        );
        assert_eq!(a["network"], network.as_str());
        assert_eq!(a["netns"]["exists"], true);
        assert_eq!(a["owner"], json!({"runtime": "kubernetes", "namespace": "shop", "name": "web-0"}));
        assert_eq!(a["config"]["state"], "same", "{backend}: {}", a["config"]);

        // The container interface as `ip -j` reads it in the namespace.
        let link = &link_details(Some(&ns.name), "eth0");
        let c = &a["containerInterface"];
        assert_eq!(c["state"], "found", "{backend}: {c}");
        assert_eq!(c["mac"], link["address"], "{backend}");
        assert_eq!(c["index"], link["ifindex"]);
        let mut addresses: Vec<String> = ip_json(Some(&ns.name), &["addr", "show", "eth0"])[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect();
        let mut shown: Vec<String> =
            c["addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        addresses.sort();
        shown.sort();
        assert_eq!(shown, addresses, "{backend}");
        assert!(shown.contains(&format!("10.170.{n}.2/24")), "{shown:?}");
        assert_eq!(c["gateways"], json!([format!("10.170.{n}.1")]));

        // The host veth: the container interface's peer, a forwarding port of the bridge.
        let v = &a["hostVeth"];
        assert_eq!(v["index"], link["link_index"], "{backend}: {v}");
        let host_link = &link_details(Some(&lab.host.name), v["name"].as_str().unwrap());
        assert_eq!(v["mac"], host_link["address"]);
        assert_eq!(v["master"], "inspbr0");
        assert_eq!(v["portState"], "forwarding");
        assert_eq!(v["up"], true);

        // Bandwidth as tc reads it back: rates in bytes/s there, bits here.
        let bw = &a["bandwidth"];
        let veth = v["name"].as_str().unwrap();
        let (rate, burst) = tbf(&lab, veth);
        assert_eq!(bw["ingress"]["live"]["rateBitsPerSecond"], rate * 8, "{backend}: {bw}");
        assert_eq!(bw["ingress"]["live"]["burstBits"], burst * 8);
        assert_eq!(bw["ingress"]["state"], "ok");
        let ifb = bw["ifb"].as_str().expect("an ifb");
        let (rate, burst) = tbf(&lab, ifb);
        assert_eq!(bw["egress"]["live"]["rateBitsPerSecond"], rate * 8);
        assert_eq!(bw["egress"]["live"]["burstBits"], burst * 8);
        assert_eq!((rate * 8, bw["egress"]["state"].clone()), (2_000_000, json!("ok")));

        // The firewall's rules of this attachment, in the backend it names.
        let fw = &a["firewall"];
        assert_eq!(fw["backend"], backend);
        assert_eq!(fw["missing"], false);
        let rules = fw["rules"].as_array().unwrap();
        assert!(rules.iter().all(|r| r.as_str().unwrap().contains(&format!("10.170.{n}.2"))), "{rules:?}");
        assert_eq!(rules.len(), 2, "{backend}: {rules:?}");

        // Both mappings, each with its rule.
        for port in [tcp, udp] {
            let m = mapping(a, port);
            assert_eq!((m["state"].as_str(), m["backend"].as_str()), (Some("present"), Some(backend)), "{m}");
        }
        let (code, out, err) = lab.cnictl(&["port", &ns.name]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("80/tcp -> 0.0.0.0:{tcp}\n53/udp -> 0.0.0.0:{udp}\n"));
        assert!(err.is_empty(), "{err}");
        let (_, out, _) = lab.cnictl(&["port", &ns.name, "53/udp"]);
        assert_eq!(out, format!("0.0.0.0:{udp}\n"));
        let (code, _, err) = lab.cnictl(&["port", &ns.name, "81"]);
        assert_eq!(code, 1);
        assert!(err.contains("failed to find published port \"81/tcp\""), "{err}");

        // An operator's hand deletes the TCP mapping's DNAT rule.
        let id = a["containerID"].as_str().unwrap();
        delete_dnat_rule(&lab, backend, false, &network, id, tcp);
        let after = &lab.json(&["inspect", id])[0];
        assert_eq!(mapping(after, tcp)["state"], "missing", "{backend}: {}", after["portMappings"]);
        assert_eq!(mapping(after, udp)["state"], "present");
        let (_, table, _) = lab.cnictl(&["inspect", &ns.name]);
        let line = table.lines().find(|l| l.contains(&format!(":{tcp}->80/tcp"))).unwrap_or_default();
        assert!(line.contains("missing"), "{table}");
        // On a terminal the missing rule is an alarm: bold red.
        let line = format!(
            "stty cols 160 rows 40; exec ip netns exec {} {} inspect {id}",
            lab.host.name,
            cnictl().display()
        );
        let shown = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("NETCONFPATH", lab.conf.path())
            .env("CNI_CACHE_DIR", lab.cache.path())
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("\x1b[1;31mmissing\x1b[0m"), "{shown:?}");
        let (code, out, err) = lab.cnictl(&["port", &ns.name]);
        assert_eq!(code, 0);
        assert_eq!(out.lines().count(), 2, "stdout keeps podman's lines: {out}");
        assert!(err.contains(&format!("80/tcp -> 0.0.0.0:{tcp}")) && err.contains("missing"), "{err}");
        assert!(!err.contains(&format!(":{udp}")), "{err}");
        let ports = lab.json(&["port", &ns.name]);
        let states: Vec<(u64, &str)> = ports
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["hostPort"].as_u64().unwrap(), p["state"].as_str().unwrap()))
            .collect();
        assert_eq!(states, [(u64::from(tcp), "missing"), (u64::from(udp), "present")]);

        if backend == "iptables" {
            // The UDP jump from CNI-HOSTPORT-DNAT goes: its DNAT rule is there, but unreached.
            let saved = lab.host_output("iptables-save", &["-t", "nat"]);
            let chain = portmap::dnat_chain(&network, id);
            let jump = saved
                .lines()
                .find(|l| l.starts_with("-A CNI-HOSTPORT-DNAT -p udp") && l.ends_with(&format!("-j {chain}")))
                .expect("the UDP jump");
            let spec = shell_words(jump.trim_start_matches("-A "));
            let mut args = vec!["-t".to_string(), "nat".into(), "-D".into()];
            args.extend(spec);
            assert!(lab.in_host("iptables").args(&args).status().unwrap().success(), "{args:?}");
            let after = &lab.json(&["inspect", id])[0];
            assert_eq!(mapping(after, udp)["state"], "unreached", "{}", after["portMappings"]);
        }

        // The table: sections of keys and values, the kernel's words in them.
        let (_, table, _) = lab.cnictl(&["inspect", id]);
        for word in ["CONTAINER INTERFACE", "HOST VETH", "PORT MAPPINGS", "BANDWIDTH", "FIREWALL"] {
            assert!(table.contains(word), "{word}: {table}");
        }
        assert!(table.contains(link["address"].as_str().unwrap()) && table.contains("forwarding"), "{table}");
        assert!(table.contains("pod shop/web-0 (kubernetes)"), "{table}");

        // The file changes under the attachment: drift names the key.
        let mut list: Value = serde_json::from_slice(
            &std::fs::read(lab.conf.path().join(format!("10-{network}.conflist"))).unwrap(),
        )
        .unwrap();
        list["plugins"][0]["mtu"] = json!(1400);
        lab.write(&network, &list);
        let drift = &lab.json(&["inspect", &ns.name])[0]["config"];
        assert_eq!(drift["state"], "changed");
        assert_eq!(drift["details"], json!(["plugin 1 (bridge): mtu changed"]));
    }
}

#[test]
fn attachments_filters_select_their_rows_and_targets_name_attachments() {
    let lab = Lab::new();
    let portmap =
        || vec![json!({"type": "portmap", "backend": "nftables", "capabilities": {"portMappings": true}})];
    let net_a = lab.network("inspbr0", "10.170.3.0/24", portmap());
    let net_b = lab.network("inspbr1", "10.170.4.0/24", portmap());
    let (ns1, ns2) = (TestNetns::new("insp"), TestNetns::new("insp"));
    let (p1, p2) = (host_port(7), host_port(8));
    let caps = |port: u16| {
        json!({"portMappings": [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]}).to_string()
    };
    let (c1, c2) = (caps(p1), caps(p2));
    let _a1 = lab.add(&net_a, &ns1, "eth0", &["--cap-args", &c1]);
    let _b2 = lab.add(&net_b, &ns2, "eth0", &["--cap-args", &c2]);
    let _b1 = lab.add(&net_b, &ns1, "eth1", &[]);

    let rows = |filter: &[&str]| -> Vec<(String, String)> {
        let mut args = vec!["attachments"];
        args.extend(filter);
        let listed = lab.json(&args);
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["network"].as_str().unwrap().to_string(), r["netns"].as_str().unwrap().to_string()))
            .collect()
    };
    let (a, b) = (net_a.clone(), net_b.clone());
    let (n1, n2) = (ns1.path(), ns2.path());
    assert_eq!(rows(&["--network", &net_a]), [(a.clone(), n1.clone())]);
    assert_eq!(rows(&["--netns", &ns2.name]), [(b.clone(), n2.clone())]);
    let mut both = rows(&["--netns", &n1]);
    both.sort();
    assert_eq!(both, [(a.clone(), n1.clone()), (b.clone(), n1.clone())]);
    assert_eq!(rows(&["--ip", "10.170.4.2"]), [(b.clone(), n2.clone())]);
    assert_eq!(rows(&["--port", &p1.to_string()]), [(a.clone(), n1.clone())]);
    assert_eq!(rows(&["--network", &net_b, "--netns", &ns1.name]), [(b.clone(), n1.clone())]);
    assert!(rows(&["--port", "1"]).is_empty());
    let (code, out, _) = lab.cnictl(&["attachments", "--port", "1"]);
    assert_eq!((code, out.trim()), (0, "no attachments in the result cache"));

    // The host ports: a JSON field and a column.
    let listed = lab.json(&["attachments", "--network", &net_a]);
    assert_eq!(listed[0]["ports"], json!([{"hostPort": p1, "containerPort": 80, "protocol": "tcp"}]));
    let (_, table, _) = lab.cnictl(&["attachments", "--netns", &ns2.name]);
    assert!(table.lines().next().unwrap().contains("PORTS"), "{table}");
    assert!(table.contains(&format!("0.0.0.0:{p2}->80/tcp")), "{table}");

    // A container with two attachments shows both; a shared prefix is an error naming each ID.
    let two = lab.json(&["inspect", &ns1.name]);
    let seen: Vec<(&str, &str)> = two
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["network"].as_str().unwrap(), a["ifname"].as_str().unwrap()))
        .collect();
    let mut expected = vec![(net_a.as_str(), "eth0"), (net_b.as_str(), "eth1")];
    expected.sort();
    assert_eq!(seen, expected);
    let id1 = two[0]["containerID"].as_str().unwrap().to_string();
    let id2 = lab.json(&["inspect", "10.170.4.2"])[0]["containerID"].as_str().unwrap().to_string();
    assert_ne!(id1, id2);
    let (code, _, err) = lab.cnictl(&["inspect", "cnitool-"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&id1) && err.contains(&id2) && err.contains("prefix"), "{err}");
    let unique_prefix = &id2[..id2.len() - 4];
    assert_eq!(lab.json(&["inspect", unique_prefix])[0]["containerID"], id2.as_str());
    let (code, _, err) = lab.cnictl(&["inspect", "no-such-thing"]);
    assert_eq!(code, 1);
    assert!(err.contains("no cached attachment matches"), "{err}");
    // A network name that names no attachment still shows the network.
    let network = lab.json(&["inspect", &net_a]);
    assert_eq!(network["name"], net_a.as_str());

    // port --all: each line led by the container ID, as podman's.
    let (code, out, _) = lab.cnictl(&["port", "--all"]);
    assert_eq!(code, 0);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    let mut expected =
        vec![format!("{id1}\t80/tcp -> 0.0.0.0:{p1}"), format!("{id2}\t80/tcp -> 0.0.0.0:{p2}")];
    expected.sort();
    assert_eq!(lines, expected);
    assert!(Path::new(&ns1.path()).exists());

    // An entry that records no namespace may be live (as gc and doctor
    // judge it): port --all keeps it, and inspect says so.
    let results = lab.cache.path().join("results");
    let mut entry: Value =
        serde_json::from_slice(&std::fs::read(results.join(format!("{net_b}-{id2}-eth0"))).unwrap()).unwrap();
    let unrecorded = unique("insp-norec");
    let p3 = host_port(6);
    entry["containerId"] = json!(unrecorded);
    entry["capabilityArgs"] =
        json!({"portMappings": [{"hostPort": p3, "containerPort": 80, "protocol": "tcp"}]});
    let object = entry.as_object_mut().unwrap();
    object.remove("netns");
    object.remove("netnsIdentity");
    for interface in entry["result"]["interfaces"].as_array_mut().unwrap() {
        interface.as_object_mut().unwrap().remove("sandbox");
    }
    std::fs::write(results.join(format!("{net_b}-{unrecorded}-eth0")), entry.to_string()).unwrap();
    let (code, out, err) = lab.cnictl(&["port", "--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{unrecorded}\t80/tcp -> 0.0.0.0:{p3}")), "{out}");
    let shown = &lab.json(&["inspect", &unrecorded])[0]["netns"];
    assert_eq!(shown["exists"], false, "{shown}");
    assert_eq!(shown["mayBeLive"], "its cache entry records no namespace", "{shown}");
    let (_, table, _) = lab.cnictl(&["inspect", &unrecorded]);
    assert!(table.contains("none recorded: its cache entry records no namespace"), "{table}");
}

#[test]
fn an_attachment_whose_namespace_is_gone_is_shown_gone() {
    let lab = Lab::new();
    let chained =
        vec![json!({"type": "portmap", "backend": "nftables", "capabilities": {"portMappings": true}})];
    let network = lab.network("inspbr0", "10.170.5.0/24", chained);
    let ns = TestNetns::new("insp");
    let port = host_port(9);
    let caps =
        json!({"portMappings": [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]}).to_string();
    let _attached = lab.add(&network, &ns, "eth0", &["--cap-args", &caps]);
    let live = &lab.json(&["inspect", &ns.name])[0];
    let id = live["containerID"].as_str().unwrap().to_string();
    let veth = live["hostVeth"]["name"].as_str().expect("a host veth").to_string();
    assert!(Command::new("ip").args(["netns", "del", &ns.name]).status().unwrap().success());
    assert!(lab.wait_link_gone(&veth), "{veth} outlived its namespace by five seconds");

    let gone = &lab.json(&["inspect", &id])[0];
    assert_eq!(gone["netns"]["exists"], false);
    assert_eq!(gone["containerInterface"]["state"], "noNamespace");
    assert_eq!(gone["hostVeth"], Value::Null, "the veth went with its namespace");
    assert_eq!(mapping(gone, port)["state"], "present", "no DEL ran: the rule is still there");
    let (code, table, err) = lab.cnictl(&["inspect", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("gone: /var/run/netns/") && table.contains("gone: a veth goes with its namespace"),
        "{table}"
    );
    // port --all lists running attachments only, as podman's.
    let (_, all, _) = lab.cnictl(&["port", "--all"]);
    assert!(!all.contains(&id), "{all}");
    let (_, one, _) = lab.cnictl(&["port", &id]);
    assert_eq!(one, format!("80/tcp -> 0.0.0.0:{port}\n"));

    // nft and iptables-save that fail: the rules are unknown, with why,
    // never missing; gc --dry-run says what it could not list.
    let tools = tempfile::tempdir().unwrap();
    for tool in ["nft", "iptables-save", "ip6tables-save"] {
        let path = tools.path().join(tool);
        std::fs::write(&path, format!("#!/bin/sh\necho \"{tool}: listing refused\" >&2\nexit 1\n")).unwrap();
        assert!(Command::new("chmod").arg("755").arg(&path).status().unwrap().success());
    }
    let path = format!("{}:{}", tools.path().display(), std::env::var("PATH").unwrap_or_default());
    let failing = [("PATH", path.as_str())];
    let (code, out, err) = lab.cnictl_with(&["inspect", &id, "-o", "json"], &failing);
    assert_eq!(code, 0, "{err}");
    let unread: Value = serde_json::from_str(&out).unwrap();
    let m = mapping(&unread[0], port);
    assert_eq!(m["state"], "unknown", "{m}");
    assert!(m["rules"][0]["reason"].as_str().unwrap_or_default().contains("nft: listing refused"), "{m}");
    let (_, table, _) = lab.cnictl_with(&["inspect", &id], &failing);
    assert!(table.contains("rules not read") && !table.contains("missing"), "{table}");
    let (code, plan, err) = lab.cnictl_with(&["gc", &network, "--dry-run"], &failing);
    assert_eq!(code, 0, "{err}");
    assert!(plan.contains(&format!("would delete attachment {id}")), "{plan}");
    assert!(plan.contains("nftables rules not listed") && plan.contains("nft: listing refused"), "{plan}");
    assert!(plan.contains("iptables rules not read") && plan.contains("ip6tables rules not read"), "{plan}");
    let (_, plan, _) = lab.cnictl(&["gc", &network, "--dry-run"]);
    assert!(plan.contains("nftables rule in ip cni_hostport") && !plan.contains("not listed"), "{plan}");
    assert!(!plan.contains("inspbr0"), "the bridge is the network's, not the attachment's: {plan}");
}

#[test]
fn dual_stack_mappings_are_checked_per_family_on_both_backends() {
    // Host ports 0 and 1 of this process are this test's own.
    for (n, port, backend) in [(6u16, host_port(0), "nftables"), (7, host_port(1), "iptables")] {
        let lab = Lab::new();
        let name = unique("insp");
        let list = json!({"cniVersion": "1.0.0", "name": name, "plugins": [
            {"type": "bridge", "bridge": "inspbr0", "isGateway": true,
             "ipam": {"type": "host-local", "dataDir": lab.data.path(), "ranges": [
                 [{"subnet": format!("10.170.{n}.0/24")}], [{"subnet": format!("fd00:170:{n}::/64")}]]}},
            {"type": "portmap", "backend": backend, "capabilities": {"portMappings": true}}]});
        lab.write(&name, &list);
        let ns = TestNetns::new("insp");
        let caps =
            json!({"portMappings": [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]}).to_string();
        let _attached = lab.add(&name, &ns, "eth0", &["--cap-args", &caps]);
        let a = &lab.json(&["inspect", &ns.name])[0];
        let m = mapping(a, port);
        let rules: Vec<(&str, &str, &str)> = m["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["family"].as_str().unwrap(), r["to"].as_str().unwrap(), r["state"].as_str().unwrap()))
            .collect();
        let (v4, v6) = (format!("10.170.{n}.2:80"), format!("[fd00:170:{n}::2]:80"));
        assert_eq!(
            rules,
            [("ipv4", v4.as_str(), "present"), ("ipv6", v6.as_str(), "present")],
            "{backend}: {m}"
        );
        assert_eq!(m["state"], "present");

        // The IPv6 rule goes: the mapping is missing, its IPv4 rule still there.
        delete_dnat_rule(&lab, backend, true, &name, a["containerID"].as_str().unwrap(), port);
        let after = &lab.json(&["inspect", &ns.name])[0];
        let m = mapping(after, port);
        let states: Vec<&str> =
            m["rules"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
        assert_eq!(
            (states, m["state"].as_str()),
            (vec!["present", "missing"], Some("missing")),
            "{backend}: {m}"
        );
    }
}
