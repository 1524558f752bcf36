//! `bandwidth`: a chained plugin that limits a container's traffic with
//! token buckets, as the reference does: ingress (into the container) by a
//! tbf qdisc on the host end of its veth; egress by redirecting what the
//! host end receives to an ifb device `bwp<hash>` that has the tbf. DEL
//! removes the ifb; the host end's qdiscs go with the veth.

mod config;
pub use config::KEYS;

pub use config::Limits;

use cni::env::CmdArgs;
use cni::netfilter::hash_with_prefix;
use cni::netlink::{Link, LinkKind, Netlink, Tbf};
use cni::netns::Netns;
use cni::result::Interface;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};

/// The bandwidth plugin.
pub struct Bandwidth;

/// The limits an ADD of the netconf in `args` would program, read and
/// checked as ADD reads them (`None` when nothing is limited): with
/// [`Limits::ingress`] and [`Limits::egress`], the very buckets ADD makes,
/// for cnictl's plan of an ADD.
pub fn planned_limits(args: &CmdArgs) -> Result<Option<Limits>, CniError> {
    Ok(config::load(args)?.limits.filter(|l| !l.is_zero()))
}

/// The ifb device of an attachment: `bwp` + hash of network and container, 15 characters.
pub fn ifb_name(network: &str, container_id: &str) -> String {
    hash_with_prefix(15, "bwp", &format!("{network}{container_id}"))
}

/// The host end of the container interface's veth, which must be one of
/// the result's host-side interfaces.
fn host_interface(nl: &Netlink, result: &CniResult, args: &CmdArgs) -> Result<Link, CniError> {
    if result.interfaces.is_empty() {
        return Err(CniError::internal("no interfaces provided"));
    }
    let ifname = args.ifname.clone();
    let peer = Netns::open(&args.netns)?.with_netlink(move |nl| Ok(nl.link_by_name(&ifname)?))?;
    let Some(peer_index) = peer.and_then(|link| link.peer_index).filter(|i| *i > 0) else {
        return Err(CniError::internal(format!("container interface {} has no veth peer", args.ifname)));
    };
    let link = nl
        .link_by_index(peer_index)?
        .ok_or_else(|| CniError::internal(format!("veth peer with index {peer_index} is not in host ns")))?;
    if result
        .interfaces
        .iter()
        .any(|i| i.sandbox.as_deref().unwrap_or_default().is_empty() && i.name == link.name)
    {
        Ok(link)
    } else {
        Err(CniError::internal("no veth peer of container interface found in host ns"))
    }
}

fn prev_result(conf: &config::Config) -> Result<CniResult, CniError> {
    conf.net.chained_result("must be called as chained plugin")
}

/// Egress limiting, as the reference does it: an ifb named for the
/// attachment, everything the host end receives redirected to it (an
/// ingress qdisc and a filter on the host end), and the tbf on the ifb.
/// Each step registers its undo on `rollback`.
fn limit_egress<'a>(
    nl: &'a Netlink,
    host: &Link,
    ifb: &str,
    tbf: &Tbf,
    rollback: &mut Rollback<'a>,
) -> Result<Link, CniError> {
    if !nl.add_ifb(ifb, host.mtu)? {
        return Err(CniError::internal(format!("adding link: ifb {ifb} already exists")));
    }
    let device = nl
        .link_by_name(ifb)?
        .ok_or_else(|| CniError::internal(format!("get ifb device: {ifb} not found")))?;
    let ifb_index = device.index;
    rollback.push(format!("delete ifb {ifb}"), move || Ok(nl.delete_link(ifb_index)?));
    nl.add_ingress_qdisc(host.index).map_err(|e| e.context("create ingress qdisc"))?;
    let host_index = host.index;
    rollback.push(format!("delete the ingress qdisc of {}", host.name), move || {
        Ok(nl.delete_qdisc(host_index, true)?)
    });
    nl.add_redirect_filter(host.index, device.index).map_err(|e| e.context("add filter"))?;
    nl.add_tbf(device.index, tbf).map_err(|e| e.context("create ifb qdisc"))?;
    Ok(device)
}

