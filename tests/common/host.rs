//! Namespaces and links the tests make (removed on drop), and the kernel
//! state they read back: links, addresses, bridge ports, pings, rules,
//! host-local's reservations.

use super::*;

/// A network namespace made for one test, deleted on drop.
pub struct TestNetns {
    pub name: String,
}

impl TestNetns {
    pub fn new(prefix: &str) -> TestNetns {
        require_root();
        let name = unique(prefix);
        let status = Command::new("ip").args(["netns", "add", &name]).status().expect("run ip netns add");
        assert!(status.success(), "ip netns add {name} failed");
        TestNetns { name }
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Runs a command inside this namespace; panics when it fails.
    pub fn exec(&self, args: &[&str]) {
        let status = in_netns(&self.name, args[0]).args(&args[1..]).status().expect("nsenter");
        assert!(status.success(), "{args:?} in {}", self.name);
    }

    /// A command's standard output, run inside this namespace.
    pub fn output(&self, args: &[&str]) -> String {
        let out = in_netns(&self.name, args[0]).args(&args[1..]).output().expect("nsenter");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs `f` on a thread that has entered this namespace (sockets it
    /// opens live there).
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let file = std::fs::File::open(self.path()).expect("open netns");
        std::thread::spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter netns");
            f()
        })
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

/// A bridge (and its `<name>.<vlan>` gateway links) removed on drop.
pub struct TestBridge {
    pub name: String,
}

impl TestBridge {
    pub fn new() -> TestBridge {
        TestBridge { name: unique("tb") }
    }
}

impl Drop for TestBridge {
    fn drop(&mut self) {
        let links = ip_json(None, &["link", "show"]);
        for link in links.as_array().cloned().unwrap_or_default() {
            let name = link["ifname"].as_str().unwrap_or_default().to_string();
            if name.starts_with(&format!("{}.", self.name)) {
                let _ = Command::new("ip").args(["link", "del", &name]).stderr(Stdio::null()).status();
            }
        }
        let _ = Command::new("ip").args(["link", "del", &self.name]).stderr(Stdio::null()).status();
    }
}

/// `ip -j [-n NETNS] ARGS...` parsed; `Null` when the command fails.
pub fn ip_json(netns: Option<&str>, args: &[&str]) -> Value {
    let mut cmd = Command::new("ip");
    cmd.arg("-j");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(args).stderr(Stdio::null()).output().expect("run ip");
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// One link's details (`ip -j -d link show NAME`), `Null` when missing.
pub fn link_details(netns: Option<&str>, name: &str) -> Value {
    ip_json(netns, &["-d", "link", "show", name]).get(0).cloned().unwrap_or(Value::Null)
}

/// The global addresses (`a.b.c.d/len`) on a link.
pub fn link_addresses(netns: Option<&str>, name: &str) -> Vec<String> {
    let info = ip_json(netns, &["addr", "show", name]);
    info.get(0)
        .and_then(|l| l["addr_info"].as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["scope"] == "global")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or_default(), a["prefixlen"]))
        .collect()
}

/// Host links enslaved to `bridge`.
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    let links = ip_json(None, &["link", "show", "master", bridge]);
    links
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Pings `address` once from inside `netns` (the host when `None`),
/// retrying for a few seconds while IPv6 duplicate address detection runs.
pub fn ping(netns: Option<&str>, address: &str) -> bool {
    ping_with(netns, &[], address)
}

/// `ping` with extra options (`-I SOURCE`, `-I VRF`), retried the same way.
pub fn ping_with(netns: Option<&str>, options: &[&str], address: &str) -> bool {
    for _ in 0..30 {
        let mut cmd = match netns {
            Some(ns) => in_netns(ns, "ping"),
            None => Command::new("ping"),
        };
        let status = cmd
            .args(["-c1", "-W1"])
            .args(options)
            .arg(address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run ping");
        if status.success() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// nftables masquerade rules whose comment names `container_id`.
pub fn nft_masq_rules(container_id: &str) -> usize {
    let out = Command::new("nft")
        .args(["-j", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"])
        .stderr(Stdio::null())
        .output()
        .expect("run nft");
    masq_rules_in(&String::from_utf8_lossy(&out.stdout), container_id)
}

/// The masquerade rules of container `container_id` in an
/// `nft -j list chain inet cni_plugins_masquerade masq_checks` listing.
pub fn masq_rules_in(listing: &str, container_id: &str) -> usize {
    let listing: Value = serde_json::from_str(listing).unwrap_or(Value::Null);
    let needle = format!("id: {container_id}");
    listing["nftables"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|item| item["rule"]["comment"].as_str().is_some_and(|c| c.ends_with(&needle)))
        .count()
}

/// Lines of `iptables-save -t nat` (or ip6tables) that mention `container_id`.
pub fn iptables_masq_lines(ipv6: bool, container_id: &str) -> usize {
    let tool = if ipv6 { "ip6tables-save" } else { "iptables-save" };
    let out = Command::new(tool).args(["-t", "nat"]).output().expect("run iptables-save");
    let needle = format!("id: \\\"{container_id}\\\"");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&needle)).count()
}

/// The files of a libcni result cache (`<dir>/results/*`).
pub fn cache_files(cache_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache_dir.join("results"))
        .map(|e| e.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The reservation files (named by address) in a host-local store.
pub fn reservations(store: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(store)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}
