//! The firewall plugin's firewalld backend against a real firewalld
//! (Debian package firewalld) on a private D-Bus system bus: the test
//! starts `dbus-daemon` with its own config and socket, and firewalld in
//! the lab's host netns, so firewalld's nftables rules stay there. Plugins
//! find the bus through `DBUS_SYSTEM_BUS_ADDRESS`, as on a host they find
//! the system bus. Subnets 10.224.N.0/24 belong to this file.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::dhcp::wait_for;
use common::*;
use serde_json::{json, Value};

/// A D-Bus system bus of the test's own and firewalld on it, running in
/// `netns`; both are killed on drop.
struct FirewalldOnBus {
    dir: tempfile::TempDir,
    dbus: Child,
    firewalld: Option<Child>,
    netns: String,
}

impl FirewalldOnBus {
    fn start(netns: &TestNetns) -> FirewalldOnBus {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("bus");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
            socket.display()
        );
        std::fs::write(dir.path().join("bus.conf"), config).expect("bus config");
        let dbus = Command::new("dbus-daemon")
            .arg("--nofork")
            .arg(format!("--config-file={}", dir.path().join("bus.conf").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon)");
        assert!(wait_for(Duration::from_secs(10), || socket.exists()), "the private bus did not start");
        let mut bus = FirewalldOnBus { dir, dbus, firewalld: None, netns: netns.name.clone() };
        bus.start_firewalld();
        bus
    }

    fn address(&self) -> String {
        format!("unix:path={}", self.dir.path().join("bus").display())
    }

    fn start_firewalld(&mut self) {
        let child = in_netns(&self.netns, "firewalld")
            .args(["--nofork", "--nopid", "--log-file"])
            .arg(self.dir.path().join("firewalld.log"))
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.address())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("firewalld (Debian package firewalld; scripts/test installs it)");
        self.firewalld = Some(child);
        let up = wait_for(Duration::from_secs(30), || self.cmd(&["--state"]).trim() == "running");
        let log = std::fs::read_to_string(self.dir.path().join("firewalld.log")).unwrap_or_default();
        assert!(up, "firewalld did not come up: {log}");
    }

    fn stop_firewalld(&mut self) {
        if let Some(mut child) = self.firewalld.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(wait_for(Duration::from_secs(10), || self.cmd(&["--state"]).trim() != "running"));
    }

    /// `firewall-cmd ARGS` on this bus; its standard output.
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("firewall-cmd")
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.address())
            .output()
            .expect("firewall-cmd");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn sources(&self, zone: &str) -> Vec<String> {
        self.cmd(&[&format!("--zone={zone}"), "--list-sources"])
            .split_whitespace()
            .map(String::from)
            .collect()
    }
}

