//! netavark (podman's network backend, Debian's `netavark` package) as a
//! second peer: through its own command line (`netavark --config DIR
//! setup|teardown NETNS`, the network options as JSON on stdin, as podman
//! runs it) it sets up and tears down what our bridge, portmap and
//! firewall chain makes: a bridge, masquerading, one port mapping and the
//! firewall's accepts, all by its iptables driver. It runs on a network of
//! its own (10.245.T.0/24, T from the run token) whose bridge and chains
//! are named after the run, and one attachment (the holder) stays on it
//! for the whole row, so that each timed setup finds the bridge and the
//! network's chains made, as our plugins' later ADDs find theirs.

use std::path::PathBuf;
use std::time::Duration;

use cni::netfilter::iptables;
use serde_json::{json, Value};

use crate::exec::{delete_link, new_command, run_program, Netns, Run};
use crate::scenarios::netns_of;

/// Where distributions install netavark (Debian's first).
const PATHS: [&str; 3] =
    ["/usr/lib/podman/netavark", "/usr/libexec/podman/netavark", "/usr/local/libexec/podman/netavark"];

/// Second octet of netavark's subnet (no other row, test or example uses 10.245).
const OCTET: u8 = 245;

/// netavark and its network for one run.
pub struct Netavark {
    exe: PathBuf,
    /// `--config`: a directory of the run's own (aardvark-dns's state; the
    /// network has DNS off, so it stays empty).
    config: PathBuf,
    /// Token of this run and "v", as the sides' tags are made.
    tag: String,
    /// Its network's name (names netavark's chains, through a hash).
    network: String,
    /// Third octet of its subnet.
    third: u8,
    /// The attachment that keeps the bridge and the network's chains.
    holder: Option<(Netns, Value)>,
}

