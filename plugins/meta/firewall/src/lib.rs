//! `firewall`: a chained plugin that lets a container's traffic through the
//! host's firewall, with the reference's two backends and one of ours:
//!
//! - iptables: the reference's chains (CNI-FORWARD, an admin chain,
//!   CNI-ISOLATION-STAGE-1/2 for `ingressPolicy`) and rules, so either
//!   implementation checks and removes the other's rules;
//! - firewalld: each address a source of the zone `firewalldZone`
//!   (`firewalld`), over D-Bus;
//! - nftables (ours): the iptables backend's policy in a table of our own
//!   (`nft`), ingressPolicy included.
//!
//! With no `backend`, firewalld is used when it answers on the system bus,
//! else iptables, as in the reference, and nftables when only it is there.
//! With firewalld, `ingressPolicy` is iptables rules (the reference's
//! choice). DEL removes what any backend holds for the attachment,
//! whichever made it, so a switch of backend or implementation strands
//! nothing.
//!
//! Beyond the reference, each attachment's addresses are recorded on the
//! host (`state`), so that GC removes the rules of attachments that are
//! gone and DEL cleans even without a prevResult.

mod firewalld;
mod nft;
pub mod plan;
mod rules;
pub mod state;

/// Where an attachment's rules are (cnictl's `inspect` lists them): the
/// iptables chain of the accept rules, and the nftables table.
pub use nft::TABLE as NFT_TABLE;
pub use rules::PRIV_CHAIN;

use cni::checked::{ChainName, LinkName};
use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::result::null_as_empty;
use cni::rollback::Rollback;
use cni::skel::Plugin;
use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The firewall plugin.
pub struct Firewall;
/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["backend", "iptablesAdminChainName", "ingressPolicy", "firewalldZone", "dataDir"];

#[derive(Deserialize, Default)]
#[serde(default)]
struct FirewallConf {
    #[serde(deserialize_with = "null_as_empty")]
    backend: String,
    #[serde(rename = "iptablesAdminChainName", deserialize_with = "null_as_empty")]
    admin_chain: String,
    #[serde(rename = "ingressPolicy", deserialize_with = "null_as_empty")]
    ingress_policy: String,
    #[serde(rename = "firewalldZone", deserialize_with = "null_as_empty")]
    firewalld_zone: String,
    /// Where the per-attachment address records live (ours; the reference
    /// keeps none).
    #[serde(rename = "dataDir", deserialize_with = "null_as_empty")]
    data_dir: String,
}

/// What DEL and GC read, leniently: where the records live.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CleanupKeys {
    #[serde(rename = "dataDir", deserialize_with = "cni::conf::lenient")]
    data_dir: String,
    #[serde(rename = "firewalldZone", deserialize_with = "cni::conf::lenient")]
    firewalld_zone: String,
}

impl CleanupKeys {
    fn zone(&self) -> &str {
        if self.firewalld_zone.is_empty() {
            firewalld::DEFAULT_ZONE
        } else {
            &self.firewalld_zone
        }
    }
}

/// The backend the netconf asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackendChoice {
    /// No `backend`: firewalld when it runs, else iptables.
    Auto,
    Iptables,
    Firewalld,
    Nftables,
}

/// Whether a `backend` value is one the plugin knows (or none): any other
/// is taken as the automatic choice, which `cnictl doctor` warns about.
pub fn backend_is_known(backend: &str) -> bool {
    backend.is_empty() || BackendChoice::parse(backend) != BackendChoice::Auto
}

/// Which backend an ADD of a netconf with this `backend` value gets on
/// this host now, and why: `cnictl doctor` reports it with the very
/// decision the plugin makes.
pub fn backend_on_this_host(backend: &str) -> (&'static str, String) {
    let choice = BackendChoice::parse(backend);
    let named = match choice {
        BackendChoice::Auto if backend.is_empty() => "no backend named".to_string(),
        BackendChoice::Auto => {
            format!("unknown backend {backend:?}, so the automatic choice (as the reference)")
        }
        _ => "the netconf names it".to_string(),
    };
    match choice.resolve() {
        Ok(Backend::Firewalld(_)) => {
            ("firewalld", format!("{named}, and firewalld answers on the system bus"))
        }
        Ok(Backend::Iptables) if choice == BackendChoice::Auto => {
            ("iptables", format!("{named}, and firewalld does not answer on the system bus"))
        }
        Ok(Backend::Iptables) => ("iptables", named.to_string()),
        Ok(Backend::Nftables) if choice == BackendChoice::Auto => (
            "nftables",
            format!(
                "{named}, firewalld does not answer on the system bus and iptables-restore was not \
                 found, but the kernel's nf_tables answers"
            ),
        ),
        Ok(Backend::Nftables) => ("nftables", named.to_string()),
        Err(e) => ("none", format!("{}: ADD fails", e.msg)),
    }
}

