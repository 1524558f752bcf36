//! The floor beside ours and the reference's: `bench-floor` (src/bin)
//! doing each row's kernel work with the fewest syscalls, exec'd once per
//! ADD or DEL as a plugin is (or once per plugin of a chain, for the
//! floor that pays CNI's process per plugin), on a bridge and subnet
//! (10.243.0.0/16) of its own. The bench makes the bridge and the gateway
//! address itself, as the plugins' first ADD does, so the floor's ADD
//! starts where a plugin's later ADDs do.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cni::netfilter::{iptables, Backend};
use serde_json::{json, Value};

use crate::exec::{delete_link, run_program, Netns, Run, Target};

/// Attachments of a run whose links' indexes are distinct (at most about
/// 530 are live at once, in the 500-attachment growth row).
const INDEXES_PER_RUN: u32 = 4096;

/// Second octet of the floor's subnets.
const OCTET: u8 = 243;

/// The floor as a side of the bench.
pub struct Floor {
    exe: PathBuf,
    /// Token of this run and "f", as the sides' tags are made.
    pub tag: String,
    store: PathBuf,
    /// Its nftables table, named after the run.
    table: String,
    /// The first of the run's host-side link indexes (the floor names its
    /// links' indexes so that tc requests need no look-up).
    index_base: u32,
    /// Attachments requested so far.
    next: AtomicU32,
}

/// One of the floor's networks: its scenario letter and subnet.
#[derive(Clone, Copy)]
pub struct Net {
    /// The scenario letter (names the bridge and namespaces).
    pub scenario: &'static str,
    /// Third octet of the subnet's first address.
    pub third: u8,
    /// Prefix length (24, or 20 where 500 attachments must fit).
    pub prefix: u8,
}

/// What an attachment's ADD carries besides the veth pair and address.
#[derive(Clone, Copy, Default)]
pub struct Extras {
    /// The plugins' rule sets: "masquerade" (ipMasq), "portmap", "firewall".
    pub rules: &'static [&'static str],
    /// The rules through one `iptables-restore` rather than one nftables
    /// transaction: the work of plugins writing iptables.
    pub iptables: bool,
    /// tuning's sysctl, and bandwidth's ifb, qdiscs and filter (the
    /// five-plugin chain).
    pub shaping: bool,
    /// The address from DHCP: no address, rules or reservation in the request.
    pub dhcp: bool,
}

/// ipMasq's rule set.
pub const MASQUERADE: &[&str] = &["masquerade"];

/// The rule sets of bridge (ipMasq), portmap and the firewall.
pub const CHAIN_RULES: &[&str] = &["masquerade", "portmap", "firewall"];

impl Extras {
    /// bridge + host-local + ipMasq, its rule through iptables or nftables.
    pub fn masquerade(iptables: bool) -> Extras {
        Extras { rules: MASQUERADE, iptables, ..Extras::default() }
    }

    /// bridge, portmap, firewall (`shaping`: and tuning, bandwidth).
    pub fn chain(iptables: bool, shaping: bool) -> Extras {
        Extras { rules: CHAIN_RULES, iptables, shaping, ..Extras::default() }
    }
}

/// True when plugins given no backend key write iptables on this machine
/// (the reference's choice, which ours follow: iptables when its tools are
/// installed), so the floor of such a row writes iptables too.
pub fn default_is_iptables() -> bool {
    Backend::reference_default() == Backend::Iptables
}

