//! The plan as a person reads it: a heading for the attachment, then a
//! section per plugin (its type, whether ours, its IPAM owner) with a row
//! per thing it would make, and the problems that would fail the ADD.

use super::Plan;
use crate::render::{self, Cell, Tone};

/// The plan as text: a heading, then each section as a two-column table.
pub fn table(plan: &Plan) -> String {
    let mut out = Vec::new();
    let container = if plan.container_id_given {
        plan.container_id.clone()
    } else {
        format!("{} (a placeholder: --container-id gives the names a real one gets)", plan.container_id)
    };
    out.push(format!("plan for network {} ({}, cniVersion {})", plan.network, plan.file, plan.cni_version));
    let netns = plan.netns.as_deref().map(|n| format!(", netns {n}")).unwrap_or_default();
    out.push(format!("container {container}{netns}, interface {}", plan.ifname));
    out.push("nothing was changed: no reservation, link, rule or cache entry was made".into());
    for (index, section) in plan.plugins.iter().enumerate() {
        let whose = match (&section.ipam_of, section.ours) {
            (Some(owner), true) => format!(" (IPAM of {owner})"),
            (Some(owner), false) => format!(" (IPAM of {owner}; not ours)"),
            (None, true) => String::new(),
            (None, false) => " (not ours)".into(),
        };
        out.push(String::new());
        out.push(format!("{}. {}{whose}", index + 1, section.plugin_type));
        let mut rows: Vec<Vec<Cell>> = section
            .rows
            .iter()
            .map(|(label, text)| vec![Cell::from(label.as_str()), Cell::from(text.as_str())])
            .collect();
        for problem in &section.problems {
            rows.push(vec![
                Cell::from("ADD would fail"),
                Cell::toned(format!("fail: {problem}"), Tone::Alarm),
            ]);
        }
        if !rows.is_empty() {
            let text = render::table(&["", ""], rows);
            out.extend(text.lines().map(|l| format!("   {l}")));
        }
    }
    if plan.would_fail {
        out.push(String::new());
        out.push("the ADD would fail: see the sections marked above".into());
    }
    out.join("\n")
}