/// The backend an ADD or CHECK uses.
enum Backend {
    Iptables,
    Firewalld(firewalld::Firewalld),
    Nftables,
}

impl BackendChoice {
    /// The choice a `backend` value names; an unknown one (or none) is
    /// the automatic choice, as the reference falls back to it.
    fn parse(backend: &str) -> BackendChoice {
        match backend {
            "iptables" => BackendChoice::Iptables,
            "firewalld" => BackendChoice::Firewalld,
            "nftables" => BackendChoice::Nftables,
            _ => BackendChoice::Auto,
        }
    }

    fn resolve(self) -> Result<Backend, CniError> {
        match self {
            BackendChoice::Iptables => Ok(Backend::Iptables),
            BackendChoice::Firewalld => firewalld::Firewalld::connect()
                .map(Backend::Firewalld)
                .map_err(|why| CniError::internal(format!("the firewalld backend needs firewalld: {why}"))),
            BackendChoice::Nftables if cni::netfilter::nftnl::available() => Ok(Backend::Nftables),
            BackendChoice::Nftables => Err(CniError::internal(
                "the nftables backend needs the kernel's nf_tables, which does not answer",
            )),
            BackendChoice::Auto => Ok(match firewalld::Firewalld::connect() {
                Ok(fw) => Backend::Firewalld(fw),
                // iptables as the reference; nftables only when it alone is there.
                Err(_) if cni::netfilter::iptables::available(false) => Backend::Iptables,
                Err(_) if cni::netfilter::nftnl::available() => Backend::Nftables,
                Err(_) => Backend::Iptables,
            }),
        }
    }
}

/// `ingressPolicy`: which traffic between bridges is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IngressPolicy {
    /// `open` (or none): no isolation rules.
    Open,
    /// `same-bridge`: no traffic in from other isolating bridges.
    SameBridge,
    /// `isolated`: and none between ports of the same bridge either.
    Isolated,
}

/// An attachment's ingress policy with the bridge it applies to (the
/// prevResult's first interface).
pub(crate) struct Ingress {
    bridge: LinkName,
    isolated: bool,
}

impl Ingress {
    fn policy_name(&self) -> &'static str {
        if self.isolated {
            "isolated"
        } else {
            "same-bridge"
        }
    }
}

struct Config {
    net: NetConf,
    backend: BackendChoice,
    zone: String,
    admin_chain: ChainName,
    ingress_policy: IngressPolicy,
    data_dir: String,
}

fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let conf: FirewallConf = parse(&args.stdin)?;
    let backend = BackendChoice::parse(&conf.backend);
    let ingress_policy = match conf.ingress_policy.as_str() {
        "" | "open" => IngressPolicy::Open,
        "same-bridge" => IngressPolicy::SameBridge,
        "isolated" => IngressPolicy::Isolated,
        other => {
            return Err(CniError::config(format!(
                "{}: unknown ingress policy: {other:?}",
                key_label("ingressPolicy")
            )))
        }
    };
    // Written into iptables-restore input, where a newline or space would
    // start rules of the config author's choosing (the reference runs
    // `iptables -N`, which refuses such names).
    let admin_chain = if conf.admin_chain.is_empty() { "CNI-ADMIN" } else { &conf.admin_chain };
    let admin_chain = ChainName::new("iptablesAdminChainName", admin_chain)?;
    let zone = if conf.firewalld_zone.is_empty() {
        firewalld::DEFAULT_ZONE.to_string()
    } else {
        conf.firewalld_zone
    };
    Ok(Config { net, backend, zone, admin_chain, ingress_policy, data_dir: conf.data_dir })
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

