//! Kernel settings under `/proc/sys`, in the namespace of the calling thread.
//!
//! The kernel resolves `/proc/sys/net/...` by the netns of the task that
//! opens the file, so a setting for a container's namespace is written from
//! a thread that entered it (`Netns::run`).

use std::fs;

use crate::error::CniError;

fn path(key: &str) -> String {
    format!("/proc/sys/{}", key.trim_start_matches('/').replace('.', "/"))
}

/// Reads a sysctl such as `net/ipv4/ip_forward`, trimmed.
pub fn read(key: &str) -> Result<String, CniError> {
    fs::read_to_string(path(key))
        .map(|v| v.trim().to_string())
        .map_err(|e| CniError::internal(format!("failed to read sysctl {key}: {e}")))
}

/// Writes a sysctl.
pub fn write(key: &str, value: &str) -> Result<(), CniError> {
    fs::write(path(key), value)
        .map_err(|e| CniError::internal(format!("failed to set sysctl {key}={value}: {e}")))
}

/// Writes a sysctl only when it differs (as the reference does for forwarding).
pub fn ensure(key: &str, value: &str) -> Result<(), CniError> {
    if read(key).ok().as_deref() == Some(value) {
        return Ok(());
    }
    write(key, value)
}

/// Enables forwarding for the address families in use.
pub fn enable_forwarding(ipv4: bool, ipv6: bool) -> Result<(), CniError> {
    if ipv4 {
        ensure("net/ipv4/ip_forward", "1")?;
    }
    if ipv6 {
        ensure("net/ipv6/conf/all/forwarding", "1")?;
    }
    Ok(())
}
