//! `cnictl inspect TARGET`: one attachment as the kernel holds it now, set
//! beside its cache entry: namespace, owner (the runtime's CNI_ARGS), the
//! container interface read in its namespace, the host veth and its bridge
//! port, each port mapping against its live DNAT rule, bandwidth limits,
//! firewall rules, and the cached config against the network's file.
//! TARGET is as [`target::resolve`] reads it; every attachment it names
//! is shown.

pub mod drift;
pub mod target;

use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde::Serialize;

use super::Context;
use crate::render::{self, Cell, Format, Tone};
use crate::runtime::cache::CachedAttachment;
use crate::runtime::live_state::{
    self, links::ContainerSide, ports::RuleState, shaping::LimitState, LiveState,
};

/// Who an attachment is for, from the runtime's CNI_ARGS.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    /// `kubernetes` (a pod: K8S_POD_NAMESPACE and K8S_POD_NAME) or
    /// `podman` (podman 4's CNI backend passes the container's name as
    /// K8S_POD_NAME, and no namespace).
    pub runtime: &'static str,
    /// The pod's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The pod's or container's name.
    pub name: String,
}

impl Owner {
    /// From CNI_ARGS pairs; `None` without K8S_POD_NAME.
    pub fn of(args: Option<&[(String, String)]>) -> Option<Owner> {
        let get = |key: &str| args?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let name = get("K8S_POD_NAME").filter(|n| !n.is_empty())?;
        match get("K8S_POD_NAMESPACE").filter(|n| !n.is_empty()) {
            Some(namespace) => Some(Owner { runtime: "kubernetes", namespace: Some(namespace), name }),
            None => Some(Owner { runtime: "podman", namespace: None, name }),
        }
    }

    fn text(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("pod {ns}/{} (kubernetes)", self.name),
            None => format!("container {} (podman's K8S_POD_NAME)", self.name),
        }
    }
}

/// One attachment, inspected.
#[derive(Debug, Serialize)]
pub struct Inspected {
    /// Network name.
    pub network: String,
    /// Container ID.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// Interface in the container.
    pub ifname: String,
    /// The owner named by the runtime's CNI_ARGS.
    pub owner: Option<Owner>,
    /// The CNI_ARGS the attachment was made with.
    #[serde(rename = "cniArgs")]
    pub cni_args: Vec<(String, String)>,
    /// The addresses of the cached result.
    #[serde(rename = "resultIPs")]
    pub result_ips: Vec<String>,
    /// What the kernel holds now.
    #[serde(flatten)]
    pub live: LiveState,
    /// The cached config against the network's file.
    pub config: drift::Drift,
}

/// Inspects each of `entries`, reading the host's rules once.
pub fn inspect(ctx: &Context, entries: Vec<CachedAttachment>) -> Vec<Inspected> {
    let rules = live_state::Rules::read();
    let live = crate::netns::identity::live_namespaces();
    entries
        .into_iter()
        .map(|entry| Inspected {
            live: live_state::read(&entry, &live, &rules),
            config: drift::drift(ctx, &entry),
            owner: Owner::of(entry.cni_args.as_deref()),
            result_ips: crate::inspect::result_ips(entry.result.as_ref()),
            cni_args: entry.cni_args.unwrap_or_default(),
            network: entry.network,
            container_id: entry.container_id,
            ifname: entry.ifname,
        })
        .collect()
}

/// The attachments `target` names ([`target::resolve`]); a network name
/// that names no attachment comes back as `None`.
pub fn find(ctx: &Context, target: &str) -> Result<Option<Vec<CachedAttachment>>> {
    let listing = ctx.runtime.cache.listing()?;
    let entries = listing.readable.into_iter().map(|(e, _)| e).collect();
    let resolved = target::resolve(entries, target, || ctx.network(target).is_ok());
    // A broken entry is never passed over in silence: one whose file name
    // holds the target is named with the error.
    let unreadable: Vec<String> =
        listing.unreadable.iter().filter(|u| u.file_name().contains(target)).map(|u| u.why.clone()).collect();
    match resolved {
        Ok(target::Matched::Attachments(found)) => Ok(Some(found)),
        Ok(target::Matched::Network) => Ok(None),
        Err(e) if !unreadable.is_empty() => Err(
            e.wrap_err(format!("cache entries that may be of it cannot be read: {}", unreadable.join("; ")))
        ),
        Err(e) => Err(e),
    }
}

