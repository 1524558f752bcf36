//! The host's netfilter state, read once per command and shared by every
//! attachment checked (doctor checks them all): the iptables filter and
//! nat tables of each family (each read by one `*-save`), nftables' chains,
//! and the rules of each chain asked for.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use super::iptables::{self, Filter};
use super::netlink::{nft_chains, nft_rules, NftChain, NftRuleExprs};

/// One iptables filter table: the tool that reads it (`iptables`,
/// `ip6tables`, or their `-legacy` twins) and what it holds.
pub struct IptablesTable {
    /// The tool, as fixes name it.
    pub tool: String,
    /// Its chains and rules.
    pub filter: Filter,
    /// It lives in nftables (iptables-nft), where the native walk skips it.
    pub in_nftables: bool,
}

/// A chain by family, table and name.
type ChainKey = (u8, String, String);

/// A chain's rules as listed, or why they could not be.
type Listed = Result<Vec<NftRuleExprs>, String>;

/// What has been read so far; everything is read when first asked for.
#[derive(Default)]
pub struct Ruleset {
    filter: [OnceCell<Vec<IptablesTable>>; 2],
    nat: [OnceCell<Option<String>>; 2],
    chains: OnceCell<Result<Vec<NftChain>, String>>,
    rules: RefCell<HashMap<ChainKey, Listed>>,
}

fn tool(ipv6: bool) -> &'static str {
    if ipv6 {
        "ip6tables"
    } else {
        "iptables"
    }
}

/// `TOOL-save -t TABLE`'s output, when the tool is there and answers.
fn save(tool: &str, table: &str) -> Option<String> {
    let path = cni::netfilter::find_tool(&format!("{tool}-save"))?;
    cni::netfilter::run_tool(&path, &["-t", table], "").ok().filter(|o| o.success).map(|o| o.stdout)
}

/// The filter table of `tool`, if it holds a FORWARD chain.
fn read_filter(tool: &str) -> Option<IptablesTable> {
    let saved = save(tool, "filter")?;
    let path = cni::netfilter::find_tool(&format!("{tool}-save"))?;
    let version = cni::netfilter::run_tool(&path, &["--version"], "").map(|o| o.stdout).unwrap_or_default();
    let filter = iptables::parse(&saved);
    filter.policies.contains_key("FORWARD").then(|| IptablesTable {
        tool: tool.to_string(),
        filter,
        in_nftables: version.contains("nf_tables"),
    })
}

impl Ruleset {
    /// Nothing read yet.
    pub fn new() -> Ruleset {
        Ruleset::default()
    }

    /// The iptables filter tables of a family: the one the `iptables` tool
    /// reads, and, when that is iptables-nft while legacy tables are loaded
    /// too (a host where two tools wrote), the legacy one.
    pub fn iptables_filter(&self, ipv6: bool) -> &[IptablesTable] {
        self.filter[usize::from(ipv6)].get_or_init(|| {
            let tool = tool(ipv6);
            let mut tables: Vec<IptablesTable> = read_filter(tool).into_iter().collect();
            let names = if ipv6 { "/proc/net/ip6_tables_names" } else { "/proc/net/ip_tables_names" };
            let legacy_loaded =
                std::fs::read_to_string(names).is_ok_and(|n| n.lines().any(|t| t == "filter"));
            if legacy_loaded && tables.iter().all(|t| t.in_nftables) {
                tables.extend(read_filter(&format!("{tool}-legacy")));
            }
            tables
        })
    }

    /// `iptables-save -t nat` (ip6tables for IPv6), when it can be read.
    pub fn iptables_nat(&self, ipv6: bool) -> Option<&str> {
        self.nat[usize::from(ipv6)].get_or_init(|| save(tool(ipv6), "nat")).as_deref()
    }

    /// Every nftables chain, or why they cannot be listed.
    pub fn nft_chains(&self) -> Result<&[NftChain], &str> {
        match self.chains.get_or_init(nft_chains) {
            Ok(chains) => Ok(chains),
            Err(e) => Err(e),
        }
    }

    /// The rules of one nftables chain.
    pub fn nft_rules(&self, family: u8, table: &str, chain: &str) -> Result<Vec<NftRuleExprs>, String> {
        let key = (family, table.to_string(), chain.to_string());
        if let Some(found) = self.rules.borrow().get(&key) {
            return found.clone();
        }
        let found = nft_rules(family, table, chain);
        self.rules.borrow_mut().insert(key, found.clone());
        found
    }
}
