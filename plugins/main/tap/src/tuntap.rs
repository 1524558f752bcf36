//! Making a persistent tap device through /dev/net/tun, as `ip tuntap add
//! mode tap` does: no packet information header, optionally multi-queue,
//! owned by a user and group so that an unprivileged VMM can open it.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;

use cni::CniError;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const IFF_NO_PI: libc::c_short = 0x1000;

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

/// Makes the tap in the calling thread's namespace; it stays after the descriptor closes.
pub fn create(spec: &TapSpec) -> Result<(), CniError> {
    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| CniError::internal(format!("failed to create tap: open /dev/net/tun: {e}")))?;
    let fd = tun.as_raw_fd();
    let mut request = IfReq { name: [0; libc::IFNAMSIZ], flags: IFF_TAP | IFF_NO_PI, _pad: [0; 22] };
    if spec.multi_queue {
        request.flags |= IFF_MULTI_QUEUE;
    }
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
