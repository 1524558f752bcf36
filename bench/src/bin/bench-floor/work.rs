//! The kernel work of one attachment, done the shortest way: every link,
//! qdisc and filter of the host side in one route batch, every rule in one
//! nftables transaction (or one `iptables-restore --noflush`, as a node
//! whose plugins default to iptables must exec), the container's address
//! and route in one more batch, the IPAM reservation as one file; on DEL
//! the link deletion and the rule deletion side by side, as each waits for
//! the kernel. A request naming a `part` does only one chain plugin's share
//! of that work, so that the bench can exec the floor once per plugin, as
//! CNI execs every plugin of a chain.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use cni::netfilter::iptables;
use cni::netfilter::nftnl::{self, match_host, match_network, match_nfproto, Batch, Expr, FAMILY_INET};
use cni::netlink::{ingress_qdisc_request, redirect_filter_request, tbf_request, tick_in_usec, Tbf};
use ipnetwork::{IpNetwork, Ipv4Network};
use rtnetlink::packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{
    AddressMessageBuilder, LinkIfb, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};
use serde_json::{json, Value};

use crate::rtnl::{Request, Rtnl};

/// The floor's nftables table when a request names none (`setup` makes it).
pub const TABLE: &str = "cnictl_bench_floor";

/// The container end's index in its fresh namespace (1 is lo).
const CONTAINER_INDEX: u32 = 2;

/// One chain plugin's share of an attachment's kernel work.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Part {
    /// The veth pair, the container's sysctls, address and route, the
    /// reservation and ipMasq's rule ("masquerade").
    Bridge,
    /// portmap's rules ("portmap").
    Portmap,
    /// The firewall's rules ("firewall").
    Firewall,
    /// tuning's sysctls in the container.
    Tuning,
    /// bandwidth's ifb, qdiscs and filter.
    Bandwidth,
}

impl Part {
    fn parse(name: &str) -> Result<Part, String> {
        match name {
            "bridge" => Ok(Part::Bridge),
            "portmap" => Ok(Part::Portmap),
            "firewall" => Ok(Part::Firewall),
            "tuning" => Ok(Part::Tuning),
            "bandwidth" => Ok(Part::Bandwidth),
            other => Err(format!("unknown part {other:?} (bridge, portmap, firewall, tuning or bandwidth)")),
        }
    }

    /// The rule set the part writes, if any.
    fn rule_set(self) -> Option<&'static str> {
        match self {
            Part::Bridge => Some("masquerade"),
            Part::Portmap => Some("portmap"),
            Part::Firewall => Some("firewall"),
            Part::Tuning | Part::Bandwidth => None,
        }
    }
}

/// What one attachment asks for, from the request on stdin.
pub struct Attachment {
    /// The nftables table its rules go in (the bench names one per run).
    pub table: String,
    /// CNI_CONTAINERID's stand-in: names the nftables chain and the reservation.
    pub id: String,
    /// The container's netns.
    pub netns: String,
    /// The host end's name and index (the index is chosen by the bench, so
    /// that qdiscs and filters need no look-up).
    pub host: (String, u32),
    /// The bridge's index.
    pub bridge: u32,
    /// The address with its prefix and the gateway; `None`: from a DHCP
    /// exchange (our dhcp client, in this process).
    pub address: Option<(Ipv4Network, Ipv4Addr)>,
    /// The reservation file (host-local's state), if any.
    pub reservation: Option<String>,
    /// Rule sets: "masquerade", "portmap" (a host port), "firewall".
    pub rules: Vec<String>,
    /// The host port for "portmap".
    pub host_port: u16,
    /// Sysctls bridge writes in the container.
    pub sysctls: Vec<(String, String)>,
    /// Sysctls tuning writes in the container.
    pub tuning: Vec<(String, String)>,
    /// Rules through `iptables-restore` instead of nftables.
    pub iptables: bool,
    /// Only this plugin's share of the work; all of it when `None`.
    pub part: Option<Part>,
    /// bandwidth's ifb: name, index, rate (bytes/s) and burst (bytes).
    pub ifb: Option<(String, u32, u64, u64)>,
    /// The lease to release on DEL (what ADD printed).
    pub lease: Option<Value>,
}

fn field<'a>(request: &'a Value, key: &str) -> Result<&'a Value, String> {
    request.get(key).ok_or_else(|| format!("request has no {key:?}"))
}

fn text(request: &Value, key: &str) -> Result<String, String> {
    field(request, key)?.as_str().map(str::to_string).ok_or_else(|| format!("{key:?} is not a string"))
}

