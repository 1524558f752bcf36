//! bridge's ADD as a story of named steps, each registering its undo on
//! the one `Rollback`: plug the container in (veth, port, spoof check;
//! host-local's or static's addresses acquired meanwhile, any other IPAM's
//! after), the layer-2 result, layer 3 (the gateways on the bridge,
//! masquerading, and last the container's addresses and link up), the
//! MACs as they ended up, commit.

use cni::apply::configure_iface;
use cni::env::CmdArgs;
use cni::ipam;
use cni::ipmasq::{self, Owner};
use cni::netlink::{Link, Netlink};
use cni::netns::Netns;
use cni::result::Interface;
use cni::rollback::Rollback;
use cni::veth::{setup_veth, VethPair};
use cni::{spoofcheck, sysctl, CniError, CniResult};
use ipnetwork::IpNetwork;

use crate::config::{self, Plan};
use crate::gateways::Gateways;
use crate::{
    attach_port, bridge_by_name, ensure_address, ensure_bridge, ensure_vlan_interface, wait_port_up,
};

/// ADD: the plan is checked whole before the first change.
pub fn add(args: &CmdArgs) -> Result<CniResult, CniError> {
    let plan = config::plan(args)?;
    // ipMasq's iptables-restore is started first of all: its exec and
    // start-up (1-1.5 ms) are the longest wait of a default ADD.
    let started = plan.masquerade.map(|backend| ipmasq::start(backend, true));
    let netns = Netns::open(&args.netns)?;
    let mut rollback = Rollback::new();
    // ipMasq runs on a thread of its own beside everything else: what
    // needs no addresses at once (the nftables listing, or the look for
    // the attachment's iptables chain), its rules from the moment IPAM
    // hands the addresses over, while the bridge is found, the pair made
    // and the container end set up. The ADD waits for it at its end.
    let result = std::thread::scope(|scope| {
        let (hand_over, handed) = std::sync::mpsc::sync_channel::<Vec<IpNetwork>>(1);
        let masquerading = started.map(|started| {
            let plan = &plan;
            scope.spawn(move || {
                let begun = started.and_then(|started| started.look(&owner(plan, args)));
                match handed.recv() {
                    Ok(addresses) => masquerade(begun, plan, args, addresses),
                    // IPAM gave nothing (it failed, or the network is layer
                    // 2): a begun iptables-restore ends with no input.
                    Err(_) => None,
                }
            })
        });
        let connected = Netlink::open().map_err(CniError::from).and_then(|nl| {
            let bridge = ensure_bridge(&nl, &plan.conf)?;
            connect(&plan, args, &netns, &nl, &bridge, &mut rollback, hand_over)
        });
        let masqueraded = match masquerading.map(|worker| worker.join()) {
            Some(Ok(Some(Masqueraded { outcome, undo }))) => {
                if let Some(undo) = undo {
                    rollback.push("remove the masquerade rules", undo);
                }
                outcome
            }
            Some(Ok(None)) | None => Ok(()),
            Some(Err(_)) => Err(CniError::internal("ipMasq panicked")),
        };
        match (connected, masqueraded) {
            (Err(e), Err(masq)) => {
                eprintln!("ipMasq failed beside it too: {}", masq.msg);
                Err(e)
            }
            (connected, masqueraded) => masqueraded.and(connected),
        }
    })?;
    rollback.commit();
    Ok(result)
}

