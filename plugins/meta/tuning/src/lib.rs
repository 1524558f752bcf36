//! `tuning`: a chained plugin that sets sysctls and link settings of the
//! container interface: `sysctl`, `mac`, `promisc`, `mtu`, `allmulti`,
//! `txQLen`. ADD saves the settings it changes and DEL puts them back, in
//! the reference's file format; sysctls are not restored (as the reference).

mod backup;
mod config;
pub use config::KEYS;

use cni::env::CmdArgs;
use cni::netlink::{parse_mac, Netlink};
use cni::netns::{self, Netns};
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};

use config::Config;

/// The tuning plugin.
pub struct Tuning;

fn prev_result(conf: &Config) -> Result<CniResult, CniError> {
    conf.net.chained_result("Required prevResult missing")
}

/// Writes the sysctls, each old value's restoration registered on `rollback`.
fn write_sysctls(conf: &Config, ifname: &str, rollback: &mut Rollback) -> Result<(), CniError> {
    for (key, value) in &conf.sysctl {
        let file = key.file(ifname)?;
        let old =
            std::fs::read_to_string(&file).map_err(|e| CniError::io(format!("failed to read {file}"), e))?;
        std::fs::write(&file, value).map_err(|e| CniError::io(format!("failed to set {file}"), e))?;
        rollback.push(format!("set {file} back to {:?}", old.trim()), move || {
            std::fs::write(&file, old.trim()).map_err(|e| CniError::io(format!("failed to set {file}"), e))
        });
    }
    Ok(())
}

/// The link settings, after saving the old ones; their restoration (and
/// the saved file's removal) registered on `rollback`.
fn apply<'a>(
    nl: &'a Netlink,
    conf: &Config,
    ifname: &'a str,
    backup_file: &'a std::path::Path,
    rollback: &mut Rollback<'a>,
) -> Result<(), CniError> {
    let link =
        nl.link_by_name(ifname)?.ok_or_else(|| CniError::internal(format!("failed to get {ifname:?}")))?;
    if conf.changes_link() {
        backup::save(&link, conf, backup_file)?;
        rollback.push(format!("put back the saved settings of {ifname}"), move || {
            backup::restore(nl, ifname, backup_file)?;
            backup::discard(backup_file)
        });
    }
    if let Some(mac) = &conf.mac {
        let bytes =
            parse_mac(mac).ok_or_else(|| CniError::config(format!("invalid args {mac} for MAC addr")))?;
        nl.set_mac(link.index, &bytes)?;
    }
    if conf.promisc {
        nl.set_promisc(link.index, true)?;
    }
    if conf.mtu != 0 {
        nl.set_mtu(link.index, conf.mtu)?;
    }
    if let Some(on) = conf.allmulti {
        nl.set_allmulti(link.index, on)?;
    }
    if let Some(len) = conf.tx_qlen {
        nl.set_txqlen(link.index, len)?;
    }
    Ok(())
}

impl Plugin for Tuning {
    fn name(&self) -> &'static str {
        "tuning"
    }

    /// ADD's config checks: keys, MAC, and the sysctl allowlist.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        config::check_allowlist(&conf.sysctl, config::ALLOWLIST)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(args)?;
        config::check_allowlist(&conf.sysctl, config::ALLOWLIST)?;
        let mut result = prev_result(&conf)?;
        let netns = Netns::open(&args.netns)?;
        let ifname = args.ifname.as_str();
        let backup_file = backup::path(&conf.data_dir, &args.container_id, ifname);
        netns.with_netlink(|nl| {
            // Made and committed on this thread, inside the netns.
            let mut rollback = Rollback::new();
            write_sysctls(&conf, ifname, &mut rollback)?;
            apply(nl, &conf, ifname, &backup_file, &mut rollback)?;
            rollback.commit();
            Ok(())
        })?;
        if let Some(mac) = &conf.mac {
            for iface in result.interfaces.iter_mut().filter(|i| i.name == ifname) {
                iface.mac = Some(mac.to_lowercase());
            }
        }
        Ok(result)
    }

    /// DEL always cleans: only `dataDir` is read (leniently). The saved
    /// settings go back on the interface while it is there (best effort,
    /// as the reference), and the file is removed in any case, also when
    /// the netns is empty or gone.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let ifname = args.ifname.as_str();
        let backup_file = backup::path(&config::del_data_dir(&args.stdin), &args.container_id, ifname);
        let restored = netns::for_del(&args.netns).and_then(|netns| match netns {
            Some(ns) => ns.with_netlink(|nl| backup::restore(nl, ifname, &backup_file)),
            None => Ok(()),
        });
        if let Err(e) = restored {
            eprintln!("tuning: {}", e.msg);
        }
        backup::discard(&backup_file)
    }

    /// Removes saved settings of attachments that are no longer valid (their
    /// interfaces are gone with their namespaces, so there is nothing to restore).
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        let keep: std::collections::HashSet<String> = conf
            .net
            .valid_attachments
            .iter()
            .map(|a| format!("{}_{}.json", a.container_id, a.ifname))
            .collect();
        let Ok(entries) = std::fs::read_dir(&conf.data_dir) else { return Ok(()) };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            // A killed save's temporary file goes with its attachment.
            let name = file_name.strip_prefix(cni::statefile::TEMP_PREFIX).unwrap_or(&file_name);
            if name.ends_with(".json") && name.contains('_') && !keep.contains(name) {
                std::fs::remove_file(entry.path())
                    .map_err(|e| CniError::io(format!("failed to remove {}", entry.path().display()), e))?;
            }
        }
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(args)?;
        prev_result(&conf)?;
        let netns = Netns::open(&args.netns)?;
        let ifname = args.ifname.as_str();
        netns.run(|| {
            for (key, want) in &conf.sysctl {
                let file = key.file(ifname)?;
                let have = std::fs::read_to_string(&file)
                    .map_err(|e| CniError::io(format!("failed to read {file}"), e))?;
                let have = have.trim_end_matches('\n');
                if have != want {
                    return Err(CniError::internal(format!(
                        "Error: Tuning configured value of {file} is {want}, current value is {have}"
                    )));
                }
            }
            let nl = Netlink::open()?;
            let link = nl
                .link_by_name(ifname)?
                .ok_or_else(|| CniError::internal(format!("Cannot find container link {ifname}")))?;
            let mismatch = |what: &str, want: String, have: String| {
                Err(CniError::internal(format!(
                    "Error: Tuning configured {what} of {ifname} is {want}, current value is {have}"
                )))
            };
            if let Some(mac) = &conf.mac {
                if Some(mac.to_lowercase()) != link.mac {
                    return mismatch("Ethernet", mac.clone(), link.mac.clone().unwrap_or_default());
                }
            }
            if conf.promisc != link.promisc {
                return mismatch("promisc", conf.promisc.to_string(), link.promisc.to_string());
            }
            if conf.mtu != 0 && conf.mtu != link.mtu {
                return mismatch("MTU", conf.mtu.to_string(), link.mtu.to_string());
            }
            if let Some(on) = conf.allmulti {
                if on != link.allmulti {
                    return mismatch("all-multicast mode", on.to_string(), link.allmulti.to_string());
                }
            }
            if let Some(len) = conf.tx_qlen {
                if len != link.txqlen {
                    return mismatch("Transmit Queue Length", len.to_string(), link.txqlen.to_string());
                }
            }
            Ok(())
        })
    }
}
