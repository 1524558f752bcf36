//! `cnictl check --deep`: the data-plane check of an attachment is clean
//! on a healthy one and names what keeps its packets from leaving or
//! returning, with a fix that works: FORWARD's policy DROP (Docker's
//! chains, no accept for the bridge), a native nftables forward-hook drop
//! chain (and a rule that only may drop), a deleted masquerade rule (both
//! backends; nftables' postrouting that no longer reaches it), a deleted
//! DNAT rule (lost rules: `cnictl network reload`, run and re-checked),
//! forwarding off, a downed host veth, a veth off its bridge, a lost bridge
//! (no fix ever re-attaches), rules that cannot be read (a warning, never
//! "missing"). `doctor` names the same under the attachment.
//!
//! Every breakage lives in a network namespace of the test's own that
//! plays the host (its bridge, rules, policies and sysctls are its own;
//! cnictl runs inside it), so the host's netfilter is never touched. The
//! host namespace has an uplink and a default route; route lookups send
//! no packet. Subnets 10.171.N.0/24 belong to this file.

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// A host netns with an uplink (up0, default route via 10.171.250.1), a
/// bridge network in a config dir of its own (bridge dpbr0, ipMasq,
/// portmap), and a container attached by cnictl run inside the host.
struct Lab {
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
    _data: tempfile::TempDir,
    plugins: PluginDir,
    name: String,
    container: TestNetns,
    host: TestNetns,
}

/// The port mapping every lab's container gets.
const MAPPING: &str = r#"{"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}"#;

impl Lab {
    /// `masq_backend`: ipMasqBackend, or the reference's choice when None.
    fn new(n: u8, masq_backend: Option<&str>) -> Lab {
        Lab::with_more(n, masq_backend, Vec::new())
    }

    /// A lab whose chain has `more` plugins after bridge and portmap.
    fn with_more(n: u8, masq_backend: Option<&str>, more: Vec<Value>) -> Lab {
        Lab::build(n, masq_backend, more, false, json!({}))
    }

