//! `cnictl list`: every network file in the config dir, whether it loads,
//! and what it holds, in libcni's order (a later file with the same
//! network name is shadowed by the earlier one). STATE says what would stop
//! the network from working: a file that does not load, a shadowed name,
//! and what `validate` finds (a missing plugin, a version a plugin does not
//! speak, a config one of our plugins rejects).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde::Serialize;

use super::{validate, Context};
use crate::inspect;
use crate::render::{self, Cell, Format, Tone, View};
use crate::runtime::config::{load_file, network_files};

/// One config file as the list shows it.
#[derive(Debug, Serialize)]
pub struct FileView {
    /// The network's name; none when the file does not load.
    name: Option<String>,
    /// The file.
    file: String,
    /// Its spec version.
    #[serde(rename = "cniVersion")]
    cni_version: Option<String>,
    /// Plugin types of the chain.
    plugins: Vec<String>,
    /// Subnets of its IPAM.
    subnets: Vec<String>,
    /// Whether it loads.
    loads: bool,
    /// Why it does not load.
    error: Option<String>,
    /// The earlier file with the same network name, which wins.
    #[serde(rename = "shadowedBy")]
    shadowed_by: Option<String>,
    /// What `validate` finds.
    problems: Vec<String>,
    /// The table's state, in words.
    state: String,
}

impl FileView {
    /// The state's tone: what does not load or work is an alarm, a shadowed
    /// name (first in the state) a notice.
    fn tone(&self) -> Tone {
        match (&self.error, &self.shadowed_by, self.problems.is_empty()) {
            (Some(_), _, _) => Tone::Alarm,
            (None, Some(_), _) => Tone::Notice,
            (None, None, false) => Tone::Alarm,
            (None, None, true) => Tone::Plain,
        }
    }
}

/// One config file as the list shows it.
fn describe(ctx: &Context, file: &Path, first_by_name: &mut BTreeMap<String, PathBuf>) -> FileView {
    match load_file(file) {
        Ok(list) => {
            let shadowed_by = match first_by_name.get(&list.name) {
                Some(first) => Some(first.display().to_string()),
                None => {
                    first_by_name.insert(list.name.clone(), file.to_path_buf());
                    None
                }
            };
            let (_, found) = validate::check_chain(ctx, &list);
            let mut states: Vec<String> =
                shadowed_by.iter().map(|first| format!("warn: shadowed by {first}")).collect();
            states.extend(found.iter().map(|(_, state)| format!("problem: {state}")));
            FileView {
                file: file.display().to_string(),
                cni_version: Some(list.cni_version.clone()),
                plugins: inspect::plugin_types(&list),
                subnets: inspect::subnets(&list),
                loads: true,
                error: None,
                shadowed_by,
                problems: found.into_iter().map(|(problem, _)| problem).collect(),
                state: if states.is_empty() { "ok".to_string() } else { states.join("; ") },
                name: Some(list.name),
            }
        }
        Err(e) => FileView {
            name: None,
            file: file.display().to_string(),
            cni_version: None,
            plugins: Vec::new(),
            subnets: Vec::new(),
            loads: false,
            error: Some(format!("{e:#}")),
            shadowed_by: None,
            problems: vec![format!("{e:#}")],
            state: format!("error: {e:#}"),
        },
    }
}

/// The list view: the files of one config dir.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ListView {
    files: Vec<FileView>,
    #[serde(skip)]
    conf_dir: PathBuf,
}

impl View for ListView {
    fn headers(&self) -> &'static [&'static str] {
        &["name", "file", "version", "plugins", "subnets", "state"]
    }

    fn rows(&self) -> Vec<Vec<Cell>> {
        self.files
            .iter()
            .map(|f| {
                // The list is of one directory: the table names files in it (JSON has the path).
                let file = Path::new(&f.file)
                    .strip_prefix(&self.conf_dir)
                    .map_or(f.file.clone(), |p| p.display().to_string());
                vec![
                    f.name.as_deref().unwrap_or("-").into(),
                    file.into(),
                    f.cni_version.as_deref().unwrap_or("-").into(),
                    f.plugins.join(" > ").into(),
                    f.subnets.join(", ").into(),
                    Cell::toned(f.state.clone(), f.tone()),
                ]
            })
            .collect()
    }

    fn empty(&self) -> String {
        format!("no networks in {}", self.conf_dir.display())
    }
}

/// Prints the networks of the config dir.
pub fn run(ctx: &Context, format: Format) -> Result<ExitCode> {
    let files = network_files(&ctx.conf_dir)?;
    let mut first_by_name = BTreeMap::new();
    let files = files.iter().map(|f| describe(ctx, f, &mut first_by_name)).collect();
    render::show(format, &ListView { files, conf_dir: ctx.conf_dir.clone() })?;
    Ok(ExitCode::SUCCESS)
}
