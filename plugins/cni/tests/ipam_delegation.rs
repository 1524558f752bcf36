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
        netns: "/proc/self/ns/net".to_string(),
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
