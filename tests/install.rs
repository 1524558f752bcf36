//! `cni-plugins install`: into an empty directory, next to other plugins
//! (left as they were), refusing to replace a foreign file of one of our
//! names unless forced, and over a live install while plugins are being
//! exec'd (no exec ever fails).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;

fn install(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(multicall()).arg("install").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every name in `dir` with what it is (a link's target, else "file").
fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let what = match fs::read_link(e.path()) {
                Ok(target) => target.display().to_string(),
                Err(_) => format!("file {} bytes", e.metadata().unwrap().len()),
            };
            (name, what)
        })
        .collect();
    entries.sort();
    entries
}

fn answers_version(plugin: &Path) -> bool {
    let out = Command::new(plugin).env("CNI_COMMAND", "VERSION").stdin(Stdio::null()).output();
    out.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("supportedVersions"))
}

#[test]
fn installs_into_an_empty_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("opt/cni/bin");
    let (code, out, _) = install(&["--list", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("bridge") && out.contains("new"), "{out}");
    assert!(!dir.exists(), "--list changes nothing");

    let (code, out, err) = install(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("installed"), "{out}");
    let entries = listing(&dir);
    assert_eq!(entries.len(), 1 + cni::BUILTIN_PLUGIN_TYPES.len(), "{entries:?}");
    for name in cni::BUILTIN_PLUGIN_TYPES {
        assert!(entries.contains(&(name.to_string(), "cni-plugins".to_string())), "{name}: {entries:?}");
        assert!(answers_version(&dir.join(name)), "{name} answers VERSION");
    }
    assert_eq!(fs::read(dir.join("cni-plugins")).unwrap(), fs::read(multicall()).unwrap());
    let (code, out, _) = install(&["--list", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("in place") && !out.contains("new"), "a second look finds it all in place: {out}");
}

#[test]
fn leaves_other_plugins_alone_and_replaces_a_foreign_namesake_only_when_forced() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("flannel"), "#!/bin/sh\necho flannel\n").unwrap();
    fs::write(dir.path().join("bridge"), "#!/bin/sh\necho reference bridge\n").unwrap();
    std::os::unix::fs::symlink("/usr/lib/cni/ptp", dir.path().join("ptp")).unwrap();
    let before = listing(dir.path());

    let (code, _, err) = install(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "refused");
    assert!(err.contains("bridge") && err.contains("ptp") && err.contains("--force"), "{err}");
    assert!(!err.contains("flannel"), "another plugin is no conflict: {err}");
    assert_eq!(listing(dir.path()), before, "nothing changed");

    let (code, _, err) = install(&["--force", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let after = listing(dir.path());
    assert!(after.contains(&("bridge".into(), "cni-plugins".into())), "{after:?}");
    assert!(after.contains(&("ptp".into(), "cni-plugins".into())), "{after:?}");
    assert_eq!(fs::read_to_string(dir.path().join("flannel")).unwrap(), "#!/bin/sh\necho flannel\n");
    assert!(!after.iter().any(|(n, _)| n.starts_with('.')), "no temporary file left: {after:?}");
}

#[test]
fn upgrading_a_live_install_never_fails_an_exec() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(install(&[dir.path().to_str().unwrap()]).0, 0);
    let stop = AtomicBool::new(false);
    let (execs, failures) = std::thread::scope(|s| {
        let runner = s.spawn(|| {
            let (mut execs, mut failures) = (0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                for name in ["loopback", "host-local", "bridge"] {
                    let out = Command::new(dir.path().join(name))
                        .env("CNI_COMMAND", "VERSION")
                        .stdin(Stdio::null())
                        .output();
                    execs += 1;
                    match out {
                        Ok(o) if o.status.success() => {}
                        other => failures.push(format!("{name}: {other:?}")),
                    }
                }
            }
            (execs, failures)
        });
        for _ in 0..15 {
            let (code, _, err) = install(&[dir.path().to_str().unwrap()]);
            assert_eq!(code, 0, "{err}");
        }
        stop.store(true, Ordering::Relaxed);
        runner.join().unwrap()
    });
    assert!(execs > 15, "the plugins ran during the installs ({execs} execs)");
    assert!(
        failures.is_empty(),
        "{} of {execs} execs failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}

#[test]
fn a_conflist_is_checked_then_written_after_the_plugins() {
    let root = tempfile::tempdir().unwrap();
    let (bin, net) = (root.path().join("bin"), root.path().join("net.d"));
    let source = root.path().join("10-pods.conflist");
    let conflist = r#"{"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "bridge"}]}"#;
    let install_with = |file: &Path| {
        install(&[
            "--conflist",
            file.to_str().unwrap(),
            "--net-dir",
            net.to_str().unwrap(),
            bin.to_str().unwrap(),
        ])
    };

    let (code, out, err) = install_with(&source);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no conflist at"), "a missing one is skipped: {out}");
    assert!(bin.join("bridge").exists() && !net.exists());

    fs::write(&source, "{\"name\": \"pods\", \"plugins\": [{\"type\": 5}]}").unwrap();
    let empty = root.path().join("bin2");
    let (code, _, err) = install(&[
        "--conflist",
        source.to_str().unwrap(),
        "--net-dir",
        net.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("10-pods.conflist") && err.contains("type"), "names the file and key: {err}");
    assert!(!empty.exists() && !net.exists(), "nothing changed");

    fs::write(&source, conflist).unwrap();
    let (code, out, err) = install_with(&source);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote"), "{out}");
    assert_eq!(fs::read_to_string(net.join("10-pods.conflist")).unwrap(), conflist);
    assert_eq!(fs::read_dir(&net).unwrap().count(), 1, "no temporary file left");
}

#[test]
fn a_conf_template_is_written_as_it_is() {
    let root = tempfile::tempdir().unwrap();
    let (bin, net) = (root.path().join("bin"), root.path().join("net.d"));
    let template = root.path().join("10-pods.conflist.template");
    let text = r#"{"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "bridge",
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "{{.PodCIDR}}"}]]}}]}"#;
    fs::write(&template, text).unwrap();
    let args =
        ["--conflist", template.to_str().unwrap(), "--net-dir", net.to_str().unwrap(), bin.to_str().unwrap()];
    let (code, _, err) = install(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fs::read_to_string(net.join("10-pods.conflist.template")).unwrap(), text);
}
