//! `cnictl log`: what the plugins did, read back from the systemd journal.
//!
//! Our plugins journal every ADD, DEL, CHECK and GC (and each change of a
//! STATUS answer) as one entry with the message ID
//! [`cni::journal::MESSAGE_ID`] (`cni::journal` says how). This verb asks
//! `journalctl` for those entries, narrowed by the journal's own matches
//! where it can (network, verb, outcome, time) and by container ID prefix
//! here, and shows them as a table or JSON.

use std::process::{Command, ExitCode, Stdio};

use color_eyre::eyre::{bail, Result, WrapErr};
use serde::Serialize;
use serde_json::Value;

use crate::cli::LogArgs;
use crate::render::{self, Cell, Format, Tone, View};

/// One journalled plugin call.
#[derive(Debug, Serialize)]
pub struct Operation {
    /// When it was journalled, UTC, RFC 3339 with microseconds.
    time: String,
    /// The plugin's type.
    plugin: String,
    /// The verb.
    command: String,
    /// Network name.
    network: String,
    /// Container ID (none for GC and STATUS).
    #[serde(rename = "containerID")]
    container_id: String,
    /// Interface in the container.
    ifname: String,
    /// Netns path.
    netns: String,
    /// `ok` or `error`.
    outcome: String,
    /// How long the call took.
    #[serde(rename = "durationUsec")]
    duration_usec: Option<u64>,
    /// Addresses an ADD handed out.
    ips: Vec<String>,
    /// The error object's code, when it failed.
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    error_code: Option<u32>,
    /// The error object's message, when it failed.
    #[serde(rename = "errorMsg", skip_serializing_if = "Option::is_none")]
    error_msg: Option<String>,
    /// The plugin's process.
    pid: Option<u32>,
}

/// The operations found, oldest first.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Operations(Vec<Operation>);

impl View for Operations {
    fn headers(&self) -> &'static [&'static str] {
        &["time", "plugin", "verb", "network", "container id", "if", "outcome", "took", "detail"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.0
            .iter()
            .map(|op| {
                let outcome = match op.outcome.as_str() {
                    "ok" => Cell::from("ok"),
                    other => Cell::toned(other, Tone::Alarm),
                };
                let detail = match (&op.error_code, &op.error_msg) {
                    (Some(code), Some(msg)) => format!("[{code}] {msg}"),
                    _ => op.ips.join(", "),
                };
                let took = op.duration_usec.map(|us| format!("{:.1} ms", us as f64 / 1000.0));
                vec![
                    op.time.replace('T', " ").trim_end_matches('Z').into(),
                    op.plugin.as_str().into(),
                    op.command.as_str().into(),
                    op.network.as_str().into(),
                    op.container_id.as_str().into(),
                    op.ifname.as_str().into(),
                    outcome,
                    took.unwrap_or_else(|| "-".into()).into(),
                    detail.into(),
                ]
            })
            .collect()
    }

    fn empty(&self) -> String {
        "no CNI operations in the journal (our plugins write them when journald runs: see the README's \
         \"What happened to this pod's network\")"
            .into()
    }
}

/// How long journalctl may take: a journal of months read whole takes
/// seconds, a stuck one is not waited for.
const JOURNALCTL_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The journalctl command line for `args`: JSON, our message ID, and the
/// matches journalctl can make itself.
fn journalctl(args: &LogArgs) -> Command {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "--output=json", "--all"]);
    if let Some(namespace) = &args.namespace {
        cmd.arg(format!("--namespace={namespace}"));
    }
    if let Some(dir) = &args.directory {
        cmd.arg("--directory").arg(dir);
    }
    if let Some(since) = &args.since {
        cmd.arg(format!("--since={since}"));
    }
    if let Some(until) = &args.until {
        cmd.arg(format!("--until={until}"));
    }
    // The last N of the journal's matches are the last N operations unless
    // the container prefix (matched here) leaves some out.
    if let (Some(lines), None) = (args.lines, &args.container) {
        cmd.arg(format!("--lines={lines}"));
    }
    cmd.arg(format!("MESSAGE_ID={}", cni::journal::MESSAGE_ID));
    if let Some(network) = &args.network {
        cmd.arg(format!("CNI_NETWORK={network}"));
    }
    if let Some(verb) = &args.verb {
        cmd.arg(format!("CNI_COMMAND={}", verb.to_ascii_uppercase()));
    }
    if args.failed {
        cmd.arg("CNI_OUTCOME=error");
    }
    cmd
}

