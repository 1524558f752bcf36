//! Making a persistent tap device through /dev/net/tun, with the flags
//! the reference's two ways of making one give it: `ip tuntap add mode tap`
//! (no packet information header) when owner or group is missing, its
//! netlink library (vnet header; no `NO_PI` unless multi-queue) when both
//! are set; optionally multi-queue, owned by a user and group so that an
//! unprivileged VMM can open it. With an SELinux label, the tap is made by
//! `ip` run under that label, as the reference makes it.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;

use cni::netfilter::{find_tool, run_tool};
use cni::CniError;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;

/// What to make.
pub struct TapSpec<'a> {
    /// Its name (at most 15 bytes).
    pub name: &'a str,
    /// Several queues (one file descriptor each).
    pub multi_queue: bool,
    /// The user that may open it.
    pub owner: Option<u32>,
    /// The group that may open it.
    pub group: Option<u32>,
}

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn ioctl(fd: i32, request: libc::c_ulong, arg: libc::c_ulong, what: &str) -> Result<(), CniError> {
    // SAFETY: `fd` is an open /dev/net/tun; `arg` is a value or a pointer to a live IfReq.
    if unsafe { libc::ioctl(fd, request, arg) } < 0 {
        return Err(CniError::internal(format!(
            "failed to create tap: {what}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The TUNSETIFF flags the reference's tap gets: its netlink path (owner
/// and group both given) asks for a vnet header and, unless multi-queue,
/// keeps the packet information header; `ip tuntap add` drops it.
fn flags(spec: &TapSpec) -> libc::c_short {
    let netlink_path = spec.owner.is_some() && spec.group.is_some();
    let mut flags = IFF_TAP | if netlink_path { IFF_VNET_HDR } else { IFF_NO_PI };
    if spec.multi_queue {
        flags |= IFF_MULTI_QUEUE | IFF_NO_PI;
    }
    flags
}

/// Makes the tap in the calling thread's namespace; it stays after the descriptor closes.
pub fn create(spec: &TapSpec) -> Result<(), CniError> {
    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| CniError::internal(format!("failed to create tap: open /dev/net/tun: {e}")))?;
    let fd = tun.as_raw_fd();
    let mut request = IfReq { name: [0; libc::IFNAMSIZ], flags: flags(spec), _pad: [0; 22] };
    let name = spec.name.as_bytes();
    if name.len() >= libc::IFNAMSIZ {
        return Err(CniError::config(format!("tap name {:?} is too long", spec.name)));
    }
    request.name[..name.len()].copy_from_slice(name);
    ioctl(fd, TUNSETIFF, &mut request as *mut IfReq as libc::c_ulong, "TUNSETIFF")?;
    if let Some(owner) = spec.owner {
        ioctl(fd, TUNSETOWNER, owner as libc::c_ulong, "TUNSETOWNER")?;
    }
    if let Some(group) = spec.group {
        ioctl(fd, TUNSETGROUP, group as libc::c_ulong, "TUNSETGROUP")?;
    }
    ioctl(fd, TUNSETPERSIST, 1, "TUNSETPERSIST")
}

/// Where a thread names the SELinux context its next exec runs under.
const EXEC_LABEL: &str = "/proc/thread-self/attr/exec";

/// Makes the tap as the reference does when given `selinuxContext`: sets
/// the calling thread's exec label (on a host without SELinux that write
/// fails, and so does the ADD, as the reference's), then runs `ip tuntap
/// add`, so the tap is made by a process running under the label. Call it
/// on a thread of its own (`Netns::run_on_own_thread`): the label stays on it.
pub fn create_labelled(spec: &TapSpec, label: &str) -> Result<(), CniError> {
    OpenOptions::new()
        .write(true)
        .open(EXEC_LABEL)
        .and_then(|mut file| file.write_all(label.as_bytes()))
        .map_err(|e| CniError::internal(format!("failed set socket label: write {EXEC_LABEL}: {e}")))?;
    let ip =
        find_tool("ip").ok_or_else(|| CniError::internal("failed to run command: ip not found in PATH"))?;
    let (owner, group) = (spec.owner.map(|u| u.to_string()), spec.group.map(|g| g.to_string()));
    let mut args = vec!["tuntap", "add", "mode", "tap", "name", spec.name];
    if spec.multi_queue {
        args.push("multi_queue");
    }
    if let Some(owner) = &owner {
        args.extend(["user", owner]);
    }
    if let Some(group) = &group {
        args.extend(["group", group]);
    }
    let output = run_tool(&ip, &args, "")?;
    if !output.success {
        return Err(CniError::internal(format!(
            "failed to run command {}: ip {}",
            output.stderr,
            args.join(" ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(multi_queue: bool, owner: Option<u32>, group: Option<u32>) -> TapSpec<'static> {
        TapSpec { name: "tap0", multi_queue, owner, group }
    }

    #[test]
    fn flags_are_those_of_the_references_path_for_the_config() {
        // `ip tuntap add`: no packet information.
        assert_eq!(flags(&spec(false, None, None)), IFF_TAP | IFF_NO_PI);
        assert_eq!(flags(&spec(false, Some(1000), None)), IFF_TAP | IFF_NO_PI);
        assert_eq!(flags(&spec(true, None, Some(1000))), IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE);
        // Its netlink library: a vnet header, NO_PI only with multi-queue.
        assert_eq!(flags(&spec(false, Some(1000), Some(1000))), IFF_TAP | IFF_VNET_HDR);
        assert_eq!(
            flags(&spec(true, Some(0), Some(0))),
            IFF_TAP | IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_NO_PI
        );
    }
}
