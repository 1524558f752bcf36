//! `inspect`'s table: one attachment as key/value sections (the
//! attachment, its container interface, host veth, port mappings,
//! bandwidth, firewall), each state word toned for the terminal.

use super::{Inspected, Owner};
use crate::render::{self, Cell, Tone};
use crate::runtime::live_state::links::ContainerSide;
use crate::runtime::live_state::ports::{MappingState, RuleState};
use crate::runtime::live_state::shaping::{Direction, LimitState};
use crate::runtime::live_state::LiveState;

type Section = (String, Vec<(String, Cell)>);

/// Rows with fixed keys.
fn keyed(rows: Vec<(&str, Cell)>) -> Vec<(String, Cell)> {
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The table of one attachment: key/value sections.
pub fn sections(a: &Inspected) -> String {
    let mut all: Vec<Section> = vec![
        (
            format!("ATTACHMENT {}/{} on {}", render::short_id(&a.container_id), a.ifname, a.network),
            keyed(attachment_rows(a)),
        ),
        ("CONTAINER INTERFACE".into(), keyed(container_rows(&a.live.container))),
        ("HOST VETH".into(), keyed(host_rows(&a.live))),
    ];
    if !a.live.ports.is_empty() {
        all.push(("PORT MAPPINGS".into(), a.live.ports.iter().map(mapping_row).collect()));
    }
    if let Some(bw) = &a.live.bandwidth {
        let mut rows = vec![
            ("ingress (into it)", direction_cell(&bw.ingress)),
            ("egress (out of it)", direction_cell(&bw.egress)),
        ];
        rows.push(("ifb", dash(bw.ifb.clone().unwrap_or_default()).into()));
        all.push(("BANDWIDTH".into(), keyed(rows)));
    }
    if let Some(fw) = &a.live.firewall {
        let rules = match (&fw.unknown, fw.missing) {
            (_, true) => Cell::toned("missing: no rule of this attachment", Tone::Alarm),
            (Some(why), false) if fw.rules.is_empty() => {
                Cell::toned(format!("unknown: rules not read ({why})"), Tone::Notice)
            }
            (Some(why), false) => {
                Cell::toned(format!("{}\n(some rules not read: {why})", fw.rules.join("\n")), Tone::Notice)
            }
            (None, false) => Cell::from(dash(fw.rules.join("\n"))),
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

/// Network, IDs, namespace, owner, cached addresses, config drift.
fn attachment_rows(a: &Inspected) -> Vec<(&'static str, Cell)> {
    let netns = &a.live.netns;
    let netns_cell = match (&netns.moved_to, netns.exists) {
        _ if netns.path.is_empty() => Cell::toned(
            format!("none recorded: {}", netns.may_be_live.as_deref().unwrap_or("may be live")),
            Tone::Notice,
        ),
        (Some(now), true) => Cell::from(format!("{} (lives on as {now})", netns.path)),
        (None, true) => Cell::from(format!("{} (exists)", netns.path)),
        (_, false) => Cell::toned(format!("gone: {}", netns.path), Tone::Notice),
    };
    let file = a.config.file.as_deref().unwrap_or("-");
    let config = match a.config.state {
        "same" => Cell::from(format!("same as {file}")),
        "changed" => {
            Cell::toned(format!("changed since ADD: {} ({file})", a.config.details.join("; ")), Tone::Notice)
        }
        other => Cell::toned(
            format!("{other} {}", a.config.details.join("; ")).trim_end().to_string(),
            Tone::Notice,
        ),
    };
    vec![
        ("network", a.network.as_str().into()),
        ("container id", a.container_id.as_str().into()),
        ("ifname", a.ifname.as_str().into()),
        ("netns", netns_cell),
        ("owner", a.owner.as_ref().map(Owner::text).unwrap_or_else(|| "-".into()).into()),
        ("cached ips", dash(a.result_ips.join(", ")).into()),
        ("config", config),
    ]
}

/// A mapping as `podman ps` shows it, and what its rules say.
fn mapping_row(m: &MappingState) -> (String, Cell) {
    let one = m.rules.len() == 1;
    let rules: Vec<String> = m
        .rules
        .iter()
        .map(|r| match one {
            true if r.state == RuleState::Missing => format!("no DNAT to {} in {}", r.to, r.place),
            true => format!("DNAT to {} in {}", r.to, r.place_and_reason()),
            false => format!("{} {} in {}", r.to, r.state.word(), r.place_and_reason()),
        })
        .collect();
    let text = match rules.is_empty() {
        true => format!("{}: no address of its family in the cached result", m.state.word()),
        false => format!("{}: {}", m.state.word(), rules.join("; ")),
    };
    let tone = match m.state {
        RuleState::Present => Tone::Plain,
        RuleState::Unknown => Tone::Notice,
        RuleState::Unreached | RuleState::Missing => Tone::Alarm,
    };
    (m.mapping.published(), Cell::toned(text, tone))
}

/// One direction's limit: live, asked, and how they compare.
fn direction_cell(direction: &Direction) -> Cell {
    let live = direction.live.map(|l| l.text()).unwrap_or_default();
    let asked = direction.configured.map(|l| l.text()).unwrap_or_default();
    let on = direction.device.as_deref().map(|d| format!(" on {d}")).unwrap_or_default();
    match direction.state {
        LimitState::Ok => Cell::from(format!("{live}{on}")),
        LimitState::None => Cell::from("no limit"),
        LimitState::Unasked => Cell::toned(format!("unasked: {live}{on}"), Tone::Notice),
        LimitState::Different => Cell::toned(format!("different: {live}{on}, asked {asked}"), Tone::Alarm),
        LimitState::Missing => Cell::toned(format!("missing: asked {asked}"), Tone::Alarm),
    }
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
