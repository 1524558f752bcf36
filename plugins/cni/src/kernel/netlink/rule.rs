//! Policy routing rules: listing them, adding "from ADDRESS lookup TABLE",
//! and deleting one as listed (sbr).

use std::net::IpAddr;

use futures::stream::TryStreamExt;
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::IpVersion;

use super::{is_gone, nl_error, Netlink};
use crate::kernel::error::KernelError;

/// A rule as listed.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its source match, if it has one.
    pub source: Option<IpAddr>,
    /// The table it looks up.
    pub table: u32,
    message: RuleMessage,
}

fn rule_from(message: RuleMessage) -> Rule {
    let mut table = u32::from(message.header.table);
    let mut source = None;
    for attr in &message.attributes {
        match attr {
            RuleAttribute::Table(t) => table = *t,
            RuleAttribute::Source(ip) => source = Some(*ip),
            _ => {}
        }
    }
    Rule { source, table, message }
}

impl Netlink {
    /// Every rule of one family.
    pub fn rules(&self, ipv6: bool) -> Result<Vec<Rule>, KernelError> {
        let version = if ipv6 { IpVersion::V6 } else { IpVersion::V4 };
        self.block(async {
            let mut stream = self.handle.rule().get(version).execute();
            let mut found = Vec::new();
            while let Some(msg) = stream.try_next().await.map_err(|e| nl_error("list rules", e))? {
                found.push(rule_from(msg));
            }
            Ok(found)
        })
    }

    /// Adds `from SOURCE/32 (or /128) lookup TABLE`.
    pub fn add_source_rule(&self, source: IpAddr, table: u32) -> Result<(), KernelError> {
        let what = format!("add rule from {source} lookup {table}");
        self.block(async {
            // The action must be said: left unset, the kernel keeps a rule that does nothing.
            let add = self.handle.rule().add().table_id(table).action(RuleAction::ToTable);
            match source {
                IpAddr::V4(ip) => add.v4().source_prefix(ip, 32).execute().await,
                IpAddr::V6(ip) => add.v6().source_prefix(ip, 128).execute().await,
            }
        })
        .map_err(|e| nl_error(&what, e))
    }

    /// Deletes a listed rule; one already gone is no error.
    pub fn del_rule(&self, rule: &Rule) -> Result<(), KernelError> {
        match self.block(async { self.handle.rule().del(rule.message.clone()).execute().await }) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => {
                let from = rule.source.map(|ip| ip.to_string()).unwrap_or_else(|| "all".to_string());
                Err(nl_error(&format!("delete rule from {from} lookup {}", rule.table), e))
            }
        }
    }
}
