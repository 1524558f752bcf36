//! `cnictl plugins` runs files to ask them VERSION, so it must run only
//! plugins: in cnictl's own directory (searched by default, and holding
//! other programs: a build dir, /usr/local/bin) only our plugin types
//! count, and a probe that does not answer is killed, not waited for.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// An executable script at `path`.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn programs_beside_cnictl_are_never_run() {
    // A copy of cnictl in a directory with the multicall binary, a link
    // named after one of our plugins, and a program that is no plugin.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    copy_executable(&cnictl(), &dir.path().join("cnictl"));
    copy_executable(&multicall(), &dir.path().join(cni::MULTICALL_BINARY));
    std::os::unix::fs::symlink(cni::MULTICALL_BINARY, dir.path().join("bridge")).unwrap();
    script(&dir.path().join("bench"), &format!("touch {}", marker.display()));
    let out = Command::new(dir.path().join("cnictl"))
        .args(["plugins", "-o", "json"])
        .env_remove("CNI_PATH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!marker.exists(), "a program beside cnictl was run");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"bridge") && names.contains(&"host-local"), "our plugins are listed: {names:?}");
    assert!(!names.contains(&"bench"), "{names:?}");
}

#[test]
fn a_plugin_that_does_not_answer_is_killed_after_a_few_seconds() {
    let dir = tempfile::tempdir().unwrap();
    script(&dir.path().join("sleeper"), "exec sleep 60");
    let started = Instant::now();
    let out = Command::new(cnictl())
        .args(["plugins", "-o", "json"])
        .env("CNI_PATH", dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "waited {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sleeper = &listed[0];
    assert_eq!(sleeper["name"], "sleeper");
    assert!(sleeper["error"].as_str().unwrap_or_default().contains("no answer within"), "{sleeper}");
}
