//! containerd 1.6 (Debian's) and its CRI plugin, driven over the CRI gRPC
//! API as kubelet drives it, with a conflist like a Kubernetes node's
//! (bridge + host-local, portmap, bandwidth, tuning) and our plugins in
//! its CNI bin_dir. containerd runs in a private host netns of the test's
//! own (see tests/runtimes) with its own config, root, state and sockets;
//! traffic comes from a client netns wired to it. The CRI client is
//! tests/runtimes/cri.py on the PyPI package container-runtime-interface-api
//! (generated CRI v1 stubs), in the venv scripts/test makes
//! (target/cri-venv, or CRI_PYTHON). Only libcni's result cache
//! (/var/lib/cni/results) and the shim sockets (/run/containerd/s) are
//! the host's. Subnets 10.242.0.0/16 belong to this file; the client links
//! use 10.209.51-59.0/30.

mod common;
mod runtimes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use runtimes::*;
use serde_json::{json, Value};

const POD_SUBNET: &str = "10.242";

/// The python with the CRI stubs: CRI_PYTHON, else scripts/test's venv.
fn cri_python() -> PathBuf {
    let python = std::env::var_os("CRI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cri-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: scripts/test makes it (python3 -m venv target/cri-venv && \
         target/cri-venv/bin/pip install container-runtime-interface-api==2.0.1)",
        python.display()
    );
    python
}

/// containerd with everything private, its pods removed and the daemon
/// stopped on drop.
struct Containerd {
    sock: PathBuf,
    python: PathBuf,
    ipam: PathBuf,
    pods: Mutex<Vec<String>>,
    daemon: Option<Daemon>,
    rt: RuntimeHost,
}

impl Containerd {
    fn new(n: u8) -> Containerd {
        Containerd::with_bin_dir(n, None)
    }

