//! Running a command inside a network namespace, with its signals forwarded.
//!
//! The child enters the netns between fork and exec, gets a mount namespace
//! of its own with `/sys` remounted (so `/sys/class/net` shows the netns's
//! links, as with `ip netns exec`), and inherits the terminal and stdio.
//! While it runs, cnictl forwards the signals someone sends cnictl itself
//! (SIGINT, SIGTERM, SIGHUP, SIGQUIT) to it; signals from the terminal reach
//! the child directly through its process group, so they are not sent twice.
//! Once the child is gone, those signals no longer stop cnictl, so cleanup
//! always runs.

use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

use color_eyre::eyre::{bail, Result, WrapErr};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signals forwarded to the child.
const FORWARDED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// The running child's pid, 0 when there is none.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A forwarded signal that arrived while no child ran (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// `si_code` of signals the kernel sends, e.g. from the terminal.
const SI_KERNEL: i32 = 0x80;

extern "C" fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let from_kernel = !info.is_null() && unsafe { (*info).si_code } == SI_KERNEL;
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        if !from_kernel {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(child, signal) };
        }
    } else {
        PENDING.store(signal, Ordering::SeqCst);
    }
}

/// Takes over SIGINT, SIGTERM, SIGHUP and SIGQUIT for the rest of the
/// process: they are forwarded to the child, or recorded while none runs.
pub fn take_over_signals() -> Result<()> {
    let action = SigAction::new(SigHandler::SigAction(forward), SaFlags::SA_RESTART, SigSet::empty());
    for signal in FORWARDED {
        // SAFETY: the handler only does async-signal-safe work (atomics, kill).
        unsafe { sigaction(signal, &action) }.wrap_err_with(|| format!("failed to handle {signal}"))?;
    }
    Ok(())
}

/// A signal that arrived while no command ran, if any.
pub fn pending_signal() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Runs `argv` inside the netns at `netns`, waits for it, and returns the
/// exit code a shell would report (128 + N when killed by signal N). A
/// file that is not a network namespace is an error before anything runs.
pub fn run_in(netns: &Path, argv: &[String]) -> Result<i32> {
    let Some((program, rest)) = argv.split_first() else { bail!("no command given") };
    let ns = super::manage::open_netns(netns)?;
    let ns_fd = ns.as_raw_fd();
    let mut command = Command::new(program);
    command.args(rest);
    // SAFETY: the closure runs between fork and exec and only makes
    // system calls (no allocation, no locks).
    unsafe {
        command.pre_exec(move || {
            let ns = std::os::fd::BorrowedFd::borrow_raw(ns_fd);
            setns(ns, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            // /sys for this netns, in a private mount namespace; best effort.
            if unshare(CloneFlags::CLONE_NEWNS).is_ok() {
                let _ =
                    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>);
                if umount2("/sys", MntFlags::MNT_DETACH).is_ok() {
                    let _ = mount(Some("sysfs"), "/sys", Some("sysfs"), MsFlags::empty(), None::<&str>);
                }
            }
            Ok(())
        });
    }
    let code = run_forwarding(command, program);
    drop(ns);
    code
}

/// The exit code a shell gives a command it could not start, after saying
/// why on stderr as a shell does: 127 when there is no such program, 126
/// when it exists but cannot be executed (permissions, not a program).
fn not_started(program: &str, err: &std::io::Error) -> i32 {
    if err.kind() == std::io::ErrorKind::NotFound {
        say!("cnictl: {program}: command not found");
        127
    } else {
        say!("cnictl: {program}: cannot execute: {err}");
        126
    }
}

/// Runs `command` with signals forwarded (see `take_over_signals`), waits,
/// and returns its exit code as a shell reports it (128 + N for signal N;
/// 127 or 126 when it could not be started).
pub fn run_forwarding(mut command: Command, program: &str) -> Result<i32> {
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Ok(not_started(program, &e)),
    };
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    if let Some(signal) = pending_signal() {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
    }
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    let status = status.wrap_err_with(|| format!("failed to wait for {program:?}"))?;
    Ok(status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1))
}
