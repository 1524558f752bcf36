//! iptables through `iptables-save` and `iptables-restore --noflush`.

use std::path::PathBuf;

use super::{find_tool, run_tool};
use crate::error::CniError;

fn tool(ipv6: bool, what: &str) -> Option<PathBuf> {
    find_tool(&format!("{}{what}", if ipv6 { "ip6tables" } else { "iptables" }))
}

/// True when the iptables tools for the family are installed.
pub fn available(ipv6: bool) -> bool {
    tool(ipv6, "-save").is_some() && tool(ipv6, "-restore").is_some()
}

/// The rules of one table in `iptables-save` form.
pub fn save(ipv6: bool, table: &str) -> Result<String, CniError> {
    let save = tool(ipv6, "-save").ok_or_else(|| CniError::internal("iptables-save was not found"))?;
    let out = run_tool(&save, &["-t", table], "")?;
    if out.success {
        Ok(out.stdout)
    } else {
        Err(CniError::internal(format!("{} -t {table}: {}", save.display(), out.stderr)))
    }
}

/// Applies `iptables-restore` input (one table, ending in COMMIT) without flushing the rest.
pub fn restore(ipv6: bool, input: &str) -> Result<(), CniError> {
    let restore =
        tool(ipv6, "-restore").ok_or_else(|| CniError::internal("iptables-restore was not found"))?;
    let out = run_tool(&restore, &["-w", "5", "--noflush"], input)?;
    if out.success {
        Ok(())
    } else {
        Err(CniError::internal(format!("iptables-restore failed: {}", out.stderr)))
    }
}

/// True when a chain is declared in `iptables-save` output.
pub fn has_chain(saved: &str, chain: &str) -> bool {
    saved.lines().any(|l| l.strip_prefix(':').and_then(|r| r.split_whitespace().next()) == Some(chain))
}

/// The `-A` lines of `chain` in `iptables-save` output that jump to `target`.
pub fn rules_jumping_to<'a>(saved: &'a str, chain: &str, target: &str) -> Vec<&'a str> {
    let head = format!("-A {chain} ");
    let jump = format!("-j {target}");
    saved
        .lines()
        .filter(|l| l.starts_with(&head) && (l.ends_with(&jump) || l.contains(&format!("{jump} "))))
        .collect()
}

/// Quotes one argument for iptables-restore input.
pub fn quote(arg: &str) -> String {
    format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
}
