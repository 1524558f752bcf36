//! The Debian package (scripts/build-deb, run by scripts/test after
//! scripts/build-static) installs cleanly, `cnictl plugins` then lists our
//! 17 plugins from /usr/lib/cnictl/bin, and removing it leaves none of
//! its files behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn package() -> PathBuf {
    let deb = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/debian/cnictl_{}_amd64.deb", env!("CARGO_PKG_VERSION")));
    assert!(deb.exists(), "{} is missing: run scripts/build-static, then scripts/build-deb", deb.display());
    deb
}

fn dpkg(args: &[&str]) -> (bool, String) {
    let out = Command::new("dpkg").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Removes the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "cnictl"]).output();
    }
}

#[test]
fn the_package_installs_lists_the_plugins_and_removes_cleanly() {
    common::require_root();
    let deb = package();
    let (ok, said) = dpkg(&["-i", deb.to_str().unwrap()]);
    let _installed = Installed;
    assert!(ok, "dpkg -i: {said}");

    let out = Command::new("/usr/bin/cnictl")
        .arg("plugins")
        .env_remove("CNI_PATH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{listing} {}", String::from_utf8_lossy(&out.stderr));
    for name in cni::BUILTIN_PLUGIN_TYPES {
        let line = listing.lines().find(|l| l.split_whitespace().next() == Some(name));
        assert!(
            line.is_some_and(|l| l.contains(&format!("/usr/lib/cnictl/bin/{name}")) && l.contains("1.1.0")),
            "{name} from the package's directory: {listing}"
        );
    }
    let (ok, files) = dpkg(&["-L", "cnictl"]);
    assert!(ok, "{files}");
    let files: Vec<&str> = files.lines().filter(|f| f.starts_with('/')).collect();
    for expected in [
        "/usr/share/man/man1/cnictl.1.gz",
        "/usr/share/bash-completion/completions/cnictl",
        "/usr/lib/cnictl/bin/cni-plugins",
        "/usr/lib/systemd/system/cni-dhcp.socket",
        "/usr/lib/systemd/system/cni-dhcp.service",
    ] {
        assert!(files.contains(&expected), "{expected} in the package: {files:?}");
    }
    // The dhcp daemon's unit starts the package's dhcp link, which is the daemon.
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/cni-dhcp.service").unwrap();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap_or_default();
    assert_eq!(exec, "/usr/lib/cnictl/bin/dhcp daemon", "{unit}");
    let usage = Command::new("/usr/lib/cnictl/bin/dhcp").args(["daemon", "-h"]).output().unwrap();
    assert!(
        usage.status.success() && String::from_utf8_lossy(&usage.stdout).contains("-socketpath"),
        "{usage:?}"
    );
    let socket = std::fs::read_to_string("/usr/lib/systemd/system/cni-dhcp.socket").unwrap();
    assert!(
        socket.contains("ListenStream=/run/cni/dhcp.sock") && socket.contains("SocketMode=0660"),
        "{socket}"
    );
    assert!(!files.iter().any(|f| f.starts_with("/usr/lib/cni/")), "nothing in Debian's plugin directory");

    let (ok, said) = dpkg(&["-r", "cnictl"]);
    assert!(ok, "dpkg -r: {said}");
    let left: Vec<&&str> =
        files.iter().filter(|f| Path::new(f).is_symlink() || (Path::new(f).is_file())).collect();
    assert!(left.is_empty(), "left after dpkg -r: {left:?}");
    assert!(!Path::new("/usr/lib/cnictl").exists(), "its directory went too");
}
