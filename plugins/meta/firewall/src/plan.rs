//! What an ADD would make, said before it runs (`cnictl add --dry-run`,
//! `cnictl explain`): the backend this host gives the netconf, decided as
//! ADD decides it, and the rules its addresses would get in that backend,
//! spelled as each backend's own listing shows them.

use cni::env::CmdArgs;
use cni::CniError;
use ipnetwork::IpNetwork;

use cni::checked::LinkName;

use crate::{backend_on_this_host, load, nft, rules, Ingress, IngressPolicy};

pub use cni::netfilter::PlannedRule;

/// The firewall plugin's plan for one attachment.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `iptables`, `firewalld`, `nftables`, or `none` when ADD would fail.
    pub backend: &'static str,
    /// Why that backend.
    pub why: String,
    /// The rules for the container's addresses (and the jumps hooking the
    /// plugin's chains in, made once per host).
    pub rules: Vec<PlannedRule>,
    /// `ingressPolicy` (`open`, `same-bridge`, `isolated`).
    pub ingress_policy: &'static str,
}

/// The plan of an ADD of the netconf in `args` whose container gets
/// `addresses`, on `bridge` (the previous result's first interface, which
/// `ingressPolicy`'s rules name).
pub fn plan(args: &CmdArgs, addresses: &[IpNetwork], bridge: Option<&str>) -> Result<Plan, CniError> {
    let conf = load(args)?;
    let raw: serde_json::Value = serde_json::from_slice(&args.stdin).unwrap_or_default();
    let named = cni::gojson::get(&raw, "backend").and_then(serde_json::Value::as_str).unwrap_or_default();
    let (backend, why) = backend_on_this_host(named);
    let mut planned = Vec::new();
    let mut add = |table: &str, chain: &str, rule: String| {
        planned.push(PlannedRule { table: table.to_string(), chain: chain.to_string(), rule })
    };
    match backend {
        "iptables" => {
            let mut wanted = rules::base_rules(&conf.admin_chain);
            wanted.extend(addresses.iter().flat_map(rules::address_rules));
            for rule in wanted {
                add("filter", &rule.chain, rule.spec);
            }
        }
        "nftables" => {
            let table = format!("inet {}", nft::TABLE);
            let owner = nft::Owner {
                network: &conf.net.name,
                ifname: &args.ifname,
                container_id: &args.container_id,
            };
            let ingress = match (conf.ingress_policy, bridge.map(|b| LinkName::new("bridge", b))) {
                (IngressPolicy::Open, _) | (_, None) => None,
                (policy, Some(name)) => {
                    Some(Ingress { bridge: name?, isolated: policy == IngressPolicy::Isolated })
                }
            };
            let comment = cni::netfilter::go_quote(&nft::attachment_comment(&owner, ingress.as_ref()));
            for address in addresses {
                let family = if address.is_ipv4() { "ip" } else { "ip6" };
                let ip = address.ip();
                add(
                    &table,
                    "containers",
                    format!("{family} daddr {ip} ct state established,related accept comment {comment}"),
                );
                add(&table, "containers", format!("{family} saddr {ip} accept comment {comment}"));
            }
        }
        "firewalld" => {
            for address in addresses {
                add(&format!("zone {}", conf.zone), "sources", rules::host(address));
            }
        }
        _ => {}
    }
    let ingress_policy = match conf.ingress_policy {
        IngressPolicy::Open => "open",
        IngressPolicy::SameBridge => "same-bridge",
        IngressPolicy::Isolated => "isolated",
    };
    Ok(Plan { backend, why, rules: planned, ingress_policy })
}