fn number(value: &Value, key: &str) -> Result<u64, String> {
    field(value, key)?.as_u64().ok_or_else(|| format!("{key:?} is not a number"))
}

impl Attachment {
    /// Reads the request the bench wrote.
    pub fn parse(request: &Value) -> Result<Attachment, String> {
        let address = match request.get("address").and_then(Value::as_str) {
            Some(address) => {
                let net: Ipv4Network = address.parse().map_err(|e| format!("address {address:?}: {e}"))?;
                let gateway: Ipv4Addr =
                    text(request, "gateway")?.parse().map_err(|e| format!("gateway: {e}"))?;
                Some((net, gateway))
            }
            None => None,
        };
        let strings = |key: &str| -> Vec<String> {
            request
                .get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let sysctls = |key: &str| -> Vec<(String, String)> {
            request
                .get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
                })
                .unwrap_or_default()
        };
        let part = request.get("part").and_then(Value::as_str).map(Part::parse).transpose()?;
        let ifb = match request.get("ifb") {
            Some(ifb) => Some((
                text(ifb, "name")?,
                number(ifb, "index")? as u32,
                number(ifb, "rate")?,
                number(ifb, "burst")?,
            )),
            None => None,
        };
        Ok(Attachment {
            table: request.get("table").and_then(Value::as_str).unwrap_or(TABLE).to_string(),
            id: text(request, "id")?,
            netns: text(request, "netns")?,
            host: (text(request, "host")?, number(request, "hostIndex")? as u32),
            bridge: number(request, "bridge")? as u32,
            address,
            reservation: request.get("reservation").and_then(Value::as_str).map(str::to_string),
            rules: strings("rules"),
            host_port: request.get("hostPort").and_then(Value::as_u64).unwrap_or(0) as u16,
            sysctls: sysctls("sysctls"),
            tuning: sysctls("tuning"),
            iptables: request.get("iptables").and_then(Value::as_bool).unwrap_or(false),
            part,
            ifb,
            lease: request.get("lease").filter(|v| !v.is_null()).cloned(),
        })
    }

    /// True when this request does `part`'s share (a request naming no
    /// part does every part's).
    fn does(&self, part: Part) -> bool {
        self.part.is_none_or(|p| p == part)
    }

    /// The rule sets this request writes.
    fn rule_sets(&self) -> Vec<&str> {
        let own = self.part.and_then(Part::rule_set);
        self.rules.iter().map(String::as_str).filter(|set| self.part.is_none() || own == Some(*set)).collect()
    }

    /// The attachment's own chain (one per part when the request names a
    /// part): its rules go with one flush. In iptables, the same name in
    /// each table that holds its rules.
    fn chain(&self) -> String {
        match self.part.and_then(Part::rule_set) {
            Some(set) => format!("a-{}-{}", self.id, &set[..1]),
            None => format!("a-{}", self.id),
        }
    }
}

/// Makes the floor's table, once per run (not timed).
pub fn setup(table: &str) -> Result<(), String> {
    let mut batch = Batch::new(FAMILY_INET);
    batch.add_table(table, None);
    batch.commit().map_err(|e| e.to_string())
}

/// Removes the floor's table and whatever is left in it.
pub fn teardown(table: &str) -> Result<(), String> {
    let mut batch = Batch::new(FAMILY_INET);
    batch.delete_table(table);
    batch.commit().map_err(|e| e.to_string())
}

/// ADD: returns what DEL needs back (the DHCP lease), or Null.
pub fn add(a: &Attachment) -> Result<Value, String> {
    let in_container = a.does(Part::Bridge) || a.does(Part::Tuning);
    let netns = if in_container {
        Some(std::fs::File::open(&a.netns).map_err(|e| format!("open {}: {e}", a.netns))?)
    } else {
        None
    };
    let requests = host_requests(a, netns.as_ref().map(AsRawFd::as_raw_fd));
    if !requests.is_empty() {
        Rtnl::open()?.batch(requests)?;
    }
    if let (true, Some(path)) = (a.does(Part::Bridge), &a.reservation) {
        reserve(path, &a.id)?;
    }
    // (The bench's DHCP network has no rules: nothing waits for the lease.)
    if let Some((address, _)) = a.address {
        commit_rules(a, address)?;
    }
    let Some(netns) = netns else { return Ok(json!({ "lease": null })) };
    nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns: {e}"))?;
    let bridge = a.does(Part::Bridge).then_some(&a.sysctls).into_iter().flatten();
    let tuning = a.does(Part::Tuning).then_some(&a.tuning).into_iter().flatten();
    for (key, value) in bridge.chain(tuning) {
        std::fs::write(format!("/proc/sys/{key}"), value).map_err(|e| format!("sysctl {key}: {e}"))?;
    }
    if !a.does(Part::Bridge) {
        return Ok(json!({ "lease": null }));
    }
    let (address, gateway, lease) = match a.address {
        Some((address, gateway)) => (address, gateway, Value::Null),
        None => lease(a)?,
    };
    let container = Rtnl::open()?;
    container.batch(vec![
        // (A veth end cannot be set up in the request that makes the pair.)
        Request::plain(RouteNetlinkMessage::NewLink(
            LinkUnspec::new_with_index(CONTAINER_INDEX).up().build(),
        )),
        Request::create(RouteNetlinkMessage::NewAddress(
            AddressMessageBuilder::<Ipv4Addr>::new()
                .index(CONTAINER_INDEX)
                .address(address.ip(), address.prefix())
                .build(),
        )),
        Request::create(RouteNetlinkMessage::NewRoute(
            RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(CONTAINER_INDEX).build(),
        )),
    ])?;
    Ok(json!({ "lease": lease }))
}

