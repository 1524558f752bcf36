//! `bridge`: puts the container on a Linux bridge through a veth pair.
//!
//! ADD makes the bridge if needed (a concurrent ADD that loses the race to
//! create it simply uses it), makes the veth pair, enslaves the host end,
//! applies port flags and VLANs, runs IPAM, configures the container end,
//! gives the bridge its gateway addresses and sets up masquerading. Every
//! step registers its undo, so a failing ADD leaves nothing behind except
//! the shared bridge. Keys, names and kernel state follow the reference.

mod add;
mod check;
pub mod config;
pub use config::KEYS;
mod gateways;

use std::time::Duration;

use cni::env::CmdArgs;
use cni::ipam;
use cni::ipmasq::{self, Backend, Owner};
use cni::netlink::{Link, LinkKind, Netlink, PortFlags, VlanMembership};
use cni::netns::Netns;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::veth::setup_veth;
use cni::{spoofcheck, sysctl, CniError, CniResult};
use ipnetwork::IpNetwork;

use config::Config;

/// The bridge plugin.
pub struct Bridge;

impl Plugin for Bridge {
    fn name(&self) -> &'static str {
        "bridge"
    }

    /// The config checks of ADD (keys, VLANs, MAC, combinations, a named
    /// masquerade backend) and the IPAM section's, without the bridge.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        config::check_combinations(&conf)?;
        if conf.bridge.ip_masq {
            if let Some(named) = conf.bridge.ip_masq_backend.as_deref() {
                Backend::choose(Some(named))?;
            }
        }
        cni::skel::validate_ipam(conf.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        add::add(args)
    }

    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        del(args)
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        check::check(args)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        if !conf.ipam_type().is_empty() {
            ipam::gc(conf.ipam_type(), args)?;
        }
        if conf.bridge.ip_masq {
            ipmasq::gc(&conf.net.name, &conf.net.valid_attachments)?;
        }
        Ok(())
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        if conf.ipam_type().is_empty() {
            return Ok(());
        }
        ipam::status(conf.ipam_type(), args)
    }
}

/// Makes the bridge if it is missing, checks an existing one is a bridge, and sets it up.
fn ensure_bridge(nl: &Netlink, conf: &Config) -> Result<Link, CniError> {
    let name = &conf.bridge.bridge;
    let vlan_filtering = conf.vlan != 0 || conf.bridge.vlan_trunk.is_some();
    // Every ADD but a network's first finds the bridge: look first, and
    // make it only when missing (one request instead of a refused
    // creation and a look-up). A bridge made meanwhile by a parallel ADD
    // is EEXIST there, which add_bridge takes as done.
    let bridge = match nl.link_by_name(name)? {
        Some(link) => as_bridge(link, name)?,
        None => {
            nl.add_bridge(name, conf.bridge.mtu, vlan_filtering)
                .map_err(|e| e.context(format!("failed to create bridge {name:?}")))?;
            bridge_by_name(nl, name)?
        }
    };
    if conf.bridge.promisc_mode && !bridge.promisc {
        nl.set_promisc(bridge.index, true)?;
    }
    let _ = sysctl::write(&format!("net/ipv6/conf/{name}/accept_ra"), "0");
    if !bridge.up {
        nl.set_link_up(bridge.index, true)?;
    }
    Ok(bridge)
}

fn bridge_by_name(nl: &Netlink, name: &str) -> Result<Link, CniError> {
    let link =
        nl.link_by_name(name)?.ok_or_else(|| CniError::internal(format!("could not lookup {name:?}")))?;
    as_bridge(link, name)
}

/// The link named `name`, which must be a bridge.
fn as_bridge(link: Link, name: &str) -> Result<Link, CniError> {
    if link.kind != LinkKind::Bridge {
        return Err(CniError::internal(format!("{name:?} already exists but is not a bridge")));
    }
    Ok(link)
}

/// How a host end joins the bridge.
struct PortSpec<'a> {
    flags: PortFlags,
    vlan: u16,
    trunk: &'a [u16],
    preserve_default_vlan: bool,
}

impl Config {
    fn port(&self) -> PortSpec<'_> {
        PortSpec {
            flags: PortFlags { hairpin: self.bridge.hairpin_mode, isolated: self.bridge.port_isolation },
            vlan: self.vlan,
            trunk: &self.trunk,
            preserve_default_vlan: self.bridge.preserve_default_vlan,
        }
    }
}

/// Enslaves the host end and applies hairpin, isolation and VLANs.
fn attach_port(nl: &Netlink, host: &Link, bridge: &Link, conf: &PortSpec) -> Result<(), CniError> {
    nl.set_master(host.index, bridge.index)
        .map_err(|e| e.context(format!("failed to connect {:?} to bridge {:?}", host.name, bridge.name)))?;
    if conf.flags != PortFlags::default() {
        nl.set_bridge_port(host.index, conf.flags)?;
    }
    let trunked = !conf.trunk.is_empty();
    if (conf.vlan != 0 || trunked) && !conf.preserve_default_vlan {
        for vid in nl.bridge_vlans(host.index)? {
            nl.bridge_vlan_del(host.index, vid)?;
        }
    }
    if conf.vlan != 0 {
        nl.bridge_vlan_add(host.index, conf.vlan, VlanMembership::Access)?;
    }
    for vid in conf.trunk {
        nl.bridge_vlan_add(host.index, *vid, VlanMembership::Tagged)?;
    }
    if conf.vlan == 0 && trunked {
        // The reference's native VLAN for a trunk without an access VLAN.
        nl.bridge_vlan_add(host.index, 1, VlanMembership::Access)?;
    }
    Ok(())
}

