//! The plugin entry point: the exec protocol turned into method calls.
//!
//! `run` reads the environment and stdin, validates them as the reference
//! skeleton does, negotiates the spec version, calls the plugin and prints
//! either the result (in the version the config asked for) or an error
//! object. A panic inside a plugin also ends as an error object (code 999).
//!
//! One verb is ours, not the spec's: `CNI_COMMAND=VALIDATE` runs a plugin's
//! ADD-side config parsing and checks ([`Plugin::validate`]) and nothing
//! else, printing nothing or the error ADD would give, so `cnictl validate`
//! can catch what ADD rejects without acting. cnictl sends it only to a
//! plugin whose VERSION answer, asked with [`VALIDATE_PROBE_ENV`] set,
//! carries [`VALIDATE_MARKER`]; other plugins never see it (the reference's
//! would answer "unknown CNI_COMMAND", code 4, and do nothing).

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::env::{command_from_env, validate_network_name, CmdArgs, Command};
use crate::error::{CniError, ErrorCode};
use crate::journal;
use crate::result::{to_pretty, CniResult};
use crate::version;

/// The `CNI_COMMAND` of a validation: parse and check the netconf as ADD
/// would, without acting. No runtime sends it.
pub const VALIDATE_COMMAND: &str = "VALIDATE";

/// Set to `1` on a VERSION call, asks the plugin to say whether it answers
/// [`VALIDATE_COMMAND`]. Runtimes never set it, so the VERSION answer they
/// see is the reference's.
pub const VALIDATE_PROBE_ENV: &str = "CNICTL_VALIDATE_PROBE";

/// The key (set to `true`) of a probed VERSION answer from a plugin that
/// answers [`VALIDATE_COMMAND`].
pub const VALIDATE_MARKER: &str = "cnictlValidate";

/// The plugins of this binary, for validating the IPAM plugin of a netconf
/// when it is one of them (set by the multicall binary with [`carry`]).
static CARRIED: OnceLock<&'static [&'static dyn Plugin]> = OnceLock::new();

/// Registers the plugins this binary carries, so that a validation can
/// also check the IPAM section when its plugin is one of them.
pub fn carry(plugins: &'static [&'static dyn Plugin]) {
    let _ = CARRIED.set(plugins);
}

/// For a plugin's [`Plugin::validate`]: the IPAM plugin `ipam_type` (empty:
/// none) must be found in `CNI_PATH`, as ADD would need it; when it is one
/// of this binary's plugins (the very file, not one of the same name), its
/// own checks run on the same netconf. A plugin of others is only found.
pub fn validate_ipam(ipam_type: &str, args: &CmdArgs) -> Result<(), CniError> {
    if ipam_type.is_empty() {
        return Ok(());
    }
    let exe = crate::invoke::find_plugin(ipam_type, &args.path_dirs())
        .map_err(|e| e.context(crate::jsonpos::key_label("ipam.type")))?;
    if !crate::ipam::is_own_binary(&exe.program) {
        return Ok(());
    }
    match CARRIED.get().and_then(|all| all.iter().find(|p| p.name() == ipam_type)) {
        Some(ipam) => ipam.validate(args),
        None => Ok(()),
    }
}

/// What a plugin implements. GC and STATUS default to "nothing to do".
pub trait Plugin: Sync {
    /// The plugin's type name, as in `"type"` and its file name.
    fn name(&self) -> &'static str;
    /// Attach: set up the interface and return the result.
    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError>;
    /// Detach; must succeed when things are already gone.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError>;
    /// Verify an attachment against the cached result in `prevResult`.
    fn check(&self, args: &CmdArgs) -> Result<(), CniError>;
    /// Free resources of attachments not in `cni.dev/valid-attachments`.
    fn gc(&self, _args: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
    /// Report readiness to serve ADDs.
    fn status(&self, _args: &CmdArgs) -> Result<(), CniError> {
        Ok(())
    }
    /// The spec versions this plugin accepts.
    fn versions(&self) -> &'static [&'static str] {
        version::SUPPORTED
    }
    /// Whether ADD, DEL and CHECK of one attachment wait for each other
    /// ([`crate::attachment_lock`]). IPAM plugins say no: a main plugin
    /// runs them while it holds its attachment's lock.
    fn serializes_attachment(&self) -> bool {
        true
    }
    /// [`VALIDATE_COMMAND`]: the parsing and checks of ADD's config, with
    /// the same errors, and nothing that touches the kernel or the disk
    /// (no netns, no links, no store). A plugin that delegates IPAM also
    /// calls [`validate_ipam`]. `args.netns` is empty.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError>;
}