/// A field of a journalctl JSON entry: a string, or (for a value that is
/// not valid UTF-8) an array of bytes.
fn field(entry: &Value, key: &str) -> String {
    match entry.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(bytes)) => {
            let raw: Vec<u8> =
                bytes.iter().filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => String::new(),
    }
}

/// One journalctl JSON line as an operation.
fn operation(entry: &Value) -> Operation {
    let get = |key: &str| field(entry, key);
    let failed = get("CNI_OUTCOME") == "error";
    Operation {
        time: get("__REALTIME_TIMESTAMP").parse().map(utc_time).unwrap_or_default(),
        plugin: get("CNI_PLUGIN"),
        command: get("CNI_COMMAND"),
        network: get("CNI_NETWORK"),
        container_id: get("CNI_CONTAINERID"),
        ifname: get("CNI_IFNAME"),
        netns: get("CNI_NETNS"),
        outcome: get("CNI_OUTCOME"),
        duration_usec: get("CNI_DURATION_USEC").parse().ok(),
        ips: get("CNI_IPS").split_whitespace().map(str::to_string).collect(),
        error_code: get("CNI_ERROR_CODE").parse().ok().filter(|_| failed),
        error_msg: failed.then(|| get("CNI_ERROR_MSG")),
        pid: get("_PID").parse().ok(),
    }
}

/// Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).
fn utc_time(usec: u64) -> String {
    let secs = usec / 1_000_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        usec % 1_000_000
    )
}

/// The journalled operations `args` asks for, oldest first.
pub fn operations(args: &LogArgs) -> Result<Operations> {
    let child = journalctl(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let out = child.and_then(|child| cni::invoke::wait_within(child, JOURNALCTL_LIMIT)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            color_eyre::eyre::eyre!(
                "cnictl log reads the systemd journal with journalctl, which is not installed \
                 (Debian: apt-get install systemd)"
            )
        } else {
            color_eyre::eyre::eyre!("cannot run journalctl: {e}")
        }
    })?;
    if !out.status.success() {
        bail!("journalctl failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value =
            serde_json::from_str(line).wrap_err("journalctl printed a line that is not JSON")?;
        let op = operation(&entry);
        if args.container.as_ref().is_none_or(|prefix| op.container_id.starts_with(prefix.as_str())) {
            found.push(op);
        }
    }
    if let Some(lines) = args.lines {
        let skip = found.len().saturating_sub(lines);
        found.drain(..skip);
    }
    Ok(Operations(found))
}

/// Prints the journalled operations.
pub fn run(args: &LogArgs, format: Format) -> Result<ExitCode> {
    render::show(format, &operations(args)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_timestamps_read_as_utc() {
        assert_eq!(utc_time(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(utc_time(1_796_574_757_241_384), "2026-12-06T16:32:37.241384Z");
        assert_eq!(utc_time(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn an_entry_reads_with_its_error_and_a_byte_array_field() {
        let entry = serde_json::json!({
            "__REALTIME_TIMESTAMP": "1796574757241384", "CNI_PLUGIN": "bridge", "CNI_COMMAND": "ADD",
            "CNI_NETWORK": "n", "CNI_CONTAINERID": [99, 49], "CNI_OUTCOME": "error",
            "CNI_ERROR_CODE": "11", "CNI_ERROR_MSG": "busy", "_PID": "42"
        });
        let op = operation(&entry);
        assert_eq!(op.container_id, "c1");
        assert_eq!((op.error_code, op.error_msg.as_deref(), op.pid), (Some(11), Some("busy"), Some(42)));
    }
}
