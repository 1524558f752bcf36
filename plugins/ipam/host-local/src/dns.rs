//! Reads DNS settings from a resolv.conf file for the result's `dns`.

use cni::result::Dns;
use cni::CniError;

/// Parses `nameserver`, `domain`, `search` and `options` lines.
pub fn parse_resolv_conf(path: &str) -> Result<Dns, CniError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CniError::io(format!("failed to read {path}"), e))?;
    let mut dns = Dns::default();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            continue;
        }
        let rest = fields[1..].iter().map(|s| s.to_string());
        match fields[0] {
            "nameserver" => dns.nameservers.push(fields[1].to_string()),
            "domain" => dns.domain = fields[1].to_string(),
            "search" => dns.search.extend(rest),
            "options" => dns.options.extend(rest),
            _ => {}
        }
    }
    Ok(dns)
}
