//! The routes the kernel picks, asked of it (RTM_GETROUTE sends no
//! packet): in the container towards an outside address (and whether its
//! gateway is this host), on the host for that packet arriving from the
//! container on the bridge (forwarding and the reverse-path check decide
//! there), and back to the container.

use std::net::IpAddr;

use super::links::HostLinks;
use super::netlink::{route_get, Picked, RTN_LOCAL};
use super::{finding, Finding, Status, Target, DEFAULT_DESTINATIONS};

/// The way out one family's packets take, for the FORWARD check.
#[derive(Debug, Clone)]
pub struct Path {
    /// The container's address.
    pub src: IpAddr,
    /// The outside address.
    pub dst: IpAddr,
    /// Where they arrive at the host (bridge or host veth), and its index.
    pub iif: (String, u32),
    /// Where the host sends them on, when it routes them.
    pub oif: Option<(String, u32)>,
    /// The container has a route out (its result gives it a default
    /// route); without one, traffic to the outside is not meant to flow.
    pub reaches_out: bool,
}

fn errno_words(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

fn sysctl_value(key: &str) -> u8 {
    std::fs::read_to_string(format!("/proc/sys/{key}")).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The destination of each family the container has an address of.
fn destinations(target: &Target, to: &[IpAddr]) -> Vec<(IpAddr, IpAddr)> {
    let mut pairs = Vec::new();
    for v4 in [true, false] {
        let Some(src) = target.addresses.iter().find(|a| a.is_ipv4() == v4).map(|a| a.ip()) else { continue };
        let given = to.iter().find(|d| d.is_ipv4() == v4).copied();
        let fallback =
            DEFAULT_DESTINATIONS.iter().filter_map(|d| d.parse::<IpAddr>().ok()).find(|d| d.is_ipv4() == v4);
        if let Some(dst) = given.or(fallback) {
            pairs.push((src, dst));
        }
    }
    pairs
}

pub(super) fn check(
    target: &Target,
    to: &[IpAddr],
    host: &HostLinks,
    findings: &mut Vec<Finding>,
) -> Vec<Path> {
    let mut paths = Vec::new();
    for (src, dst) in destinations(target, to) {
        container_route(target, dst, findings);
        let Some(iif) = target.ingress().and_then(|name| host.by_name(name)) else { continue };
        let iif = (iif.name.clone(), iif.index);
        let oif = host_route(src, dst, to.contains(&dst), &iif, host, findings);
        return_route(src, &iif, host, findings);
        let reaches_out = target.default_routes.contains(&src.is_ipv6()) || to.contains(&dst);
        paths.push(Path { src, dst, iif, oif, reaches_out });
    }
    paths
}

/// The name of interface `index` in the calling thread's namespace (one
/// question, where a link dump would list them all).
fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes, as if_indextoname requires.
    let named = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if named.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// Inside the container: the route to `dst` and its gateway.
fn container_route(target: &Target, dst: IpAddr, findings: &mut Vec<Finding>) {
    let check = "container route";
    if target.netns.is_empty() {
        findings.push(finding(
            check,
            Status::Warn,
            "the cache entry records no namespace: the container's side is not checked",
            None,
        ));
        return;
    }
    let asked = cni::netns::Netns::open(&target.netns).and_then(|ns| {
        ns.run(|| {
            let picked = route_get(dst, None, None);
            Ok(picked.map(|p| (p.oif.and_then(interface_name), p)))
        })
    });
    let gateway = target.gateways.iter().find(|g| g.is_ipv4() == dst.is_ipv4());
    match asked {
        Err(e) => findings.push(finding(check, Status::Fail, format!("cannot look inside the container: {}", e.msg), None)),
        Ok(Err(errno)) if !target.default_routes.contains(&dst.is_ipv6()) => findings.push(finding(
            check,
            Status::Info,
            format!(
                "the container has no route to {dst} ({}), and its result gives it no default route: the network keeps it to its subnet",
                errno_words(errno)
            ),
            None,
        )),
        Ok(Err(errno)) => findings.push(finding(
            check,
            Status::Fail,
            format!("the container has no route to {dst} ({})", errno_words(errno)),
            Some(match gateway {
                Some(gw) => format!(
                    "nsenter --net={} ip route add default via {gw} dev {} (or isDefaultGateway: true in the network's config)",
                    target.netns, target.ifname
                ),
                None => "give the network a default route (isDefaultGateway: true, or a route in its IPAM section)".into(),
            }),
        )),
        Ok(Ok((name, picked))) => {
            let by = name.clone().unwrap_or_else(|| format!("#{}", picked.oif.unwrap_or_default()));
            if name.as_deref() != Some(target.ifname.as_str()) {
                findings.push(finding(
                    check,
                    Status::Info,
                    format!("the container's route to {dst} leaves by {by}, not {}: this attachment does not carry its outside traffic", target.ifname),
                    None,
                ));
                return;
            }
            let Some(gw) = picked.gateway else {
                findings.push(finding(check, Status::Ok, format!("the container reaches {dst} on-link by {by}"), None));
                return;
            };
            // Whether the gateway is this host: a local address here.
            match route_get(gw, None, None) {
                Ok(Picked { kind: RTN_LOCAL, .. }) => findings.push(finding(
                    check,
                    Status::Ok,
                    format!("the container routes {dst} by {by} via {gw}, an address of this host"),
                    None,
                )),
                _ => findings.push(finding(
                    check,
                    Status::Info,
                    format!("the container routes {dst} by {by} via {gw}, which is not an address of this host (a router beyond it)"),
                    None,
                )),
            }
        }
    }
}

/// On the host: the container's packet to `dst` arriving on `iif`.
/// `given`: the operator named `dst` (`--to`); the default destination
/// stands for "anywhere", which a host without a default route does not
/// mean to reach: a warning there, not a failure.
fn host_route(
    src: IpAddr,
    dst: IpAddr,
    given: bool,
    iif: &(String, u32),
    host: &HostLinks,
    findings: &mut Vec<Finding>,
) -> Option<(String, u32)> {
    let check = "host route";
    let (name, index) = iif;
    match route_get(dst, Some(src), Some(*index)) {
        Ok(picked) if picked.kind == 1 => {
            let oif = picked.oif.map(|i| (host.name_of(i).unwrap_or("?").to_string(), i));
            let out = oif.as_ref().map_or("?".to_string(), |(n, _)| n.clone());
            let via = picked.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            findings.push(finding(
                check,
                Status::Ok,
                format!("the host forwards {src} -> {dst} arriving on {name} out by {out}{via}"),
                None,
            ));
            oif
        }
        Ok(picked) if picked.kind == RTN_LOCAL => {
            findings.push(finding(
                check,
                Status::Info,
                format!("{dst} is an address of this host: nothing is forwarded"),
                None,
            ));
            None
        }
        Ok(picked) => {
            findings.push(finding(
                check,
                Status::Fail,
                format!(
                    "the host's route for {src} -> {dst} is of type {} (blackhole, unreachable or prohibit)",
                    picked.kind
                ),
                Some(format!(
                    "ip route get {dst} from {src} iif {name}; then remove the route that catches it"
                )),
            ));
            None
        }
        // A martian source (EINVAL; EXDEV on some kernels): what strict
        // rp_filter makes of a source the host routes elsewhere.
        Err(errno @ (libc::EXDEV | libc::EINVAL)) => {
            let all = sysctl_value("net/ipv4/conf/all/rp_filter");
            let own = sysctl_value(&format!("net/ipv4/conf/{name}/rp_filter"));
            let (detail, fix) = if src.is_ipv4() && all.max(own) == 1 {
                let mut fix = format!("sysctl -w net/ipv4/conf/{name}/rp_filter=2");
                if all == 1 {
                    fix.push_str(" net/ipv4/conf/all/rp_filter=2");
                }
                (
                    format!("the reverse-path filter drops {src} -> {dst} arriving on {name}: the host would not route {src} back through {name}"),
                    format!("{fix} (loose mode), or route {src} back through {name}"),
                )
            } else {
                (
                    format!("the kernel takes {src} arriving on {name} for a martian source ({})", errno_words(errno)),
                    format!("ip route get {src}; ip addr | grep {src} (the host must not hold the container's address)"),
                )
            };
            findings.push(finding(check, Status::Fail, detail, Some(fix)));
            None
        }
        Err(errno) => {
            let unreachable = errno == libc::ENETUNREACH;
            let detail = if unreachable {
                format!(
                    "the host has no route to {dst}: the container's packets have nowhere to go ({})",
                    errno_words(errno)
                )
            } else {
                format!("the kernel will not forward {src} -> {dst} arriving on {name} ({}): forwarding is off, or a route refuses it", errno_words(errno))
            };
            let fix = if unreachable && !given {
                "give the host a default route (ip route add default via ROUTER), or name the address the containers need with --to ADDR".to_string()
            } else if unreachable {
                format!("give the host a route to {dst} (ip route add {dst} via ROUTER)")
            } else if dst.is_ipv4() {
                format!("sysctl -w net/ipv4/ip_forward=1 net/ipv4/conf/{name}/forwarding=1")
            } else {
                "sysctl -w net/ipv6/conf/all/forwarding=1".to_string()
            };
            let status = if unreachable && !given { Status::Warn } else { Status::Fail };
            findings.push(finding(check, status, detail, Some(fix)));
            None
        }
    }
}

/// On the host: answers to the container go back through `iif`.
fn return_route(src: IpAddr, iif: &(String, u32), host: &HostLinks, findings: &mut Vec<Finding>) {
    let check = "return route";
    match route_get(src, None, None) {
        Ok(picked) if picked.oif == Some(iif.1) => {
            findings.push(finding(check, Status::Ok, format!("answers to {src} go back by {}", iif.0), None))
        }
        Ok(picked) => {
            let by = picked.oif.and_then(|i| host.name_of(i)).unwrap_or("no interface");
            findings.push(finding(
                check,
                Status::Fail,
                format!("answers to {src} would leave by {by}, not {}", iif.0),
                Some(format!("ip route get {src}; remove the route that takes {src} elsewhere")),
            ))
        }
        Err(errno) => findings.push(finding(
            check,
            Status::Fail,
            format!("the host has no route back to {src} ({})", errno_words(errno)),
            Some(format!("ip addr show {}: the bridge needs the container subnet's gateway address", iif.0)),
        )),
    }
}