/// Puts a gateway address on the bridge (or its VLAN interface), replacing
/// a conflicting one only with `forceAddress`.
fn ensure_address(nl: &Netlink, link: &Link, gateway: IpNetwork, force: bool) -> Result<(), CniError> {
    for present in nl.addresses(link.index)? {
        if present == gateway {
            return Ok(());
        }
        let conflicts = gateway.is_ipv4() == present.is_ipv4()
            && (gateway.is_ipv4() || present.contains(gateway.ip()) || gateway.contains(present.ip()));
        if conflicts {
            if force {
                nl.del_address(link.index, present)?;
            } else {
                return Err(CniError::internal(format!(
                    "{:?} already has an IP address different from {gateway}",
                    link.name
                )));
            }
        }
    }
    if nl.add_address(link.index, gateway)? {
        // Pin the bridge's MAC so it does not follow its lowest-numbered
        // port. A bridge whose ports all went (a failed first ADD) has the
        // zero MAC, which cannot be set: take the one it has now that this
        // ADD's port is on it, or leave it to follow its ports.
        let now = nl.link_by_index(link.index)?.and_then(|l| l.mac);
        let usable = |mac: Option<&str>| mac.and_then(cni::netlink::parse_mac).filter(|m| *m != [0u8; 6]);
        if let Some(mac) = usable(link.mac.as_deref()).or_else(|| usable(now.as_deref())) {
            nl.set_mac(link.index, &mac)?;
        }
    }
    Ok(())
}

/// The reference's VLAN gateway interface `<bridge>.<vlan>`: a veth in the
/// host whose one end is an access port of the bridge.
fn ensure_vlan_interface(nl: &Netlink, bridge: &Link, conf: &Config) -> Result<Link, CniError> {
    let name = format!("{}.{}", bridge.name, conf.vlan);
    if let Some(link) = nl.link_by_name(&name)? {
        return Ok(link);
    }
    let host_ns = Netns::open("/proc/thread-self/ns/net")?;
    let mut rollback = Rollback::new();
    let pair = setup_veth(nl, &host_ns, &name, bridge.mtu, None, &mut rollback)?;
    let port = PortSpec {
        flags: PortFlags::default(),
        vlan: conf.vlan,
        trunk: &[],
        preserve_default_vlan: conf.bridge.preserve_default_vlan,
    };
    attach_port(nl, &pair.host, bridge, &port)?;
    nl.set_link_up(pair.container.index, true)?;
    let link =
        nl.link_by_name(&name)?.ok_or_else(|| CniError::internal(format!("failed to lookup {name:?}")))?;
    // Shared by the bridge's containers from now on, as the bridge is: a
    // later failure of this ADD leaves it.
    rollback.commit();
    Ok(link)
}

/// Waits for the host end to be operationally up, as the reference does.
fn wait_port_up(nl: &Netlink, index: u32) -> Result<Link, CniError> {
    for (attempt, sleep_ms) in [0u64, 50, 500, 1000, 1000].into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(sleep_ms));
        let link = nl.link_by_index(index)?.ok_or_else(|| CniError::internal("host veth vanished"))?;
        if link.oper_up || attempt == 4 {
            if !link.oper_up {
                return Err(CniError::internal(format!("bridge port in error state: {:?}", link.name)));
            }
            return Ok(link);
        }
    }
    Err(CniError::internal("bridge port never came up"))
}

/// DEL always cleans: only the lenient DEL keys are read, and every step
/// runs whatever the others do. With the netns empty or gone (its veth
/// went with it) the addresses still come back from IPAM and the
/// masquerade and spoof-check rules, which live in the host, still go.
fn del(args: &CmdArgs) -> Result<(), CniError> {
    let conf = config::load_del(args);
    let ipam_type = conf.net.ipam_type();
    let layer3 = !ipam_type.is_empty();
    let owner = Owner { network: &conf.net.name, ifname: &args.ifname, container_id: &args.container_id };
    let masq = layer3 && conf.ip_masq;
    // The masquerade and spoof-check rules go on a thread of their own
    // while the link goes away: both wait for kernel RCU grace periods (and
    // iptables for its tools), so they overlap. The iptables half needs
    // only the families, which the cached result gives; with none it looks
    // at both, each only where the attachment's chain exists.
    let netfilter = || {
        let mut cleanup = cni::rollback::Cleanup::new();
        if conf.mac_spoof_check {
            // Rules that exist and stay fail the DEL (the reference only
            // prints it, and leaks them); without nf_tables there are none.
            match spoofcheck::teardown(&spoofcheck::ref_id(&args.container_id, &args.ifname)) {
                Err(e) if cni::netfilter::nftnl::available() => cleanup.step(Err(e)),
                _ => {}
            }
        }
        if masq {
            cleanup.step(ipmasq::teardown_nftables(&owner));
            cleanup.step(ipmasq::teardown_iptables(&conf.net.prev_addresses(), &owner));
        }
        cleanup.finish()
    };
    let rest = || -> Result<(), CniError> {
        let mut cleanup = cni::rollback::Cleanup::new();
        cni::veth::delete_with_release(ipam_type, args, &mut cleanup);
        cleanup.finish()
    };
    cni::overlap::both(netfilter, rest)
}