/// Runs a plugin against the process's environment, stdin and stdout and
/// returns the exit code. stdout and stderr are not held locked across the
/// call: a plugin's thread inside a netns (`Netns::run`) may report on
/// stderr while the main thread waits for it, and would wait forever on a
/// lock the main thread held.
pub fn run(plugin: &dyn Plugin) -> i32 {
    let getenv = |key: &str| std::env::var(key).ok();
    let stdin = std::io::stdin();
    dispatch(plugin, &getenv, &mut stdin.lock(), &mut std::io::stdout(), &mut std::io::stderr())
}

/// The testable core of `run`.
pub fn dispatch(
    plugin: &dyn Plugin,
    getenv: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let started = std::time::Instant::now();
    let mut error_version = version::CURRENT.to_string();
    let mut call = journal::Call::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        serve(plugin, getenv, stdin, stdout, stderr, &mut error_version, &mut call)
    }));
    let journal = |error: Option<&CniError>| {
        if let Some(command) = call.command {
            let entry = journal::Entry {
                plugin: plugin.name(),
                call: &call,
                command,
                error,
                duration: started.elapsed(),
            };
            // Whatever happens in the journal stays there: the call's outcome stands.
            let _ = catch_unwind(AssertUnwindSafe(|| journal::record(getenv, &entry)));
        }
    };
    let err = match outcome {
        Ok(Ok(())) => {
            journal(None);
            return 0;
        }
        Ok(Err(err)) => err,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            CniError::internal(format!("plugin {} panicked: {what}", plugin.name()))
        }
    };
    journal(Some(&err));
    let mut out = to_pretty(&err.to_json(&error_version));
    out.push(b'\n');
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
    1
}

fn version_info(plugin: &dyn Plugin, probed: bool) -> Vec<u8> {
    let mut info = serde_json::json!({
        "cniVersion": version::CURRENT,
        "supportedVersions": plugin.versions(),
    });
    if probed {
        info[VALIDATE_MARKER] = serde_json::Value::Bool(true);
    }
    let mut out = info.to_string().into_bytes();
    out.push(b'\n');
    out
}