/// Removes the accept rules of `ips` (both families, those that exist).
fn remove_address_rules(ips: &[IpNetwork]) -> Result<(), CniError> {
    let mut unique = ips.to_vec();
    unique.sort();
    unique.dedup();
    cni::overlap::per_family(|ipv6| {
        let ips: Vec<&IpNetwork> = unique.iter().filter(|a| a.is_ipv6() == ipv6).collect();
        if ips.is_empty() || !cni::netfilter::iptables::available(ipv6) {
            return Ok(());
        }
        let doomed: Vec<rules::Rule> = ips.into_iter().flat_map(rules::address_rules).collect();
        rules::remove(ipv6, &doomed)
    })
}

/// ADD with iptables: one iptables-save and one iptables-restore per
/// family for everything, the two families side by side.
fn add_iptables(
    conf: &Config,
    result: &CniResult,
    isolation: Option<&[rules::Rule]>,
) -> Result<(), CniError> {
    cni::overlap::per_family(|ipv6| {
        let ips = addresses(result, ipv6);
        if ips.is_empty() {
            return Ok(());
        }
        let (mut chains, mut wanted) = expected(conf, &ips);
        if let Some(isolation) = isolation {
            chains.extend(rules::ISOLATION_CHAINS);
            wanted.extend(isolation.iter().cloned());
        }
        rules::ensure(ipv6, &chains, &wanted)
    })
}

/// ADD with firewalld: every address a source of the zone (each one's
/// removal registered on `rollback`), and the ingress policy in iptables.
fn add_firewalld<'a>(
    fw: &'a firewalld::Firewalld,
    conf: &'a Config,
    result: &CniResult,
    isolation: Option<&[rules::Rule]>,
    rollback: &mut Rollback<'a>,
) -> Result<(), CniError> {
    for ip in &result.ips {
        fw.add_source(&conf.zone, &ip.address)?;
        let address = ip.address;
        rollback.push(format!("remove {address} from firewalld zone {}", conf.zone), move || {
            fw.remove_source(&conf.zone, &address);
            Ok(())
        });
    }
    let Some(isolation) = isolation else { return Ok(()) };
    cni::overlap::per_family(|ipv6| {
        if addresses(result, ipv6).is_empty() {
            return Ok(());
        }
        rules::ensure(ipv6, &rules::ISOLATION_CHAINS, isolation)
    })
}

/// Takes `ips` out of firewalld's `zone` when firewalld runs (`fw`;
/// whichever backend added them: a netconf may have switched).
fn remove_sources(fw: Option<&firewalld::Firewalld>, zone: &str, ips: &[IpNetwork]) {
    let Some(fw) = fw else { return };
    let mut unique = ips.to_vec();
    unique.sort();
    unique.dedup();
    for ip in &unique {
        fw.remove_source(zone, ip);
    }
}

/// The ingress policy's bridge: the prevResult's first interface, which
/// `bridge` reports first.
fn ingress(conf: &Config, result: &CniResult) -> Result<Option<Ingress>, CniError> {
    let isolated = match conf.ingress_policy {
        IngressPolicy::Open => return Ok(None),
        IngressPolicy::SameBridge => false,
        IngressPolicy::Isolated => true,
    };
    let bridge = result.interfaces.first().map(|i| i.name.clone()).unwrap_or_default();
    if bridge.is_empty() {
        return Err(CniError::config(
            "interface needs to be set for the ingress policy, make sure to chain \"firewall\" with \"bridge\"",
        ));
    }
    // The name goes into iptables-restore input.
    let bridge = LinkName::new("prevResult.interfaces[0].name", &bridge)?;
    Ok(Some(Ingress { bridge, isolated }))
}

/// The attachment, as the nftables backend's comments name it.
fn owner<'a>(args: &'a CmdArgs, network: &'a str) -> nft::Owner<'a> {
    nft::Owner { network, ifname: &args.ifname, container_id: &args.container_id }
}

