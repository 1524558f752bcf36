//! Finding the host device (by name, MAC, kernel path, PCI address or
//! auxiliary device, as the reference does) and moving it into the
//! container and back. The device is renamed in a temporary namespace, so
//! that neither its host name nor the container's name can clash, and its
//! host name is kept in its alias for DEL. Each step registers its undo on
//! a `Rollback`, run when a later one fails.

use std::path::Path;

use cni::netlink::{parse_mac, KernelError, Link, Netlink};
use cni::netns::Netns;
use cni::rollback::Rollback;
use cni::CniError;

pub(crate) const SYS_BUS_PCI: &str = "/sys/bus/pci/devices";
const SYS_BUS_AUXILIARY: &str = "/sys/bus/auxiliary/devices";
/// Drivers that hand the device to user space (DPDK): it is not moved.
const USERSPACE_DRIVERS: [&str; 3] = ["vfio-pci", "uio_pci_generic", "igb_uio"];

/// How the netconf names the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `device`: an interface name.
    Name(String),
    /// `hwaddr`: a MAC address.
    Mac([u8; 6]),
    /// `kernelpath`: a /sys/devices path with a `net` directory.
    KernelPath(String),
    /// `pciBusID` (or a PCI runtimeConfig.deviceID).
    Pci(String),
    /// An auxiliary bus device (runtimeConfig.deviceID).
    Auxiliary(String),
}

/// True when the PCI device is bound to a user-space (DPDK) driver.
pub fn has_dpdk_driver(pci: &str) -> Result<bool, CniError> {
    let driver = std::fs::canonicalize(Path::new(SYS_BUS_PCI).join(pci).join("driver"))
        .map_err(|e| CniError::internal(format!("error with host device: driver of {pci}: {e}")))?;
    let name = driver.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(USERSPACE_DRIVERS.contains(&name.as_str()))
}

/// Resolves runtimeConfig.deviceID: a PCI address or an auxiliary device.
pub fn from_device_id(id: &str) -> Result<Selector, CniError> {
    if Path::new(SYS_BUS_PCI).join(id).exists() {
        Ok(Selector::Pci(id.to_string()))
    } else if Path::new(SYS_BUS_AUXILIARY).join(id).exists() {
        Ok(Selector::Auxiliary(id.to_string()))
    } else {
        Err(CniError::config(format!("runtime config DeviceID {id} not found or unsupported")))
    }
}

/// The interface named by the first entry of a sysfs `net` directory.
fn first_in(dir: &Path, nl: &Netlink) -> Result<Link, CniError> {
    let name = std::fs::read_dir(dir)
        .map_err(|e| CniError::internal(format!("failed to read directory {}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .ok_or_else(|| {
            CniError::internal(format!("failed to find network device in path {}", dir.display()))
        })?;
    nl.link_by_name(&name)?
        .ok_or_else(|| CniError::internal(format!("{name} (from {}) not found", dir.display())))
}

/// Finds the host device.
pub fn find(nl: &Netlink, selector: &Selector) -> Result<Link, CniError> {
    let missing = |what: String| CniError::internal(format!("failed to find host device: {what}"));
    match selector {
        Selector::Name(name) => {
            nl.link_by_name(name)?.ok_or_else(|| missing(format!("no link named {name:?}")))
        }
        Selector::Mac(mac) => {
            let wanted = cni::netlink::format_mac(mac);
            nl.links()?
                .into_iter()
                .find(|l| l.mac.as_deref() == Some(wanted.as_str()))
                .ok_or_else(|| missing(format!("no link with MAC {wanted}")))
        }
        Selector::KernelPath(path) => {
            if !path.starts_with("/sys/devices/") {
                return Err(CniError::config(format!(
                    "kernel device path {path:?} must be absolute and begin with /sys/devices/"
                )));
            }
            first_in(&Path::new(path).join("net"), nl)
        }
        Selector::Pci(pci) => {
            let net = Path::new(SYS_BUS_PCI).join(pci).join("net");
            if net.exists() {
                return first_in(&net, nl);
            }
            // virtio devices keep it one level down.
            let virtio = std::fs::read_dir(Path::new(SYS_BUS_PCI).join(pci))
                .ok()
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path().join("net"))
                .find(|p| {
                    p.parent()
                        .and_then(Path::file_name)
                        .is_some_and(|n| n.to_string_lossy().starts_with("virtio"))
                        && p.exists()
                })
                .ok_or_else(|| missing(format!("no net directory under pci device {pci}")))?;
            first_in(&virtio, nl)
        }
        Selector::Auxiliary(aux) => first_in(&Path::new(SYS_BUS_AUXILIARY).join(aux).join("net"), nl),
    }
}

/// Parses `hwaddr`.
pub fn mac_selector(text: &str) -> Result<Selector, CniError> {
    parse_mac(text)
        .map(Selector::Mac)
        .ok_or_else(|| CniError::config(format!("failed to parse MAC address {text:?}")))
}