/// The veth pair (the host end up and a port of the bridge, the
/// container end named eth0 in its netns; bridge's part, given the netns)
/// and bandwidth's ifb, qdiscs and redirect (its part): one batch. Both
/// links share a group named by the host index, so that the whole DEL
/// deletes them with one request.
fn host_requests(a: &Attachment, netns: Option<i32>) -> Vec<Request> {
    let (name, index) = &a.host;
    let mut requests = Vec::new();
    if let (true, Some(netns)) = (a.does(Part::Bridge), netns) {
        requests.push(Request::create(RouteNetlinkMessage::NewLink(veth(a, name, *index, netns))));
    }
    if let (true, Some((ifb_name, ifb_index, rate, burst))) = (a.does(Part::Bandwidth), &a.ifb) {
        let ifb = LinkIfb::new(ifb_name).index(*ifb_index).txqueuelen(0).link_group(*index).up().build();
        let tbf = bucket(*rate, *burst);
        requests.extend([
            Request::create(RouteNetlinkMessage::NewLink(ifb)),
            Request::create(ingress_qdisc_request(*index)),
            Request::create(redirect_filter_request(*index, *ifb_index)),
            Request::create(tbf_request(*ifb_index, &tbf)),
            Request::create(tbf_request(*index, &tbf)),
        ]);
    }
    requests
}

/// The veth pair's creation: the host end `name` (index `index`) up on
/// the bridge, its peer eth0 in `netns`.
fn veth(a: &Attachment, name: &str, index: u32, netns: i32) -> LinkMessage {
    let peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name("eth0".to_string())
        .index(CONTAINER_INDEX)
        .txqueuelen(0)
        .setns_by_fd(netns)
        .build();
    LinkVeth::new(name, "eth0")
        .index(index)
        .txqueuelen(0)
        .controller(a.bridge)
        .link_group(index)
        .up()
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build()
}

/// A token bucket of `rate` bytes per second and `burst` bytes.
fn bucket(rate: u64, burst: u64) -> Tbf {
    let buffer = (burst as f64 / rate.max(1) as f64 * 1e6 * tick_in_usec()) as u32;
    Tbf { rate, limit: burst as u32, buffer }
}

/// host-local's reservation: one file made exclusively, holding the ID.
fn reserve(path: &str, id: &str) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("reserve {path}: {e}"))?;
    file.write_all(id.as_bytes()).map_err(|e| format!("write {path}: {e}"))
}

/// The attachment's chain and its rules, one transaction: an nftables
/// batch, or one `iptables-restore --noflush` holding every table's.
fn commit_rules(a: &Attachment, address: Ipv4Network) -> Result<(), String> {
    let sets = a.rule_sets();
    if sets.is_empty() {
        return Ok(());
    }
    let chain = a.chain();
    let comment = format!("id: {}", a.id);
    if a.iptables {
        let mut input = String::new();
        for table in IPTABLES_TABLES {
            let lines: Vec<String> = sets
                .iter()
                .filter(|set| iptables_table(set) == table)
                .flat_map(|set| iptables_rules(set, address, a.host_port))
                .map(|(matches, target)| {
                    format!("-A {chain} {matches} {} -j {target}\n", iptables::comment_match(&comment))
                })
                .collect();
            if !lines.is_empty() {
                input.push_str(&format!("*{table}\n:{chain} - [0:0]\n{}COMMIT\n", lines.concat()));
            }
        }
        return iptables_restore(&chain, &input);
    }
    let mut batch = Batch::new(FAMILY_INET);
    batch.add_chain(&a.table, &chain, None, None);
    let ip = IpAddr::V4(address.ip());
    for set in sets {
        for exprs in rule_set(set, address, ip, a.host_port) {
            batch.add_rule(&a.table, &chain, &exprs, Some(&comment));
        }
    }
    batch.commit().map_err(|e| e.to_string())
}

