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

/// Quotes one argument for iptables-restore input (the spec layer's
/// spelling, which checked restore words use too).
pub use crate::spec::checked::restore_quote as quote;

/// `-m comment --comment "TEXT"`, as iptables-save spells it.
pub fn comment_match(text: &str) -> String {
    format!("-m comment --comment {}", quote(text))
}

/// A rule spelled as `iptables-save` prints it: its chain, its spec, and
/// whether it is inserted first or appended. Spelling rules that way lets
/// one `iptables-save` tell which exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The chain it goes in.
    pub chain: String,
    /// Everything after `-A CHAIN`.
    pub spec: String,
    /// Inserted at the top (`-I CHAIN 1`) rather than appended.
    pub first: bool,
}

impl Rule {
    /// A rule in `chain`.
    pub fn new(chain: &str, spec: String, first: bool) -> Rule {
        Rule { chain: chain.to_string(), spec, first }
    }

    /// The restore line that adds it.
    pub fn add_line(&self) -> String {
        if self.first {
            format!("-I {} 1 {}\n", self.chain, self.spec)
        } else {
            format!("-A {} {}\n", self.chain, self.spec)
        }
    }
}

/// True when `saved` (iptables-save output) holds the rule.
pub fn present(saved: &str, rule: &Rule) -> bool {
    let line = format!("-A {} {}", rule.chain, rule.spec);
    saved.lines().any(|l| l.trim_end() == line)
}

/// Restore lines creating the chains and rules `saved` lacks; empty when none.
pub fn missing_lines(saved: &str, chains: &[&str], rules: &[Rule]) -> String {
    let mut lines = String::new();
    for chain in chains.iter().filter(|c| !has_chain(saved, c)) {
        lines.push_str(&format!("-N {chain}\n"));
    }
    for rule in rules.iter().filter(|r| !present(saved, r)) {
        lines.push_str(&rule.add_line());
    }
    lines
}

/// One transaction on `table`: `build` turns the current iptables-save
/// output into restore lines (empty: nothing to do). A concurrent change
/// can make the restore fail (a chain made meanwhile): then the table is
/// read again and the transaction rebuilt, up to three times.
pub fn transact(ipv6: bool, table: &str, build: impl Fn(&str) -> String) -> Result<(), CniError> {
    let mut last = None;
    for _ in 0..3 {
        let saved = save(ipv6, table)?;
        let lines = build(&saved);
        if lines.is_empty() {
            return Ok(());
        }
        match restore(ipv6, &format!("*{table}\n{lines}COMMIT\n")) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CniError::internal("iptables-restore failed")))
}

/// Deletes those of `rules` that exist, in one transaction.
pub fn remove_rules(ipv6: bool, table: &str, rules: &[Rule]) -> Result<(), CniError> {
    transact(ipv6, table, |saved| {
        rules.iter().filter(|r| present(saved, r)).map(|r| format!("-D {} {}\n", r.chain, r.spec)).collect()
    })
}

/// The first of `chains` and `rules` that `table` lacks, described, if any.
pub fn first_missing(
    ipv6: bool,
    table: &str,
    chains: &[&str],
    rules: &[Rule],
) -> Result<Option<String>, CniError> {
    let saved = save(ipv6, table)?;
    if let Some(chain) = chains.iter().find(|c| !has_chain(&saved, c)) {
        return Ok(Some(format!("chain {chain}")));
    }
    Ok(rules.iter().find(|r| !present(&saved, r)).map(|r| format!("{} rule {}", r.chain, r.spec)))
}

/// Restore lines that delete `chain` and every rule of `from` jumping to it;
/// empty when neither exists.
pub fn chain_removal_lines(saved: &str, chain: &str, from: &[&str]) -> String {
    let mut lines = String::new();
    for entry in from {
        for rule in rules_jumping_to(saved, entry, chain) {
            lines.push_str(&format!("-D{}\n", &rule[2..]));
        }
    }
    if has_chain(saved, chain) {
        lines.push_str(&format!("-F {chain}\n-X {chain}\n"));
    }
    lines
}

/// Whether a chain of ours may exist in `table`, without exec'ing
/// iptables-save when it surely does not: with iptables-nft the chain is a
/// chain of the `ip TABLE` (`ip6 TABLE`) nftables table; legacy iptables is
/// checked the slow way whenever its table is loaded.
pub fn chain_may_exist(ipv6: bool, table: &str, chain: &str) -> bool {
    if !available(ipv6) {
        return false;
    }
    let legacy = if ipv6 { "/proc/net/ip6_tables_names" } else { "/proc/net/ip_tables_names" };
    if std::fs::read_to_string(legacy).is_ok_and(|names| names.lines().any(|n| n == table)) {
        return true;
    }
    let family = if ipv6 { super::nftnl::FAMILY_IPV6 } else { super::nftnl::FAMILY_IPV4 };
    match super::nftnl::list_chains(family, table) {
        Ok(Some(chains)) => chains.iter().any(|c| c == chain),
        Ok(None) => false,
        Err(_) => true,
    }
}
