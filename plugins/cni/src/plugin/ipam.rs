//! Delegating address management to an IPAM plugin.
//!
//! A main plugin runs its `ipam.type` plugin from `CNI_PATH` with the same
//! netconf and environment, as the reference does. `acquire` registers the
//! release as an undo step of the ADD's `Rollback`, so the addresses go
//! back if the main plugin's ADD fails after allocation.

use std::path::Path;
use std::sync::OnceLock;

use crate::env::{CmdArgs, Command};
use crate::error::CniError;
use crate::invoke::{exec_plugin, find_plugin, Invocation};
use crate::result::CniResult;
use crate::skel::Plugin;

/// The plugins this binary carries, for calls that may stay in-process.
static IN_PROCESS: OnceLock<&'static [&'static dyn Plugin]> = OnceLock::new();

/// Lets IPAM calls that would exec this very binary run in-process instead
/// (the multicall binary registers its plugins at start-up). The call goes
/// through the same skeleton, with the same environment and stdin, so the
/// result is what the exec would have printed; only the fork and exec are saved.
pub fn register_in_process(plugins: &'static [&'static dyn Plugin]) {
    let _ = IN_PROCESS.set(plugins);
}

/// A file's identity (device and inode), whatever path or links lead to it.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn own_binary() -> Option<(u64, u64)> {
    static OWN: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *OWN.get_or_init(|| file_identity(Path::new("/proc/self/exe")))
}

/// Whether `program` is the very file this process runs (one stat each,
/// where resolving both paths took a readlink per component). A binary
/// replaced on disk since is a new file: it is not this one.
pub(crate) fn is_own_binary(program: &Path) -> bool {
    own_binary().is_some() && file_identity(program) == own_binary()
}

/// The registered plugin to run in-process, when `program` is this binary.
fn in_process(program: &Path, name: &str) -> Option<&'static dyn Plugin> {
    let plugins = IN_PROCESS.get()?;
    if !is_own_binary(program) {
        return None;
    }
    plugins.iter().copied().find(|p| p.name() == name)
}

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
    match in_process(&exe.program, &exe.name) {
        Some(plugin) => run_in_process(plugin, &call, &args.stdin),
        None => exec_plugin(&exe, &args.stdin, &call),
    }
}