/// The iptables tables the floor's rules go in, in the order of its
/// restore input.
const IPTABLES_TABLES: [&str; 2] = ["nat", "filter"];

/// The iptables table a rule set goes in.
fn iptables_table(set: &str) -> &'static str {
    if set == "firewall" {
        "filter"
    } else {
        "nat"
    }
}

/// The iptables rules of a rule set, in the reference's shapes, as
/// (matches, target): ipMasq's accept of its subnet and masquerade of the
/// rest, portmap's DNAT and its hairpin and localhost masquerades, the
/// firewall's two accepts.
fn iptables_rules(set: &str, address: Ipv4Network, host_port: u16) -> Vec<(String, String)> {
    let ip = address.ip();
    let rule = |matches: String, target: &str| (matches, target.to_string());
    match set {
        "masquerade" => vec![
            rule(format!("-d {}/{}", address.network(), address.prefix()), "ACCEPT"),
            rule("! -d 224.0.0.0/4".to_string(), "MASQUERADE"),
        ],
        "portmap" => vec![
            rule(format!("-p tcp -m tcp --dport {host_port}"), &format!("DNAT --to-destination {ip}:80")),
            rule(format!("-s {ip}/32 -d {ip}/32"), "MASQUERADE"),
            rule(format!("-s 127.0.0.1/32 -d {ip}/32"), "MASQUERADE"),
        ],
        "firewall" => vec![
            rule(format!("-d {ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED"), "ACCEPT"),
            rule(format!("-s {ip}/32"), "ACCEPT"),
        ],
        _ => Vec::new(),
    }
}

/// One `iptables-restore -w 5 --noflush` of `input` (as our plugins run it).
fn iptables_restore(chain: &str, input: &str) -> Result<(), String> {
    // iptables' limit on a chain name (XT_EXTENSION_MAXNAMELEN less the NUL).
    if chain.len() > 28 {
        return Err(format!("iptables chain {chain:?} is longer than 28 characters"));
    }
    iptables::restore(false, input).map_err(|e| e.msg)
}

/// The rules each plugin adds per attachment, in the shapes ours write.
fn rule_set(set: &str, address: Ipv4Network, ip: IpAddr, host_port: u16) -> Vec<Vec<Expr>> {
    match set {
        // ipMasq: from the address to outside its subnet, masquerade.
        "masquerade" => {
            let mut exprs = Vec::new();
            match_nfproto(&mut exprs, true);
            match_host(&mut exprs, ip, false);
            match_network(&mut exprs, IpNetwork::V4(address), true, false);
            exprs.push(Expr::masquerade());
            vec![exprs]
        }
        // portmap: the DNAT of the host port, and the hairpin and
        // localhost masquerades.
        "portmap" => {
            let mut dnat = vec![
                Expr::meta_l4proto(1),
                Expr::cmp(1, true, &[6]),
                Expr::payload_dport(1),
                Expr::cmp(1, true, &host_port.to_be_bytes()),
                Expr::immediate(1, &address.ip().octets()),
                Expr::immediate(2, &80u16.to_be_bytes()),
            ];
            dnat.push(Expr::dnat(nftnl::FAMILY_IPV4, 1, 2));
            let masquerade = |source: IpAddr| {
                let mut exprs = Vec::new();
                match_nfproto(&mut exprs, true);
                match_host(&mut exprs, source, false);
                match_host(&mut exprs, ip, true);
                exprs.push(Expr::masquerade());
                exprs
            };
            vec![dnat, masquerade(ip), masquerade(IpAddr::V4(Ipv4Addr::LOCALHOST))]
        }
        // firewall: replies to the container, and what it sends.
        "firewall" => {
            let mut to = Vec::new();
            match_nfproto(&mut to, true);
            match_host(&mut to, ip, true);
            nftnl::match_established(&mut to);
            to.push(Expr::verdict(nftnl::NF_ACCEPT, None));
            let mut from = Vec::new();
            match_nfproto(&mut from, true);
            match_host(&mut from, ip, false);
            from.push(Expr::verdict(nftnl::NF_ACCEPT, None));
            vec![to, from]
        }
        _ => Vec::new(),
    }
}

