//! `cnictl network create NAME`: writes `<conf-dir>/NAME.conflist` in the
//! shape podman 4's CNI backend gives a new network (bridge with
//! isGateway, ipMasq and hairpinMode, host-local ranges and routes, the
//! `ips` capability; portmap, firewall, tuning; bandwidth), with a subnet
//! no other network and nothing on the host uses, and a bridge of its own.
//! A name, file, subnet or bridge that is taken is refused, and nothing is
//! written.

use std::net::IpAddr;
use std::process::ExitCode;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use ipnetwork::{IpNetwork, Ipv4Network};
use serde::Serialize;
use serde_json::{json, Value};

use super::{known_networks, Known};
use crate::cli::NetworkCreateArgs;
use crate::commands::Context;
use crate::render::{self, Cell, Format, View};
use crate::runtime::config::load_file;
use crate::runtime::default_network::write_network_file;
use crate::runtime::free_subnet::{self, Used};

/// The spec version of the conflists written (our plugins and the
/// reference's since v1.0 speak it; podman 4 wrote 0.4.0 for older plugins).
const CNI_VERSION: &str = "1.0.0";

/// podman's bridge names: `cni-podman` and a number (0 is its default network's).
const BRIDGE_PREFIX: &str = "cni-podman";

/// What was written, as `network create` reports it.
#[derive(Debug, Serialize)]
struct Created {
    /// The network's name.
    name: String,
    /// The file written.
    file: String,
    /// Its subnets.
    subnets: Vec<String>,
    /// Their gateways (the bridge's addresses), none for an internal network.
    gateways: Vec<String>,
    /// The bridge.
    bridge: String,
    /// The chain's plugin types.
    plugins: Vec<String>,
    /// No gateway, masquerade or default route.
    internal: bool,
}

impl View for Created {
    fn headers(&self) -> &'static [&'static str] {
        &["NAME", "FILE", "SUBNETS", "GATEWAYS", "BRIDGE", "PLUGINS"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        let or_none = |items: &[String]| if items.is_empty() { "-".to_string() } else { items.join(", ") };
        vec![vec![
            self.name.clone().into(),
            self.file.clone().into(),
            or_none(&self.subnets).into(),
            or_none(&self.gateways).into(),
            self.bridge.clone().into(),
            self.plugins.join(",").into(),
        ]]
    }

    fn empty(&self) -> String {
        String::new()
    }
}

/// One host-local range: its subnet and gateway.
struct Range {
    subnet: IpNetwork,
    gateway: Option<IpAddr>,
}

/// Runs `network create`.
pub fn run(ctx: &Context, args: &NetworkCreateArgs, format: Format) -> Result<ExitCode> {
    let name = &args.name;
    cni::env::validate_network_name(name).map_err(|e| eyre!("network name {name:?}: {e}"))?;
    let path = ctx.conf_dir.join(format!("{name}.conflist"));
    if path.symlink_metadata().is_ok() {
        bail!("{} already exists: nothing was written", path.display());
    }
    let known = known_networks(&ctx.conf_dir)?;
    if let Some(other) = known.iter().find(|k| &k.name == name) {
        bail!("a network named {name:?} already exists in {}: nothing was written", other.file.display());
    }
    let mut used = free_subnet::networks_used(&ctx.conf_dir)?;
    used.extend(free_subnet::host_used()?);
    let ranges = ranges(args, &used)?;
    let bridge = bridge_name(args.bridge.as_deref(), &known)?;
    let conflist = conflist(args, &ranges, &bridge);
    let mut text = cni::result::to_pretty(&conflist);
    text.push(b'\n');
    write_network_file(&path, &text, false).wrap_err("nothing was written")?;
    // What was written must load as any network does; if not, it goes.
    if let Err(e) = load_file(&path) {
        let _ = std::fs::remove_file(&path);
        return Err(e.wrap_err(format!("{} did not load and was removed", path.display())));
    }
    say!("cnictl: wrote {}", path.display());
    let created = Created {
        name: name.clone(),
        file: path.display().to_string(),
        subnets: ranges.iter().map(|r| r.subnet.to_string()).collect(),
        gateways: ranges.iter().filter_map(|r| r.gateway).map(|g| g.to_string()).collect(),
        bridge,
        plugins: plugin_types(&conflist),
        internal: args.internal,
    };
    render::show(format, &created)?;
    Ok(ExitCode::SUCCESS)
}