    /// With `ipv6`, the network has an IPv6 range too (fd00:171:N::/64) and
    /// the host an IPv6 default route; `bridge_keys` are set on the bridge plugin.
    fn build(n: u8, masq_backend: Option<&str>, more: Vec<Value>, ipv6: bool, bridge_keys: Value) -> Lab {
        let host = TestNetns::new("dph");
        let container = TestNetns::new("dpc");
        host.exec(&["ip", "link", "set", "lo", "up"]);
        host.exec(&["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up0p"]);
        host.exec(&["ip", "link", "set", "up0", "up"]);
        host.exec(&["ip", "link", "set", "up0p", "up"]);
        host.exec(&["ip", "addr", "add", "10.171.250.2/24", "dev", "up0"]);
        host.exec(&["ip", "route", "add", "default", "via", "10.171.250.1"]);
        if ipv6 {
            host.exec(&["ip", "addr", "add", "fd00:171:250::2/64", "dev", "up0", "nodad"]);
            host.exec(&["ip", "-6", "route", "add", "default", "via", "fd00:171:250::1"]);
        }
        let conf = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let name = unique("deep");
        let mut bridge = json!({"type": "bridge", "bridge": "dpbr0", "isGateway": true,
            "isDefaultGateway": true, "ipMasq": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("10.171.{n}.0/24")}]],
                     "dataDir": data.path()}});
        if ipv6 {
            bridge["ipam"]["ranges"]
                .as_array_mut()
                .unwrap()
                .push(json!([{"subnet": format!("fd00:171:{n}::/64")}]));
        }
        if let Some(backend) = masq_backend {
            bridge["ipMasqBackend"] = json!(backend);
        }
        for (key, value) in bridge_keys.as_object().into_iter().flatten() {
            bridge[key] = value.clone();
        }
        let mut plugins = vec![bridge, json!({"type": "portmap", "capabilities": {"portMappings": true}})];
        plugins.extend(more);
        let list = json!({"cniVersion": "1.0.0", "name": name, "plugins": plugins});
        std::fs::write(conf.path().join(format!("10-{name}.conflist")), list.to_string()).unwrap();
        let lab = Lab {
            conf,
            cache: tempfile::tempdir().unwrap(),
            _data: data,
            plugins: PluginDir::new(),
            name,
            container,
            host,
        };
        let (code, _, stderr) = lab.cnictl(&["add", &lab.name, &lab.container.path()]);
        assert_eq!(code, 0, "add: {stderr}");
        lab
    }

    /// cnictl run inside the host netns.
    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        self.cnictl_with_path(args, None)
    }

    /// cnictl run inside the host netns, with `first` ahead of PATH.
    fn cnictl_with_path(&self, args: &[&str], first: Option<&std::path::Path>) -> (i32, String, String) {
        let mut command = in_netns(&self.host.name, cnictl());
        if let Some(dir) = first {
            command.env("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
        }
        let (conf, cache, plugins) = (self.conf.path(), self.cache.path(), self.plugins.path());
        run_cnictl_as(command, args, conf, cache, plugins, &[("CAP_ARGS", MAPPING)])
    }

    /// `check --deep -o json`: the exit code and the findings.
    fn deep(&self) -> (i32, Vec<Value>) {
        let (code, stdout, stderr) =
            self.cnictl(&["check", "--deep", &self.name, &self.container.path(), "-o", "json"]);
        let findings: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {stderr}"));
        (code, findings.as_array().unwrap().clone())
    }

    /// A shell command run inside the host netns (a fix as printed).
    fn sh(&self, command: &str) {
        self.host.exec(&["sh", "-c", command]);
    }

    /// A printed fix, up to its parenthesis, run as the operator would:
    /// a cnictl one through this lab's cnictl (which must succeed), any
    /// other in the host netns. No fix may re-attach (a `del`).
    fn apply(&self, fix: &str) {
        assert!(!fix.contains("cnictl del"), "a fix must never delete a live attachment: {fix}");
        let command = fix.split(" (").next().unwrap();
        match command.strip_prefix("cnictl ") {
            Some(args) => {
                let args: Vec<&str> = args.split_whitespace().collect();
                let (code, stdout, stderr) = self.cnictl(&args);
                assert_eq!(code, 0, "{fix}: {stdout}{stderr}");
            }
            None => self.sh(command),
        }
    }

    fn host_output(&self, args: &[&str]) -> String {
        self.host.output(args)
    }

    /// The host end of the container's veth (the bridge's one port).
    fn host_veth(&self) -> String {
        let ports = ip_json(Some(&self.host.name), &["link", "show", "master", "dpbr0"]);
        ports[0]["ifname"].as_str().unwrap().to_string()
    }

    fn container_ip(&self) -> String {
        let found = link_addresses(Some(&self.container.name), "eth0");
        found[0].split('/').next().unwrap().to_string()
    }

    /// How many packets the forward hook is asked about per family: out,
    /// back, the mapped port in, and a neighbour on the bridge when
    /// br_netfilter hands bridged traffic to the hook.
    fn hook_packets(&self, ipv6: bool) -> usize {
        let key =
            if ipv6 { "net.bridge.bridge-nf-call-ip6tables" } else { "net.bridge.bridge-nf-call-iptables" };
        3 + usize::from(self.host_output(&["sysctl", "-n", key]).trim() == "1")
    }

    /// The namespaces' names, to check they are gone after the lab.
    fn names(&self) -> [String; 2] {
        [self.host.name.clone(), self.container.name.clone()]
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.cnictl(&["del", &self.name, &self.container.path()]);
    }
}

/// The findings of `check`, with statuses.
fn of<'a>(findings: &'a [Value], check: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["check"] == check).collect()
}

/// The one finding of `check` with `status`; panics naming all otherwise.
fn one<'a>(findings: &'a [Value], check: &str, status: &str) -> &'a Value {
    let found: Vec<&Value> = of(findings, check).into_iter().filter(|f| f["status"] == status).collect();
    assert!(!found.is_empty(), "no {status} {check:?} finding in {findings:#?}");
    found[0]
}

fn assert_clean(findings: &[Value]) {
    let bad: Vec<&Value> =
        findings.iter().filter(|f| f["status"] == "fail" || f["status"] == "warn").collect();
    assert!(bad.is_empty(), "findings: {bad:#?}");
}

/// The lab is gone: no namespace of its left (its links and rules lived there).
fn assert_gone(names: &[String]) {
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    for name in names {
        assert!(!listed.lines().any(|l| l.split_whitespace().next() == Some(name)), "{name} left behind");
    }
}

