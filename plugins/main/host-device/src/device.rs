//! Finding the host device (by name, MAC, kernel path, PCI address or
//! auxiliary device, as the reference does) and moving it into the
//! container and back. The device is renamed in a temporary namespace, so
//! that neither its host name nor the container's name can clash, and its
//! host name is kept in its alias for DEL. Each step is undone when a later
//! one fails.

use std::path::Path;

use cni::netlink::{parse_mac, Link, Netlink};
use cni::netns::Netns;
use cni::CniError;

const SYS_BUS_PCI: &str = "/sys/bus/pci/devices";
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
/// with its host name as alias. On failure it is back here, named and up
/// as it was.
pub fn move_in(nl: &Netlink, device: &Link, container: &Netns, ifname: &str) -> Result<Link, CniError> {
    let host = Netns::current()?;
    let temp = Netns::temporary()?;
    nl.set_netns(device.index, temp.fd())
        .map_err(|e| e.context(format!("failed to move {:?} to a temporary netns", device.name)))?;
    let host_name = device.name.clone();
    let moved = temp.run(|| {
        let nl = Netlink::open()?;
        let link = nl.link_by_name(&host_name)?.ok_or_else(|| {
            CniError::internal(format!("failed to find {host_name:?} in the temporary netns"))
        })?;
        let steps = || -> Result<(), CniError> {
            nl.rename_link(link.index, ifname).map_err(|e| {
                e.context(format!("failed to rename host device {host_name:?} to {ifname:?}"))
            })?;
            nl.set_alias(link.index, &host_name)?;
            nl.set_netns(link.index, container.fd()).map_err(|e| {
                e.context(format!("failed to move {ifname:?} (host: {host_name:?}) to container NS"))
            })
        };
        steps().inspect_err(|_| {
            // Back to how it was, and back to the host.
            let _ = nl.set_alias(link.index, "");
            let _ = nl.rename_link(link.index, &host_name);
            let _ = nl.set_netns(link.index, host.fd());
        })
    });
    let restore_up = |nl: &Netlink| {
        if device.up {
            if let Ok(Some(link)) = nl.link_by_name(&host_name) {
                let _ = nl.set_link_up(link.index, true);
            }
        }
    };
    if let Err(e) = moved {
        restore_up(nl);
        return Err(e);
    }
    let ifname_owned = ifname.to_string();
    let up = container.run(move || {
        let nl = Netlink::open()?;
        let link = nl
            .link_by_name(&ifname_owned)?
            .ok_or_else(|| CniError::internal(format!("failed to find {ifname_owned:?} in container NS")))?;
        nl.set_link_up(link.index, true)
            .map_err(|e| e.context(format!("failed to set {ifname_owned:?} up")))?;
        nl.link_by_index(link.index)?.ok_or_else(|| CniError::internal("device vanished in the container"))
    });
    match up {
        Ok(link) => Ok(link),
        Err(e) => {
            let _ = move_out(container, ifname);
            restore_up(nl);
            Err(e)
        }
    }
}

/// Moves the container's `ifname` back to this namespace under the name in
/// its alias (left down: its earlier state is not known). A missing
/// device is no error.
pub fn move_out(container: &Netns, ifname: &str) -> Result<(), CniError> {
    let host = Netns::current()?;
    let temp = Netns::temporary()?;
    let name = ifname.to_string();
    let found = container.run(|| {
        let nl = Netlink::open()?;
        let Some(link) = nl.link_by_name(&name)? else { return Ok(None) };
        if link.alias.is_empty() {
            return Err(CniError::internal(format!(
                "failed to find original ifname for {name:?} (alias is not set)"
            )));
        }
        nl.set_netns(link.index, temp.fd())
            .map_err(|e| e.context(format!("failed to move {name:?} to a temporary netns")))?;
        Ok(Some(link.alias))
    })?;
    let Some(host_name) = found else { return Ok(()) };
    temp.run(|| {
        let nl = Netlink::open()?;
        let link = nl
            .link_by_name(ifname)?
            .ok_or_else(|| CniError::internal(format!("failed to find {ifname:?} in the temporary netns")))?;
        let steps = || -> Result<(), CniError> {
            nl.rename_link(link.index, &host_name)
                .map_err(|e| e.context(format!("failed to rename device {ifname:?} to {host_name:?}")))?;
            nl.set_alias(link.index, "")?;
            nl.set_netns(link.index, host.fd())
                .map_err(|e| e.context(format!("failed to move {host_name:?} to hostNS")))
        };
        steps().inspect_err(|_| {
            // Back into the container as it was.
            let _ = nl.set_alias(link.index, &host_name);
            let _ = nl.rename_link(link.index, ifname);
            let _ = nl.set_netns(link.index, container.fd());
        })
    })
}