impl Netavark {
    /// netavark, when installed, with the network of the run `token`
    /// (`number`: the token's value) and its holder attached; `None`, with
    /// a note, when it is not installed.
    pub fn new(token: &str, number: u32) -> Option<Netavark> {
        let Some(exe) = PATHS.iter().map(PathBuf::from).find(|p| p.is_file()) else {
            eprintln!(
                "bench: netavark not found ({}): leaving out the netavark rows (apt-get install netavark)",
                PATHS.join(", ")
            );
            return None;
        };
        let tag = format!("{token}v");
        let config = std::env::temp_dir().join(format!("cnictl-bench-netavark-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&config);
        if let Err(e) = std::fs::create_dir_all(&config) {
            eprintln!("bench: {}: {e}: leaving out the netavark rows", config.display());
            return None;
        }
        let network = format!("bench-{tag}");
        let mut netavark =
            Netavark { exe, config, tag, network, third: (number % 250) as u8 + 1, holder: None };
        let (ns, target) = netns_of(&netavark.tag, "h", 0);
        let options = netavark.options(&target.id, 2, None);
        let setup = netavark.run("setup", &ns, &options);
        assert!(setup.ok, "netavark setup of the holder failed: {}", setup.err);
        netavark.holder = Some((ns, options));
        Some(netavark)
    }

    /// `netavark --version`, e.g. "netavark 1.4.0".
    pub fn version(&self) -> String {
        new_command(&self.exe)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "netavark".to_string())
    }

    /// Its bridge.
    pub fn bridge(&self) -> String {
        format!("bn{}", self.tag)
    }

    /// The subnet, e.g. 10.245.7.0/24.
    fn subnet(&self) -> String {
        format!("10.{OCTET}.{}.0/24", self.third)
    }

    /// The network options podman would send for container `id` at host
    /// number `host` of the subnet, with `port` mapped to its port 80.
    pub fn options(&self, id: &str, host: u32, port: Option<u16>) -> Value {
        let mappings: Vec<Value> = port
            .map(|port| {
                json!({"host_ip": "", "container_port": 80, "host_port": port, "range": 1, "protocol": "tcp"})
            })
            .into_iter()
            .collect();
        let address = format!("10.{OCTET}.{}.{host}", self.third);
        let network = json!({
            "name": self.network,
            "id": cni::netfilter::hash_with_prefix(64, "", &self.network),
            "driver": "bridge",
            "network_interface": self.bridge(),
            "subnets": [{"subnet": self.subnet(), "gateway": format!("10.{OCTET}.{}.1", self.third)}],
            "ipv6_enabled": false,
            "internal": false,
            "dns_enabled": false,
            "ipam_options": {"driver": "host-local"}
        });
        let mut options = json!({
            "container_id": id,
            "container_name": id,
            "port_mappings": mappings,
            "networks": {},
            "network_info": {},
        });
        options["networks"][&self.network] = json!({"interface_name": "eth0", "static_ips": [address]});
        options["network_info"][&self.network] = network;
        options
    }

    /// `netavark --config DIR setup|teardown NETNS` with `options` on stdin.
    fn run(&self, command: &str, netns: &Netns, options: &Value) -> Run {
        let mut cmd = new_command(&self.exe);
        // Its iptables driver, named (1.4 picks it anyway: its firewalld
        // driver is off until firewalld 1.1).
        cmd.env("NETAVARK_FW", "iptables").arg("--config").arg(&self.config).args([command, &netns.path()]);
        run_program(cmd, &options.to_string())
    }

    /// Setup and teardown of iteration `i`'s container (host port 20000 +
    /// i), each checked; the first one's kernel state is checked too.
    pub fn cycle(&self, i: usize) -> (Duration, Duration) {
        let (ns, target) = netns_of(&self.tag, "v", i);
        let host = 3 + (i % 250) as u32;
        let options = self.options(&target.id, host, Some(20000 + i as u16));
        let setup = self.run("setup", &ns, &options);
        assert!(setup.ok, "netavark setup failed: {} {}", setup.err, setup.out);
        if i == 0 {
            self.check(&ns, host, 20000);
        }
        let teardown = self.run("teardown", &ns, &options);
        assert!(teardown.ok, "netavark teardown failed: {} {}", teardown.err, teardown.out);
        (setup.took, teardown.took)
    }

    /// Panics unless the container has its address and the host its
    /// port's DNAT, the subnet's masquerade and the forward accepts.
    fn check(&self, ns: &Netns, host: u32, port: u16) {
        let address = format!("10.{OCTET}.{}.{host}", self.third);
        let shown = new_command("ip").args(["-n", ns.name(), "-br", "addr", "show", "eth0"]).output();
        let shown = shown.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        assert!(shown.contains(&format!("{address}/24")), "netavark gave eth0 no {address}: {shown}");
        let nat = iptables::save(false, "nat").unwrap_or_default();
        let filter = iptables::save(false, "filter").unwrap_or_default();
        let subnet = self.subnet();
        for (what, found) in [
            ("DNAT", nat.contains(&format!("--dport {port} -j DNAT --to-destination {address}:80"))),
            ("masquerade", nat.contains(&format!("-A POSTROUTING -s {subnet} -j NETAVARK-"))),
            ("forward accept", filter.contains(&format!("-A NETAVARK_FORWARD -s {subnet} -j ACCEPT"))),
        ] {
            assert!(found, "netavark setup made no {what} rule for {address}:\n{nat}\n{filter}");
        }
    }

    /// The network's own chains, `NETAVARK-<hash>` and `NETAVARK-DN-<hash>`
    /// (the hash: netavark's, 13 upper-case hex digits of the name's SHA-512).
    fn chains(&self) -> [String; 2] {
        let hash = cni::netfilter::hash_with_prefix(13, "", &self.network).to_uppercase();
        [format!("NETAVARK-{hash}"), format!("NETAVARK-DN-{hash}")]
    }

    /// Removes what the network's last teardown should have and did not:
    /// the bridge, the network's chains and their jumps, its forward accepts.
    fn remove_leftovers(&self) {
        delete_link(&self.bridge());
        if !iptables::available(false) {
            return;
        }
        let [masquerade, dnat] = self.chains();
        let _ = iptables::transact(false, "nat", |saved| {
            iptables::chain_removal_lines(saved, &dnat, &["NETAVARK-HOSTPORT-DNAT"])
                + &iptables::chain_removal_lines(saved, &masquerade, &["POSTROUTING"])
        });
        let subnet = format!(" {} ", self.subnet());
        let _ = iptables::transact(false, "filter", |saved| {
            saved
                .lines()
                .filter(|l| l.starts_with("-A NETAVARK_FORWARD ") && l.contains(&subnet))
                .map(|l| format!("-D{}\n", &l[2..]))
                .collect()
        });
    }
}

impl Drop for Netavark {
    fn drop(&mut self) {
        if let Some((ns, options)) = self.holder.take() {
            let teardown = self.run("teardown", &ns, &options);
            if !teardown.ok {
                eprintln!("bench: netavark teardown of the holder failed: {}", teardown.err.trim());
            }
        }
        self.remove_leftovers();
        let _ = std::fs::remove_dir_all(&self.config);
    }
}