/// Prints the attachments `target` names; a network name that names none
/// prints that network, as `show` does.
pub fn run(ctx: &Context, target: &str, format: Format) -> Result<ExitCode> {
    let Some(entries) = find(ctx, target)? else {
        return super::show::run(ctx, target, format);
    };
    let inspected = inspect(ctx, entries);
    if format == Format::Json {
        render::print_json(&serde_json::to_value(&inspected)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text: Vec<String> = inspected.iter().map(sections).collect();
    render::line(text.join("\n\n"))?;
    Ok(ExitCode::SUCCESS)
}

type Section = (String, Vec<(String, Cell)>);

/// Rows with fixed keys.
fn keyed(rows: Vec<(&str, Cell)>) -> Vec<(String, Cell)> {
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The table of one attachment: key/value sections.
fn sections(a: &Inspected) -> String {
    let mut all: Vec<Section> = Vec::new();
    let netns = &a.live.netns;
    let netns_cell = match (&netns.moved_to, netns.exists) {
        (Some(now), true) => Cell::from(format!("{} (lives on as {now})", netns.path)),
        (None, true) => Cell::from(format!("{} (exists)", netns.path)),
        (_, false) => Cell::toned(format!("gone: {}", netns.path), Tone::Notice),
    };
    let config = match a.config.state {
        "same" => Cell::from(format!("same as {}", a.config.file.as_deref().unwrap_or("-"))),
        "changed" => Cell::toned(
            format!(
                "changed since ADD: {} ({})",
                a.config.details.join("; "),
                a.config.file.as_deref().unwrap_or("-")
            ),
            Tone::Notice,
        ),
        other => Cell::toned(
            format!("{other} {}", a.config.details.join("; ")).trim_end().to_string(),
            Tone::Notice,
        ),
    };
    all.push((
        format!("ATTACHMENT {}/{} on {}", render::short_id(&a.container_id), a.ifname, a.network),
        keyed(vec![
            ("network", a.network.as_str().into()),
            ("container id", a.container_id.as_str().into()),
            ("ifname", a.ifname.as_str().into()),
            ("netns", netns_cell),
            ("owner", a.owner.as_ref().map(Owner::text).unwrap_or_else(|| "-".into()).into()),
            ("cached ips", dash(a.result_ips.join(", ")).into()),
            ("config", config),
        ]),
    ));
    all.push(("CONTAINER INTERFACE".into(), keyed(container_rows(&a.live.container))));
    all.push(("HOST VETH".into(), keyed(host_rows(&a.live))));
    if !a.live.ports.is_empty() {
        let rows = a
            .live
            .ports
            .iter()
            .map(|m| {
                let one = m.rules.len() == 1;
                let rules: Vec<String> = m
                    .rules
                    .iter()
                    .map(|r| match one {
                        true if r.state == RuleState::Missing => {
                            format!("no DNAT to {} in {}", r.to, r.place)
                        }
                        true => format!("DNAT to {} in {}", r.to, r.place),
                        false => format!("{} {} in {}", r.to, r.state.word(), r.place),
                    })
                    .collect();
                let text = match rules.is_empty() {
                    true => format!("{}: no address of its family in the cached result", m.state.word()),
                    false => format!("{}: {}", m.state.word(), rules.join("; ")),
                };
                let tone = match m.state {
                    RuleState::Present => Tone::Plain,
                    RuleState::Unreached | RuleState::Missing => Tone::Alarm,
                };
                (m.mapping.published(), Cell::toned(text, tone))
            })
            .collect();
        all.push(("PORT MAPPINGS".into(), rows));
    }
    if let Some(bw) = &a.live.bandwidth {
        let mut rows = Vec::new();
        for (key, direction) in [("ingress (into it)", &bw.ingress), ("egress (out of it)", &bw.egress)] {
            let live = direction.live.map(|l| l.text());
            let asked = direction.configured.map(|l| l.text());
            let on = direction.device.as_deref().map(|d| format!(" on {d}")).unwrap_or_default();
            let cell = match direction.state {
                LimitState::Ok => Cell::from(format!("{}{on}", live.unwrap_or_default())),
                LimitState::None => Cell::from("no limit"),
                LimitState::Unasked => {
                    Cell::toned(format!("unasked: {}{on}", live.unwrap_or_default()), Tone::Notice)
                }
                LimitState::Different => Cell::toned(
                    format!(
                        "different: {}{on}, asked {}",
                        live.unwrap_or_default(),
                        asked.unwrap_or_default()
                    ),
                    Tone::Alarm,
                ),
                LimitState::Missing => {
                    Cell::toned(format!("missing: asked {}", asked.unwrap_or_default()), Tone::Alarm)
                }
            };
            rows.push((key, cell));
        }
        rows.push(("ifb", dash(bw.ifb.clone().unwrap_or_default()).into()));
        all.push(("BANDWIDTH".into(), keyed(rows)));
    }
    if let Some(fw) = &a.live.firewall {
        let rules = if fw.missing {
            Cell::toned("missing: no rule of this attachment", Tone::Alarm)
        } else {
            Cell::from(dash(fw.rules.join("\n")))
        };
        all.push(("FIREWALL".into(), keyed(vec![("backend", fw.backend.as_str().into()), ("rules", rules)])));
    }
    all.into_iter()
        .map(|(title, rows)| {
            let rows: Vec<Vec<Cell>> = rows.into_iter().map(|(k, v)| vec![Cell::from(k), v]).collect();
            format!("{title}\n{}", render::table(&["", ""], rows))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn dash(text: String) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text
    }
}

fn container_rows(side: &ContainerSide) -> Vec<(&'static str, Cell)> {
    match side {
        ContainerSide::Found(c) => vec![
            ("name", format!("{} (index {})", c.name, c.index).into()),
            ("mac", c.mac.clone().unwrap_or_else(|| "-".into()).into()),
            ("state", if c.up { Cell::from("up") } else { Cell::toned("down", Tone::Alarm) }),
            ("mtu", c.mtu.to_string().into()),
            ("addresses", dash(c.addresses.join(", ")).into()),
            ("gateway", dash(c.gateways.join(", ")).into()),
            ("routes", dash(c.routes.iter().map(|r| r.text()).collect::<Vec<_>>().join("\n")).into()),
        ],
        ContainerSide::NoInterface => {
            vec![("state", Cell::toned("missing: no such interface in its namespace", Tone::Alarm))]
        }
        ContainerSide::Unreadable { error } => {
            vec![("state", Cell::toned(format!("unreadable: {error}"), Tone::Alarm))]
        }
        ContainerSide::NoNamespace => {
            vec![("state", Cell::toned("gone: its namespace is gone", Tone::Notice))]
        }
    }
}

fn host_rows(live: &LiveState) -> Vec<(&'static str, Cell)> {
    let Some(v) = &live.host_veth else {
        if !live.netns.exists {
            return vec![("state", Cell::toned("gone: a veth goes with its namespace", Tone::Notice))];
        }
        return vec![("state", Cell::toned("missing: no host veth found", Tone::Alarm))];
    };
    let state = match (v.up, v.oper_up) {
        (true, true) => Cell::from("up"),
        (true, false) => Cell::toned("no-carrier: up, but no carrier", Tone::Alarm),
        (false, _) => Cell::toned("down", Tone::Alarm),
    };
    let port = match (&v.master, &v.port_state) {
        (Some(bridge), Some(s)) if s == "forwarding" => Cell::from(format!("{bridge}, forwarding")),
        (Some(bridge), Some(s)) => Cell::toned(format!("{s}: port of {bridge}"), Tone::Alarm),
        (Some(bridge), None) => Cell::from(bridge.as_str()),
        (None, _) => Cell::from("-"),
    };
    vec![
        ("name", format!("{} (index {})", v.name, v.index).into()),
        ("mac", v.mac.clone().unwrap_or_else(|| "-".into()).into()),
        ("state", state),
        ("mtu", v.mtu.to_string().into()),
        ("bridge", port),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_comes_from_the_runtimes_args() {
        let pod = vec![
            ("IgnoreUnknown".to_string(), "1".to_string()),
            ("K8S_POD_NAMESPACE".into(), "default".into()),
            ("K8S_POD_NAME".into(), "web".into()),
        ];
        let owner = Owner::of(Some(&pod)).unwrap();
        assert_eq!(
            (owner.runtime, owner.namespace.as_deref(), owner.name.as_str()),
            ("kubernetes", Some("default"), "web")
        );
        let podman =
            vec![("IgnoreUnknown".to_string(), "1".to_string()), ("K8S_POD_NAME".into(), "db".into())];
        assert_eq!(Owner::of(Some(&podman)).unwrap().runtime, "podman");
        assert!(Owner::of(None).is_none());
    }
}