/// Everything of ADD but ipMasq: the pair on the bridge, IPAM's addresses
/// (handed over to ipMasq as soon as they are acquired), the gateways on
/// the bridge, the container end configured, the MACs as they end up.
fn connect<'a>(
    plan: &'a Plan,
    args: &'a CmdArgs,
    netns: &'a Netns,
    nl: &Netlink,
    bridge: &Link,
    rollback: &mut Rollback<'a>,
    hand_over: std::sync::mpsc::SyncSender<Vec<IpNetwork>>,
) -> Result<CniResult, CniError> {
    // host-local's and static's addresses are acquired while the pair is made.
    let (pair, acquired) = if plan.layer3() {
        let plug = |rollback: &mut _| plug_in(nl, netns, bridge, plan, args, rollback);
        let handing = |acquired: &CniResult| {
            // The receiver is gone only when ipMasq is off.
            let _ = hand_over.send(acquired.ips.iter().map(|ip| ip.address).collect());
        };
        let (pair, acquired) =
            ipam::acquire_beside_then(plan.conf.ipam_type(), args, rollback, plug, handing)?;
        (pair, Some(acquired))
    } else {
        (plug_in(nl, netns, bridge, plan, args, rollback)?, None)
    };
    let mut result = layer2_result(bridge, &pair, args);
    if let Some(acquired) = acquired {
        // The host's side first: once the container end is up, its IPv6
        // stack's first packets are flooded to every port while the kernel
        // holds RTNL, and every later netlink request of ours waits for it
        // (perf, 500 ports); so bringing it up comes last.
        let gateways = addresses(plan, acquired, &mut result)?;
        if plan.conf.bridge.is_gateway || plan.conf.bridge.is_default_gateway {
            gateways_on_bridge(nl, bridge, plan, &gateways, &mut result)?;
        }
        configure_container(netns, plan, args, &result)?;
    } else if !plan.conf.bridge.disable_container_interface {
        container_up(netns, &args.ifname)?;
    }
    refresh_macs(nl, bridge, &pair, plan, &mut result)?;
    if !plan.conf.net.dns.is_empty() {
        result.dns = plan.conf.net.dns.clone();
    }
    Ok(result)
}

/// The veth pair, its host end a port of the bridge with the port flags
/// and VLANs, and with macspoofchk its rules.
fn plug_in<'a>(
    nl: &Netlink,
    netns: &'a Netns,
    bridge: &Link,
    plan: &Plan,
    args: &CmdArgs,
    rollback: &mut Rollback<'a>,
) -> Result<VethPair, CniError> {
    let conf = &plan.conf;
    let pair = setup_veth(nl, netns, &args.ifname, conf.bridge.mtu, conf.mac, rollback)?;
    attach_port(nl, &pair.host, bridge, &conf.port())?;
    if conf.bridge.mac_spoof_check {
        spoof_check(&pair, args, rollback)?;
    }
    Ok(pair)
}

/// The result's interfaces: the bridge, the host end, the container end.
fn layer2_result(bridge: &Link, pair: &VethPair, args: &CmdArgs) -> CniResult {
    let [host, container] = pair.interfaces(&args.netns);
    let bridge = Interface { name: bridge.name.clone(), mac: bridge.mac.clone(), ..Default::default() };
    CniResult { interfaces: vec![bridge, host, container], ..Default::default() }
}

/// macspoofchk: the container's frames must carry its MAC.
fn spoof_check(pair: &VethPair, args: &CmdArgs, rollback: &mut Rollback) -> Result<(), CniError> {
    let ref_id = spoofcheck::ref_id(&args.container_id, &args.ifname);
    spoofcheck::setup(&pair.host.name, pair.container.mac.as_deref().unwrap_or_default(), &ref_id)?;
    rollback.push("remove the spoof-check rules", move || spoofcheck::teardown(&ref_id));
    Ok(())
}

/// IPAM's addresses, with the gateways filled in; the gateways the bridge needs.
fn addresses(plan: &Plan, ipam_result: CniResult, result: &mut CniResult) -> Result<Gateways, CniError> {
    result.ips = ipam_result.ips;
    result.routes = ipam_result.routes;
    result.dns = ipam_result.dns;
    if result.ips.is_empty() {
        return Err(CniError::internal("IPAM plugin returned missing IP config"));
    }
    let b = &plan.conf.bridge;
    Ok(Gateways::calc(result, b.is_gateway || b.is_default_gateway, b.is_default_gateway))
}

/// The container end configured (DAD as asked, ARP notify, the
/// addresses and routes) and up.
fn configure_container(
    netns: &Netns,
    plan: &Plan,
    args: &CmdArgs,
    result: &CniResult,
) -> Result<(), CniError> {
    let (ifname, enable_dad) = (args.ifname.as_str(), plan.conf.bridge.enable_dad);
    netns.run(|| {
        if enable_dad {
            let _ = sysctl::write(&format!("net/ipv6/conf/{ifname}/enhanced_dad"), "1");
            let _ = sysctl::write(&format!("net/ipv6/conf/{ifname}/accept_dad"), "1");
        } else {
            let _ = sysctl::write(&format!("net/ipv6/conf/{ifname}/accept_dad"), "0");
        }
        let _ = sysctl::write(&format!("net/ipv4/conf/{ifname}/arp_notify"), "1");
        configure_iface(&Netlink::open()?, ifname, result).map(|_| ())
    })
}