/// CHECK of one link: a tbf with the expected settings.
fn check_bucket(nl: &Netlink, link: &Link, wanted: &Tbf) -> Result<(), CniError> {
    let qdiscs = nl.qdiscs(link.index)?;
    let Some(found) = qdiscs.iter().find_map(|q| q.tbf) else {
        return Err(CniError::internal(format!("Failed to find qdisc on {}", link.name)));
    };
    let what = match () {
        _ if found.rate != wanted.rate => "Rate",
        _ if found.limit != wanted.limit => "Limit",
        _ if found.buffer != wanted.buffer => "Buffer",
        _ => return Ok(()),
    };
    Err(CniError::internal(format!("{what} doesn't match on {}", link.name)))
}

impl Plugin for Bandwidth {
    fn name(&self) -> &'static str {
        "bandwidth"
    }

    /// ADD's config checks: the rates and bursts.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        config::load(args).map(|_| ())
    }

    fn versions(&self) -> &'static [&'static str] {
        &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        let limits = match conf.limits {
            Some(limits) if !limits.is_zero() => limits,
            _ => return Ok(conf.net.prev_result()?.unwrap_or_default()),
        };
        let mut result = prev_result(&conf)?;
        let nl = &Netlink::open()?;
        let host = host_interface(nl, &result, args)?;
        let mut rollback = Rollback::new();
        if let Some(tbf) = limits.ingress() {
            nl.add_tbf(host.index, &tbf)?;
            let index = host.index;
            rollback.push(format!("delete the tbf qdisc of {}", host.name), move || {
                Ok(nl.delete_qdisc(index, false)?)
            });
        }
        if let Some(tbf) = limits.egress() {
            let ifb = ifb_name(&conf.net.name, &args.container_id);
            let device = limit_egress(nl, &host, &ifb, &tbf, &mut rollback)?;
            result.interfaces.push(Interface { name: ifb, mac: device.mac, ..Interface::default() });
        }
        rollback.commit();
        Ok(result)
    }

    /// DEL always cleans: the ifb is named by network and container alone,
    /// so no limit is read (bad rates cannot fail it) and the netns is not
    /// needed (the host end's qdiscs went with its veth).
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let net = cni::conf::DelConf::load(&args.stdin);
        let nl = Netlink::open()?;
        match nl.link_by_name(&ifb_name(&net.name, &args.container_id))? {
            Some(device) => Ok(nl.delete_link(device.index)?),
            None => Ok(()),
        }
    }

    /// GC: removes the ifb devices that serve no link any more (no ingress
    /// filter of any link redirects to them: their container's veth went
    /// with its netns) and are not a valid attachment's of this network.
    /// An ifb's name is a hash of network and container, so one of another
    /// network is told only by the redirect that still feeds it.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = cni::conf::DelConf::load(&args.stdin);
        let keep: std::collections::HashSet<String> =
            conf.valid_attachments.iter().map(|a| ifb_name(&conf.name, &a.container_id)).collect();
        let nl = Netlink::open()?;
        let links = nl.links()?;
        let mut fed = std::collections::HashSet::new();
        for link in links.iter().filter(|l| !l.name.starts_with("bwp")) {
            fed.extend(nl.redirect_targets(link.index)?);
        }
        let mut cleanup = cni::rollback::Cleanup::new();
        for ifb in
            links.iter().filter(|l| l.name.starts_with("bwp") && l.kind == LinkKind::Other("ifb".into()))
        {
            if !keep.contains(&ifb.name) && !fed.contains(&ifb.index) {
                cleanup.step(nl.delete_link(ifb.index).map_err(CniError::from));
            }
        }
        cleanup.finish()
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let result = conf.net.chained_result("must be called as a chained plugin")?;
        let nl = Netlink::open()?;
        let host = host_interface(&nl, &result, args)?;
        let Some(limits) = conf.limits.filter(|l| !l.is_zero()) else { return Ok(()) };
        if let Some(tbf) = limits.ingress() {
            check_bucket(&nl, &host, &tbf)?;
        }
        if let Some(tbf) = limits.egress() {
            let ifb = ifb_name(&conf.net.name, &args.container_id);
            let device = nl
                .link_by_name(&ifb)?
                .ok_or_else(|| CniError::internal(format!("get ifb device: {ifb} not found")))?;
            check_bucket(&nl, &device, &tbf)?;
        }
        Ok(())
    }
}
