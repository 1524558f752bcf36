//! Netfilter: nftables over netlink, iptables through its tools, conntrack,
//! the reference's names, and the two features built on them that main
//! plugins share (ipMasq's masquerading, bridge's MAC spoof check).
//!
//! Chain names, rule comments and hashes follow the reference plugins
//! exactly, so rules one implementation made are found and removed by the
//! other. Each ADD or DEL applies its changes as one transaction (an
//! nftables netlink batch, or `iptables-restore --noflush`).

pub mod conntrack;
pub mod ipmasq;
pub mod iptables;
pub mod nftdump;
pub mod nftnl;
pub mod spoofcheck;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sha2::{Digest, Sha512};

use crate::error::CniError;

/// Which netfilter interface a feature programs: the one choice ipMasq and
/// portmap share (the firewall has three backends of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// nftables, over netlink.
    Nftables,
    /// iptables, through `iptables-restore`.
    Iptables,
}

impl Backend {
    /// The backend a netconf value names (`nftables`, `iptables`); `None`
    /// for any other, which the caller words as its key's error.
    pub fn parse(value: &str) -> Option<Backend> {
        match value {
            "nftables" => Some(Backend::Nftables),
            "iptables" => Some(Backend::Iptables),
            _ => None,
        }
    }

    /// With none named, the reference's choice for portmap and ipMasq:
    /// iptables when its tools are installed, else nftables. The
    /// reference's ADD, CHECK and DEL use that one backend (its DEL of
    /// ipMasq, since v1.6, both), so ours must write where it will look
    /// after a node is rolled back. Without iptables it is nftables even
    /// when the kernel does not answer a probe (no CAP_NET_ADMIN yet at
    /// detection): the reference then falls back to iptables, which cannot
    /// work either (plugins#1280); ours writes nftables, whose own error,
    /// if any, says what is wrong.
    pub fn reference_default() -> Backend {
        if iptables::available(false) {
            Backend::Iptables
        } else {
            Backend::Nftables
        }
    }
}

/// Directories searched for the tools besides `PATH` (runtimes often exec
/// plugins with a minimal `PATH`).
const SBIN_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Finds an executable by name in `PATH` and the usual sbin directories.
/// Each name is looked for once per process (with `PATH` as it was then):
/// one ADD asks for iptables-save and iptables-restore several times, and
/// each search is a stat per directory.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    static FOUND: std::sync::Mutex<Vec<(String, Option<PathBuf>)>> = std::sync::Mutex::new(Vec::new());
    let mut found = FOUND.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, path)) = found.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let located = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(SBIN_DIRS)
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file());
    found.push((name.to_string(), located.clone()));
    located
}

/// What running a tool gave: its exit status, stdout and stderr.
pub struct ToolOutput {
    /// True when it exited 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error, trimmed.
    pub stderr: String,
}

/// How long a netfilter tool may take: a tool stuck on the xtables lock
/// or a wedged kernel must not hang a plugin verb, doctor or inspect.
pub const TOOL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// One rule an ADD would make, as cnictl's plan (`explain`) shows it:
/// portmap's and the firewall's plans give their rules so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    /// Where it goes: `ip nat` (iptables), `ip cni_hostport`,
    /// `inet cni_plugins_firewall`, or a firewalld zone.
    pub table: String,
    /// Its chain (for firewalld: `sources`).
    pub chain: String,
    /// The rule as the backend's listing shows it (iptables-save's words
    /// after `-A CHAIN`, or nft's).
    pub rule: String,
}

/// Runs `tool args...` with `input` on stdin, for at most [`TOOL_LIMIT`]:
/// a tool still running then is killed and the error names it.
pub fn run_tool(tool: &Path, args: &[&str], input: &str) -> Result<ToolOutput, CniError> {
    StartedTool::start(tool, args)?.finish(input)
}

/// A tool started before its input is known, so that its exec and
/// start-up run while the caller works out what to write (ipMasq starts
/// `iptables-restore` while IPAM picks the addresses). It reads nothing
/// of the kernel's state before its input comes. Dropped unfinished, its
/// stdin closes and it ends with nothing to do.
pub struct StartedTool {
    child: Option<Child>,
    describe: String,
}