/// The ranges: the subnets given (checked against what is used) or free
/// ones, each with its gateway.
fn ranges(args: &NetworkCreateArgs, used: &[Used]) -> Result<Vec<Range>> {
    let mut subnets = Vec::new();
    for text in &args.subnet {
        let subnet: IpNetwork = text.parse().map_err(|e| eyre!("--subnet {text}: {e}"))?;
        if subnet.network() != subnet.ip() {
            bail!(
                "--subnet {text} is not a network address: did you mean {}?",
                free_subnet::network_of(subnet)
            );
        }
        if subnets.iter().any(|s: &IpNetwork| s.is_ipv4() == subnet.is_ipv4()) {
            bail!("--subnet {text}: one subnet per address family");
        }
        if let Some(taken) = free_subnet::overlapping(subnet, used) {
            bail!("--subnet {text} overlaps {} ({}): nothing was written", taken.subnet, taken.by);
        }
        subnets.push(subnet);
    }
    if subnets.is_empty() {
        let pools = match &args.subnet_pool {
            Some(text) => {
                vec![text.parse::<Ipv4Network>().map_err(|e| eyre!("--subnet-pool {text}: {e}"))?]
            }
            None => free_subnet::podman_pools(),
        };
        let free = free_subnet::free_ipv4(&pools, used).ok_or_else(|| {
            eyre!(
                "no free /{} left in {}: give one with --subnet",
                free_subnet::POOL_PREFIX,
                describe(&pools)
            )
        })?;
        subnets.push(IpNetwork::V4(free));
    }
    if args.ipv6 && !subnets.iter().any(IpNetwork::is_ipv6) {
        subnets.push(IpNetwork::V6(free_subnet::free_ipv6(used)?));
    }
    if args.gateway.len() > args.subnet.len() {
        bail!("a --gateway needs its --subnet (one gateway per subnet, in order)");
    }
    let mut ranges = Vec::new();
    for (n, subnet) in subnets.into_iter().enumerate() {
        let gateway = match args.gateway.get(n) {
            Some(text) => Some(gateway(text, subnet)?),
            None if args.internal => None,
            None => free_subnet::first_host(subnet),
        };
        ranges.push(Range { subnet, gateway });
    }
    Ok(ranges)
}

