//! Delegating address management to an IPAM plugin.
//!
//! A main plugin runs its `ipam.type` plugin from `CNI_PATH` with the same
//! netconf and environment, as the reference does. `IpamLease` releases
//! the addresses again if the main plugin's ADD fails after allocation.

use crate::env::{CmdArgs, Command};
use crate::error::CniError;
use crate::invoke::{exec_plugin, find_plugin, Invocation};
use crate::result::CniResult;

fn run(ipam_type: &str, command: Command, args: &CmdArgs) -> Result<Vec<u8>, CniError> {
    let exe = find_plugin(ipam_type, &args.path_dirs())?;
    // The same invocation as ours, with the IPAM verb.
    let call = Invocation {
        command,
        container_id: &args.container_id,
        netns: &args.netns,
        ifname: &args.ifname,
        args: &args.args,
        path: &args.path,
    };
    exec_plugin(&exe, &args.stdin, &call)
}

/// Runs the IPAM plugin's ADD and returns its result in canonical form.
pub fn add(ipam_type: &str, args: &CmdArgs) -> Result<CniResult, CniError> {
    let out = run(ipam_type, Command::Add, args)?;
    let value: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|e| CniError::internal(format!("IPAM plugin {ipam_type} printed invalid JSON: {e}")))?;
    CniResult::from_json(&value, &args.config_version)
}

/// Runs the IPAM plugin's DEL.
pub fn del(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    run(ipam_type, Command::Del, args).map(|_| ())
}

/// Runs the IPAM plugin's CHECK.
pub fn check(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    run(ipam_type, Command::Check, args).map(|_| ())
}

/// Runs the IPAM plugin's GC (1.1.0) with the same netconf.
pub fn gc(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    run(ipam_type, Command::Gc, args).map(|_| ())
}

/// Runs the IPAM plugin's STATUS (1.1.0).
pub fn status(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    run(ipam_type, Command::Status, args).map(|_| ())
}

/// Addresses allocated during an ADD; released on drop unless kept.
pub struct IpamLease<'a> {
    ipam_type: &'a str,
    args: &'a CmdArgs,
    keep: bool,
}

impl<'a> IpamLease<'a> {
    /// Runs IPAM ADD and returns the result with a lease that releases it
    /// if dropped before `keep`.
    pub fn acquire(ipam_type: &'a str, args: &'a CmdArgs) -> Result<(CniResult, IpamLease<'a>), CniError> {
        let result = add(ipam_type, args)?;
        Ok((result, IpamLease { ipam_type, args, keep: false }))
    }

    /// The ADD succeeded: keep the addresses.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for IpamLease<'_> {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: the ADD is failing already; its error is the one to report.
            let _ = del(self.ipam_type, self.args);
        }
    }
}
