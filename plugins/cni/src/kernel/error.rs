//! The error of the kernel layer (netlink, nftables, conntrack): what was
//! attempted and the errno the kernel answered, so callers ask what
//! happened (`is_exists`, `is_gone`, `is_unsupported`) instead of reading
//! message text. It becomes a spec error once, at the plugin boundary
//! (`From<KernelError> for CniError`), worded as before: `netlink: add
//! route ...: File exists (os error 17)`.

use std::fmt;

use crate::error::CniError;

/// A failed kernel request, or input refused before it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    msg: String,
    errno: Option<i32>,
    /// Refused as bad input (a name the kernel could never hold): a config
    /// error for the runtime, not an internal one.
    invalid: bool,
}

impl KernelError {
    /// The kernel refused `what` with `errno` (positive).
    pub fn os(what: impl fmt::Display, errno: i32) -> KernelError {
        let words = std::io::Error::from_raw_os_error(errno);
        KernelError { msg: format!("{what}: {words}"), errno: Some(errno), invalid: false }
    }

    /// A failure without an errno (a socket that could not open, an answer
    /// that could not be read).
    pub fn other(msg: impl Into<String>) -> KernelError {
        KernelError { msg: msg.into(), errno: None, invalid: false }
    }

    /// Input refused before it reached the kernel.
    pub fn invalid(msg: impl Into<String>) -> KernelError {
        KernelError { msg: msg.into(), errno: None, invalid: true }
    }

    /// The errno, when the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }

    /// The message, as the plugin's error will say it.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// EEXIST: what was to be made is there already.
    pub fn is_exists(&self) -> bool {
        self.errno == Some(libc::EEXIST)
    }

    /// What was to be changed or deleted is not there (ESRCH, ENOENT,
    /// EADDRNOTAVAIL, ENODEV).
    pub fn is_gone(&self) -> bool {
        matches!(self.errno, Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ENODEV))
    }

    /// This kernel cannot do it (EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT):
    /// a missing module or feature, not a failure of this request.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.errno, Some(libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT))
    }

    /// Prefixes the message with what the caller was doing.
    pub fn context(mut self, context: impl fmt::Display) -> KernelError {
        self.msg = format!("{context}: {}", self.msg);
        self
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for KernelError {}

impl From<KernelError> for CniError {
    fn from(e: KernelError) -> CniError {
        if e.invalid {
            CniError::config(e.msg)
        } else {
            CniError::internal(e.msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_read_the_errno_and_the_words_stay() {
        let exists = KernelError::os("netlink: add route", libc::EEXIST);
        assert!(exists.is_exists() && !exists.is_gone() && !exists.is_unsupported());
        assert_eq!(exists.msg(), "netlink: add route: File exists (os error 17)");
        assert!(KernelError::os("x", libc::ENODEV).is_gone());
        assert!(KernelError::os("x", libc::EOPNOTSUPP).is_unsupported());
        let cni: CniError = exists.context("failed to add route on host").into();
        assert_eq!(
            (cni.code, cni.msg.as_str()),
            (999, "failed to add route on host: netlink: add route: File exists (os error 17)")
        );
        let bad: CniError = KernelError::invalid("invalid interface name").into();
        assert_eq!(bad.code, 7);
    }
}
