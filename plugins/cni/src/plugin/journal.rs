//! The operation journal: one structured entry per ADD, DEL, CHECK and GC
//! (and per STATUS whose answer changed) sent to the systemd journal.
//!
//! Runtimes discard a plugin's stderr when the call succeeds, so without
//! this a node keeps no record of what its CNI plugins did (the spec's open
//! question on plugin logging, containernetworking/cni#817). An entry costs
//! one datagram on journald's native socket, sent without blocking; a
//! missing socket, a full queue or any other failure is ignored: the
//! journal never fails, slows or changes a call.
//!
//! Every entry carries [`MESSAGE_ID`], so `journalctl MESSAGE_ID=...` and
//! `cnictl log` find them all, and the fields of [`Entry::fields`]. Set
//! [`OFF_ENV`] to `off` in the runtime's environment, or create
//! [`OFF_FILE`], to send nothing.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use crate::env::Command;
use crate::error::CniError;

/// The journal's message ID of every entry (a fixed 128-bit ID, as the
/// journal's catalog convention asks of one kind of event).
pub const MESSAGE_ID: &str = "84748dd054c544c581797de3c8d2a562";

/// journald's native protocol socket.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// Overrides [`SOCKET`]: a journald namespace's socket
/// (`/run/systemd/journal.<ns>/socket`), or a test's.
pub const SOCKET_ENV: &str = "CNICTL_JOURNAL_SOCKET";

/// `off` (or `0`, `no`, `false`) in the plugin's environment: no entries.
pub const OFF_ENV: &str = "CNICTL_JOURNAL";

/// When this file exists, no entries: the node-wide switch for runtimes
/// whose environment is awkward to change.
pub const OFF_FILE: &str = "/etc/cni/cnictl-journal.off";

/// Where each network's last STATUS answer per plugin is kept (tmpfs), so
/// that only a change is journalled: containerd asks every few seconds.
pub const STATUS_DIR: &str = "/run/cni/status";

/// Longest error message kept in an entry; the journal is not the place
/// for a plugin's whole output.
const MAX_MESSAGE: usize = 4096;

