//! Where cnictl looks for plugins.
//!
//! `CNI_PATH` (or `--cni-path`) when given; otherwise the directory of
//! the cnictl executable (so a fresh build finds its own plugins), then
//! `/opt/cni/bin`, `/usr/libexec/cni` and `/usr/lib/cni`.

use std::path::PathBuf;

use cni::invoke::{find_plugin, PluginExe};
use cni::CniError;

/// The conventional plugin directories, searched after cnictl's own.
pub const DEFAULT_DIRS: &[&str] = &["/opt/cni/bin", "/usr/libexec/cni", "/usr/lib/cni"];

/// An ordered list of plugin directories.
#[derive(Debug, Clone)]
pub struct PluginPath {
    /// The directories, searched in order.
    pub dirs: Vec<PathBuf>,
    /// cnictl's own directory, when it is searched by default: it holds
    /// other programs too (a build dir, /usr/local/bin), so only our
    /// plugin types count as plugins there.
    pub own_dir: Option<PathBuf>,
}

impl PluginPath {
    /// From an explicit `CNI_PATH`-style list, or the defaults.
    pub fn new(explicit: Option<&str>) -> PluginPath {
        match explicit.filter(|p| !p.is_empty()) {
            Some(list) => PluginPath { dirs: cni::env::split_path(list), own_dir: None },
            None => {
                let own = std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from));
                let dirs = own.iter().cloned().chain(DEFAULT_DIRS.iter().map(PathBuf::from)).collect();
                PluginPath { dirs, own_dir: own }
            }
        }
    }

    /// The list as `CNI_PATH` for plugins (which may delegate to others).
    pub fn joined(&self) -> String {
        self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":")
    }

    /// Finds a plugin by type.
    pub fn find(&self, plugin_type: &str) -> Result<PluginExe, CniError> {
        find_plugin(plugin_type, &self.dirs)
    }
}
