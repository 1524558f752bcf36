//! Policy routing rules: listing them, adding "from ADDRESS lookup TABLE",
//! and deleting one as listed (sbr).

use std::net::IpAddr;

use netlink_packet_route::route::RouteHeader;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{is_gone, nl_error, Netlink, NLM_F_CREATE, NLM_F_EXCL};
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

fn family(ipv6: bool) -> AddressFamily {
    if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

impl Netlink {
    /// Every rule of one family.
    pub fn rules(&self, ipv6: bool) -> Result<Vec<Rule>, KernelError> {
        let mut request = RuleMessage::default();
        request.header.family = family(ipv6);
        request.header.action = RuleAction::Unspec;
        request.header.table = RouteHeader::RT_TABLE_UNSPEC;
        self.dump(RouteNetlinkMessage::GetRule(request), "list rules", |a| match a {
            RouteNetlinkMessage::NewRule(msg) => Some(rule_from(msg)),
            _ => None,
        })
    }

    /// Adds `from SOURCE/32 (or /128) lookup TABLE`.
    pub fn add_source_rule(&self, source: IpAddr, table: u32) -> Result<(), KernelError> {
        let mut message = RuleMessage::default();
        message.header.family = family(source.is_ipv6());
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        // The action must be said: left unset, the kernel keeps a rule that does nothing.
        message.header.action = RuleAction::ToTable;
        if table > 255 {
            message.attributes.push(RuleAttribute::Table(table));
        } else {
            message.header.table = table as u8;
        }
        message.header.src_len = if source.is_ipv6() { 128 } else { 32 };
        message.attributes.push(RuleAttribute::Source(source));
        self.request(RouteNetlinkMessage::NewRule(message), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|e| nl_error(&format!("add rule from {source} lookup {table}"), e))
    }

    /// Deletes a listed rule; one already gone is no error.
    pub fn del_rule(&self, rule: &Rule) -> Result<(), KernelError> {
        match self.request(RouteNetlinkMessage::DelRule(rule.message.clone()), 0) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => {
                let from = rule.source.map(|ip| ip.to_string()).unwrap_or_else(|| "all".to_string());
                Err(nl_error(&format!("delete rule from {from} lookup {}", rule.table), e))
            }
        }
    }
}