impl Drop for FirewalldOnBus {
    fn drop(&mut self) {
        if let Some(mut child) = self.firewalld.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// Runs `plugin` (ours, or the reference's by full path) for the lab's
/// container in its host netns, on the test's bus.
fn call(lab: &HostLab, bus: &FirewalldOnBus, plugin: &Path, command: &str, id: &str, conf: &str) -> Outcome {
    let path = lab.plugins.path().to_str().unwrap_or_default().to_string();
    let netns = lab.container.path();
    let address = bus.address();
    let mut env = cni_env(command, id, &netns, "eth0", &path);
    env.push(("DBUS_SYSTEM_BUS_ADDRESS", &address));
    run_plugin_in(&lab.host, plugin, &env, conf)
}

fn firewall_conf(lab: &HostLab, extra: Value) -> String {
    let mut conf =
        json!({"cniVersion": "1.0.0", "name": lab.network, "type": "firewall", "prevResult": lab.result});
    if let (Some(c), Some(e)) = (conf.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    conf.to_string()
}

/// `cnictl doctor`'s firewall backend finding for a network with this
/// firewall entry, on the test's bus.
fn doctor_backend(bus: &FirewalldOnBus, firewall: Value) -> Value {
    let list = json!({"cniVersion": "1.0.0", "name": "fwnet", "plugins": [{"type": "loopback"}, firewall]});
    let address = bus.address();
    doctor_finding("firewall backend", &list, &PluginDir::new(), &[("DBUS_SYSTEM_BUS_ADDRESS", &address)])
}

fn ipv4_source(lab: &HostLab) -> String {
    format!("{}/32", lab.container_ip())
}

#[test]
fn firewalld_backend_adds_checks_and_removes_the_zone_sources() {
    let lab = HostLab::new("10.224", 1);
    let bus = FirewalldOnBus::start(&lab.host);
    let ours = lab.plugins.plugin("firewall");
    let conf = firewall_conf(&lab, json!({"backend": "firewalld"}));

    let add = call(&lab, &bus, &ours, "ADD", &lab.id, &conf);
    assert_eq!(add.code, 0, "ADD: {}", add.stdout);
    assert_eq!(add.json["ips"], lab.result["ips"], "prevResult passed on");
    let sources = bus.sources("trusted");
    assert!(sources.contains(&ipv4_source(&lab)), "{sources:?}");
    assert!(sources.iter().any(|s| s.ends_with("/128")), "the IPv6 address too: {sources:?}");
    assert!(ping(Some(&lab.container.name), &lab.gateway()), "traffic flows through firewalld");
    assert_eq!(call(&lab, &bus, &ours, "CHECK", &lab.id, &conf).code, 0, "CHECK");

    // firewalld keeps an address in one zone: another zone's ADD of it
    // fails, naming the zone, and changes nothing.
    let internal = firewall_conf(&lab, json!({"backend": "firewalld", "firewalldZone": "internal"}));
    let clash = call(&lab, &bus, &ours, "ADD", "other", &internal);
    assert_ne!(clash.code, 0);
    assert!(clash.json["msg"].as_str().unwrap_or_default().contains("to internal zone"), "{}", clash.stdout);
    assert!(bus.sources("internal").is_empty(), "{:?}", bus.sources("internal"));
    assert!(bus.sources("trusted").contains(&ipv4_source(&lab)));

    let del = call(&lab, &bus, &ours, "DEL", &lab.id, &conf);
    assert_eq!(del.code, 0, "DEL: {}", del.stdout);
    assert!(bus.sources("trusted").is_empty(), "{:?}", bus.sources("trusted"));
    let check = call(&lab, &bus, &ours, "CHECK", &lab.id, &conf);
    assert_ne!(check.code, 0, "CHECK after DEL: {}", check.stdout);
    assert!(
        check.json["msg"].as_str().unwrap_or_default().contains("not in firewalld zone trusted"),
        "{}",
        check.stdout
    );
    assert_eq!(call(&lab, &bus, &ours, "DEL", &lab.id, &conf).code, 0, "a second DEL");
}

#[test]
fn no_backend_means_firewalld_while_it_runs_and_iptables_when_it_does_not() {
    let lab = HostLab::new("10.224", 2);
    let mut bus = FirewalldOnBus::start(&lab.host);
    let ours = lab.plugins.plugin("firewall");
    let conf = firewall_conf(&lab, json!({}));
    let forward_rules = || {
        lab.host
            .output(&["iptables-save", "-t", "filter"])
            .lines()
            .filter(|l| l.starts_with("-A CNI-FORWARD") && l.contains(&lab.container_ip()))
            .count()
    };

    let said = doctor_backend(&bus, json!({"type": "firewall"}));
    assert!(said["detail"].as_str().unwrap_or_default().contains("uses firewalld"), "{said}");
    let add = call(&lab, &bus, &ours, "ADD", &lab.id, &conf);
    assert_eq!(add.code, 0, "ADD: {}", add.stdout);
    assert!(bus.sources("trusted").contains(&ipv4_source(&lab)), "firewalld chosen");
    assert_eq!(forward_rules(), 0, "no iptables rules with firewalld");

    // Stopped: iptables. DEL cleans both, whichever made what.
    bus.stop_firewalld();
    let said = doctor_backend(&bus, json!({"type": "firewall"}));
    assert!(said["detail"].as_str().unwrap_or_default().contains("uses iptables"), "{said}");
    let said = doctor_backend(&bus, json!({"type": "firewall", "backend": "firewalld"}));
    assert_eq!(said["status"], "fail", "{said}");
    let add = call(&lab, &bus, &ours, "ADD", &lab.id, &conf);
    assert_eq!(add.code, 0, "ADD: {}", add.stdout);
    assert!(forward_rules() >= 2, "iptables chosen: {}", lab.host.output(&["iptables-save", "-t", "filter"]));
    bus.start_firewalld();
    // firewalld's runtime sources went with the process; put one back as
    // a previous ADD would have left it.
    bus.cmd(&["--zone=trusted", &format!("--add-source={}", ipv4_source(&lab))]);
    let del = call(&lab, &bus, &ours, "DEL", &lab.id, &conf);
    assert_eq!(del.code, 0, "DEL: {}", del.stdout);
    assert_eq!(forward_rules(), 0, "the iptables rules went");
    assert!(bus.sources("trusted").is_empty(), "the firewalld source went: {:?}", bus.sources("trusted"));

    // Asked for by name while firewalld is down: a clear error.
    bus.stop_firewalld();
    let named = firewall_conf(&lab, json!({"backend": "firewalld"}));
    let add = call(&lab, &bus, &ours, "ADD", &lab.id, &named);
    assert_ne!(add.code, 0);
    assert!(add.json["msg"].as_str().unwrap_or_default().contains("needs firewalld"), "{}", add.stdout);
}

#[test]
fn firewalld_sources_hand_over_with_the_reference() {
    require_reference();
    let lab = HostLab::new("10.224", 3);
    let bus = FirewalldOnBus::start(&lab.host);
    let ours = lab.plugins.plugin("firewall");
    let reference = Path::new(REFERENCE_DIR).join("firewall");
    let conf = firewall_conf(&lab, json!({"backend": "firewalld"}));

    let add = call(&lab, &bus, &reference, "ADD", &lab.id, &conf);
    assert_eq!(add.code, 0, "reference ADD: {} {}", add.stdout, add.stderr);
    assert!(bus.sources("trusted").contains(&ipv4_source(&lab)), "the reference's source");
    assert_eq!(call(&lab, &bus, &ours, "CHECK", &lab.id, &conf).code, 0, "ours checks the reference's");
    assert_eq!(call(&lab, &bus, &ours, "DEL", &lab.id, &conf).code, 0);
    assert!(bus.sources("trusted").is_empty(), "ours removed the reference's: {:?}", bus.sources("trusted"));

    assert_eq!(call(&lab, &bus, &ours, "ADD", &lab.id, &conf).code, 0);
    let check = call(&lab, &bus, &reference, "CHECK", &lab.id, &conf);
    assert_eq!(check.code, 0, "the reference checks ours: {}", check.stdout);
    assert_eq!(call(&lab, &bus, &reference, "DEL", &lab.id, &conf).code, 0);
    assert!(bus.sources("trusted").is_empty(), "the reference removed ours: {:?}", bus.sources("trusted"));
}
