//! What the runtime end-to-end tests share: a private "host" network
//! namespace in which the runtime runs (its bridges, veths, ifbs, netfilter
//! rules and sysctls live and die there), a client namespace wired to it
//! by a veth pair from which test traffic comes, a plugin directory of our
//! plugins, busybox images built from Debian's busybox-static, HTTP checks
//! from inside a namespace, and a daemon guard.
//!
//! The runtimes are entered with `nsenter --net` (not `ip netns exec`,
//! whose /sys remount makes runc fail to find its cgroup mounts).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The rootfs every test image holds: busybox-static, its applets, and a
/// page for `busybox httpd -h /www`.
pub const PAGE: &str = "hello from busybox";

/// Fails clearly when a runtime's tools are missing (scripts/test installs them).
pub fn require_tools(tools: &[&str]) {
    for tool in tools {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
        assert!(found, "{tool} is not installed: scripts/test installs the runtime test dependencies");
    }
}

/// A private host netns with a client netns on a /30 (`10.209.N.1` host,
/// `.2` client), IPv6 `fd00:209:N::1|2/64`, and a plugin dir of ours.
pub struct RuntimeHost {
    pub host: TestNetns,
    pub client: TestNetns,
    pub n: u8,
    pub plugins: PluginDir,
    pub dir: tempfile::TempDir,
}

impl RuntimeHost {
    pub fn new(prefix: &str, n: u8) -> RuntimeHost {
        let host = TestNetns::new(&format!("{prefix}h"));
        let client = TestNetns::new(&format!("{prefix}c"));
        let status = Command::new("ip")
            .args(["link", "add", "rtveth", "netns", &host.name, "type", "veth", "peer", "name", "rtveth"])
            .args(["netns", &client.name])
            .status()
            .expect("ip link add");
        assert!(status.success(), "veth between {} and {}", host.name, client.name);
        for (ns, last) in [(&host, 1), (&client, 2)] {
            ns.exec(&["ip", "link", "set", "lo", "up"]);
            ns.exec(&["ip", "addr", "add", &format!("10.209.{n}.{last}/30"), "dev", "rtveth"]);
            ns.exec(&["ip", "addr", "add", &format!("fd00:209:{n}::{last}/64"), "dev", "rtveth", "nodad"]);
            ns.exec(&["ip", "link", "set", "rtveth", "up"]);
        }
        // A new bridge's IPv6 gateway address is usable at once.
        for key in ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"] {
            host.exec(&["sysctl", "-qw", key]);
        }
        RuntimeHost {
            host,
            client,
            n,
            plugins: PluginDir::new(),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The host's address on the client link.
    pub fn host_ip(&self) -> String {
        format!("10.209.{}.1", self.n)
    }

    /// The host's IPv6 address on the client link.
    pub fn host_ip6(&self) -> String {
        format!("fd00:209:{}::1", self.n)
    }

    /// A command run in the host netns with nsenter (mounts left alone).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("nsenter");
        command.arg(format!("--net={}", self.host.path())).arg(program);
        command
    }

    /// A busybox-static rootfs tarball (for `podman import`).
    pub fn rootfs_tar(&self) -> PathBuf {
        let root = self.dir.path().join("rootfs");
        for sub in ["bin", "etc", "www", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(sub)).expect("rootfs dir");
        }
        copy_executable(Path::new("/bin/busybox"), &root.join("bin/busybox"));
        let applets = Command::new("/bin/busybox").arg("--list").output().expect("busybox --list");
        for applet in String::from_utf8_lossy(&applets.stdout).lines().filter(|a| *a != "busybox") {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").expect("passwd");
        std::fs::write(root.join("etc/group"), "root:x:0:\n").expect("group");
        std::fs::write(root.join("www/index.html"), format!("{PAGE}\n")).expect("page");
        let tar = self.dir.path().join("rootfs.tar");
        let status = Command::new("tar")
            .args(["--numeric-owner", "-C"])
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("tar");
        assert!(status.success(), "rootfs tar");
        tar
    }

    /// An OCI archive with `localhost/busybox:e2e` and `localhost/pause:e2e` (for containerd).
    pub fn oci_archive(&self) -> PathBuf {
        let archive = self.dir.path().join("images.oci.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runtimes/mk-oci-images.sh");
        let out = Command::new("sh").arg(script).arg(&archive).output().expect("mk-oci-images.sh");
        assert!(out.status.success(), "mk-oci-images.sh: {}", String::from_utf8_lossy(&out.stderr));
        archive
    }

    /// GET / from `ns` to `address:port` (retried for up to `wait`): the body, or None.
    pub fn get_from(ns: &TestNetns, address: &str, port: u16, wait: Duration) -> Option<String> {
        let to: SocketAddr = match address.parse::<std::net::IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => return None,
        };
        ns.run(move || {
            let deadline = Instant::now() + wait;
            loop {
                if let Some(body) = http_get(to) {
                    return Some(body);
                }
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .join()
        .expect("get thread")
    }

    /// GET from the client netns, waiting up to 5 s for the port to answer.
    pub fn get(&self, address: &str, port: u16) -> Option<String> {
        Self::get_from(&self.client, address, port, Duration::from_secs(5))
    }

    /// One GET from the client netns, no waiting: for ports that must be closed.
    pub fn get_once(&self, address: &str, port: u16) -> Option<String> {
        Self::get_from(&self.client, address, port, Duration::ZERO)
    }

    /// What is left in the host netns that an attachment makes: veths, ifbs,
    /// and netfilter rules or chains naming one of `needles` (container
    /// IDs, `ADDRESS/32` as iptables writes a container's address, ...).
    pub fn leftovers(&self, needles: &[String]) -> Vec<String> {
        let mut left = Vec::new();
        let links = self.host.output(&["ip", "-o", "link", "show"]);
        left.extend(links.lines().filter(|l| l.contains(" veth") || l.contains(" bwp")).map(str::to_string));
        for dump in [
            self.host.output(&["iptables-save"]),
            self.host.output(&["ip6tables-save"]),
            self.host.output(&["nft", "list", "ruleset"]),
        ] {
            let naming = |line: &&str| needles.iter().any(|n| !n.is_empty() && line.contains(n.as_str()));
            left.extend(dump.lines().filter(naming).map(str::to_string));
        }
        left
    }
}

/// Whether libcni's result cache (which neither runtime lets us move) holds
/// an entry for `id`.
pub fn cached(id: &str) -> bool {
    std::fs::read_dir("/var/lib/cni/results")
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().contains(id)))
        .unwrap_or(false)
}

fn http_get(to: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let body = reply.split_once("\r\n\r\n")?.1;
    Some(body.trim().to_string())
}

/// A daemon process, stopped (SIGTERM, then SIGKILL after 5 s) on drop.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    pub fn spawn(mut command: Command, log: &Path) -> Daemon {
        let log = std::fs::File::create(log).expect("daemon log");
        let err = log.try_clone().expect("daemon log");
        let child = command.stdin(Stdio::null()).stdout(log).stderr(err).spawn().expect("start daemon");
        Daemon { child }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Unmounts whatever a runtime left mounted below `dir`, deepest first, so
/// that the directory can be removed.
pub fn unmount_below(dir: &Path) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else { return };
    let prefix = dir.to_string_lossy().to_string();
    let mut targets: Vec<&str> =
        mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|t| t.starts_with(&prefix)).collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for target in targets {
        let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
    }
}