/// Moves `device` (of this namespace) into `container` as `ifname`, up,
/// with its host name as alias, and registers on `rollback` how to move it
/// back (named and up as it was). A failure on the way undoes the steps
/// done, so the device is back here.
pub fn move_in<'a>(
    device: &Link,
    container: &'a Netns,
    ifname: &'a str,
    rollback: &mut Rollback<'a>,
) -> Result<Link, CniError> {
    let host = Netns::current()?;
    let temp = Netns::temporary()?;
    let (index, host_name, was_up) = (device.index, device.name.clone(), device.up);
    let mut undo = Rollback::new();
    Netlink::open()?
        .set_netns(index, temp.fd())
        .map_err(|e| e.context(format!("failed to move {host_name:?} to a temporary netns")))?;
    undo.push(format!("move {host_name:?} back to the host"), || {
        in_ns(&temp, &|nl| nl.set_netns(index, host.fd()))?;
        bring_up(&host_name, was_up)
    });
    in_ns(&temp, &|nl| nl.rename_link(index, ifname))
        .map_err(|e| e.context(format!("failed to rename host device {host_name:?} to {ifname:?}")))?;
    undo.push(format!("rename {ifname:?} back to {host_name:?}"), || {
        in_ns(&temp, &|nl| nl.rename_link(index, &host_name))
    });
    in_ns(&temp, &|nl| nl.set_alias(index, &host_name))?;
    undo.push(format!("clear the alias of {host_name:?}"), || in_ns(&temp, &|nl| nl.set_alias(index, "")));
    in_ns(&temp, &|nl| nl.set_netns(index, container.fd()))
        .map_err(|e| e.context(format!("failed to move {ifname:?} (host: {host_name:?}) to container NS")))?;
    undo.commit();
    let restored = host_name.clone();
    rollback.push(format!("move {ifname:?} back to the host as {host_name:?}"), move || {
        move_out(container, ifname)?;
        bring_up(&restored, was_up)
    });
    container.with_netlink(|nl| {
        let link = nl
            .link_by_name(ifname)?
            .ok_or_else(|| CniError::internal(format!("failed to find {ifname:?} in container NS")))?;
        nl.set_link_up(link.index, true).map_err(|e| e.context(format!("failed to set {ifname:?} up")))?;
        nl.link_by_index(link.index)?.ok_or_else(|| CniError::internal("device vanished in the container"))
    })
}

/// One kernel request in `netns` (the temporary one of a move).
fn in_ns(netns: &Netns, work: &(dyn Fn(&Netlink) -> Result<(), KernelError> + Sync)) -> Result<(), CniError> {
    netns.with_netlink(|nl| Ok(work(nl)?))
}

/// Sets the host's `name` up again when it was up before the move.
fn bring_up(name: &str, was_up: bool) -> Result<(), CniError> {
    if !was_up {
        return Ok(());
    }
    let nl = Netlink::open()?;
    match nl.link_by_name(name)? {
        Some(link) => Ok(nl.set_link_up(link.index, true)?),
        None => Err(CniError::internal(format!("{name:?} is not back on the host"))),
    }
}

/// Moves the container's `ifname` back to this namespace under the name in
/// its alias (left down: its earlier state is not known). A missing
/// device is no error. A failure on the way puts it back in the container
/// as it was.
pub fn move_out(container: &Netns, ifname: &str) -> Result<(), CniError> {
    let host = Netns::current()?;
    let temp = Netns::temporary()?;
    let found = container.with_netlink(|nl| {
        let Some(link) = nl.link_by_name(ifname)? else { return Ok(None) };
        if link.alias.is_empty() {
            return Err(CniError::internal(format!(
                "failed to find original ifname for {ifname:?} (alias is not set)"
            )));
        }
        nl.set_netns(link.index, temp.fd())
            .map_err(|e| e.context(format!("failed to move {ifname:?} to a temporary netns")))?;
        Ok(Some((link.index, link.alias)))
    })?;
    let Some((index, host_name)) = found else { return Ok(()) };
    let mut undo = Rollback::new();
    undo.push(format!("move {ifname:?} back into the container"), || {
        in_ns(&temp, &|nl| nl.set_netns(index, container.fd()))
    });
    in_ns(&temp, &|nl| nl.rename_link(index, &host_name))
        .map_err(|e| e.context(format!("failed to rename device {ifname:?} to {host_name:?}")))?;
    undo.push(format!("rename {host_name:?} back to {ifname:?}"), || {
        in_ns(&temp, &|nl| nl.rename_link(index, ifname))
    });
    in_ns(&temp, &|nl| nl.set_alias(index, ""))?;
    undo.push(format!("set the alias of {ifname:?} again"), || {
        in_ns(&temp, &|nl| nl.set_alias(index, &host_name))
    });
    in_ns(&temp, &|nl| nl.set_netns(index, host.fd()))
        .map_err(|e| e.context(format!("failed to move {host_name:?} to hostNS")))?;
    undo.commit();
    Ok(())
}
