//! Network namespaces: naming them (iproute2 names or paths), making and
//! removing named ones, and running commands inside them.
//!
//! A NETNS argument with a `/` is a path; a bare name is
//! `/var/run/netns/<name>` as `ip netns` creates them (or a file of that
//! name in the current directory, as cnitool would take it).

pub mod exec;
pub mod identity;
pub mod manage;

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};

/// Where iproute2 keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/var/run/netns";

/// Resolves a NETNS argument to an absolute path.
pub fn resolve(arg: &str) -> Result<String> {
    let path = if arg.contains('/') {
        Path::new(arg).to_path_buf()
    } else {
        let named = Path::new(NETNS_RUN_DIR).join(arg);
        if !named.exists() && Path::new(arg).exists() {
            Path::new(arg).to_path_buf()
        } else {
            named
        }
    };
    let absolute = std::path::absolute(&path).wrap_err_with(|| format!("bad netns path {arg:?}"))?;
    Ok(absolute.display().to_string())
}

/// The container ID cnitool derives from a netns path, so that cnictl and
/// cnitool undo each other's attachments: `cnitool-` and the first ten
/// bytes of the path's SHA-512 in hex.
pub fn cnitool_container_id(netns_path: &str) -> String {
    use sha2::{Digest, Sha512};
    let digest = Sha512::digest(netns_path.as_bytes());
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("cnitool-{hex}")
}

/// Whether the netns at `netns` has an interface named `ifname`: asked
/// on a thread of its own that enters the namespace (setns is per thread)
/// and ends. A netns that cannot be entered is an error.
pub fn has_interface(netns: &Path, ifname: &str) -> Result<bool> {
    let file = manage::open(netns)?;
    let name = std::ffi::CString::new(ifname).wrap_err_with(|| format!("bad interface name {ifname:?}"))?;
    let shown = netns.display().to_string();
    std::thread::spawn(move || -> Result<bool> {
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .wrap_err_with(|| format!("failed to enter netns {shown}"))?;
        // SAFETY: a NUL-terminated name; if_nametoindex only reads it.
        Ok(unsafe { libc::if_nametoindex(name.as_ptr()) } != 0)
    })
    .join()
    .unwrap_or_else(|_| Ok(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(resolve("blue").unwrap(), "/var/run/netns/blue");
        assert_eq!(resolve("/proc/1/ns/net").unwrap(), "/proc/1/ns/net");
        let id = cnitool_container_id("/var/run/netns/blue");
        assert_eq!(id.len(), "cnitool-".len() + 20);
        assert!(id.starts_with("cnitool-"));
    }
}