fn describe(pools: &[Ipv4Network]) -> String {
    pools.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// A --gateway: an address of its subnet that a host can have.
fn gateway(text: &str, subnet: IpNetwork) -> Result<IpAddr> {
    let ip: IpAddr = text.parse().map_err(|e| eyre!("--gateway {text}: {e}"))?;
    let broadcast = matches!(subnet, IpNetwork::V4(net) if net.prefix() < 31 && net.broadcast() == ip);
    if !subnet.contains(ip) || ip == subnet.network() || broadcast {
        bail!("--gateway {text} is not a host address of its subnet {subnet}");
    }
    Ok(ip)
}

/// The bridge: the one asked for, or the first free `cni-podmanN`; never
/// one another network names or a link that exists.
fn bridge_name(asked: Option<&str>, known: &[Known]) -> Result<String> {
    let nl = cni::netlink::Netlink::open().map_err(|e| eyre!("cannot list the host's links: {e}"))?;
    let links: Vec<String> = nl
        .links()
        .map_err(|e| eyre!("cannot list the host's links: {e}"))?
        .into_iter()
        .map(|l| l.name)
        .collect();
    let named_by = |name: &str| known.iter().find(|k| k.bridges.iter().any(|b| b == name));
    if let Some(name) = asked {
        cni::checked::LinkName::new("--bridge", name).map_err(|e| eyre!("{e}"))?;
        if let Some(other) = named_by(name) {
            bail!(
                "--bridge {name} is network {}'s ({}): nothing was written",
                other.name,
                other.file.display()
            );
        }
        if links.iter().any(|l| l == name) {
            bail!("--bridge {name}: a link of that name exists: nothing was written");
        }
        return Ok(name.to_string());
    }
    (1..100_000)
        .map(|n| format!("{BRIDGE_PREFIX}{n}"))
        .find(|name| named_by(name).is_none() && !links.contains(name))
        .ok_or_else(|| eyre!("no free bridge name {BRIDGE_PREFIX}N: give one with --bridge"))
}

/// The conflist, in podman's shape.
fn conflist(args: &NetworkCreateArgs, ranges: &[Range], bridge: &str) -> Value {
    let ranges_json: Vec<Value> = ranges
        .iter()
        .map(|r| match r.gateway {
            Some(gw) => json!([{"subnet": r.subnet.to_string(), "gateway": gw.to_string()}]),
            None => json!([{"subnet": r.subnet.to_string()}]),
        })
        .collect();
    let mut ipam = json!({"type": "host-local", "ranges": ranges_json});
    if !args.internal {
        let mut routes = Vec::new();
        for (v6, dst) in [(false, "0.0.0.0/0"), (true, "::/0")] {
            if ranges.iter().any(|r| r.subnet.is_ipv6() == v6) {
                routes.push(json!({"dst": dst}));
            }
        }
        ipam["routes"] = Value::Array(routes);
    }
    let mut plugins = vec![json!({
        "type": "bridge",
        "bridge": bridge,
        "isGateway": !args.internal,
        "ipMasq": !args.internal,
        "hairpinMode": true,
        "ipam": ipam,
        "capabilities": {"ips": true},
    })];
    if args.portmap {
        plugins.push(json!({"type": "portmap", "capabilities": {"portMappings": true}}));
    }
    if args.firewall {
        plugins.push(json!({"type": "firewall"}));
    }
    plugins.push(json!({"type": "tuning"}));
    if args.bandwidth {
        plugins.push(json!({"type": "bandwidth", "capabilities": {"bandwidth": true}}));
    }
    json!({"cniVersion": CNI_VERSION, "name": args.name, "plugins": plugins})
}

fn plugin_types(conflist: &Value) -> Vec<String> {
    let plugins = conflist["plugins"].as_array().cloned().unwrap_or_default();
    plugins.iter().filter_map(|p| p["type"].as_str().map(str::to_string)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> NetworkCreateArgs {
        use clap::Parser;
        let mut words = vec!["cnictl", "network", "create", "n1"];
        words.extend(extra);
        let cli = crate::cli::Cli::parse_from(words);
        match cli.command {
            crate::cli::Command::Network(crate::cli::NetworkCommand::Create(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_conflist_has_podmans_shape() {
        let a = args(&["--portmap", "--firewall", "--bandwidth", "--ipv6"]);
        let used = vec![Used::held_by("10.89.0.0/24".parse().unwrap(), "x")];
        let made = ranges(&a, &used).unwrap();
        assert_eq!(made[0].subnet.to_string(), "10.89.1.0/24");
        assert_eq!(made[0].gateway.unwrap().to_string(), "10.89.1.1");
        assert!(made[1].subnet.is_ipv6());
        let list = conflist(&a, &made, "cni-podman3");
        assert_eq!(plugin_types(&list), ["bridge", "portmap", "firewall", "tuning", "bandwidth"]);
        let bridge = &list["plugins"][0];
        assert_eq!(bridge["isGateway"], true);
        assert_eq!(bridge["ipMasq"], true);
        assert_eq!(bridge["hairpinMode"], true);
        assert_eq!(bridge["ipam"]["routes"], json!([{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]));
        assert_eq!(list["plugins"][1]["capabilities"], json!({"portMappings": true}));
        assert_eq!(list["plugins"][4]["capabilities"], json!({"bandwidth": true}));
        let parsed = cni::conflist::parse_conflist(&cni::result::to_pretty(&list), "n1.conflist".as_ref());
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn internal_networks_have_no_way_out_and_bad_input_is_refused() {
        let a = args(&["--internal", "--subnet", "10.5.0.0/24"]);
        let made = ranges(&a, &[]).unwrap();
        assert!(made[0].gateway.is_none());
        let list = conflist(&a, &made, "b");
        assert_eq!(list["plugins"][0]["isGateway"], false);
        assert_eq!(list["plugins"][0]["ipMasq"], false);
        assert!(list["plugins"][0]["ipam"].get("routes").is_none());
        let taken = vec![Used::held_by("10.5.0.0/16".parse().unwrap(), "network other (f)")];
        let error = ranges(&a, &taken).err().unwrap().to_string();
        assert!(error.contains("overlaps 10.5.0.0/16 (network other (f))"), "{error}");
        for (extra, says) in [
            (&["--subnet", "10.5.0.1/24"][..], "did you mean 10.5.0.0/24"),
            (&["--subnet", "10.5.0.0/24", "--gateway", "10.6.0.1"][..], "not a host address"),
            (&["--subnet", "10.5.0.0/24", "--gateway", "10.5.0.255"][..], "not a host address"),
            (&["--gateway", "10.6.0.1"][..], "needs its --subnet"),
        ] {
            let error = ranges(&args(extra), &[]).err().unwrap().to_string();
            assert!(error.contains(says), "{extra:?}: {error}");
        }
    }
}