/// What one call was, filled in by the skeleton as it learns it.
#[derive(Debug, Default)]
pub struct Call {
    /// The verb, once `CNI_COMMAND` parsed.
    pub command: Option<Command>,
    /// The network name from the netconf.
    pub network: String,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_NETNS`.
    pub netns: String,
    /// The netconf's `cniVersion`.
    pub cni_version: String,
    /// The addresses an ADD handed out.
    pub ips: Vec<String>,
}

/// One entry, ready to be encoded.
pub struct Entry<'a> {
    /// The plugin's type.
    pub plugin: &'a str,
    /// The call.
    pub call: &'a Call,
    /// The verb.
    pub command: Command,
    /// `None` when the call succeeded.
    pub error: Option<&'a CniError>,
    /// How long the call took.
    pub duration: Duration,
}

impl Entry<'_> {
    /// The entry's journal fields, in order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let call = self.call;
        let verb = self.command.as_str();
        let target = match self.command {
            Command::Gc | Command::Status => call.network.clone(),
            _ => format!("{}/{}/{}", call.network, call.container_id, call.ifname),
        };
        let took = format!("{:.1} ms", self.duration.as_secs_f64() * 1000.0);
        let message = match self.error {
            None if call.ips.is_empty() => format!("{} {verb} {target}: ok ({took})", self.plugin),
            None => format!("{} {verb} {target}: ok, {} ({took})", self.plugin, call.ips.join(", ")),
            Some(e) => {
                format!("{} {verb} {target} failed: [{}] {} ({took})", self.plugin, e.code, cut(&e.msg))
            }
        };
        let mut fields = vec![
            ("MESSAGE", message),
            ("MESSAGE_ID", MESSAGE_ID.to_string()),
            ("PRIORITY", if self.error.is_some() { "3" } else { "6" }.to_string()),
            ("SYSLOG_IDENTIFIER", format!("cni-{}", self.plugin)),
            ("CNI_PLUGIN", self.plugin.to_string()),
            ("CNI_COMMAND", verb.to_string()),
            ("CNI_NETWORK", call.network.clone()),
            ("CNI_CONTAINERID", call.container_id.clone()),
            ("CNI_IFNAME", call.ifname.clone()),
            ("CNI_NETNS", call.netns.clone()),
            ("CNI_VERSION", call.cni_version.clone()),
            ("CNI_OUTCOME", if self.error.is_some() { "error" } else { "ok" }.to_string()),
            ("CNI_DURATION_USEC", self.duration.as_micros().to_string()),
        ];
        if !call.ips.is_empty() {
            fields.push(("CNI_IPS", call.ips.join(" ")));
        }
        if let Some(e) = self.error {
            fields.push(("CNI_ERROR_CODE", e.code.to_string()));
            fields.push(("CNI_ERROR_MSG", cut(&e.msg)));
            if !e.details.is_empty() {
                fields.push(("CNI_ERROR_DETAILS", cut(&e.details)));
            }
        }
        fields.retain(|(_, value)| !value.is_empty());
        fields
    }
}

fn cut(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_string();
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The native protocol's datagram: `KEY=value\n` per field, or for a value
/// with a newline `KEY\n`, its length as 64-bit little endian, the value
/// and `\n`.
pub fn encode(fields: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        if value.contains('\n') {
            out.extend_from_slice(key.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        } else {
            let _ = write!(out, "{key}={value}");
        }
        out.push(b'\n');
    }
    out
}

/// Journals a finished call (never fails, never blocks): ADD, DEL, CHECK
/// and GC always, STATUS when its answer differs from the last one this
/// node journalled for the network and plugin, VERSION never.
pub fn record(getenv: &dyn Fn(&str) -> Option<String>, entry: &Entry) {
    record_in(getenv, Path::new(STATUS_DIR), entry)
}

/// [`record`] with STATUS answers kept in `status_dir`.
pub fn record_in(getenv: &dyn Fn(&str) -> Option<String>, status_dir: &Path, entry: &Entry) {
    if entry.command == Command::Version || switched_off(getenv) {
        return;
    }
    if entry.command == Command::Status && !status_changed(status_dir, entry) {
        return;
    }
    let socket = getenv(SOCKET_ENV).filter(|s| !s.is_empty()).unwrap_or_else(|| SOCKET.to_string());
    send(Path::new(&socket), &encode(&entry.fields()));
}

fn switched_off(getenv: &dyn Fn(&str) -> Option<String>) -> bool {
    let off = getenv(OFF_ENV)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "off" | "0" | "no" | "false"));
    off || Path::new(OFF_FILE).exists()
}

/// True when this STATUS answer is not the one last recorded for its
/// network and plugin (then it is recorded). Where the answer cannot be
/// kept, every answer counts as a change: a record too many rather than a
/// change missed.
fn status_changed(dir: &Path, entry: &Entry) -> bool {
    let answer = match entry.error {
        None => "ok".to_string(),
        Some(e) => format!("{} {}", e.code, e.msg),
    };
    let key = format!("{}\0{}", entry.call.network, entry.plugin);
    let file = dir.join(crate::netfilter::hash_with_prefix(32, "", &key));
    if std::fs::read_to_string(&file).is_ok_and(|last| last == answer) {
        return false;
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = crate::statefile::write(&file, answer.as_bytes(), 0o600);
    true
}

fn send(socket: &Path, datagram: &[u8]) {
    let Ok(sock) = UnixDatagram::unbound() else { return };
    if sock.set_nonblocking(true).is_err() {
        return;
    }
    let _ = sock.send_to(datagram, socket);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            command: Some(Command::Add),
            network: "net1".into(),
            container_id: "c1".into(),
            ifname: "eth0".into(),
            netns: "/run/netns/x".into(),
            cni_version: "1.0.0".into(),
            ips: vec!["10.1.2.3/24".into()],
        }
    }

    fn receiver() -> (tempfile::TempDir, UnixDatagram, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("socket");
        let sock = UnixDatagram::bind(&path).expect("bind");
        sock.set_nonblocking(true).expect("nonblocking");
        (dir, sock, path.display().to_string())
    }

    fn received(sock: &UnixDatagram) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        let mut buf = vec![0; 65536];
        while let Ok(n) = sock.recv(&mut buf) {
            all.push(buf[..n].to_vec());
        }
        all
    }

    #[test]
    fn a_value_with_a_newline_is_sent_with_its_length() {
        let out = encode(&[("A", "one".into()), ("B", "two\nlines".into())]);
        let mut expected = b"A=one\nB\n".to_vec();
        expected.extend_from_slice(&9u64.to_le_bytes());
        expected.extend_from_slice(b"two\nlines\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn an_error_entry_carries_its_code_and_message_and_an_ok_one_its_addresses() {
        let call = call();
        let err = CniError::new(crate::error::ErrorCode::TryAgainLater, "busy");
        let entry = Entry {
            plugin: "bridge",
            call: &call,
            command: Command::Add,
            error: Some(&err),
            duration: Duration::from_micros(4100),
        };
        let fields = entry.fields();
        let get = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(get("CNI_OUTCOME").as_deref(), Some("error"));
        assert_eq!(get("CNI_ERROR_CODE").as_deref(), Some("11"));
        assert_eq!(get("CNI_ERROR_MSG").as_deref(), Some("busy"));
        assert_eq!(get("PRIORITY").as_deref(), Some("3"));
        assert_eq!(get("CNI_DURATION_USEC").as_deref(), Some("4100"));
        assert_eq!(get("MESSAGE").as_deref(), Some("bridge ADD net1/c1/eth0 failed: [11] busy (4.1 ms)"));
        let ok = Entry { error: None, ..entry };
        let fields = ok.fields();
        let get = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(get("CNI_IPS").as_deref(), Some("10.1.2.3/24"));
        assert_eq!(get("CNI_ERROR_CODE"), None);
        assert_eq!(get("PRIORITY").as_deref(), Some("6"));
    }

    #[test]
    fn entries_reach_the_socket_unless_switched_off_and_status_only_on_change() {
        let (dir, sock, path) = receiver();
        let status_dir = dir.path().join("status");
        let on = |k: &str| (k == SOCKET_ENV).then(|| path.clone());
        let call = call();
        let entry = |command, error| Entry {
            plugin: "bridge",
            call: &call,
            command,
            error,
            duration: Duration::ZERO,
        };
        record_in(&on, &status_dir, &entry(Command::Add, None));
        record_in(&on, &status_dir, &entry(Command::Version, None));
        let got = received(&sock);
        assert_eq!(got.len(), 1, "ADD journalled, VERSION not");
        assert!(String::from_utf8_lossy(&got[0]).contains("CNI_COMMAND=ADD\n"));

        let off = |k: &str| match k {
            SOCKET_ENV => Some(path.clone()),
            OFF_ENV => Some("off".into()),
            _ => None,
        };
        record_in(&off, &status_dir, &entry(Command::Del, None));
        assert!(received(&sock).is_empty(), "switched off");

        let err = CniError::new(crate::error::ErrorCode::TryAgainLater, "not ready");
        for _ in 0..3 {
            record_in(&on, &status_dir, &entry(Command::Status, None));
        }
        assert_eq!(received(&sock).len(), 1, "the first STATUS, then no change");
        record_in(&on, &status_dir, &entry(Command::Status, Some(&err)));
        record_in(&on, &status_dir, &entry(Command::Status, Some(&err)));
        record_in(&on, &status_dir, &entry(Command::Status, None));
        let got = received(&sock);
        assert_eq!(got.len(), 2, "failing, then ok again");
        assert!(String::from_utf8_lossy(&got[0]).contains("CNI_ERROR_MSG=not ready\n"));
    }

    #[test]
    fn no_socket_is_no_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nothing-here").display().to_string();
        let env = |k: &str| (k == SOCKET_ENV).then(|| missing.clone());
        let call = call();
        let entry = Entry {
            plugin: "bridge",
            call: &call,
            command: Command::Del,
            error: None,
            duration: Duration::ZERO,
        };
        record_in(&env, dir.path(), &entry);
    }
}