fn prev_result(conf: &Config) -> Result<CniResult, CniError> {
    conf.net.chained_result("missing prevResult from earlier plugin")
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
        let ingress = ingress(&conf, &result)?;
        let isolation = ingress.as_ref().map(|i| rules::isolation_rules(&i.bridge, i.isolated));
        let ips: Vec<IpNetwork> = result.ips.iter().map(|ip| ip.address).collect();
        let backend = conf.backend.resolve()?;
        let owner = owner(args, &conf.net.name);
        let mut rollback = Rollback::new();
        match &backend {
            Backend::Iptables => {
                add_iptables(&conf, &result, isolation.as_deref())?;
                rollback.push("remove the iptables accept rules", || remove_address_rules(&ips));
            }
            Backend::Firewalld(fw) => add_firewalld(fw, &conf, &result, isolation.as_deref(), &mut rollback)?,
            Backend::Nftables => {
                nft::add(&owner, &ips, &conf.admin_chain, ingress.as_ref())?;
                rollback.push("remove the nftables rules", || nft::remove(&owner));
            }
        }
        state::Store::new(&conf.data_dir, &conf.net.name).save(&args.container_id, &args.ifname, &ips)?;
        rollback.commit();
        Ok(result)
    }

    /// DEL always cleans: the per-address rules are found from prevResult
    /// (read leniently) and ADD's record of the addresses; backend, admin
    /// chain and ingress policy are ADD's, and the netns is not needed.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = cni::conf::DelConf::load(&args.stdin);
        let keys: CleanupKeys = cni::conf::parse_lenient(&args.stdin);
        let store = state::Store::new(&keys.data_dir, &conf.name);
        let mut ips = conf.prev_addresses();
        ips.extend(store.load(&args.container_id, &args.ifname));
        let iptables = remove_address_rules(&ips);
        remove_sources(firewalld::Firewalld::connect().ok().as_ref(), keys.zone(), &ips);
        let nftables = nft::remove(&owner(args, &conf.name));
        iptables.and(nftables)?;
        store.forget(&args.container_id, &args.ifname)
    }

    /// Removes the rules of recorded attachments that are no longer valid
    /// (not those of addresses a valid attachment holds now), and the
    /// nftables rules of the network's attachments that are not valid.
    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = cni::conf::DelConf::load(&args.stdin);
        nft::gc(&conf.name, &conf.valid_attachments)?;
        let keys: CleanupKeys = cni::conf::parse_lenient(&args.stdin);
        let store = state::Store::new(&keys.data_dir, &conf.name);
        let stale = store.stale(&conf.valid_attachments);
        // One bus connection for every stale record, and none without any.
        let fw = if stale.is_empty() { None } else { firewalld::Firewalld::connect().ok() };
        for (file, ips) in stale {
            remove_address_rules(&ips)?;
            remove_sources(fw.as_ref(), keys.zone(), &ips);
            cni::statefile::remove(&file)
                .map_err(|e| CniError::io(format!("failed to remove {}", file.display()), e))?;
        }
        Ok(())
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = load(args)?;
        let result = prev_result(&conf)?;
        let backend = conf.backend.resolve()?;
        if let Backend::Nftables = backend {
            let ips: Vec<IpNetwork> = result.ips.iter().map(|ip| ip.address).collect();
            let ingress = ingress(&conf, &result)?;
            let owner = owner(args, &conf.net.name);
            return match nft::first_missing(&owner, &ips, &conf.admin_chain, ingress.as_ref())? {
                Some(missing) => Err(CniError::internal(format!("expected {missing} not found"))),
                None => Ok(()),
            };
        }
        if let Backend::Firewalld(fw) = backend {
            for ip in &result.ips {
                if !fw.has_source(&conf.zone, &ip.address)? {
                    return Err(CniError::internal(format!(
                        "the address {} is not in firewalld zone {}",
                        firewalld::source(&ip.address),
                        conf.zone
                    )));
                }
            }
            return Ok(());
        }
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

#[cfg(test)]
mod known_keys_tests {
    use super::*;
    use cni::known_keys::{check_against_parser, struct_fields};

    /// KEYS is what the parser reads: a key added to a struct and not to
    /// KEYS (lint would flag it) or the other way round fails here.
    #[test]
    fn known_keys_match_the_parser() {
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("", struct_fields::<FirewallConf>()), ("", struct_fields::<CleanupKeys>())];
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
