//! The one netlink layer: links, addresses, routes, rules and traffic
//! control over rtnetlink.
//!
//! A `Netlink` owns a current-thread runtime and a route socket opened in
//! the namespace of the thread that creates it. Plugins open one inside
//! `Netns::run` for container-side work and one on their own thread for
//! host-side work. Calls block; nothing async leaks out of this module.

mod addr;
mod link;
mod route;
mod rule;
mod tc;

use rtnetlink::Handle;

use crate::error::CniError;

pub use link::{format_mac, parse_mac, ChildKind, ChildSpec, Link, LinkKind, VethSpec};
pub use route::RouteSpec;
pub use rule::Rule;
pub use tc::{tick_in_usec, Qdisc, Tbf};

/// A blocking netlink session in the current thread's namespace.
pub struct Netlink {
    runtime: tokio::runtime::Runtime,
    handle: Handle,
}

/// A failed netlink request as the error a runtime shows: what was asked,
/// then the kernel's errno as the OS words it (`File exists (os error 17)`),
/// without the crate's "Received a netlink error message" wrapping.
fn nl_error(what: &str, err: rtnetlink::Error) -> CniError {
    match errno(&err) {
        Some(code) => {
            CniError::internal(format!("netlink: {what}: {}", std::io::Error::from_raw_os_error(code)))
        }
        None => CniError::internal(format!("netlink: {what}: {err}")),
    }
}

/// The negative errno a netlink request failed with, if it was a kernel error.
fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| -c.get()),
        _ => None,
    }
}

/// True when a netlink error is "no such device" (ENODEV).
fn is_no_device(err: &rtnetlink::Error) -> bool {
    errno(err) == Some(libc::ENODEV)
}

/// True when a netlink error is "already exists" (EEXIST).
fn is_exists(err: &rtnetlink::Error) -> bool {
    errno(err) == Some(libc::EEXIST)
}

/// True when the thing to delete was not there (ESRCH, ENOENT, EADDRNOTAVAIL, ENODEV).
fn is_gone(err: &rtnetlink::Error) -> bool {
    matches!(errno(err), Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ENODEV))
}

impl Netlink {
    /// Opens a route netlink socket in the calling thread's namespace.
    pub fn open() -> Result<Netlink, CniError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| CniError::internal(format!("netlink: start runtime: {e}")))?;
        let handle = {
            let _guard = runtime.enter();
            let (mut connection, handle, _) = rtnetlink::new_connection()
                .map_err(|e| CniError::internal(format!("netlink: open socket: {e}")))?;
            // Let the kernel filter dumps (addresses of one link) instead of
            // sending every address of the namespace: ADD stays flat as
            // attachments pile up on a bridge.
            use netlink_sys::AsyncSocket;
            let _ = connection.socket_mut().socket_mut().set_netlink_get_strict_chk(true);
            runtime.spawn(connection);
            handle
        };
        Ok(Netlink { runtime, handle })
    }
}