fn serve(
    plugin: &dyn Plugin,
    getenv: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    error_version: &mut String,
    call: &mut journal::Call,
) -> Result<(), CniError> {
    if getenv("CNI_COMMAND").as_deref() == Some(VALIDATE_COMMAND) {
        return validate(plugin, getenv, stdin, error_version);
    }
    let (command, vars) = match command_from_env(getenv) {
        Ok(parsed) => parsed,
        Err(err) if getenv("CNI_COMMAND").unwrap_or_default().is_empty() => {
            let _ = writeln!(stderr, "CNI {} plugin {}", plugin.name(), env!("CARGO_PKG_VERSION"));
            let _ = writeln!(stderr, "CNI protocol versions supported: {}", plugin.versions().join(", "));
            let _ = err;
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    if command == Command::Version {
        let probed = getenv(VALIDATE_PROBE_ENV).as_deref() == Some("1");
        return stdout
            .write_all(&version_info(plugin, probed))
            .map_err(|e| CniError::io("failed to write version", e));
    }
    call.command = Some(command);
    call.container_id.clone_from(&vars.container_id);
    call.ifname.clone_from(&vars.ifname);
    call.netns.clone_from(&vars.netns);
    let (data, config, config_version) = read_netconf(stdin, error_version)?;
    call.network = crate::gojson::get(&config, "name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    call.cni_version.clone_from(&config_version);
    let minimum = match command {
        Command::Check => Some("0.4.0"),
        Command::Gc | Command::Status => Some("1.1.0"),
        _ => None,
    };
    if let Some(minimum) = minimum {
        if !version::at_least(&config_version, minimum).map_err(|e| CniError::new(ErrorCode::Decoding, e))? {
            return Err(CniError::new(
                ErrorCode::IncompatibleVersion,
                format!("config version does not allow {}", command.as_str()),
            ));
        }
    }
    check_supported(plugin, &config_version)?;
    match command {
        Command::Add | Command::Del => refuse_own_netns(getenv, &vars.netns)?,
        Command::Gc => require_valid_attachments(&config)?,
        _ => {}
    }
    let args = CmdArgs {
        command,
        container_id: vars.container_id,
        netns: vars.netns,
        ifname: vars.ifname,
        args: vars.args,
        path: vars.path,
        stdin: data,
        config_version,
    };
    let lock = match command {
        Command::Add | Command::Del | Command::Check if plugin.serializes_attachment() => {
            crate::attachment_lock::AttachmentLock::acquire(&call.network, &args.container_id, &args.ifname)
        }
        _ => None,
    };
    match command {
        Command::Del => {
            plugin.del(&args)?;
            // The attachment is gone: so is its lock file.
            if let Some(lock) = lock {
                lock.remove();
            }
            Ok(())
        }
        Command::Add => {
            let result = plugin.add(&args)?;
            call.ips = result.ips.iter().map(|ip| ip.address.to_string()).collect();
            let mut out = to_pretty(&result.to_json(&args.config_version)?);
            out.push(b'\n');
            stdout.write_all(&out).map_err(|e| CniError::io("failed to write result", e))
        }
        Command::Check => plugin.check(&args),
        Command::Gc => plugin.gc(&args),
        Command::Status => plugin.status(&args),
        Command::Version => Ok(()),
    }
}

/// Reads stdin as the netconf: its bytes, its JSON, its version (which
/// error objects then carry, when supported) and a valid network name, as
/// the reference checks.
fn read_netconf(
    stdin: &mut dyn Read,
    error_version: &mut String,
) -> Result<(Vec<u8>, serde_json::Value, String), CniError> {
    let mut data = Vec::new();
    stdin.read_to_end(&mut data).map_err(|e| CniError::io("error reading from stdin", e))?;
    let config: serde_json::Value = serde_json::from_slice(&data).map_err(|e| {
        CniError::new(ErrorCode::Decoding, format!("error unmarshalling network config: {e}"))
    })?;
    let config_version = version::of_config(&config).map_err(|e| CniError::new(ErrorCode::Decoding, e))?;
    if version::is_supported(&config_version) {
        *error_version = config_version.clone();
    }
    match crate::gojson::get(&config, "name") {
        Some(serde_json::Value::String(name)) => validate_network_name(name)?,
        None | Some(serde_json::Value::Null) => return Err(CniError::config("missing network name")),
        Some(_) => return Err(CniError::new(ErrorCode::Decoding, "network name must be a string")),
    }
    Ok((data, config, config_version))
}

/// The variable that lets a caller run ADD or DEL on the plugin's own
/// network namespace (`1` or `true` in any case), as the reference's.
pub const NETNS_OVERRIDE_ENV: &str = "CNI_NETNS_OVERRIDE";

/// The reference's guard (libcni 1.2 and later): ADD and DEL refuse a
/// `CNI_NETNS` that is the plugin's own namespace, code 8 with its message,
/// unless [`NETNS_OVERRIDE_ENV`] allows it. The reference checks after the
/// verb has run; this runs before, so a refused call changes nothing on
/// the host.
fn refuse_own_netns(getenv: &dyn Fn(&str) -> Option<String>, netns: &str) -> Result<(), CniError> {
    let overridden = getenv(NETNS_OVERRIDE_ENV).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if !overridden && crate::netns::is_current(netns) {
        return Err(CniError::new(
            ErrorCode::InvalidNetns,
            "plugin's netns and netns from CNI_NETNS should not be the same",
        ));
    }
    Ok(())
}

/// The key of a GC request's list of attachments still in use.
pub const VALID_ATTACHMENTS_KEY: &str = "cni.dev/valid-attachments";

/// GC frees the state of every attachment its list leaves out, so a
/// request without the list (absent, null or not an array) is malformed,
/// not "nothing is valid": refused with code 7 before any plugin's GC
/// runs. An explicit empty list still means that none is valid.
fn require_valid_attachments(config: &serde_json::Value) -> Result<(), CniError> {
    match crate::gojson::get(config, VALID_ATTACHMENTS_KEY) {
        Some(serde_json::Value::Array(_)) => Ok(()),
        Some(_) => Err(CniError::config(format!(
            "GC needs {} as a list of attachments; nothing was deleted",
            crate::jsonpos::key_label(VALID_ATTACHMENTS_KEY)
        ))),
        None => Err(CniError::config(format!(
            "GC needs {} (the attachments still in use); without it every attachment would look stale, \
             so nothing was deleted",
            crate::jsonpos::key_label(VALID_ATTACHMENTS_KEY)
        ))),
    }
}

fn check_supported(plugin: &dyn Plugin, config_version: &str) -> Result<(), CniError> {
    if !plugin.versions().contains(&config_version) {
        return Err(CniError::new(ErrorCode::IncompatibleVersion, "incompatible CNI versions")
            .with_details(format!("config is {config_version:?}, plugin supports {:?}", plugin.versions())));
    }
    Ok(())
}

/// [`VALIDATE_COMMAND`]: the netconf checks of an ADD, then the plugin's
/// own; the variables are taken as given (none is required).
fn validate(
    plugin: &dyn Plugin,
    getenv: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    error_version: &mut String,
) -> Result<(), CniError> {
    let (data, _, config_version) = read_netconf(stdin, error_version)?;
    check_supported(plugin, &config_version)?;
    let get = |name: &str| getenv(name).unwrap_or_default();
    let args = CmdArgs {
        command: Command::Add,
        container_id: get("CNI_CONTAINERID"),
        netns: String::new(),
        ifname: get("CNI_IFNAME"),
        args: get("CNI_ARGS"),
        path: get("CNI_PATH"),
        stdin: data,
        config_version,
    };
    plugin.validate(&args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake;

    impl Plugin for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn add(&self, _args: &CmdArgs) -> Result<CniResult, CniError> {
            panic!("boom");
        }
        fn del(&self, _args: &CmdArgs) -> Result<(), CniError> {
            Ok(())
        }
        fn check(&self, _args: &CmdArgs) -> Result<(), CniError> {
            Ok(())
        }
        fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
            assert!(args.netns.is_empty(), "validation never gets a netns");
            match crate::gojson::get(&serde_json::from_slice(&args.stdin).unwrap(), "mtu") {
                Some(serde_json::Value::String(_)) => Err(CniError::new(
                    ErrorCode::Decoding,
                    format!("{}: expected a number", crate::jsonpos::key_label("mtu")),
                )),
                _ => Ok(()),
            }
        }
    }

    fn call(env: &[(&str, &str)], stdin: &str) -> (i32, serde_json::Value) {
        let mut env: HashMap<String, String> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // These calls are not a node's operations: keep them out of its journal.
        env.insert(journal::OFF_ENV.into(), "off".into());
        let getenv = |k: &str| env.get(k).cloned();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = dispatch(&Fake, &getenv, &mut stdin.as_bytes(), &mut out, &mut err);
        let value =
            if out.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&out).unwrap() };
        (code, value)
    }

    /// A netns path that is not the test's own (the guard passes it).
    const OTHER_NETNS: &str = "/nonexistent/netns/c1";

    const ADD: &[(&str, &str)] = &[
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", OTHER_NETNS),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/nonexistent"),
    ];

    #[test]
    fn panics_become_error_objects() {
        let (code, out) = call(ADD, r#"{"cniVersion":"1.0.0","name":"n","type":"fake"}"#);
        assert_eq!(code, 1);
        assert_eq!(out["code"], 999);
        assert_eq!(out["cniVersion"], "1.0.0");
        assert!(out["msg"].as_str().unwrap().contains("boom"));
    }

    #[test]
    fn version_ignores_stdin_and_placeholders() {
        let (code, out) = call(&[("CNI_COMMAND", "VERSION"), ("CNI_NETNS", "dummy")], "not json");
        assert_eq!(code, 0);
        assert_eq!(out["supportedVersions"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn validate_runs_only_the_checks_and_version_says_so_when_asked() {
        let validate = [("CNI_COMMAND", VALIDATE_COMMAND), ("CNI_NETNS", "/proc/self/ns/net")];
        let (code, out) = call(&validate, r#"{"cniVersion":"1.0.0","name":"n","type":"fake"}"#);
        assert_eq!((code, out), (0, serde_json::Value::Null), "nothing printed, ADD not run");
        let (code, out) = call(&validate, r#"{"cniVersion":"1.0.0","name":"n","mtu":"1500"}"#);
        assert_eq!((code, &out["code"]), (1, &serde_json::json!(6)));
        assert!(out["msg"].as_str().unwrap().contains(r#"key "mtu""#), "{out}");
        let (_, out) = call(&validate, r#"{"cniVersion":"9.9.9","name":"n"}"#);
        assert_eq!(out["code"], 1, "version negotiation as ADD's");
        let (_, out) = call(&validate, r#"{"cniVersion":"1.0.0","name":"a/b"}"#);
        assert_eq!(out["code"], 7, "network name as ADD's");
        let (_, plain) = call(&[("CNI_COMMAND", "VERSION")], "");
        assert_eq!(plain.get(VALIDATE_MARKER), None, "runtimes see the reference's answer");
        let (_, probed) = call(&[("CNI_COMMAND", "VERSION"), (VALIDATE_PROBE_ENV, "1")], "");
        assert_eq!(probed[VALIDATE_MARKER], true);
    }

    #[test]
    fn add_and_del_refuse_the_plugins_own_netns_unless_overridden() {
        let conf = r#"{"cniVersion":"1.0.0","name":"n","type":"fake"}"#;
        for command in ["ADD", "DEL"] {
            let mut env = ADD.to_vec();
            env[0] = ("CNI_COMMAND", command);
            env[2] = ("CNI_NETNS", "/proc/self/ns/net");
            let (code, out) = call(&env, conf);
            assert_eq!((code, &out["code"]), (1, &serde_json::json!(8)), "{command}: {out}");
            assert_eq!(out["msg"], "plugin's netns and netns from CNI_NETNS should not be the same");
            for value in ["1", "true", "TRUE"] {
                let mut overridden = env.clone();
                overridden.push((NETNS_OVERRIDE_ENV, value));
                let (_, out) = call(&overridden, conf);
                assert_ne!(out["code"], 8, "{command} with {value}: {out}");
            }
            let mut ignored = env.clone();
            ignored.push((NETNS_OVERRIDE_ENV, "yes"));
            assert_eq!(call(&ignored, conf).1["code"], 8, "only 1 and true override, as the reference's");
        }
        let mut check = ADD.to_vec();
        check[0] = ("CNI_COMMAND", "CHECK");
        check[2] = ("CNI_NETNS", "/proc/self/ns/net");
        assert_eq!(
            call(&check, conf),
            (0, serde_json::Value::Null),
            "CHECK is not guarded, as the reference's"
        );
    }

    #[test]
    fn gc_without_its_list_is_refused_and_an_empty_list_is_not() {
        let gc = [("CNI_COMMAND", "GC"), ("CNI_PATH", "/nonexistent")];
        for conf in [
            r#"{"cniVersion":"1.1.0","name":"n"}"#,
            r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":null}"#,
            r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":{"containerID":"a"}}"#,
        ] {
            let (code, out) = call(&gc, conf);
            assert_eq!((code, &out["code"]), (1, &serde_json::json!(7)), "{conf}: {out}");
            assert!(out["msg"].as_str().unwrap().contains(r#"key "cni.dev/valid-attachments""#), "{out}");
        }
        assert_eq!(call(&gc, r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[]}"#).0, 0);
        let folded = r#"{"cniVersion":"1.1.0","name":"n","CNI.dev/Valid-Attachments":[]}"#;
        assert_eq!(call(&gc, folded).0, 0, "Go's key folding, as every other key");
    }

    #[test]
    fn negotiation_errors() {
        let (_, out) = call(ADD, r#"{"cniVersion":"2.0.0","name":"n"}"#);
        assert_eq!(out["code"], 1);
        let (_, out) = call(ADD, r#"{"cniVersion":"1.0.0"}"#);
        assert_eq!(out["code"], 7);
        let (_, out) = call(ADD, "{");
        assert_eq!(out["code"], 6);
        let mut check = ADD.to_vec();
        check[0] = ("CNI_COMMAND", "CHECK");
        let (_, out) = call(&check, r#"{"cniVersion":"0.3.1","name":"n"}"#);
        assert_eq!(out["code"], 1);
        let mut gc = ADD.to_vec();
        gc[0] = ("CNI_COMMAND", "GC");
        let (_, out) = call(&gc, r#"{"cniVersion":"1.0.0","name":"n"}"#);
        assert_eq!(out["code"], 1);
        let mut bogus = ADD.to_vec();
        bogus[0] = ("CNI_COMMAND", "FROB");
        let (_, out) = call(&bogus, r#"{"cniVersion":"1.0.0","name":"n"}"#);
        assert_eq!(out["code"], 4);
    }
}
