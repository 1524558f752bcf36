//! nftables through `nft`: list a chain's rules, apply a script atomically.

use std::path::PathBuf;

use serde_json::Value;

use super::{find_tool, run_tool};
use crate::error::CniError;

/// A rule as listed: its handle and comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftRule {
    /// The kernel's handle, for `delete rule ... handle N`.
    pub handle: u64,
    /// The rule's comment, empty when it has none.
    pub comment: String,
}

/// The `nft` binary, if this host has one.
pub fn nft() -> Option<PathBuf> {
    find_tool("nft")
}

/// Lists the rules of `family table chain`; a missing table or chain is no rules.
pub fn list_rules(family: &str, table: &str, chain: &str) -> Result<Vec<NftRule>, CniError> {
    let Some(nft) = nft() else { return Ok(Vec::new()) };
    let out = run_tool(&nft, &["-j", "list", "chain", family, table, chain], "")?;
    if !out.success {
        if out.stderr.contains("No such file or directory") {
            return Ok(Vec::new());
        }
        return Err(CniError::internal(format!("nft list chain {family} {table} {chain}: {}", out.stderr)));
    }
    let listing: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| CniError::internal(format!("nft printed JSON we cannot read: {e}")))?;
    let items = listing.get("nftables").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(items
        .iter()
        .filter_map(|item| item.get("rule"))
        .filter_map(|rule| {
            Some(NftRule {
                handle: rule.get("handle")?.as_u64()?,
                comment: rule.get("comment").and_then(Value::as_str).unwrap_or_default().to_string(),
            })
        })
        .collect())
}

/// Applies a script with `nft -f -`: all of it or nothing.
pub fn apply(script: &str) -> Result<(), CniError> {
    let nft = nft().ok_or_else(|| CniError::internal("nftables backend requested but `nft` was not found"))?;
    let out = run_tool(&nft, &["-f", "-"], script)?;
    if out.success {
        Ok(())
    } else {
        Err(CniError::internal(format!("nft transaction failed: {}", out.stderr)))
    }
}

/// Quotes a comment for an nft script (Go `%q`, as knftables writes it).
pub fn quote(text: &str) -> String {
    super::go_quote(text)
}
