//! Ctrl-C, SIGTERM and SIGHUP end a run cleanly: the signal only sets a
//! flag; every scenario looks at it between iterations and stops there,
//! its own clean-up (DEL of what it holds, its bridges, namespaces and
//! files) runs as after a full run, and the bench exits 130 without
//! writing the README. Plugins run in process groups of their own, so a
//! terminal's Ctrl-C does not kill one half way through an ADD.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: std::os::raw::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP.
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { sigaction(signal, &action) }.is_err() {
            eprintln!("bench: cannot catch {signal}: an interrupt will leave what the run made");
        }
    }
}

/// True once a signal asked the run to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
