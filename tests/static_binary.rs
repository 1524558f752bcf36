//! The release plugin binary is a static executable within the 10 MB
//! size target, and every plugin answers VERSION from a root that holds
//! nothing but that binary and its links (a chroot standing in for a
//! scratch image or another distribution's node). `scripts/build-static`
//! builds it; scripts/test runs that first.

mod common;

use std::process::{Command, Stdio};

#[test]
fn the_static_binary_needs_no_library() {
    let binary = common::static_binary();
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    let said = String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(said.contains("statically linked") || said.contains("not a dynamic executable"), "ldd: {said}");
    let size = std::fs::metadata(&binary).unwrap().len();
    assert!(size <= 10_000_000, "{size} bytes: over the 10 MB target");
}

#[test]
fn every_plugin_answers_version_from_an_empty_root() {
    common::require_root();
    let root = tempfile::tempdir().unwrap();
    common::copy_executable(&common::static_binary(), &root.path().join("cni-plugins"));
    for name in cni::BUILTIN_PLUGIN_TYPES {
        std::os::unix::fs::symlink("cni-plugins", root.path().join(name)).unwrap();
    }
    let entries = std::fs::read_dir(root.path()).unwrap().count();
    assert_eq!(entries, 1 + cni::BUILTIN_PLUGIN_TYPES.len(), "nothing else in the root");
    for name in cni::BUILTIN_PLUGIN_TYPES {
        let out = Command::new("/usr/sbin/chroot")
            .arg(root.path())
            .arg(format!("/{name}"))
            .env_clear()
            .env("CNI_COMMAND", "VERSION")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        let version: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(version["supportedVersions"].as_array().is_some_and(|v| !v.is_empty()), "{name}: {stdout}");
    }
}
