//! Shared harness for the integration tests, by concern: the built
//! binaries and the reference's (here), running plugins (`run`), the
//! namespaces, links and kernel state (`host`), the fixtures (`fixtures`),
//! and DHCP servers and daemons (`dhcp`). Tests need root.

#![allow(dead_code)]

pub mod dhcp;
mod fixtures;
mod host;
mod run;

pub use fixtures::*;
pub use host::*;
pub use run::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Where cargo put the binaries (target/<profile>).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// A binary of the workspace build, by name; fails clearly when missing.
pub fn built(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// The multicall plugin binary.
pub fn multicall() -> PathBuf {
    built("cni-plugins")
}

/// The static release plugin binary (scripts/build-static; scripts/test
/// builds it before the tests).
pub fn static_binary() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-gnu/release/cni-plugins");
    assert!(path.exists(), "{} is missing: build it with scripts/build-static", path.display());
    path
}

/// Copies an executable that this test process (or its children) will
/// run. The copy is made by `cp`, a process of its own: a copy written
/// here would hold a writable descriptor that any child forked meanwhile
/// by a test running in parallel inherits until its exec, and running the
/// copy then fails with ETXTBSY ("Text file busy").
pub fn copy_executable(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("--").arg(from).arg(to).status().expect("run cp");
    assert!(status.success(), "cp {} {}", from.display(), to.display());
}

/// The cnictl binary.
pub fn cnictl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cnictl"))
}

/// The reference plugins from Debian's containernetworking-plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// CNI_NETNS for calls to plugins that never enter the namespace (IPAM):
/// a path that is not the test process's own netns, which the skeleton's
/// guard refuses on ADD and DEL (as the reference's since libcni 1.2).
pub const IPAM_ONLY_NETNS: &str = "/var/run/netns/cnictl-test-ipam-only";

/// A unique short token for names of this test process.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}{}x{}", std::process::id() % 100_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// Fails early, and clearly, when not root.
pub fn require_root() {
    assert!(nix::unistd::Uid::effective().is_root(), "integration tests need root (network namespaces)");
}

/// True when the reference plugins are installed.
pub fn have_reference() -> bool {
    Path::new(REFERENCE_DIR).join("host-local").exists()
}

/// Fails clearly when the reference plugins are missing (scripts/test installs them).
pub fn require_reference() {
    assert!(
        have_reference(),
        "the reference plugins are not installed in {REFERENCE_DIR}: install containernetworking-plugins"
    );
}

/// Binds with `bind`, trying again for up to 5 s while the address is in
/// use: a socket a test closed just before lives on for a moment in a
/// child another test thread of the same process has forked but not yet
/// exec'd (the descriptor is close-on-exec, not close-on-fork).
pub fn bind_retrying<S>(what: &str, mut bind: impl FnMut() -> std::io::Result<S>) -> S {
    let started = std::time::Instant::now();
    loop {
        match bind() {
            Ok(socket) => return socket,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && started.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(e) => panic!("bind {what}: {e}"),
        }
    }
}
