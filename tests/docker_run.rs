//! `cnictl docker-run` against a real Docker engine that the test starts
//! itself (Debian's docker.io: vfs storage, its own data and exec roots and
//! socket, no iptables, no bridge) with a busybox image imported from
//! Debian's busybox-static; one dockerd runs in a namespace of its own, so
//! that a pull fails there without any traffic. Subnet 10.205.N.0/24
//! belongs to this file.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A private dockerd, stopped on drop.
struct Dockerd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Dockerd {
    fn start() -> Dockerd {
        Dockerd::start_in(None)
    }

    /// A dockerd in `netns` (pulls then fail at once, no traffic leaving
    /// it) or, without one, in the host's.
    fn start_in(netns: Option<&TestNetns>) -> Dockerd {
        require_root();
        let dir = tempfile::Builder::new().prefix("cnd").tempdir_in("/tmp").unwrap();
        let p = |name: &str| dir.path().join(name).display().to_string();
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let namespace = unique("cnictl");
        let mut dockerd = match netns {
            Some(ns) => in_netns(&ns.name, "dockerd"),
            None => Command::new("dockerd"),
        };
        let child = dockerd
            .args(["--data-root", &p("data"), "--exec-root", &p("exec"), "--pidfile", &p("docker.pid")])
            .args(["--host", &format!("unix://{}", p("docker.sock")), "--storage-driver", "vfs"])
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args([
                "--containerd-namespace",
                &namespace,
                "--containerd-plugins-namespace",
                &format!("{namespace}p"),
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd (install docker.io)");
        let dockerd = Dockerd { dir, child };
        let started = Instant::now();
        while !dockerd.docker(&["version"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "dockerd did not come up: {}",
                dockerd.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dockerd
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker").args(args).env("DOCKER_HOST", self.host()).output().expect("run docker")
    }

    /// `busybox:latest` from Debian's busybox-static, as the original README's scripts used.
    fn import_busybox(&self) {
        let rootfs = self.dir.path().join("rootfs");
        let bin = rootfs.join("bin");
        for dir in ["bin", "tmp", "proc", "sys", "dev", "etc"] {
            std::fs::create_dir_all(rootfs.join(dir)).unwrap();
        }
        let busybox =
            ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(PathBuf::from).find(|p| p.exists());
        let busybox = busybox.expect("busybox-static is installed");
        copy_executable(&busybox, &bin.join("busybox"));
        let applets = Command::new(&busybox).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&applets.stdout).lines().filter(|a| *a != "busybox") {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let mut tar = Command::new("tar")
            .args(["-C", rootfs.to_str().unwrap(), "-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let import = Command::new("docker")
            .args(["import", "-", "busybox:latest"])
            .env("DOCKER_HOST", self.host())
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(
            tar.wait().unwrap().success() && import.status.success(),
            "{}",
            String::from_utf8_lossy(&import.stderr)
        );
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_run_attaches_the_container_and_cleans_up() {
    let dockerd = Dockerd::start();
    dockerd.import_busybox();
    let plugins = PluginDir::new();
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let bridge = TestBridge::new();
    let conflist = json!({"cniVersion": "1.0.0", "name": "dockernet", "plugins": [
        {"type": "bridge", "bridge": bridge.name, "isDefaultGateway": true,
         "ipam": {"type": "host-local", "subnet": "10.205.1.0/24", "dataDir": store.path()}}]});
    std::fs::write(conf.path().join("10-docker.conflist"), conflist.to_string()).unwrap();
    let host = dockerd.host();
    let script = "ip -o -4 addr show eth0; ping -c1 -W2 10.205.1.1 >/dev/null && echo gateway-ok; exit 5";
    let args = [
        "docker-run",
        "--net",
        "dockernet",
        "--rm",
        "-e",
        "GREETING=hi",
        "busybox:latest",
        "sh",
        "-c",
        script,
    ];
    let (code, stdout, stderr) =
        run_cnictl_with(&args, conf.path(), cache.path(), plugins.path(), &[("DOCKER_HOST", host.as_str())]);
    assert_eq!(code, 5, "the container's exit code: {stdout} {stderr}");
    assert!(stdout.contains("inet 10.205.1."), "the container sees its address: {stdout}");
    assert!(stdout.contains("gateway-ok"), "the container reaches the gateway: {stdout}");

    let containers = dockerd.docker(&["ps", "-aq"]);
    assert_eq!(String::from_utf8_lossy(&containers.stdout).trim(), "", "no pause container left");
    assert!(reservations(&store.path().join("dockernet")).is_empty(), "no reservation left");
    assert!(bridge_ports(&bridge.name).is_empty(), "no link left");
    let cached = std::fs::read_dir(cache.path().join("results")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(cached, 0, "no cache entry left");

    // A network that does not exist: a clear error, and no pause container started.
    let (code, _, stderr) = run_cnictl_with(
        &["docker-run", "--net", "nosuch", "busybox:latest", "true"],
        conf.path(),
        cache.path(),
        plugins.path(),
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("no network named \"nosuch\""), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&dockerd.docker(&["ps", "-aq"]).stdout).trim(), "");

    // SIGINT to cnictl reaches the container through docker; cleanup still happens.
    // docker-run of `script` in the background, once both the pause
    // container and the real one run.
    let started_in_background = |script: &str| {
        let child = Command::new(cnictl())
            .args(["docker-run", "--net", "dockernet", "--rm", "busybox:latest", "sh", "-c", script])
            .env("NETCONFPATH", conf.path())
            .env("CNI_CACHE_DIR", cache.path())
            .env("CNI_PATH", plugins.path())
            .env("DOCKER_HOST", &host)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while String::from_utf8_lossy(&dockerd.docker(&["ps", "-q"]).stdout).lines().count() < 2 {
            assert!(started.elapsed() < Duration::from_secs(30), "the container never started");
            std::thread::sleep(Duration::from_millis(100));
        }
        (child, started)
    };
    let (mut child, started) = started_in_background("trap 'exit 3' INT; sleep 30 & wait");
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "the container's INT handler ran");
    assert!(started.elapsed() < Duration::from_secs(25), "the container was interrupted, not left to finish");
    assert_eq!(
        String::from_utf8_lossy(&dockerd.docker(&["ps", "-aq"]).stdout).trim(),
        "",
        "no container left"
    );
    assert!(reservations(&store.path().join("dockernet")).is_empty());
    assert!(bridge_ports(&bridge.name).is_empty());

    // -d is refused before anything is made.
    let (code, _, stderr) = run_cnictl_with(
        &["docker-run", "--net", "dockernet", "-d", "busybox:latest", "sleep", "5"],
        conf.path(),
        cache.path(),
        plugins.path(),
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("--detach"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&dockerd.docker(&["ps", "-aq"]).stdout).trim(), "", "nothing started");

    // A pause image without /bin/sleep: docker creates the container but
    // cannot start it; it is removed, not left Created.
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir(empty.path().join("etc")).unwrap();
    let tar = empty.path().join("empty.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(empty.path())
        .arg("-cf")
        .arg(&tar)
        .arg("etc")
        .status()
        .unwrap()
        .success());
    let import = dockerd.docker(&["import", tar.to_str().unwrap(), "nosleep:latest"]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let (code, _, stderr) = run_cnictl_with(
        &["docker-run", "--net", "dockernet", "--pause-image", "nosleep:latest", "busybox:latest", "true"],
        conf.path(),
        cache.path(),
        plugins.path(),
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("must have /bin/sleep"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&dockerd.docker(&["ps", "-aq"]).stdout).trim(),
        "",
        "no Created container left"
    );

    // The docker CLI gone while the container runs (it gives up on a
    // container that ignores the signals): cnictl stops the container
    // before its network goes.
    let (child, started) = started_in_background("trap 'exit 0' TERM; sleep 60 & wait");
    let cli = Command::new("pgrep").args(["-P", &child.id().to_string(), "docker"]).output().unwrap();
    let cli: i32 =
        String::from_utf8_lossy(&cli.stdout).trim().parse().expect("the docker CLI runs under cnictl");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(cli), nix::sys::signal::Signal::SIGKILL).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("outlived docker run"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(40));
    let running = dockerd.docker(&["ps", "-q"]);
    assert_eq!(String::from_utf8_lossy(&running.stdout).trim(), "", "the container was stopped");
    assert!(reservations(&store.path().join("dockernet")).is_empty());
}

#[test]
fn a_pause_image_that_cannot_be_pulled_is_named_not_its_sleep() {
    // dockerd in a namespace of its own with no network: the pull fails at once.
    let isolated = TestNetns::new("cndock");
    let dockerd = Dockerd::start_in(Some(&isolated));
    let plugins = PluginDir::new();
    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let conflist = json!({"cniVersion": "1.0.0", "name": "pullnet", "plugins": [{"type": "loopback"}]});
    std::fs::write(conf.path().join("10-pull.conflist"), conflist.to_string()).unwrap();
    let host = dockerd.host();
    let image = "cnictl-test/no-such-pause:1";
    let (code, _, stderr) = run_cnictl_with(
        &["docker-run", "--net", "pullnet", "--pause-image", image, "busybox:latest", "true"],
        conf.path(),
        cache.path(),
        plugins.path(),
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not be pulled") && stderr.contains(image), "{stderr}");
    assert!(!stderr.contains("/bin/sleep"), "the image's sleep is not blamed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&dockerd.docker(&["ps", "-aq"]).stdout).trim(), "", "nothing left");
    let cached = std::fs::read_dir(cache.path().join("results")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(cached, 0, "nothing was attached");
}
