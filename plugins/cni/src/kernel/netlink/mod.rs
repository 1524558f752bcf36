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

pub use crate::kernel::error::KernelError;
pub use addr::DadState;
pub use link::{
    format_mac, parse_mac, ChildKind, ChildSpec, IpvlanMode, Link, LinkKind, MacvlanMode, PortFlags,
    VethSpec, VlanMembership,
};
pub use route::RouteSpec;
pub use rule::Rule;
pub use tc::{ingress_qdisc_request, redirect_filter_request, tbf_request, tick_in_usec, Qdisc, Tbf};

/// A blocking netlink session in the current thread's namespace.
pub struct Netlink {
    runtime: tokio::runtime::Runtime,
    handle: Handle,
}

/// A failed netlink request as the error a runtime shows: what was asked,
/// then the kernel's errno as the OS words it (`File exists (os error 17)`),
/// without the crate's "Received a netlink error message" wrapping.
fn nl_error(what: &str, err: rtnetlink::Error) -> KernelError {
    match errno(&err) {
        Some(code) => KernelError::os(format!("netlink: {what}"), code),
        None => KernelError::other(format!("netlink: {what}: {err}")),
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

/// How long one request or dump may take. The kernel answers in
/// milliseconds, even under RTNL contention; a request it dropped (one
/// too large, say) is never answered, and without a limit the plugin
/// would wait forever.
const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The error of a request that got no answer within [`REQUEST_LIMIT`],
/// in either of the error types requests end with.
trait TimedOut {
    fn timed_out() -> Self;
}

impl TimedOut for rtnetlink::Error {
    fn timed_out() -> Self {
        let mut msg = rtnetlink::packet_core::ErrorMessage::default();
        msg.code = std::num::NonZeroI32::new(-libc::ETIMEDOUT);
        rtnetlink::Error::NetlinkError(msg)
    }
}

impl TimedOut for KernelError {
    fn timed_out() -> Self {
        nl_error("request", rtnetlink::Error::timed_out())
    }
}

impl Netlink {
    /// Runs one request (or dump) to its end, within [`REQUEST_LIMIT`].
    fn block<T, E: TimedOut>(
        &self,
        request: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.block_within(REQUEST_LIMIT, request)
    }

    fn block_within<T, E: TimedOut>(
        &self,
        limit: std::time::Duration,
        request: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.runtime.block_on(async {
            tokio::time::timeout(limit, request).await.unwrap_or_else(|_| Err(E::timed_out()))
        })
    }

    /// Opens a route netlink socket in the calling thread's namespace.
    pub fn open() -> Result<Netlink, KernelError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| KernelError::other(format!("netlink: start runtime: {e}")))?;
        let handle = {
            let _guard = runtime.enter();
            let (mut connection, handle, _) = rtnetlink::new_connection()
                .map_err(|e| KernelError::other(format!("netlink: open socket: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_an_answer_ends_in_a_timeout() {
        let nl = Netlink::open().unwrap();
        let never = std::future::pending::<Result<(), KernelError>>();
        let err = nl.block_within(std::time::Duration::from_millis(50), never).unwrap_err();
        assert!(err.msg().contains("timed out"), "{err}");
    }
}