impl StartedTool {
    /// Spawns `tool args...` with its stdin, stdout and stderr piped.
    pub fn start(tool: &Path, args: &[&str]) -> Result<StartedTool, CniError> {
        let describe = format!("{} {}", tool.display(), args.join(" "));
        let child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CniError::internal(format!("failed to run {describe}: {e}")))?;
        Ok(StartedTool { child: Some(child), describe })
    }

    /// Writes `input`, closes stdin and waits at most [`TOOL_LIMIT`] for the end.
    pub fn finish(self, input: &str) -> Result<ToolOutput, CniError> {
        self.finish_within(input, TOOL_LIMIT)
    }

    fn finish_within(mut self, input: &str, limit: std::time::Duration) -> Result<ToolOutput, CniError> {
        let Some(mut child) = self.child.take() else {
            return Err(CniError::internal(format!("{} was already finished", self.describe)));
        };
        if let Some(mut stdin) = child.stdin.take() {
            if let Err(e) = stdin.write_all(input.as_bytes()) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CniError::internal(format!("failed to write to {}: {e}", self.describe)));
            }
        }
        let output = crate::invoke::wait_within(child, limit)
            .map_err(|e| CniError::internal(format!("failed to run {}: {e}", self.describe)))?;
        Ok(ToolOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

impl Drop for StartedTool {
    /// An unfinished tool gets no input: its stdin closes, and it is
    /// waited for (within the limit) so that no zombie is left.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = crate::invoke::wait_within(child, TOOL_LIMIT);
        }
    }
}

/// The reference's `MustFormatHashWithPrefix`: prefix plus the hex SHA-512
/// of `to_hash`, cut to `length` characters.
pub fn hash_with_prefix(length: usize, prefix: &str, to_hash: &str) -> String {
    let digest = Sha512::digest(to_hash.as_bytes());
    let mut text = String::from(prefix);
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
        if text.len() >= length {
            break;
        }
    }
    text.truncate(length);
    text
}

/// The reference's nftables tag of a network (ipMasq's comments start with
/// it): 16 hex digits of its hash.
pub fn network_hash(network: &str) -> String {
    hash_with_prefix(16, "", network)
}

/// Whose rules: the attachment that owns them (ipMasq's and the firewall's
/// nftables rules).
pub struct Owner<'a> {
    /// Network name.
    pub network: &'a str,
    /// Interface name in the container.
    pub ifname: &'a str,
    /// Container ID.
    pub container_id: &'a str,
}

/// Length of `Owner::hash`.
const ATTACHMENT_HASH_LEN: usize = 33;

impl Owner<'_> {
    /// The reference's nftables tag of the attachment, `<network hash>-<hash
    /// of "ifname:containerID">` (33 characters): what ipMasq's comments,
    /// and the firewall's nftables rules, start with, so DEL and GC find them.
    pub fn hash(&self) -> String {
        let own = hash_with_prefix(16, "", &format!("{}:{}", self.ifname, self.container_id));
        format!("{}-{own}", network_hash(self.network))
    }
}

/// The attachment hash a rule comment starts with (empty when it is shorter).
pub fn comment_hash(comment: &str) -> &str {
    comment.get(..ATTACHMENT_HASH_LEN).unwrap_or_default()
}

/// The reference's iptables chain name for a network and container: `CNI-` + hash, 28 characters.
pub fn chain_name(network: &str, container_id: &str) -> String {
    hash_with_prefix(28, "CNI-", &format!("{network}{container_id}"))
}

/// The reference's iptables rule comment: `name: "NET" id: "ID"` (Go `%q`).
pub fn iptables_comment(network: &str, container_id: &str) -> String {
    format!("name: {} id: {}", go_quote(network), go_quote(container_id))
}

/// Quotes a string as Go's `%q` does for the characters names can hold.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tool_that_does_not_finish_in_time_is_killed_and_named() {
        let started = std::time::Instant::now();
        let limit = std::time::Duration::from_millis(200);
        let Err(e) =
            StartedTool::start(Path::new("/bin/sleep"), &["30"]).and_then(|t| t.finish_within("", limit))
        else {
            panic!("sleep 30 finished within 200 ms")
        };
        assert!(e.msg.contains("/bin/sleep 30") && e.msg.contains("no answer within"), "{}", e.msg);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "killed at the limit");
        let done = StartedTool::start(Path::new("/bin/cat"), &[]).and_then(|t| t.finish_within("in", limit));
        let done = done.map(|o| o.stdout);
        assert_eq!(done.ok().as_deref(), Some("in"));
    }

    use super::*;

    #[test]
    fn names_match_the_reference() {
        // sha512("mynetcontainer1") starts with these hex digits.
        let full = hash_with_prefix(128, "", "mynetcontainer1");
        assert_eq!(full.len(), 128);
        assert_eq!(chain_name("mynet", "container1"), format!("CNI-{}", &full[..24]));
        assert_eq!(hash_with_prefix(16, "", "x").len(), 16);
        assert_eq!(iptables_comment("mynet", "c\"1"), r#"name: "mynet" id: "c\"1""#);
    }
}
