//! The link settings an ADD changed, saved for DEL to put back, in the
//! reference's file (`<dataDir>/<containerID>_<ifname>.json`) and format,
//! so either implementation restores what the other saved.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use cni::netlink::{parse_mac, Link, Netlink};
use cni::CniError;
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The saved values (only those the ADD changes).
#[derive(Serialize, Deserialize, Default, Debug, PartialEq, Eq)]
pub struct Saved {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    promisc: Option<bool>,
    #[serde(default, skip_serializing_if = "is_zero")]
    mtu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allmulti: Option<bool>,
    #[serde(rename = "txQLen", default, skip_serializing_if = "Option::is_none")]
    tx_qlen: Option<u32>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Where an attachment's saved settings live.
pub fn path(data_dir: &str, container_id: &str, ifname: &str) -> PathBuf {
    PathBuf::from(data_dir).join(format!("{container_id}_{ifname}.json"))
}

/// Saves the current values of what `conf` is about to change.
pub fn save(link: &Link, conf: &Config, file: &Path) -> Result<(), CniError> {
    let saved = Saved {
        mac: if conf.mac.is_some() { link.mac.clone().unwrap_or_default() } else { String::new() },
        promisc: conf.promisc.then_some(link.promisc),
        mtu: if conf.mtu != 0 { link.mtu } else { 0 },
        allmulti: conf.allmulti.map(|_| link.allmulti),
        tx_qlen: conf.tx_qlen.map(|_| link.txqlen),
    };
    let dir = file.parent().unwrap_or(Path::new("/"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CniError::io(format!("failed to create backup directory {}", dir.display()), e))?;
    let text = serde_json::to_string_pretty(&saved).map_err(|e| CniError::internal(e.to_string()))?;
    cni::statefile::write(file, text.as_bytes(), 0o600)
        .map_err(|e| CniError::io(format!("failed to save {}", file.display()), e))
}

/// Puts saved values back on `ifname` (inside its netns); nothing saved
/// or no interface is no error, and neither is a file that cannot be read
/// (truncated by a kill, a symlink, not JSON): that is reported on stderr
/// and the file stays for [`discard`], which DEL always runs.
pub fn restore(nl: &Netlink, ifname: &str, file: &Path) -> Result<(), CniError> {
    let saved = match cni::statefile::read(file) {
        Ok(None) => return Ok(()),
        Ok(Some(text)) => cni::gojson::from_slice::<Saved>(&text).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let saved = match saved {
        Ok(saved) => saved,
        Err(e) => {
            eprintln!("tuning: discarding unreadable saved settings {}: {e}", file.display());
            return Ok(());
        }
    };
    let Some(link) = nl.link_by_name(ifname)? else { return Ok(()) };
    let mut errors = Vec::new();
    if saved.mtu != 0 {
        if let Err(e) = nl.set_mtu(link.index, saved.mtu) {
            errors.push(format!("failed to restore MTU: {e}"));
        }
    }
    if !saved.mac.is_empty() {
        match parse_mac(&saved.mac) {
            Some(mac) => {
                if let Err(e) = nl.set_mac(link.index, &mac) {
                    errors.push(format!("failed to restore MAC address: {e}"));
                }
            }
            None => errors.push(format!("failed to restore MAC address: bad address {:?}", saved.mac)),
        }
    }
    if let Some(on) = saved.promisc {
        if let Err(e) = nl.set_promisc(link.index, on) {
            errors.push(format!("failed to restore promiscuous mode: {e}"));
        }
    }
    if let Some(on) = saved.allmulti {
        if let Err(e) = nl.set_allmulti(link.index, on) {
            errors.push(format!("failed to restore all-multicast mode: {e}"));
        }
    }
    if let Some(len) = saved.tx_qlen {
        if let Err(e) = nl.set_txqlen(link.index, len) {
            errors.push(format!("failed to restore transmit queue length: {e}"));
        }
    }
    if !errors.is_empty() {
        return Err(CniError::internal(errors.join("; ")));
    }
    Ok(())
}

/// Removes an attachment's saved settings; none saved is no error. DEL
/// always does, whether or not they could be put back (the interface may
/// be gone with its netns): the attachment is over and the file would leak.
pub fn discard(file: &Path) -> Result<(), CniError> {
    cni::statefile::remove(file)
        .map_err(|e| CniError::io(format!("failed to remove file {}", file.display()), e))
}
