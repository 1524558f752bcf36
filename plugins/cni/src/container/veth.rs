//! Veth pairs between a container netns and the host.
//!
//! As the reference does: the pair is created from inside the container with
//! the container end named `ifname` and the host end, named `veth` plus
//! eight random hex digits, created directly in the host namespace.
//!
//! Made from the host's side instead (one request, the host end up and on
//! its bridge at once, no entering of the container; tried for issue 26),
//! the frames a container sends just after its end comes up were lost in
//! most ADDs: dhcp's first DISCOVER never reached the server and the ADD
//! took a retransmission (about 1 s) longer. So the pair is made here.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::env::CmdArgs;
use crate::error::CniError;
use crate::netlink::{Link, Netlink, VethSpec};
use crate::netns::Netns;
use crate::result::Interface;
use crate::rollback::{Cleanup, Rollback};
use crate::sysctl;

/// Both ends of a new veth pair.
pub struct VethPair {
    /// The end left in the host namespace (up, accept_ra off).
    pub host: Link,
    /// The end in the container (still down, no addresses).
    pub container: Link,
}

impl VethPair {
    /// The pair as result interfaces: the host end, then the container end
    /// with its sandbox.
    pub fn interfaces(&self, netns_path: &str) -> [Interface; 2] {
        [
            Interface { name: self.host.name.clone(), mac: self.host.mac.clone(), ..Default::default() },
            Interface {
                name: self.container.name.clone(),
                mac: self.container.mac.clone(),
                sandbox: Some(netns_path.to_string()),
                ..Default::default()
            },
        ]
    }
}

/// A random host-side name, `veth` and 8 hex digits.
pub fn random_veth_name() -> Result<String, CniError> {
    let mut bytes = [0u8; 4];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        return Err(CniError::internal("failed to generate random veth name"));
    }
    Ok(format!("veth{:02x}{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2], bytes[3]))
}

/// Creates a veth pair: `ifname` in `netns` (with `mac` if given), the
/// other end in the namespace of the calling thread. `host_nl` is a
/// session in the calling thread's namespace. Deleting the pair again is
/// registered on `rollback`, also when a later step here fails.
pub fn setup_veth<'a>(
    host_nl: &Netlink,
    netns: &'a Netns,
    ifname: &str,
    mtu: u32,
    mac: Option<[u8; 6]>,
    rollback: &mut Rollback<'a>,
) -> Result<VethPair, CniError> {
    let host_ns = File::open("/proc/thread-self/ns/net")
        .map_err(|e| CniError::internal(format!("failed to open the host netns: {e}")))?;
    let host_fd = host_ns.as_raw_fd();
    let (host_name, container) = netns.with_netlink(|nl| {
        for _ in 0..10 {
            let peer = random_veth_name()?;
            let spec = VethSpec { name: ifname, peer: &peer, mtu, mac, peer_netns: host_fd };
            if nl.add_veth(&spec)? {
                let container = nl
                    .link_by_name(ifname)?
                    .ok_or_else(|| CniError::internal(format!("veth {ifname:?} vanished after creation")))?;
                return Ok((peer, container));
            }
            if nl.link_by_name(ifname)?.is_some() {
                return Err(CniError::internal(format!(
                    "container veth name {ifname:?} already exists in {:?}",
                    netns.path()
                )));
            }
        }
        Err(CniError::internal("failed to find a unique veth name"))
    })?;
    let index = container.index;
    rollback.push(format!("delete the new veth pair {ifname}/{host_name}"), move || undo_in(netns, index));
    let mut host = host_nl
        .link_by_name(&host_name)?
        .ok_or_else(|| CniError::internal(format!("host veth {host_name:?} not found after creation")))?;
    host_nl.set_link_up(host.index, true)?;
    // Nothing read later (index, name, MAC) changes by coming up: no second look-up.
    host.up = true;
    let _ = sysctl::write(&format!("net/ipv6/conf/{host_name}/accept_ra"), "0");
    Ok(VethPair { host, container })
}

/// Deletes the container end (and with it the pair) after a failure.
pub fn undo_in(netns: &Netns, index: u32) -> Result<(), CniError> {
    netns.with_netlink(|nl| Ok(nl.delete_link(index)?))
}

/// The DEL of a plugin that made the pair (bridge, ptp): the addresses go
/// back to `ipam_type` (none when empty) beside the deletion of the
/// container end in `args.netns`, as [`crate::ipam::del_beside`] orders
/// them; each failure is a step of `cleanup`. Gives back the container
/// end's addresses (none when it or its netns is gone).
pub fn delete_with_release(
    ipam_type: &str,
    args: &CmdArgs,
    cleanup: &mut Cleanup,
) -> Vec<ipnetwork::IpNetwork> {
    let (released, removed) =
        crate::ipam::del_beside(ipam_type, args, || match crate::netns::for_del(&args.netns)? {
            Some(netns) => delete_in(&netns, &args.ifname),
            None => Ok(Vec::new()),
        });
    cleanup.step(released);
    removed.unwrap_or_else(|e| {
        cleanup.step(Err(e));
        Vec::new()
    })
}

/// Deletes the container interface `ifname` (and with it the pair) and
/// returns its global unicast addresses, as the reference's DEL does; a
/// missing interface is no error.
pub fn delete_in(netns: &Netns, ifname: &str) -> Result<Vec<ipnetwork::IpNetwork>, CniError> {
    netns.with_netlink(|nl| {
        let Some(link) = nl.link_by_name(ifname)? else { return Ok(Vec::new()) };
        let addresses = nl.addresses(link.index)?;
        nl.delete_link(link.index)?;
        Ok(addresses.into_iter().filter(|a| crate::apply::is_global_unicast(a.ip())).collect())
    })
}
