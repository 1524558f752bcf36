//! IPAM delegation runs the IPAM plugin from CNI_PATH and, through the
//! release `ipam::acquire` registers on the ADD's `Rollback`, gives its
//! addresses back when the main plugin's ADD fails.

use std::path::{Path, PathBuf};

use cni::env::{CmdArgs, Command};
use cni::ipam::acquire;
use cni::rollback::Rollback;

/// target/<profile>, where the multicall binary is built.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

fn args(data: &Path, container_id: &str) -> CmdArgs {
    let conf = serde_json::json!({
        "cniVersion": "0.4.0", "name": "delegation", "type": "bridge",
        "ipam": {"type": "host-local", "subnet": "10.215.0.0/24", "dataDir": data}
    });
    CmdArgs {
        command: Command::Add,
        container_id: container_id.to_string(),
        // Not this process's own netns: the skeleton refuses that on ADD and DEL.
        netns: "/var/run/netns/cnictl-test-ipam-only".to_string(),
        ifname: "eth0".to_string(),
        args: String::new(),
        // No link named host-local here: the multicall binary is found and
        // run under that name, as in a fresh build.
        path: bin_dir().display().to_string(),
        stdin: serde_json::to_vec(&conf).expect("json"),
        config_version: "0.4.0".to_string(),
    }
}

fn reserved(data: &Path) -> usize {
    std::fs::read_dir(data.join("delegation"))
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("10.")).count())
        .unwrap_or(0)
}

#[test]
fn an_undone_acquire_releases_and_a_committed_one_stays() {
    assert!(bin_dir().join(cni::MULTICALL_BINARY).exists(), "build the workspace first");
    let data = tempfile::tempdir().expect("temp dir");
    let failing = args(data.path(), "failing");
    {
        let mut rollback = Rollback::new();
        let result = acquire("host-local", &failing, &mut rollback).expect("IPAM ADD");
        assert_eq!(result.ips[0].address.to_string(), "10.215.0.2/24");
        assert_eq!(reserved(data.path()), 1);
        // The main plugin fails here: the rollback is dropped.
    }
    assert_eq!(reserved(data.path()), 0, "released on drop");

    let working = args(data.path(), "working");
    let mut rollback = Rollback::new();
    let result = acquire("host-local", &working, &mut rollback).expect("IPAM ADD");
    rollback.commit();
    assert_eq!(reserved(data.path()), 1, "kept: {result:?}");
    cni::ipam::check("host-local", &working).expect("IPAM CHECK");
    cni::ipam::del("host-local", &working).expect("IPAM DEL");
    assert_eq!(reserved(data.path()), 0);
    let missing = cni::ipam::add("no-such-ipam", &working).expect_err("unknown IPAM type");
    assert!(missing.msg.contains("failed to find plugin"), "{}", missing.msg);
}

/// Waits up to 5 s for `f`; whether it came to hold.
fn within_5s(f: impl Fn() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

#[test]
fn host_local_is_acquired_while_the_link_is_made_and_each_failure_undoes_the_other() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let data = tempfile::tempdir().expect("temp dir");
    let both = args(data.path(), "beside");
    {
        let mut rollback = Rollback::new();
        // The link step sees the reservation appear while it runs: the two overlap.
        let (saw, result) = cni::ipam::acquire_beside("host-local", &both, &mut rollback, |_| {
            Ok(within_5s(|| reserved(data.path()) == 1))
        })
        .expect("both steps");
        assert!(saw, "the reservation was made while the link step ran");
        assert_eq!(result.ips[0].address.to_string(), "10.215.0.2/24");
        rollback.commit();
    }
    assert_eq!(reserved(data.path()), 1, "committed");
    cni::ipam::del("host-local", &both).expect("IPAM DEL");

    // The link fails after the addresses were acquired: they go back.
    let undone = AtomicBool::new(false);
    let failing = args(data.path(), "link-fails");
    {
        let mut rollback = Rollback::new();
        let err = cni::ipam::acquire_beside("host-local", &failing, &mut rollback, |rollback| {
            rollback.push("the link's undo", || {
                undone.store(true, Ordering::SeqCst);
                Ok(())
            });
            assert!(within_5s(|| reserved(data.path()) == 1), "acquired while the link step ran");
            Err::<(), _>(cni::CniError::internal("no link"))
        })
        .map(|_| ())
        .expect_err("the link's error");
        assert_eq!(err.msg, "no link");
    }
    assert!(undone.load(Ordering::SeqCst));
    assert_eq!(reserved(data.path()), 0, "released with the failed link");

    // IPAM fails (its subnet is no subnet): the link made beside it is undone.
    let undone = AtomicBool::new(false);
    let mut bad = args(data.path(), "ipam-fails");
    bad.stdin = serde_json::to_vec(&serde_json::json!({
        "cniVersion": "0.4.0", "name": "delegation", "type": "bridge",
        "ipam": {"type": "host-local", "subnet": "10.215.0.0/33", "dataDir": data.path()}
    }))
    .expect("json");
    {
        let mut rollback = Rollback::new();
        let outcome = cni::ipam::acquire_beside("host-local", &bad, &mut rollback, |rollback| {
            rollback.push("the link's undo", || {
                undone.store(true, Ordering::SeqCst);
                Ok(())
            });
            Ok(())
        });
        assert!(outcome.is_err(), "IPAM's error");
    }
    assert!(undone.load(Ordering::SeqCst), "the link went with the failed IPAM");
    assert_eq!(reserved(data.path()), 0);
}