/// The gateway addresses on the bridge (on its VLAN interface with a
/// `vlan`, which joins the result), and forwarding for their families.
fn gateways_on_bridge(
    nl: &Netlink,
    bridge: &Link,
    plan: &Plan,
    gateways: &Gateways,
    result: &mut CniResult,
) -> Result<(), CniError> {
    let conf = &plan.conf;
    let vlan_link = match (conf.vlan, gateways.is_empty()) {
        (0, _) | (_, true) => None,
        _ => {
            let link = ensure_vlan_interface(nl, bridge, conf)
                .map_err(|e| e.context("failed to create vlan interface"))?;
            result.interfaces.push(Interface {
                name: link.name.clone(),
                mac: link.mac.clone(),
                ..Default::default()
            });
            Some(link)
        }
    };
    let target = vlan_link.as_ref().unwrap_or(bridge);
    for (ipv6, nets) in [(false, &gateways.v4), (true, &gateways.v6)] {
        for gateway in nets {
            ensure_address(nl, target, *gateway, conf.bridge.force_address)
                .map_err(|e| e.context("failed to set bridge addr"))?;
        }
        if !nets.is_empty() {
            sysctl::enable_forwarding(!ipv6, ipv6).map_err(|e| e.context("failed to enable forwarding"))?;
        }
    }
    Ok(())
}

/// Whose masquerade rules: this attachment's.
fn owner<'a>(plan: &'a Plan, args: &'a CmdArgs) -> Owner<'a> {
    Owner { network: &plan.conf.net.name, ifname: &args.ifname, container_id: &args.container_id }
}

/// How ipMasq's rules went in, and their undo: due whenever writing them
/// was tried, also after a failure (one family's rules may be in place),
/// and only then (a failure before it wrote nothing, and must not take
/// away rules of the attachment's name that it did not make).
struct Masqueraded<U> {
    outcome: Result<(), CniError>,
    undo: Option<U>,
}

/// ipMasq: the container's traffic leaving its subnets is masqueraded.
/// Nothing without addresses (the ADD fails on that by itself).
fn masquerade<'a>(
    begun: Result<ipmasq::Pending, CniError>,
    plan: &'a Plan,
    args: &'a CmdArgs,
    addresses: Vec<IpNetwork>,
) -> Option<Masqueraded<impl FnOnce() -> Result<(), CniError> + Send + 'a>> {
    if addresses.is_empty() {
        return None;
    }
    let begun = match begun {
        Ok(begun) => begun,
        Err(e) => return Some(Masqueraded { outcome: Err(e), undo: None }),
    };
    let outcome = begun.finish(&addresses, &owner(plan, args));
    Some(Masqueraded { outcome, undo: Some(move || ipmasq::teardown(&addresses, &owner(plan, args))) })
}

/// A layer-2 only container end comes up by itself.
fn container_up(netns: &Netns, ifname: &str) -> Result<(), CniError> {
    netns.with_netlink(|nl| {
        let link = nl.link_by_name(ifname)?.ok_or_else(|| CniError::internal("failed to retrieve link"))?;
        Ok(nl.set_link_up(link.index, true)?)
    })
}

/// The MACs as they are now: the host end once its port is up, and the
/// bridge's (which takes a port's lowest MAC).
fn refresh_macs(
    nl: &Netlink,
    bridge: &Link,
    pair: &VethPair,
    plan: &Plan,
    result: &mut CniResult,
) -> Result<(), CniError> {
    if !plan.conf.bridge.disable_container_interface {
        result.interfaces[1].mac = wait_port_up(nl, pair.host.index)?.mac;
    }
    result.interfaces[0].mac = bridge_by_name(nl, &bridge.name)?.mac;
    Ok(())
}
