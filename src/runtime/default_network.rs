//! The network `cnictl run` uses when none is named and none is configured:
//! the bridge network of the original CNI README (bridge `cni0`,
//! host-local `10.22.0.0/16`, the bridge as gateway, masquerading, a
//! default route). `cnictl default-network install` writes it into the
//! config dir for the operator to edit; from then on that copy is used.
//!
//! A copy in the config dir that cannot be read or parsed is an error
//! naming the file and what is wrong with it ([`configured`]): falling back
//! to the built-in network would put the command on a network the operator
//! did not configure (cni0, 10.22.0.0/16) without a word.

use std::path::Path;

use cni::conflist::{parse_conflist, parse_single};
use color_eyre::eyre::{eyre, Result, WrapErr};
use serde_json::Value;

use super::config::{load_file, network_files, NetworkList};

/// The default network's name.
pub const NAME: &str = "cnictl-default";

/// The file name `install` writes into the config dir.
pub const FILE_NAME: &str = "99-cnictl-default.conflist";

/// The default network, as a conflist.
pub const CONFLIST: &str = r#"{
    "cniVersion": "1.0.0",
    "name": "cnictl-default",
    "plugins": [
        {
            "type": "bridge",
            "bridge": "cni0",
            "isGateway": true,
            "ipMasq": true,
            "ipam": {
                "type": "host-local",
                "subnet": "10.22.0.0/16",
                "routes": [
                    { "dst": "0.0.0.0/0" }
                ]
            }
        }
    ]
}
"#;

/// Writes a network file as every cnictl command that makes one does
/// (`default-network install`, `network create`): its directory made when
/// missing, mode 0644 (runtimes read it as any user), whole or not at all
/// (a temporary file renamed or linked into place, so a runtime never reads
/// half a file), and never over an existing file or symlink unless
/// `replace`.
pub fn write_network_file(path: &Path, text: &[u8], replace: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("failed to create {}", dir.display()))?;
    let written = if replace {
        cni::statefile::write(path, text, 0o644).map(|()| true)
    } else {
        cni::statefile::create_new(path, text, 0o644)
    };
    match written.wrap_err_with(|| format!("failed to write {}", path.display()))? {
        true => Ok(()),
        false => Err(eyre!("{} already exists", path.display())),
    }
}

/// The default network, parsed.
pub fn network() -> Result<NetworkList> {
    cni::conflist::parse_conflist(CONFLIST.as_bytes(), Path::new("<embedded default network>"))
        .map_err(|e| eyre!(e))
}

/// The config dir's network `cnictl-default`, in libcni's file order, or
/// `None` when no file there is meant for it (then the built-in network
/// applies). A file meant for it ([`meant_for_default`]) that cannot be
/// read or parsed is an error naming the file and the problem; other
/// networks' broken files are not this network's business.
pub fn configured(conf_dir: &Path) -> Result<Option<NetworkList>> {
    let files = network_files(conf_dir)?;
    for file in files {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if meant_for_default(&file, None) => {
                return Err(eyre!("cannot read it: {e}")).wrap_err(broken(&file));
            }
            Err(_) => continue,
        };
        let is_list = file.extension().and_then(|x| x.to_str()) == Some("conflist");
        let parsed = if is_list { parse_conflist(&bytes, &file) } else { parse_single(&bytes, &file) };
        match parsed {
            Ok(list) if list.name == NAME => return load_file(&file).map(Some).wrap_err(broken(&file)),
            Ok(_) => {}
            Err(e) if meant_for_default(&file, Some(&bytes)) => return Err(eyre!(e)).wrap_err(broken(&file)),
            Err(_) => {}
        }
    }
    Ok(None)
}

/// What a broken file meant for the default network is said to be.
fn broken(file: &Path) -> String {
    format!(
        "{} is meant for the default network {NAME} but cannot be used: fix it, or remove it to \
         fall back to the built-in network",
        file.display()
    )
}

/// Whether `file` (its `bytes` when they could be read) is meant for the
/// default network although it does not parse: its name says so (as
/// `install` names it), or its `name` key does. Text that is not JSON is
/// searched for the quoted name.
pub fn meant_for_default(file: &Path, bytes: Option<&[u8]>) -> bool {
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if file_name.contains(NAME) {
        return true;
    }
    let Some(bytes) = bytes else { return false };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => cni::gojson::get_in(&map, "name").and_then(Value::as_str) == Some(NAME),
        Ok(_) => false,
        Err(_) => String::from_utf8_lossy(bytes).contains(&format!("\"{NAME}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_network_parses() {
        let list = super::network().unwrap();
        assert_eq!(list.name, super::NAME);
        assert_eq!(list.plugins.len(), 1);
    }

    #[test]
    fn files_are_meant_for_the_default_network_by_name_or_key() {
        let other = Path::new("/x/10-other.conflist");
        assert!(meant_for_default(Path::new("/x/99-cnictl-default.conflist"), None));
        assert!(!meant_for_default(other, None));
        assert!(meant_for_default(other, Some(br#"{"Name": "cnictl-default", "plugins": 7}"#)));
        assert!(meant_for_default(other, Some(br#"{"name": "cnictl-default", "plugins": [,]}"#)));
        assert!(!meant_for_default(other, Some(br#"{"name": "podman", "plugins": [,]}"#)));
    }

    #[test]
    fn a_broken_copy_is_an_error_and_an_absent_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(configured(dir.path()).unwrap().is_none());
        std::fs::write(dir.path().join("10-other.conflist"), "{broken").unwrap();
        assert!(configured(dir.path()).unwrap().is_none(), "another network's broken file is not ours");
        let file = dir.path().join(FILE_NAME);
        std::fs::write(
            &file,
            "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"cnictl-default\",\n  \"plugins\": 7\n}\n",
        )
        .unwrap();
        let error = format!("{:#}", configured(dir.path()).unwrap_err());
        assert!(error.contains(&file.display().to_string()) && error.contains("plugins"), "{error}");
        std::fs::write(&file, CONFLIST).unwrap();
        assert_eq!(configured(dir.path()).unwrap().map(|l| l.name), Some(NAME.to_string()));
    }
}
