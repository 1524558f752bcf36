//! nftables through `nft`: list a chain's rules, apply a script atomically.

use std::path::PathBuf;

use serde_json::Value;

use super::{find_tool, run_tool};
use crate::error::CniError;

/// A rule as listed: its chain, handle and comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftRule {
    /// The chain it is in.
    pub chain: String,
    /// The kernel's handle, for `delete rule ... handle N`.
    pub handle: u64,
    /// The rule's comment, empty when it has none.
    pub comment: String,
}

/// The `nft` binary, if this host has one.
pub fn nft() -> Option<PathBuf> {
    find_tool("nft")
}

/// What a listing held: chain names and rules.
#[derive(Debug, Default)]
pub struct Listing {
    /// Names of the chains listed.
    pub chains: Vec<String>,
    /// The rules listed, in order.
    pub rules: Vec<NftRule>,
}

/// Runs `nft -j list <what...>`; a missing table or chain is an empty listing.
fn list(what: &[&str]) -> Result<Listing, CniError> {
    let Some(nft) = nft() else { return Ok(Listing::default()) };
    let mut args = vec!["-j", "list"];
    args.extend_from_slice(what);
    let out = run_tool(&nft, &args, "")?;
    if !out.success {
        if out.stderr.contains("No such file or directory") {
            return Ok(Listing::default());
        }
        return Err(CniError::internal(format!("nft list {}: {}", what.join(" "), out.stderr)));
    }
    let listing: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| CniError::internal(format!("nft printed JSON we cannot read: {e}")))?;
    let items = listing.get("nftables").and_then(Value::as_array).cloned().unwrap_or_default();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut result = Listing::default();
    for item in &items {
        if let Some(chain) = item.get("chain") {
            result.chains.push(text(chain, "name"));
        }
        if let Some(rule) = item.get("rule") {
            if let Some(handle) = rule.get("handle").and_then(Value::as_u64) {
                result.rules.push(NftRule {
                    chain: text(rule, "chain"),
                    handle,
                    comment: text(rule, "comment"),
                });
            }
        }
    }
    Ok(result)
}

/// Lists the rules of `family table chain`; a missing table or chain is no rules.
pub fn list_rules(family: &str, table: &str, chain: &str) -> Result<Vec<NftRule>, CniError> {
    Ok(list(&["chain", family, table, chain])?.rules)
}

/// Lists a whole table's chains and rules; a missing table is empty.
pub fn list_table(family: &str, table: &str) -> Result<Listing, CniError> {
    list(&["table", family, table])
}

/// Applies a script with `nft -f -`: all of it or nothing.
pub fn apply(script: &str) -> Result<(), CniError> {
    let nft =
        nft().ok_or_else(|| CniError::internal("nftables backend requested but `nft` was not found"))?;
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