/// One chain plugin's share of the floor's work (a `part` of bench-floor:
/// bridge, portmap, firewall, tuning, bandwidth) and whether its rules go
/// through iptables.
pub type Step = (&'static str, bool);

impl Floor {
    /// The floor program next to the bench, with its own store; `None`
    /// (with a note) when it was not built.
    pub fn new(exe: PathBuf, token: &str) -> Option<Floor> {
        if !exe.is_file() {
            eprintln!("bench: {} not found: leaving out the floor column", exe.display());
            return None;
        }
        let tag = format!("{token}f");
        let store = std::env::temp_dir().join(format!("cnictl-bench-floor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).ok()?;
        // A range of indexes per run token (the token is the PID mod 36^3).
        let index_base = 0x1000_0000 + (std::process::id() % (36 * 36 * 36)) * 2 * INDEXES_PER_RUN;
        let table = format!("cnictl_bench_floor_{token}");
        let floor = Floor { exe, tag, store, table, index_base, next: AtomicU32::new(0) };
        let setup = floor.command("SETUP");
        assert!(setup.ok, "bench-floor SETUP failed");
        Some(floor)
    }

    /// SETUP or TEARDOWN of its table.
    fn command(&self, command: &str) -> Run {
        let mut cmd = crate::exec::new_command(&self.exe);
        cmd.args([command, &self.table]);
        run_program(cmd, "")
    }

    /// Its bridge in a scenario.
    pub fn bridge(&self, scenario: &str) -> String {
        format!("bn{}{scenario}", self.tag)
    }

    /// Makes the network's bridge, up, with the gateway address, in
    /// `host` (the bench's own netns when `None`); returns its index.
    pub fn make_bridge(&self, net: Net, host: Option<&Netns>) -> u32 {
        let bridge = self.bridge(net.scenario);
        let gateway = format!("10.{OCTET}.{}.1/{}", net.third, net.prefix);
        let ip = |args: &[&str]| {
            let status = ip_in(host).args(args).stderr(Stdio::null()).status();
            assert!(status.is_ok_and(|s| s.success()), "ip {} failed", args.join(" "));
        };
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&["addr", "add", &gateway, "dev", &bridge]);
        ip(&["link", "set", &bridge, "up"]);
        link_index(&bridge, host)
    }

    /// Deletes the network's bridge.
    pub fn cleanup(&self, scenario: &str) {
        delete_link(&self.bridge(scenario));
    }

    /// The request for attachment `n` of `net` on `bridge` (its index).
    pub fn request(&self, net: Net, bridge: u32, n: u32, target: &Target, extras: Extras) -> Value {
        // Two indexes each (the veth's host end, the ifb), reused after
        // INDEXES_PER_RUN attachments: far more than are ever live at once.
        let index = self.index_base + (self.next.fetch_add(1, Ordering::SeqCst) % INDEXES_PER_RUN) * 2;
        let mut request = json!({
            "table": self.table,
            "id": target.id,
            "netns": target.netns,
            "host": format!("f{}{}{n}", self.tag, net.scenario),
            "hostIndex": index,
            "bridge": bridge,
            "sysctls": {"net/ipv6/conf/eth0/accept_dad": "0", "net/ipv4/conf/eth0/arp_notify": "1"},
        });
        if !extras.dhcp {
            let address = address(net, n);
            request["address"] = json!(format!("{address}/{}", net.prefix));
            request["gateway"] = json!(format!("10.{OCTET}.{}.1", net.third));
            request["reservation"] = json!(self.store.join(address.to_string()));
        }
        if !extras.rules.is_empty() {
            request["rules"] = json!(extras.rules);
            request["iptables"] = json!(extras.iptables);
        }
        if extras.rules.contains(&"portmap") {
            request["hostPort"] = json!(20000 + n);
        }
        if extras.shaping {
            request["tuning"] = json!({"net/core/somaxconn": "512"});
            // bandwidth's 100 Mbit/s with a 1 Mbit burst, in bytes.
            request["ifb"] = json!({"name": format!("g{}{n}", self.tag), "index": index + 1,
                                    "rate": 12_500_000, "burst": 125_000});
        }
        request
    }

    /// ADD with `request`, run inside `host` when given.
    pub fn add(&self, host: Option<&Netns>, request: &Value) -> Run {
        self.run_in(host, "ADD", request)
    }

    /// The request DEL of `added` takes: the ADD's, with the lease ADD
    /// printed (DHCP's).
    pub fn del_request(request: &Value, added: &Run) -> Value {
        let mut request = request.clone();
        if !added.out["lease"].is_null() {
            request["lease"] = added.out["lease"].clone();
        }
        request
    }

    /// DEL with the request [`Floor::del_request`] made.
    pub fn del(&self, host: Option<&Netns>, request: &Value) -> Run {
        self.run_in(host, "DEL", request)
    }

    /// The attachment of `request` as CNI runs a chain: one exec of the
    /// floor per step's ADD, in order, then one per step's DEL, in reverse,
    /// each checked. Each step's ADD and DEL time, in step order.
    pub fn steps(&self, request: &Value, steps: &[Step]) -> (Vec<Duration>, Vec<Duration>) {
        let run = |command: &str, (part, iptables): Step| {
            let mut request = request.clone();
            request["part"] = json!(part);
            if request.get("rules").is_some() {
                request["iptables"] = json!(iptables);
            }
            let run = self.run_in(None, command, &request);
            assert!(run.ok, "floor {command} of the {part} step failed: {}", run.err);
            run.took
        };
        let adds = steps.iter().map(|step| run("ADD", *step)).collect();
        let mut dels: Vec<Duration> = steps.iter().rev().map(|step| run("DEL", *step)).collect();
        dels.reverse();
        (adds, dels)
    }

    fn run_in(&self, host: Option<&Netns>, command: &str, request: &Value) -> Run {
        let mut cmd = crate::exec::new_command(&self.exe);
        cmd.arg(command);
        if let Some(host) = host {
            if host.enter(&mut cmd).is_err() {
                return Run::failed();
            }
        }
        run_program(cmd, &request.to_string())
    }

    /// The floor program's size on disk.
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.exe).map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.command("TEARDOWN");
        self.remove_iptables_chains();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

impl Floor {
    /// Removes the floor's iptables chains a step left (a DEL runs for
    /// every ADD, so only after a failed step): those named after this
    /// run's attachments, `a-bench-<tag>-...`.
    fn remove_iptables_chains(&self) {
        if !iptables::available(false) {
            return;
        }
        let prefix = format!("a-bench-{}-", self.tag);
        for table in ["nat", "filter"] {
            let _ = iptables::transact(false, table, |saved| {
                saved
                    .lines()
                    .filter_map(|l| l.strip_prefix(':')?.split_whitespace().next())
                    .filter(|chain| chain.starts_with(&prefix))
                    .map(|chain| format!("-F {chain}\n-X {chain}\n"))
                    .collect()
            });
        }
    }
}

/// `ip`, run on `host` (`-n NAME`) or on the bench's own netns.
fn ip_in(host: Option<&Netns>) -> std::process::Command {
    let mut cmd = crate::exec::new_command("ip");
    if let Some(host) = host {
        cmd.args(["-n", host.name()]);
    }
    cmd
}

/// The index of link `name` in `host` (the bench's netns when `None`).
pub fn link_index(name: &str, host: Option<&Netns>) -> u32 {
    let index = ip_in(host)
        .args(["-j", "link", "show", name])
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
        .and_then(|v| v[0]["ifindex"].as_u64());
    index.unwrap_or_else(|| panic!("no index for {name}")) as u32
}

/// Attachment `n`'s address in `net` (after the gateway, wrapping within the subnet).
fn address(net: Net, n: u32) -> std::net::Ipv4Addr {
    let base = u32::from(std::net::Ipv4Addr::new(10, OCTET, net.third, 0));
    let hosts = (1u32 << (32 - net.prefix)) - 3;
    std::net::Ipv4Addr::from(base + 2 + n % hosts)
}