/// Docker's filter chains as dockerd 28 writes them, for docker0 only,
/// with FORWARD's policy DROP.
fn docker_forward_drop(lab: &Lab) {
    for rule in [
        "iptables -N DOCKER-USER",
        "iptables -N DOCKER-FORWARD",
        "iptables -N DOCKER",
        "iptables -A FORWARD -j DOCKER-USER",
        "iptables -A FORWARD -j DOCKER-FORWARD",
        "iptables -A DOCKER-USER -j RETURN",
        "iptables -A DOCKER-FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "iptables -A DOCKER-FORWARD -o docker0 -j DOCKER",
        "iptables -A DOCKER-FORWARD -i docker0 -j ACCEPT",
        "iptables -P FORWARD DROP",
    ] {
        lab.sh(rule);
    }
}

#[test]
fn a_healthy_attachment_is_clean_in_check_deep_and_doctor() {
    let lab = Lab::new(1, None);
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    let ip = lab.container_ip();
    for check in
        ["plugins", "forwarding", "bridge", "host veth", "container route", "host route", "return route"]
    {
        one(&findings, check, "ok");
    }
    assert!(one(&findings, "host route", "ok")["detail"]
        .as_str()
        .unwrap()
        .contains("out by up0 via 10.171.250.1"));
    let hook = of(&findings, "forward hook");
    assert_eq!(hook.len(), lab.hook_packets(false), "{hook:#?}");
    if lab.hook_packets(false) == 4 {
        let peer = hook.iter().find(|f| f["detail"].as_str().unwrap().contains("a neighbour on dpbr0"));
        assert!(peer.is_some(), "bridged traffic meets the hook: {hook:#?}");
    }
    assert!(one(&findings, "masquerade", "ok")["detail"].as_str().unwrap().contains(&ip));
    assert!(one(&findings, "port 8080/tcp", "ok")["detail"].as_str().unwrap().contains(&format!("{ip}:80")));
    // Another outside address, on the uplink's own subnet: no gateway.
    let (code, stdout, _) = lab.cnictl(&[
        "check",
        "--deep",
        &lab.name,
        &lab.container.path(),
        "--to",
        "10.171.250.53",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let to: Vec<Value> = serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone();
    let route = one(&to, "host route", "ok")["detail"].as_str().unwrap().to_string();
    assert!(route.ends_with(&format!("{ip} -> 10.171.250.53 arriving on dpbr0 out by up0")), "{route}");
    // The table says the same, and exits 0.
    let (code, table, _) = lab.cnictl(&["check", "--deep", &lab.name, &lab.container.path()]);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("forward hook") && !table.contains("fail"), "{table}");
    // doctor checks the live attachment and finds nothing wrong.
    let (_, stdout, _) = lab.cnictl(&["doctor", "-o", "json"]);
    let doctor: Vec<Value> = serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone();
    let summary = one(&doctor, "data plane", "ok");
    assert!(summary["detail"].as_str().unwrap().starts_with("1 live attachment(s) checked"), "{summary}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn forward_policy_drop_is_named_with_a_fix_that_works() {
    let lab = Lab::new(2, None);
    docker_forward_drop(&lab);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1, "a failing finding exits 1");
    let drops: Vec<&Value> =
        of(&findings, "forward hook").into_iter().filter(|f| f["status"] == "fail").collect();
    assert_eq!(
        drops.len(),
        lab.hook_packets(false),
        "out, back, the mapped port's first packet in: {drops:#?}"
    );
    let out = drops[0];
    assert!(out["detail"].as_str().unwrap().contains("iptables filter FORWARD (policy DROP) drops"), "{out}");
    assert!(out["detail"].as_str().unwrap().contains("FORWARD's policy DROP"), "{out}");
    // The plugins' own CHECK does not see it: the issue's complaint.
    one(&findings, "plugins", "ok");
    // doctor names it under the attachment.
    let (code, stdout, _) = lab.cnictl(&["doctor", "-o", "json"]);
    assert_eq!(code, 1);
    let doctor: Vec<Value> = serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone();
    assert!(
        doctor
            .iter()
            .any(|f| f["status"] == "fail" && f["check"].as_str().unwrap().ends_with(" forward hook")),
        "{doctor:#?}"
    );
    // The fixes, as printed (up to their parenthesis), make it pass.
    let mapped = drops.iter().find(|d| d["detail"].as_str().unwrap().contains("host port")).unwrap();
    assert!(mapped["detail"].as_str().unwrap().contains(":80 tcp (host port 8080;"), "{mapped}");
    assert!(
        mapped["fix"].as_str().unwrap().ends_with("-o dpbr0 -d 10.171.2.2 -p tcp --dport 80 -j ACCEPT"),
        "{mapped}"
    );
    for drop in &drops {
        let fix = drop["fix"].as_str().unwrap();
        assert!(fix.contains("DOCKER-USER") && fix.contains("dpbr0"), "{fix}");
        lab.sh(fix.split(" (").next().unwrap());
    }
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn an_nftables_forward_drop_chain_is_named_and_a_port_rule_only_may_drop() {
    let lab = Lab::new(3, None);
    let table = unique("dpfw");
    lab.sh(&format!("nft add table inet {table}"));
    lab.sh(&format!(
        "nft 'add chain inet {table} fw {{ type filter hook forward priority 0; policy drop; }}'"
    ));
    lab.sh(&format!("nft add rule inet {table} fw iifname docker0 accept"));
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let drops: Vec<&Value> =
        of(&findings, "forward hook").into_iter().filter(|f| f["status"] == "fail").collect();
    assert_eq!(drops.len(), lab.hook_packets(false), "{findings:#?}");
    for drop in &drops {
        let detail = drop["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("nft inet {table} fw (policy drop) drops")), "{detail}");
        let fix = drop["fix"].as_str().unwrap();
        assert!(fix.starts_with(&format!("nft 'insert rule inet {table} fw ")), "{fix}");
        lab.sh(fix);
    }
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "the fixes work: {findings:#?}");
    assert_clean(&findings);
    // A rule before the accepts for port 25, whose protocol and port are
    // beyond what the check evaluates: a warning naming it, exit 0.
    lab.sh(&format!("nft insert rule inet {table} fw ip saddr 10.171.0.0/16 tcp dport 25 drop"));
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    let may = one(&findings, "forward hook", "warn");
    let detail = may["detail"].as_str().unwrap();
    assert!(
        detail.contains("may drop") && detail.contains(&format!("nft rule inet {table} fw handle")),
        "{detail}"
    );
    let listed = lab.host_output(&["nft", "-a", "list", "chain", "inet", &table, "fw"]);
    let handle =
        listed.lines().find(|l| l.contains("dport 25")).and_then(|l| l.rsplit("handle ").next()).unwrap();
    assert!(detail.contains(&format!("handle {}", handle.trim())), "{detail} / {listed}");
    // A drop in a chain the base chain jumps to is named there, and its
    // fix deletes that rule.
    lab.sh(&format!("nft add chain inet {table} userchk"));
    lab.sh(&format!("nft insert rule inet {table} fw jump userchk"));
    lab.sh(&format!("nft 'add rule inet {table} userchk iifname \"dpbr0\" ip daddr 192.0.2.0/24 drop comment \"no docs\"'"));
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let jumped = one(&findings, "forward hook", "fail");
    let detail = jumped["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("nft rule inet {table} userchk handle"))
            && detail.ends_with("comment \"no docs\""),
        "{detail}"
    );
    let fix = jumped["fix"].as_str().unwrap();
    assert!(fix.starts_with(&format!("nft delete rule inet {table} userchk handle ")), "{fix}");
    lab.sh(fix.split(" (").next().unwrap());
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_deleted_iptables_masquerade_rule_and_dnat_rule_are_named() {
    let lab = Lab::new(4, Some("iptables"));
    let ip = lab.container_ip();
    let saved = lab.host_output(&["iptables-save", "-t", "nat"]);
    let postrouting: Vec<&str> = saved.lines().filter(|l| l.starts_with("-A POSTROUTING ")).collect();
    let at = postrouting.iter().position(|l| l.contains(&format!("-s {ip}/32"))).unwrap() + 1;
    lab.sh(&format!("iptables -t nat -D POSTROUTING {at}"));
    let dnat = saved.lines().find(|l| l.starts_with("-A CNI-DN-") && l.contains("-j DNAT")).unwrap();
    lab.sh(&format!("iptables -t nat -D {}", &dnat[3..]));
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let masq = one(&findings, "masquerade", "fail");
    let detail = masq["detail"].as_str().unwrap();
    assert!(detail.contains(&ip) && detail.contains("POSTROUTING"), "{detail}");
    let port = one(&findings, "port 8080/tcp", "fail");
    assert!(port["detail"].as_str().unwrap().contains(&format!("{ip}:80")), "{port}");
    // Lost host rules are put back by reload, which leaves the container be.
    let reload = format!("cnictl network reload {} (", lab.name);
    for fix in [masq["fix"].as_str().unwrap(), port["fix"].as_str().unwrap()] {
        assert!(fix.starts_with(&reload), "{fix}");
    }
    lab.apply(masq["fix"].as_str().unwrap());
    assert_eq!(lab.container_ip(), ip, "the container keeps its address");
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_deleted_nftables_masquerade_rule_is_named() {
    let lab = Lab::new(5, Some("nftables"));
    let ip = lab.container_ip();
    let listed =
        lab.host_output(&["nft", "-a", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"]);
    let line = listed.lines().find(|l| l.contains(&format!("saddr {ip} "))).unwrap();
    let handle = line.rsplit("handle ").next().unwrap().trim().to_string();
    lab.host.exec(&[
        "nft",
        "delete",
        "rule",
        "inet",
        "cni_plugins_masquerade",
        "masq_checks",
        "handle",
        &handle,
    ]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let masq = one(&findings, "masquerade", "fail");
    assert!(masq["detail"].as_str().unwrap().contains(&format!("no rule for {ip}")), "{masq}");
    let fix = masq["fix"].as_str().unwrap();
    assert!(fix.starts_with(&format!("cnictl network reload {} (", lab.name)), "{fix}");
    lab.apply(fix);
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    one(&findings, "masquerade", "ok");
    // The rule is there but postrouting no longer goes to masq_checks: the
    // container's packets never meet it.
    lab.host.exec(&["nft", "flush", "chain", "inet", "cni_plugins_masquerade", "postrouting"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1, "{findings:#?}");
    let masq = one(&findings, "masquerade", "fail");
    assert!(masq["detail"].as_str().unwrap().contains("postrouting does not go to masq_checks"), "{masq}");
    lab.apply(masq["fix"].as_str().unwrap());
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    one(&findings, "masquerade", "ok");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_downed_host_veth_and_forwarding_off_are_named() {
    let lab = Lab::new(6, None);
    let veth = lab.host_veth();
    lab.host.exec(&["ip", "link", "set", &veth, "down"]);
    lab.host.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    one(&findings, "plugins", "ok");
    let down = one(&findings, "host veth", "fail");
    assert_eq!(down["detail"], format!("{veth} is down"));
    assert_eq!(down["fix"], format!("ip link set {veth} up"));
    let off = one(&findings, "forwarding", "fail");
    assert_eq!(off["fix"], "sysctl -w net/ipv4/ip_forward=1");
    // The kernel, asked, refuses to route the container's packet.
    assert!(one(&findings, "host route", "fail")["detail"].as_str().unwrap().contains("will not forward"));
    lab.sh(down["fix"].as_str().unwrap());
    lab.sh(off["fix"].as_str().unwrap());
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn the_firewall_plugin_lets_the_traffic_past_dockers_drop_but_not_a_mapped_port() {
    // Its records go in a directory of the test's (default: /var/lib/cni/firewall).
    let records = tempfile::tempdir().unwrap();
    let firewall = json!({"type": "firewall", "backend": "iptables", "dataDir": records.path()});
    let lab = Lab::with_more(7, None, vec![firewall]);
    docker_forward_drop(&lab);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1, "{findings:#?}");
    let hook = of(&findings, "forward hook");
    assert_eq!(hook.len(), lab.hook_packets(false), "{hook:#?}");
    let (mapped, others): (Vec<&Value>, Vec<&Value>) =
        hook.iter().partition(|f| f["detail"].as_str().unwrap().contains("(host port 8080;"));
    for passing in others {
        assert_eq!(
            passing["status"], "ok",
            "out, back (and to a neighbour) pass through CNI-FORWARD: {passing}"
        );
    }
    // The firewall plugin accepts only the container's own and established
    // traffic: a new connection to a mapped port is still dropped.
    assert_eq!(mapped[0]["status"], "fail", "{}", mapped[0]);
    one(&findings, "firewall", "ok");
    // Its rules flushed: named, and put back by the printed reload, after
    // which out and back pass Docker's drop again.
    lab.sh("iptables -F CNI-FORWARD");
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let lost = one(&findings, "firewall", "fail");
    let fix = lost["fix"].as_str().unwrap();
    assert!(fix.starts_with(&format!("cnictl network reload {} (", lab.name)), "{fix}");
    let failing = |findings: &[Value]| {
        of(findings, "forward hook").into_iter().filter(|f| f["status"] == "fail").count()
    };
    assert!(failing(&findings) > 1, "out and back are dropped now: {findings:#?}");
    lab.apply(fix);
    let (_, findings) = lab.deep();
    one(&findings, "firewall", "ok");
    assert_eq!(failing(&findings), 1, "only the mapped port: {findings:#?}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_strict_reverse_path_filter_drop_is_found_by_asking_the_kernel() {
    let lab = Lab::new(8, None);
    let ip = lab.container_ip();
    // The host routes the container's address elsewhere (a more specific
    // route out of the uplink), and checks sources strictly on the bridge.
    lab.host.exec(&["ip", "route", "add", &format!("{ip}/32"), "dev", "up0"]);
    lab.host.exec(&["sysctl", "-qw", "net.ipv4.conf.dpbr0.rp_filter=1"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    one(&findings, "rp_filter", "info");
    let refused = one(&findings, "host route", "fail");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("reverse-path filter drops") && detail.contains(&ip), "{detail}");
    assert!(
        refused["fix"].as_str().unwrap().starts_with("sysctl -w net/ipv4/conf/dpbr0/rp_filter=2"),
        "{refused}"
    );
    let back = one(&findings, "return route", "fail");
    assert!(back["detail"].as_str().unwrap().contains("would leave by up0, not dpbr0"), "{back}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn ipv6_packets_are_checked_through_ip6tables() {
    let lab = Lab::build(9, None, Vec::new(), true, json!({}));
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    assert!(of(&findings, "forwarding")
        .iter()
        .any(|f| f["detail"].as_str().unwrap().contains("IPv6 forwarding")));
    let routes = of(&findings, "host route");
    assert!(
        routes.iter().any(|f| f["detail"]
            .as_str()
            .unwrap()
            .contains("-> 2001:db8::1 arriving on dpbr0 out by up0 via fd00:171:250::1")),
        "{routes:#?}"
    );
    lab.host.exec(&["ip6tables", "-P", "FORWARD", "DROP"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let drops: Vec<&Value> =
        of(&findings, "forward hook").into_iter().filter(|f| f["status"] == "fail").collect();
    assert_eq!(drops.len(), lab.hook_packets(true), "IPv6's packets only: {drops:#?}");
    for drop in &drops {
        assert!(
            drop["detail"]
                .as_str()
                .unwrap()
                .starts_with("ip6tables filter FORWARD (policy DROP) drops fd00:171:9::")
                || drop["detail"].as_str().unwrap().contains("-> fd00:171:9::"),
            "{drop}"
        );
        let fix = drop["fix"].as_str().unwrap();
        assert!(fix.starts_with("ip6tables -I FORWARD "), "{fix}");
        lab.sh(fix.split(" (").next().unwrap());
    }
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_network_without_a_default_route_is_not_a_failure_to_reach_out() {
    let lab = Lab::build(10, None, Vec::new(), false, json!({"isDefaultGateway": false}));
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    let route = one(&findings, "container route", "info");
    assert!(route["detail"].as_str().unwrap().contains("gives it no default route"), "{route}");
    // Out and back are not asked about; the mapped port still is.
    let hook = of(&findings, "forward hook");
    let asked = |text: &str| hook.iter().any(|f| f["detail"].as_str().unwrap().contains(text));
    assert!(!asked("-> 192.0.2.1 (") && !asked("established)"), "{hook:#?}");
    assert!(hook.iter().any(|f| f["detail"].as_str().unwrap().contains("(host port 8080;")), "{hook:#?}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_host_without_a_default_route_warns_and_fails_only_for_a_named_destination() {
    let lab = Lab::new(11, None);
    lab.host.exec(&["ip", "route", "del", "default"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "the default destination stands for anywhere: {findings:#?}");
    let warned = one(&findings, "host route", "warn");
    assert!(warned["detail"].as_str().unwrap().contains("the host has no route to 192.0.2.1"), "{warned}");
    assert!(warned["fix"].as_str().unwrap().contains("--to ADDR"), "{warned}");
    let (code, stdout, _) = lab.cnictl(&[
        "check",
        "--deep",
        &lab.name,
        &lab.container.path(),
        "--to",
        "10.171.251.9",
        "-o",
        "json",
    ]);
    assert_eq!(code, 1, "{stdout}");
    let named: Vec<Value> = serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone();
    let failed = one(&named, "host route", "fail");
    assert_eq!(failed["fix"], "give the host a route to 10.171.251.9 (ip route add 10.171.251.9 via ROUTER)");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn a_veth_off_its_bridge_and_a_lost_bridge_get_fixes_that_leave_the_container_be() {
    let lab = Lab::new(12, None);
    let veth = lab.host_veth();
    let ip = lab.container_ip();
    lab.host.exec(&["ip", "link", "set", &veth, "nomaster"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let off = one(&findings, "host veth", "fail");
    assert_eq!(off["detail"], format!("{veth} is not a port of dpbr0 (it is on no bridge)"));
    assert_eq!(off["fix"], format!("ip link set {veth} master dpbr0"));
    lab.apply(off["fix"].as_str().unwrap());
    let (code, findings) = lab.deep();
    assert_eq!(code, 0, "{findings:#?}");
    assert_clean(&findings);
    // The bridge gone: nothing cnictl can remake under a live container.
    lab.host.exec(&["ip", "link", "del", "dpbr0"]);
    let (code, findings) = lab.deep();
    assert_eq!(code, 1);
    let gone = one(&findings, "bridge", "fail");
    let fix = gone["fix"].as_str().unwrap();
    assert!(fix.starts_with("recreate container ") && fix.contains("with its runtime"), "{fix}");
    let (code, stdout, _) = lab.cnictl(&["doctor", "-o", "json"]);
    assert_eq!(code, 1);
    let doctor: Vec<Value> = serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone();
    assert!(doctor.iter().any(|f| f["check"].as_str().unwrap().ends_with(" bridge")), "{doctor:#?}");
    for f in findings.iter().chain(&doctor) {
        let fix = f["fix"].as_str().unwrap_or_default();
        assert!(!fix.contains("cnictl del") && !fix.contains("cnictl add"), "{f}");
    }
    // Checking changed nothing: the container keeps its address.
    assert_eq!(lab.container_ip(), ip);
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}

#[test]
fn rules_that_cannot_be_read_are_warned_about_never_reported_missing() {
    let lab = Lab::new(13, Some("iptables"));
    // iptables-save and ip6tables-save that fail, found first on PATH.
    let tools = tempfile::tempdir().unwrap();
    for tool in ["iptables-save", "ip6tables-save"] {
        let path = tools.path().join(tool);
        std::fs::write(&path, "#!/bin/sh\necho 'cannot read the tables' >&2\nexit 1\n").unwrap();
        let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        std::fs::set_permissions(&path, executable).unwrap();
    }
    let (code, stdout, stderr) = lab.cnictl_with_path(
        &["check", "--deep", &lab.name, &lab.container.path(), "-o", "json"],
        Some(tools.path()),
    );
    let findings: Vec<Value> = serde_json::from_str::<Value>(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"))
        .as_array()
        .unwrap()
        .clone();
    // portmap's own CHECK fails on the tool's error; the data plane's
    // findings do not claim a rule is missing.
    assert_eq!(code, 1, "{findings:#?}");
    one(&findings, "plugins", "fail");
    let masq = one(&findings, "masquerade", "warn");
    let detail = masq["detail"].as_str().unwrap();
    assert!(
        detail.contains("cannot be told") && detail.contains("iptables-save failed: cannot read the tables"),
        "{masq}"
    );
    assert!(masq["fix"].is_null(), "{masq}");
    one(&findings, "port 8080/tcp", "warn");
    let hook = of(&findings, "forward hook");
    assert!(
        hook.iter().any(|f| f["status"] == "warn"
            && f["detail"].as_str().unwrap().contains("iptables filter table cannot be read")),
        "{hook:#?}"
    );
    assert!(findings.iter().all(|f| f["status"] != "fail" || f["check"] == "plugins"), "{findings:#?}");
    let names = lab.names();
    drop(lab);
    assert_gone(&names);
}