/// Runs a plugin through the skeleton as if exec'd: the call's CNI_*
/// variables over the process environment, `stdin` as its stdin.
fn run_in_process(plugin: &dyn Plugin, call: &Invocation, stdin: &[u8]) -> Result<Vec<u8>, CniError> {
    let env = call.env();
    let getenv = |key: &str| match env.iter().find(|(k, _)| *k == key) {
        Some((_, value)) => Some(value.to_string()),
        None => std::env::var(key).ok(),
    };
    let mut input = stdin;
    let mut output = Vec::new();
    let mut errors = Vec::new();
    let code = crate::skel::dispatch(plugin, &getenv, &mut input, &mut output, &mut errors);
    crate::invoke::plugin_outcome(code == 0, output, plugin.name())
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

/// DEL, GC or STATUS passed to the netconf's IPAM plugin, if it names one
/// (plugins whose IPAM section is optional). DEL reads the netconf
/// leniently, as [`del_if_configured`] does.
pub fn pass_if_configured(command: crate::env::Command, args: &CmdArgs) -> Result<(), CniError> {
    if command == Command::Del {
        return del_if_configured(args);
    }
    let net: crate::conf::NetConf = crate::conf::parse(&args.stdin)?;
    match net.ipam_type() {
        "" => Ok(()),
        ipam_type => run(ipam_type, command, args).map(|_| ()),
    }
}

/// Whether an IPAM plugin's ADD and DEL may run while the main plugin
/// makes or deletes the container interface: host-local and static never
/// look at it. Any other keeps the order it had: dhcp's daemon opens its
/// socket on the interface, and a third party's plugin may read it.
pub fn ignores_interface(ipam_type: &str) -> bool {
    matches!(ipam_type, "host-local" | "static")
}

/// ADD's acquisition from `ipam_type` and the main plugin's `make_link`
/// (which registers its own undo steps): side by side when the IPAM
/// plugin does not look at the interface ([`ignores_interface`]), else
/// the link first. The release is registered on `rollback` whenever the
/// addresses were acquired, also when `make_link` failed or panicked.
/// Gives back what `make_link` made and the IPAM result, or the link's
/// error first (IPAM's, when both failed, is reported on stderr).
pub fn acquire_beside<'a, T, L>(
    ipam_type: &'a str,
    args: &'a CmdArgs,
    rollback: &mut crate::rollback::Rollback<'a>,
    make_link: L,
) -> Result<(T, CniResult), CniError>
where
    L: FnOnce(&mut crate::rollback::Rollback<'a>) -> Result<T, CniError>,
{
    acquire_beside_then(ipam_type, args, rollback, make_link, |_| {})
}

/// [`acquire_beside`], and `on_acquired` called with the addresses as soon
/// as they are acquired, on IPAM's side (beside the link when the two run
/// side by side): it hands them to host-side work that needs them but not
/// the link (bridge's ipMasq), which then waits for neither.
pub fn acquire_beside_then<'a, T, L, N>(
    ipam_type: &'a str,
    args: &'a CmdArgs,
    rollback: &mut crate::rollback::Rollback<'a>,
    make_link: L,
    on_acquired: N,
) -> Result<(T, CniResult), CniError>
where
    L: FnOnce(&mut crate::rollback::Rollback<'a>) -> Result<T, CniError>,
    N: FnOnce(&CniResult) + Send,
{
    if !ignores_interface(ipam_type) {
        let made = make_link(rollback)?;
        let result = acquire(ipam_type, args, rollback)?;
        on_acquired(&result);
        return Ok((made, result));
    }
    let link_step = std::panic::AssertUnwindSafe(|| make_link(&mut *rollback));
    let ipam_step = || {
        let result = add(ipam_type, args)?;
        on_acquired(&result);
        Ok(result)
    };
    let (acquired, made) = crate::overlap::join(ipam_step, || std::panic::catch_unwind(link_step));
    if acquired.is_ok() {
        register_release(ipam_type, args, rollback);
    }
    // A panic goes on up (the skeleton reports it) once the release is registered.
    let made = made.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match (made, acquired) {
        (Ok(made), Ok(acquired)) => Ok((made, acquired)),
        (Err(link), Err(ipam)) => {
            eprintln!("IPAM {ipam_type} failed beside the failed link too: {}", ipam.msg);
            Err(link)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// A DEL's release of the addresses from `ipam_type` (none when empty) and
/// its removal of the container interface, `remove_link`. Each runs
/// whatever the other does. host-local's and static's release, which never
/// looks at the interface ([`ignores_interface`]), runs on a thread of
/// its own while the kernel takes the link away, so the DEL waits once,
/// not for one after the other. Any other comes first, while the interface
/// is still there, as before: dhcp's daemon sends its DHCPRELEASE from it
/// (the reference deletes the link first and the release fails,
/// plugins#791), and a third party's plugin then always sees one order.
/// Gives back the release's outcome and the removal's.
pub fn del_beside<T, L>(ipam_type: &str, args: &CmdArgs, remove_link: L) -> (Result<(), CniError>, T)
where
    L: FnOnce() -> T,
{
    if ipam_type.is_empty() {
        (Ok(()), remove_link())
    } else if ignores_interface(ipam_type) {
        crate::overlap::join(|| del(ipam_type, args), remove_link)
    } else {
        let released = del(ipam_type, args);
        (released, remove_link())
    }
}

/// DEL passed to the IPAM plugin the netconf names, if any, found with the
/// lenient DEL-side parse: a netconf ADD would reject still frees its
/// addresses. The IPAM plugin gets the same stdin; ours read it leniently too.
pub fn del_if_configured(args: &CmdArgs) -> Result<(), CniError> {
    match crate::conf::DelConf::load(&args.stdin).ipam_type() {
        "" => Ok(()),
        ipam_type => del(ipam_type, args),
    }
}

/// IPAM ADD for a main plugin's ADD: the result, with its release
/// registered on `rollback` (undone unless the ADD commits).
pub fn acquire<'a>(
    ipam_type: &'a str,
    args: &'a CmdArgs,
    rollback: &mut crate::rollback::Rollback<'a>,
) -> Result<CniResult, CniError> {
    let result = add(ipam_type, args)?;
    register_release(ipam_type, args, rollback);
    Ok(result)
}

/// The undo of an acquisition: DEL to the same IPAM plugin.
fn register_release<'a>(ipam_type: &'a str, args: &'a CmdArgs, rollback: &mut crate::rollback::Rollback<'a>) {
    rollback.push(format!("release the addresses from IPAM {ipam_type}"), move || del(ipam_type, args));
}