    /// containerd whose CNI bin_dir is `bin_dir` (default: the test's
    /// plugin dir of links to the debug build).
    fn with_bin_dir(n: u8, bin_dir: Option<&Path>) -> Containerd {
        require_tools(&["containerd", "ctr", "containerd-shim-runc-v2", "runc", "nsenter"]);
        let python = cri_python();
        let rt = RuntimeHost::new("cd", n);
        let base = rt.dir.path().to_path_buf();
        for sub in ["root", "state", "opt", "net.d", "ipam", "runc", "podlogs", "specs"] {
            std::fs::create_dir_all(base.join(sub)).unwrap();
        }
        let network = unique("k8s");
        let conflist = json!({"cniVersion": "1.0.0", "name": network, "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
             "ipam": {"type": "host-local", "dataDir": base.join("ipam"),
                      "ranges": [[{"subnet": format!("{POD_SUBNET}.{n}.0/24")}]], "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "bandwidth", "capabilities": {"bandwidth": true}},
            {"type": "tuning", "sysctl": {"net.core.somaxconn": "512"}},
        ]});
        std::fs::write(base.join("net.d/10-k8s.conflist"), conflist.to_string()).unwrap();
        let sock = base.join("containerd.sock");
        let config = format!(
            r#"version = 2
root = "{b}/root"
state = "{b}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.overlayfs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{b}/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{b}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:e2e"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{b}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{plugins}"
    conf_dir = "{b}/net.d"
    max_conf_num = 1
"#,
            b = base.display(),
            sock = sock.display(),
            plugins = bin_dir.unwrap_or(rt.plugins.path()).display(),
        );
        std::fs::write(base.join("config.toml"), config).unwrap();
        let mut command = rt.command("containerd");
        command.arg("--config").arg(base.join("config.toml"));
        let daemon = Some(Daemon::spawn(command, &base.join("containerd.log")));
        let containerd = Containerd {
            sock,
            python,
            ipam: base.join("ipam").join(&network),
            pods: Mutex::new(Vec::new()),
            daemon,
            rt,
        };
        containerd.wait_ready();
        let archive = containerd.rt.oci_archive();
        let out = Command::new("ctr")
            .arg("-a")
            .arg(&containerd.sock)
            .args(["-n", "k8s.io", "images", "import", "--snapshotter", "native"])
            .arg(&archive)
            .output()
            .expect("ctr images import");
        assert!(out.status.success(), "ctr images import: {}", String::from_utf8_lossy(&out.stderr));
        containerd
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.cri_output(&["status"]);
            if out.status.success() {
                let status: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                let conditions = status["status"]["conditions"].as_array().cloned().unwrap_or_default();
                if conditions.iter().any(|c| c["type"] == "NetworkReady" && c["status"] == true) {
                    return;
                }
            }
            let log = std::fs::read_to_string(self.rt.dir.path().join("containerd.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "containerd's CRI network never got ready:\n{log}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn cri_output(&self, args: &[&str]) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runtimes/cri.py");
        Command::new(&self.python).arg(script).arg(&self.sock).args(args).output().expect("cri.py")
    }

    /// A CRI call; panics with its error; its stdout, trimmed.
    fn cri(&self, args: &[&str]) -> String {
        let out = self.cri_output(args);
        assert!(out.status.success(), "CRI {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn spec(&self, name: &str, spec: &Value) -> String {
        let path = self.rt.dir.path().join("specs").join(format!("{name}.json"));
        std::fs::write(&path, spec.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// RunPodSandbox: a pod named `name` with an optional host port (to
    /// 8080) and bandwidth annotations; the pod's ID and its spec file.
    fn run_pod(
        &self,
        name: &str,
        host_port: Option<u16>,
        bandwidth: Option<(&str, &str)>,
    ) -> (String, String) {
        let mut pod = json!({
            "metadata": {"name": name, "namespace": "e2e", "uid": unique("uid"), "attempt": 0},
            "hostname": name,
            "log_directory": self.rt.dir.path().join("podlogs"),
            "linux": {"security_context": {"namespace_options": {"network": "POD"}}},
        });
        if let Some(port) = host_port {
            pod["port_mappings"] = json!([{"protocol": "TCP", "container_port": 8080, "host_port": port}]);
        }
        if let Some((ingress, egress)) = bandwidth {
            pod["annotations"] = json!({"kubernetes.io/ingress-bandwidth": ingress,
                                        "kubernetes.io/egress-bandwidth": egress});
        }
        let spec = self.spec(&format!("pod-{name}"), &pod);
        let id = self.cri(&["runp", &spec]);
        self.pods.lock().unwrap().push(id.clone());
        (id, spec)
    }

    /// Starts busybox httpd on 8080 in a pod; the container ID.
    fn httpd(&self, pod: &str, pod_spec: &str) -> String {
        let container = json!({"metadata": {"name": "httpd"}, "image": {"image": "localhost/busybox:e2e"},
            "command": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"], "log_path": "httpd.log",
            "linux": {"resources": {}, "security_context": {}}});
        let spec = self.spec(&format!("ctr-{pod}"), &container);
        let id = self.cri(&["create", pod, &spec, pod_spec]);
        self.cri(&["start", &id]);
        id
    }

    fn pod_ip(&self, pod: &str) -> String {
        self.cri(&["podip", pod])
    }

    /// StopPodSandbox then RemovePodSandbox, as kubelet does.
    fn remove_pod(&self, pod: &str) {
        self.cri(&["stopp", pod]);
        self.cri(&["rmp", pod]);
        self.pods.lock().unwrap().retain(|p| p != pod);
    }

    /// The pod network namespaces containerd holds (under its state dir).
    fn netns_files(&self) -> Vec<String> {
        let dir = self.rt.dir.path().join("state/io.containerd.grpc.v1.cri/netns");
        std::fs::read_dir(dir)
            .map(|e| e.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// Everything an attachment of these pods could leave, in one list.
    fn leftovers(&self, pods: &[String], ips: &[String]) -> Vec<String> {
        let mut needles: Vec<String> = pods.to_vec();
        for ip in ips {
            needles.extend([format!("{ip}/32"), format!("saddr {ip} "), format!("to {ip}:")]);
        }
        let mut left = self.rt.leftovers(&needles);
        left.extend(pods.iter().filter(|p| cached(p)).map(|p| format!("cache entry of {p}")));
        left.extend(reservations(&self.ipam).into_iter().map(|ip| format!("reservation {ip}")));
        left.extend(self.netns_files().into_iter().map(|f| format!("netns {f}")));
        left
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for pod in self.pods.lock().map(|p| p.clone()).unwrap_or_default() {
            let _ = self.cri_output(&["stopp", &pod]);
            let _ = self.cri_output(&["rmp", &pod]);
        }
        self.daemon.take();
        unmount_below(self.rt.dir.path());
    }
}

#[test]
fn pods_with_a_host_port_and_bandwidth_limits_serve_and_leave_nothing() {
    let cd = Containerd::new(51);
    let (web, web_spec) = cd.run_pod("web", Some(18090), Some(("10M", "20M")));
    let web_ctr = cd.httpd(&web, &web_spec);
    let (peer, peer_spec) = cd.run_pod("peer", None, None);
    let peer_ctr = cd.httpd(&peer, &peer_spec);
    let (web_ip, peer_ip) = (cd.pod_ip(&web), cd.pod_ip(&peer));
    assert!(web_ip.starts_with("10.242.51.") && peer_ip.starts_with("10.242.51."), "{web_ip} {peer_ip}");

    // The hostPort (containerd sends {"HostPort":..} in runtimeConfig).
    assert_eq!(cd.rt.get(&cd.rt.host_ip(), 18090).as_deref(), Some(PAGE), "the hostPort answers");
    // Two pods reach each other.
    let page = cd.cri(&["exec", &peer_ctr, "wget", "-q", "-O-", &format!("http://{web_ip}:8080/")]);
    assert_eq!(page, PAGE, "peer reaches web");
    let page = cd.cri(&["exec", &web_ctr, "wget", "-q", "-O-", &format!("http://{peer_ip}:8080/")]);
    assert_eq!(page, PAGE, "web reaches peer");
    // tuning's sysctl inside the pod, bandwidth's buckets on the host side.
    assert_eq!(cd.cri(&["exec", &web_ctr, "cat", "/proc/sys/net/core/somaxconn"]), "512");
    let qdiscs = cd.rt.host.output(&["tc", "qdisc", "show"]);
    assert!(
        qdiscs.lines().any(|l| l.contains("tbf 1: dev veth") && l.contains("rate 10Mbit")),
        "ingress: {qdiscs}"
    );
    assert!(
        qdiscs.lines().any(|l| l.contains("dev bwp") && l.contains("rate 20Mbit")),
        "egress ifb: {qdiscs}"
    );

    for pod in [&web, &peer] {
        cd.remove_pod(pod);
    }
    let left = cd.leftovers(&[web.clone(), peer.clone()], &[web_ip, peer_ip]);
    assert_eq!(left, Vec::<String>::new(), "left after Stop/RemovePodSandbox");
    assert_eq!(cd.rt.get_once(&cd.rt.host_ip(), 18090), None, "the hostPort is closed");
}

#[test]
fn pods_run_with_the_plugins_the_installer_put_in_bin_dir() {
    // What the installer image runs on a node (tests/podman.rs runs the
    // image itself): the static binary's `install` into an empty bin_dir.
    let binary = static_binary();
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("opt/cni/bin");
    let out = Command::new(&binary).arg("install").arg(&bin).output().unwrap();
    assert!(out.status.success(), "install: {}", String::from_utf8_lossy(&out.stderr));

    let cd = Containerd::with_bin_dir(53, Some(&bin));
    let (web, web_spec) = cd.run_pod("web", Some(18090), None);
    cd.httpd(&web, &web_spec);
    let web_ip = cd.pod_ip(&web);
    assert!(web_ip.starts_with("10.242.53."), "{web_ip}");
    assert_eq!(cd.rt.get(&cd.rt.host_ip(), 18090).as_deref(), Some(PAGE), "the hostPort answers");
    cd.remove_pod(&web);
    let left = cd.leftovers(std::slice::from_ref(&web), &[web_ip]);
    assert_eq!(left, Vec::<String>::new(), "left after Stop/RemovePodSandbox");
}

#[test]
fn ten_pods_made_and_removed_four_at_a_time_get_distinct_addresses() {
    let cd = Containerd::new(52);
    let names: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let cd_ref = &cd;
    let made: Vec<(String, String)> = std::thread::scope(|scope| {
        names
            .chunks(4)
            .flat_map(|batch| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|name| {
                        scope.spawn(move || {
                            let out =
                                cd_ref.cri_output(&["runp", &cd_ref.spec(name, &pod_spec(cd_ref, name))]);
                            assert!(
                                out.status.success(),
                                "runp {name}: {}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
                            let ip = String::from_utf8_lossy(&cd_ref.cri_output(&["podip", &id]).stdout)
                                .trim()
                                .to_string();
                            (id, ip)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("pod thread")).collect::<Vec<_>>()
            })
            .collect()
    });
    cd.pods.lock().unwrap().extend(made.iter().map(|(id, _)| id.clone()));
    let addresses: BTreeSet<&str> = made.iter().map(|(_, ip)| ip.as_str()).collect();
    assert_eq!(addresses.len(), 10, "ten distinct addresses: {made:?}");
    assert!(addresses.iter().all(|ip| ip.starts_with("10.242.52.")), "{addresses:?}");
    assert_eq!(reservations(&cd.ipam).len(), 10, "one reservation per pod");

    std::thread::scope(|scope| {
        for batch in made.chunks(4) {
            let handles: Vec<_> = batch
                .iter()
                .map(|(id, _)| {
                    scope.spawn(move || {
                        for call in ["stopp", "rmp"] {
                            let out = cd_ref.cri_output(&[call, id]);
                            assert!(
                                out.status.success(),
                                "{call} {id}: {}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                        }
                    })
                })
                .collect();
            handles.into_iter().for_each(|h| h.join().expect("remove thread"));
        }
    });
    cd.pods.lock().unwrap().clear();
    let pods: Vec<String> = made.iter().map(|(id, _)| id.clone()).collect();
    let ips: Vec<String> = made.iter().map(|(_, ip)| ip.clone()).collect();
    assert_eq!(cd.leftovers(&pods, &ips), Vec::<String>::new(), "left after removing ten pods");
}

/// A plain pod spec (no ports, no limits).
fn pod_spec(cd: &Containerd, name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "e2e", "uid": unique("uid"), "attempt": 0},
        "hostname": name,
        "log_directory": cd.rt.dir.path().join("podlogs"),
        "linux": {"security_context": {"namespace_options": {"network": "POD"}}},
    })
}
