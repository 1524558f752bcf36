//! `host-device`: moves an existing host interface into the container
//! (chosen by `device`, `hwaddr`, `kernelpath`, `pciBusID` or
//! `runtimeConfig.deviceID`) as `CNI_IFNAME`, with IPAM addresses or none,
//! and moves it back under its own name on DEL. A PCI device bound to a
//! user-space (DPDK) driver is not moved.

mod device;

use cni::checked::{FileName, LinkName, PathUnder};
use cni::conf::{lenient, parse, parse_lenient, NetConf};
use cni::env::{CmdArgs, Command};
use cni::ipam;
use cni::netlink::Netlink;
use cni::netns::{self, Netns};
use cni::result::{null_as_empty, Interface};
use cni::rollback::{Cleanup, Rollback};
use cni::skel::Plugin;
use cni::{interface, CniError, CniResult};
use serde::Deserialize;

use device::Selector;

/// The host-device plugin.
pub struct HostDevice;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["device", "hwaddr", "kernelpath", "pciBusID", "runtimeConfig.deviceID"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConf {
    #[serde(deserialize_with = "null_as_empty")]
    device: String,
    #[serde(deserialize_with = "null_as_empty")]
    hwaddr: String,
    #[serde(deserialize_with = "null_as_empty")]
    kernelpath: String,
    #[serde(rename = "pciBusID", deserialize_with = "null_as_empty")]
    pci_bus_id: String,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: RawRuntimeConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRuntimeConfig {
    #[serde(rename = "deviceID", deserialize_with = "null_as_empty")]
    device_id: String,
}

/// The keys DEL reads (leniently): those that choose a PCI device, to
/// leave one on a user-space driver where it is, as ADD did.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DelKeys {
    #[serde(deserialize_with = "lenient")]
    device: String,
    #[serde(deserialize_with = "lenient")]
    hwaddr: String,
    #[serde(deserialize_with = "lenient")]
    kernelpath: String,
    #[serde(rename = "pciBusID", deserialize_with = "lenient")]
    pci_bus_id: String,
    #[serde(rename = "runtimeConfig", deserialize_with = "lenient")]
    runtime_config: DelRuntimeConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DelRuntimeConfig {
    #[serde(rename = "deviceID", deserialize_with = "lenient")]
    device_id: String,
}

/// Whether ADD's choice of device (the same precedence) is a PCI device
/// on a user-space driver; an unreadable driver counts as no.
fn del_keys_name_dpdk(keys: &DelKeys) -> bool {
    let pci = if !keys.runtime_config.device_id.is_empty() {
        &keys.runtime_config.device_id
    } else if keys.device.is_empty() && keys.hwaddr.is_empty() && keys.kernelpath.is_empty() {
        &keys.pci_bus_id
    } else {
        return false;
    };
    FileName::new("pciBusID", pci).is_ok_and(|pci| device::has_dpdk_driver(&pci).unwrap_or(false))
}

struct Config {
    net: NetConf,
    selector: Selector,
    /// A PCI device on a user-space driver: left where it is.
    dpdk: bool,
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let raw: RawConf = parse(&args.stdin)?;
    // As the reference: the runtime's deviceID stands for `pciBusID` (or
    // an auxiliary device), and must exist even when another key picks the
    // device; `device`, `hwaddr` and `kernelpath` come first.
    // Each key is checked for where it goes: a link name, a file name under
    // /sys/bus/*/devices, a path under /sys/devices.
    let from_device_id = match raw.runtime_config.device_id.as_str() {
        "" => None,
        id => Some(device::from_device_id(&FileName::new("runtimeConfig.deviceID", id)?)?),
    };
    let selector = if !raw.device.is_empty() {
        Selector::Name(LinkName::new("device", &raw.device)?.to_string())
    } else if !raw.hwaddr.is_empty() {
        device::mac_selector(&raw.hwaddr)?
    } else if !raw.kernelpath.is_empty() {
        Selector::KernelPath(PathUnder::new("kernelpath", "/sys/devices/", &raw.kernelpath)?.to_string())
    } else if let Some(selector) = from_device_id {
        selector
    } else if !raw.pci_bus_id.is_empty() {
        Selector::Pci(FileName::new("pciBusID", &raw.pci_bus_id)?.to_string())
    } else {
        return Err(CniError::config(
            "specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\"",
        ));
    };
    let dpdk = match &selector {
        Selector::Pci(pci) => device::has_dpdk_driver(pci)?,
        _ => false,
    };
    Ok(Config { net, selector, dpdk })
}

impl Plugin for HostDevice {
    fn name(&self) -> &'static str {
        "host-device"
    }

    /// ADD's config checks (one device selector, read as ADD reads it) and
    /// the IPAM section's.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        cni::skel::validate_ipam(conf.net.ipam_type(), args)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let container = Netns::open(&args.netns)?;
        let mut interface = Interface {
            name: args.ifname.clone(),
            sandbox: Some(args.netns.clone()),
            ..Interface::default()
        };
        let mut rollback = Rollback::new();
        if !conf.dpdk {
            let host = device::find(&Netlink::open()?, &conf.selector)?;
            let moved = device::move_in(&host, &container, &args.ifname, &mut rollback)
                .map_err(|e| e.context("failed to move link"))?;
            interface.name = moved.name;
            interface.mac = moved.mac;
        }
        let mut result = CniResult { interfaces: vec![interface], ..CniResult::default() };
        if !conf.net.ipam_type().is_empty() {
            let ipam_result = interface::acquire(conf.net.ipam_type(), args, &mut rollback)?;
            result.ips = ipam_result.ips;
            result.routes = ipam_result.routes;
            if conf.dpdk {
                // Not configured here (the device is user space's), but reported as its.
                result.ips.iter_mut().for_each(|ip| ip.interface = Some(0));
            } else {
                interface::apply(args, &container, &mut result, false)?;
            }
            result.dns = conf.net.dns.clone();
        }
        rollback.commit();
        Ok(result)
    }

    /// DEL always cleans: the addresses go back to IPAM also when the
    /// netns is empty or gone (a physical device then is back in the host
    /// already, a virtual one is gone), and only the keys that say whether
    /// the device is user space's are read, leniently.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let mut cleanup = Cleanup::new();
        cleanup.step(ipam::del_if_configured(args));
        match netns::for_del(&args.netns) {
            Ok(Some(container)) if !del_keys_name_dpdk(&parse_lenient(&args.stdin)) => {
                cleanup.step(device::move_out(&container, &args.ifname));
            }
            Ok(_) => {}
            Err(e) => cleanup.step(Err(e)),
        }
        cleanup.finish()
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let container = Netns::open(&args.netns)?;
        if !conf.net.ipam_type().is_empty() {
            ipam::check(conf.net.ipam_type(), args)?;
        }
        let result = conf.net.chained_result("Required prevResult missing")?;
        if conf.dpdk {
            return Ok(());
        }
        interface::check_container(args, &container, &result, |_| Ok(()))
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Gc, args)
    }

    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        ipam::pass_if_configured(Command::Status, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(conf: serde_json::Value) -> CmdArgs {
        CmdArgs {
            command: Command::Add,
            container_id: "c".into(),
            netns: String::new(),
            ifname: "eth0".into(),
            args: String::new(),
            path: String::new(),
            stdin: conf.to_string().into_bytes(),
            config_version: "1.0.0".into(),
        }
    }

    fn conf(keys: serde_json::Value) -> serde_json::Value {
        let mut conf = serde_json::json!({"cniVersion": "1.0.0", "name": "n", "type": "host-device"});
        if let (Some(base), Some(extra)) = (conf.as_object_mut(), keys.as_object()) {
            base.extend(extra.clone());
        }
        conf
    }

    #[test]
    fn device_id_stands_for_pci_bus_id_and_the_device_keys_come_first() {
        let absent =
            conf(serde_json::json!({"device": "eth9", "runtimeConfig": {"deviceID": "0000:ff:1f.7"}}));
        let err = load(&args(absent)).err().map(|e| e.msg).unwrap_or_default();
        assert!(err.contains("DeviceID 0000:ff:1f.7 not found"), "checked even with a device named: {err}");
        // A PCI device of this machine with a driver bound, if it has one.
        let pci = std::fs::read_dir(device::SYS_BUS_PCI)
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.path().join("driver").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned());
        let Some(pci) = pci else { return };
        let named = conf(serde_json::json!({"device": "eth9", "runtimeConfig": {"deviceID": pci}}));
        assert_eq!(load(&args(named)).map(|c| c.selector), Ok(Selector::Name("eth9".into())));
        let by_id = conf(serde_json::json!({"pciBusID": "0000:ff:1f.7", "runtimeConfig": {"deviceID": pci}}));
        assert_eq!(load(&args(by_id)).map(|c| c.selector), Ok(Selector::Pci(pci)));
    }
}

#[cfg(test)]
mod known_keys_tests {
    use super::*;
    use cni::known_keys::{check_against_parser, struct_fields};

    /// KEYS is what the parser reads: a key added to a struct and not to
    /// KEYS (lint would flag it) or the other way round fails here.
    #[test]
    fn known_keys_match_the_parser() {
        let parsed: Vec<(&str, Vec<&'static str>)> = vec![
            ("runtimeConfig", struct_fields::<RawRuntimeConfig>()),
            ("", struct_fields::<RawConf>()),
            ("", struct_fields::<DelKeys>()),
        ];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