/// A DHCP exchange on eth0 (in the container's netns, which the caller
/// has entered), with our dhcp client in this process: the address, the
/// first router and the lease as JSON.
fn lease(a: &Attachment) -> Result<(Ipv4Network, Ipv4Addr, Value), String> {
    let lease = dhcp_client(a)?.acquire().map_err(|e| format!("dhcp: {e:?}"))?;
    let prefix = lease.mask.map(|m| u32::from(m).leading_ones() as u8).unwrap_or(24);
    let address = Ipv4Network::new(lease.address, prefix).map_err(|e| e.to_string())?;
    let gateway = lease.routers.first().copied().ok_or("the lease names no router")?;
    let value = serde_json::to_value(&lease).map_err(|e| e.to_string())?;
    Ok((address, gateway, value))
}

/// Our dhcp client on eth0 of the namespace the calling thread is in.
fn dhcp_client(a: &Attachment) -> Result<dhcp::client::Client, String> {
    let config = dhcp::client::Config {
        ifname: "eth0".to_string(),
        client_id: dhcp::options::client_id(&a.id, "floor", "eth0"),
        options: Default::default(),
        timing: dhcp::client::Timing::default(),
    };
    dhcp::client::Client::open(config).map_err(|e| format!("dhcp: {e:?}"))
}

/// DEL: the links (and with them the container end, its address and
/// route, the qdiscs and the filter) and the attachment's rules, side by
/// side; the reservation; the DHCP release.
pub fn del(a: &Attachment) -> Result<(), String> {
    if let (true, Some(lease)) = (a.does(Part::Bridge), &a.lease) {
        release(a, lease)?;
    }
    let links = || -> Result<(), String> {
        match doomed_link(a) {
            Some(message) => Rtnl::open()?.batch(vec![Request::plain(RouteNetlinkMessage::DelLink(message))]),
            None => Ok(()),
        }
    };
    let (links, rules) = std::thread::scope(|scope| {
        let rules = scope.spawn(|| remove_rules(a));
        let links = links();
        (links, rules.join().unwrap_or_else(|_| Err("rule deletion panicked".to_string())))
    });
    let file = match (a.does(Part::Bridge), &a.reservation) {
        (true, Some(path)) => std::fs::remove_file(path).map_err(|e| format!("release {path}: {e}")),
        _ => Ok(()),
    };
    links.and(rules).and(file)
}

/// The link deletion DEL sends: the whole attachment's veth and ifb by
/// their group, bridge's veth or bandwidth's ifb by its index; `None` for
/// a part without links.
fn doomed_link(a: &Attachment) -> Option<LinkMessage> {
    let mut message = LinkMessage::default();
    match (a.part, &a.ifb) {
        (None, Some(_)) => message.attributes.push(LinkAttribute::Group(a.host.1)),
        (None | Some(Part::Bridge), _) => message.header.index = a.host.1,
        (Some(Part::Bandwidth), Some((_, ifb_index, _, _))) => message.header.index = *ifb_index,
        _ => return None,
    }
    Some(message)
}

/// Flushes and deletes the attachment's chain (in each iptables table that
/// holds its rules, with one `iptables-restore`).
fn remove_rules(a: &Attachment) -> Result<(), String> {
    let sets = a.rule_sets();
    if sets.is_empty() {
        return Ok(());
    }
    let chain = a.chain();
    if a.iptables {
        let input: String = IPTABLES_TABLES
            .iter()
            .filter(|table| sets.iter().any(|set| iptables_table(set) == **table))
            .map(|table| format!("*{table}\n-F {chain}\n-X {chain}\nCOMMIT\n"))
            .collect();
        return iptables_restore(&chain, &input);
    }
    let mut batch = Batch::new(FAMILY_INET);
    batch.flush_chain(&a.table, &chain);
    batch.delete_chain(&a.table, &chain);
    batch.commit().map_err(|e| e.to_string())
}

/// DHCPRELEASE of the lease ADD printed, on the container's eth0 (a
/// thread of its own enters the netns), before the link goes.
fn release(a: &Attachment, lease: &Value) -> Result<(), String> {
    let lease: dhcp::lease::Lease = serde_json::from_value(lease.clone()).map_err(|e| e.to_string())?;
    let netns = std::fs::File::open(&a.netns).map_err(|e| format!("open {}: {e}", a.netns))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("setns: {e}"))?;
                dhcp_client(a)?.release(&lease).map_err(|e| format!("dhcp release: {e:?}"))
            })
            .join()
            .unwrap_or_else(|_| Err("release panicked".to_string()))
    })
}