#[test]
fn del_releases_host_local_beside_the_link() {
    assert!(cni::ipam::ignores_interface("host-local") && cni::ipam::ignores_interface("static"));
    assert!(!cni::ipam::ignores_interface("dhcp") && !cni::ipam::ignores_interface("whereabouts"));
    let data = tempfile::tempdir().expect("temp dir");
    let attachment = args(data.path(), "del-beside");
    let mut rollback = Rollback::new();
    acquire("host-local", &attachment, &mut rollback).expect("IPAM ADD");
    rollback.commit();
    let (released, saw) =
        cni::ipam::del_beside("host-local", &attachment, || within_5s(|| reserved(data.path()) == 0));
    released.expect("IPAM DEL");
    assert!(saw, "the release happened while the link step ran");
}

/// A stand-in IPAM plugin `name`, alone on a CNI_PATH of its own (under
/// the target dir: /tmp may be mounted noexec). Its ADD and DEL wait up to
/// 5 s for `wait_for` to exist (when given), then make `mark`; ADD prints
/// a one-address result.
fn stand_in(name: &str, wait_for: Option<&Path>, mark: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let wait = wait_for.map(|w| w.display().to_string()).unwrap_or_else(|| "/".to_string());
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\ni=0\n\
         while [ ! -e '{wait}' ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done\n\
         [ -e '{wait}' ] || exit 1\ntouch '{}'\n\
         [ \"$CNI_COMMAND\" = ADD ] && echo '{{\"cniVersion\":\"0.4.0\",\"ips\":[{{\"version\":\"4\",\"address\":\"10.215.9.2/24\"}}]}}'\n\
         exit 0\n",
        mark.display()
    );
    let plugin = dir.path().join(name);
    std::fs::write(&plugin, script).expect("script");
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    dir
}

#[test]
fn host_local_and_the_link_each_wait_for_the_other_so_only_side_by_side_ends() {
    // A stand-in host-local that goes on only once the link step has run:
    // one after the other, it would time out.
    let data = tempfile::tempdir().expect("temp dir");
    let (linked, acquired) = (data.path().join("linked"), data.path().join("acquired"));
    let path = stand_in("host-local", Some(&linked), &acquired);
    let mut call = args(data.path(), "strict");
    call.path = path.path().display().to_string();
    let mut rollback = Rollback::new();
    let (saw, result) = cni::ipam::acquire_beside("host-local", &call, &mut rollback, |_| {
        std::fs::write(&linked, "").expect("mark");
        Ok(within_5s(|| acquired.exists()))
    })
    .expect("both steps");
    rollback.commit();
    assert!(saw, "the IPAM ADD ended while the link step ran");
    assert_eq!(result.ips[0].address.to_string(), "10.215.9.2/24");

    let (unlinked, released) = (data.path().join("unlinked"), data.path().join("released"));
    let path = stand_in("host-local", Some(&unlinked), &released);
    call.path = path.path().display().to_string();
    let (outcome, saw) = cni::ipam::del_beside("host-local", &call, || {
        std::fs::write(&unlinked, "").expect("mark");
        within_5s(|| released.exists())
    });
    outcome.expect("IPAM DEL");
    assert!(saw, "the IPAM DEL ended while the link step ran");
}

#[test]
fn any_other_ipam_keeps_its_order_link_first_on_add_release_first_on_del() {
    let data = tempfile::tempdir().expect("temp dir");
    for ipam_type in ["dhcp", "whereabouts"] {
        let mark = data.path().join(format!("{ipam_type}-ran"));
        let path = stand_in(ipam_type, None, &mark);
        let mut call = args(data.path(), ipam_type);
        call.path = path.path().display().to_string();
        let mut rollback = Rollback::new();
        let (ipam_ran_before_link, _) =
            cni::ipam::acquire_beside(ipam_type, &call, &mut rollback, |_| Ok(mark.exists())).expect("ADD");
        rollback.commit();
        assert!(!ipam_ran_before_link && mark.exists(), "{ipam_type}: the link first, then IPAM ADD");
        std::fs::remove_file(&mark).expect("reset the mark");
        let (released, released_first) = cni::ipam::del_beside(ipam_type, &call, || mark.exists());
        released.expect("the stand-in's DEL");
        assert!(released_first, "{ipam_type}: released before the link step");
    }
}

#[test]
fn when_both_fail_the_links_error_is_returned_and_nothing_stays() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let data = tempfile::tempdir().expect("temp dir");
    let mut bad = args(data.path(), "both-fail");
    bad.stdin = serde_json::to_vec(&serde_json::json!({
        "cniVersion": "0.4.0", "name": "delegation", "type": "bridge",
        "ipam": {"type": "host-local", "subnet": "10.215.0.0/33", "dataDir": data.path()}
    }))
    .expect("json");
    let undone = AtomicBool::new(false);
    {
        let mut rollback = Rollback::new();
        let err = cni::ipam::acquire_beside("host-local", &bad, &mut rollback, |rollback| {
            rollback.push("the link's undo", || {
                undone.store(true, Ordering::SeqCst);
                Ok(())
            });
            Err::<(), _>(cni::CniError::internal("no link"))
        })
        .map(|_| ())
        .expect_err("an error");
        assert_eq!(err.msg, "no link", "the link's error comes first");
    }
    assert!(undone.load(Ordering::SeqCst));
    assert_eq!(reserved(data.path()), 0);
}
