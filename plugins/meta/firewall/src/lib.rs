//! `firewall`: a chained plugin that lets a container's traffic through the
//! host's FORWARD chain, with the reference's iptables chains (CNI-FORWARD,
//! an admin chain, CNI-ISOLATION-STAGE-1/2 for `ingressPolicy`) and rules,
//! so either implementation checks and removes the other's rules.
//!
//! Only the iptables backend exists: `"backend": "firewalld"` is refused
//! with a config error (the reference would use firewalld's D-Bus API).

mod rules;

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::result::null_as_empty;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The firewall plugin.
pub struct Firewall;

#[derive(Deserialize, Default)]
#[serde(default)]
struct FirewallConf {
    #[serde(deserialize_with = "null_as_empty")]
    backend: String,
    #[serde(rename = "iptablesAdminChainName", deserialize_with = "null_as_empty")]
    admin_chain: String,
    #[serde(rename = "ingressPolicy", deserialize_with = "null_as_empty")]
    ingress_policy: String,
}

struct Config {
    net: NetConf,
    admin_chain: String,
    /// None: open; Some(false): same-bridge; Some(true): isolated.
    isolation: Option<bool>,
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let conf: FirewallConf = parse(&args.stdin)?;
    match conf.backend.as_str() {
        "" | "iptables" => {}
        "firewalld" => {
            return Err(CniError::config(format!(
                "{}: the firewalld backend is not supported here; use \"backend\": \"iptables\"",
                key_label("backend")
            )))
        }
        other => {
            return Err(CniError::config(format!(
                "{}: unknown firewall backend {other:?}",
                key_label("backend")
            )))
        }
    }
    let isolation = match conf.ingress_policy.as_str() {
        "" | "open" => None,
        "same-bridge" => Some(false),
        "isolated" => Some(true),
        other => {
            return Err(CniError::config(format!(
                "{}: unknown ingress policy: {other:?}",
                key_label("ingressPolicy")
            )))
        }
    };
    let admin_chain = if conf.admin_chain.is_empty() { "CNI-ADMIN".to_string() } else { conf.admin_chain };
    check_chain_name(&admin_chain)?;
    Ok(Config { net, admin_chain, isolation })
}

/// iptables' longest chain name (XT_EXTENSION_MAXNAMELEN less the NUL).
const CHAIN_NAME_MAX: usize = 28;

/// A chain name iptables would take as one word: it is written into the
/// iptables-restore input, where a newline or space would start rules
/// of the config author's choosing (the reference runs `iptables -N`,
/// which refuses such names).
fn check_chain_name(name: &str) -> Result<(), CniError> {
    let printable = name.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'');
    if printable && name.len() <= CHAIN_NAME_MAX && !name.starts_with(['-', '!']) {
        return Ok(());
    }
    let shown: String = name.chars().take(40).collect();
    Err(CniError::config(format!(
        "{}: invalid iptables chain name {shown:?}: 1 to {CHAIN_NAME_MAX} printable characters, \
         no spaces or quotes, not starting with '-' or '!'",
        key_label("iptablesAdminChainName")
    )))
}

fn addresses(result: &CniResult, ipv6: bool) -> Vec<IpNetwork> {
    result.ips.iter().map(|ip| ip.address).filter(|a| a.is_ipv6() == ipv6).collect()
}

/// The chains and rules an attachment's addresses need (ADD makes them, CHECK looks for them).
fn expected<'a>(conf: &'a Config, ips: &[IpNetwork]) -> (Vec<&'a str>, Vec<rules::Rule>) {
    let mut wanted = rules::base_rules(&conf.admin_chain);
    wanted.extend(ips.iter().flat_map(rules::address_rules));
    (vec![rules::PRIV_CHAIN, &conf.admin_chain], wanted)
}

fn prev_result(conf: &Config) -> Result<CniResult, CniError> {
    conf.net.prev_result()?.ok_or_else(|| CniError::internal("missing prevResult from earlier plugin"))
}

impl Plugin for Firewall {
    fn name(&self) -> &'static str {
        "firewall"
    }

    /// ADD's config checks (backend, ingress policy); the prevResult it
    /// needs comes from the chain at ADD.
    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        load(args).map(|_| ())
    }

    fn versions(&self) -> &'static [&'static str] {
        &["0.4.0", "1.0.0", "1.1.0"]
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = load(args)?;
        let result = prev_result(&conf)?;
        let isolation = match conf.isolation {
            Some(isolated) => {
                let bridge = result.interfaces.first().map(|i| i.name.clone()).unwrap_or_default();
                if bridge.is_empty() {
                    return Err(CniError::config(
                        "interface needs to be set for the ingress policy, make sure to chain \"firewall\" with \"bridge\"",
                    ));
                }
                Some(rules::isolation_rules(&bridge, isolated))
            }
            None => None,
        };
        // One iptables-save and one iptables-restore per family for
        // everything, the two families side by side.
        cni::overlap::per_family(|ipv6| {
            let ips = addresses(&result, ipv6);
            if ips.is_empty() {
                return Ok(());
            }
            let (mut chains, mut wanted) = expected(&conf, &ips);
            if let Some(isolation) = &isolation {
                chains.extend(rules::ISOLATION_CHAINS);
                wanted.extend(isolation.iter().cloned());
            }
            rules::ensure(ipv6, &chains, &wanted)
        })?;
        Ok(result)
    }

    /// DEL always cleans: the per-address rules are found from prevResult
    /// alone (read leniently); backend, admin chain and ingress policy are
    /// ADD's, and the netns is not needed.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let Some(result) = cni::conf::DelConf::load(&args.stdin).prev_result() else { return Ok(()) };
        cni::overlap::per_family(|ipv6| {
            let ips = addresses(&result, ipv6);
            if ips.is_empty() || !cni::netfilter::iptables::available(ipv6) {
                return Ok(());
            }
            let doomed: Vec<rules::Rule> = ips.iter().flat_map(rules::address_rules).collect();
            rules::remove(ipv6, &doomed)
        })
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let result = prev_result(&conf)?;
        for ipv6 in [false, true] {
            let ips = addresses(&result, ipv6);
            if ips.is_empty() {
                continue;
            }
            let (chains, wanted) = expected(&conf, &ips);
            if let Some(missing) = rules::first_missing(ipv6, &chains, &wanted)? {
                return Err(CniError::internal(format!("expected {missing} not found")));
            }
        }
        Ok(())
    }
}
