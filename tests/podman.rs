//! podman 4.3 (Debian's) with its CNI backend, pointed at a directory of
//! our plugins: what a podman user does, end to end. podman runs in a
//! private host netns of the test's own (see tests/runtimes), with a
//! private containers.conf, storage, network config dir, tmpdir and locks;
//! traffic comes from a client netns wired to it. Only libcni's result
//! cache (/var/lib/cni/results), podman's netns files (/run/netns) and
//! host-local's default store for podman-written networks
//! (/var/lib/cni/networks/<net>) are the host's; the test removes its own.
//! Subnets 10.241.0.0/16 and fd00:241::/32 belong to this file; the
//! client links use 10.209.41-49.0/30.

mod common;
mod runtimes;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use runtimes::*;

const IMAGE: &str = "localhost/busybox:e2e";
const HTTPD: [&str; 6] = ["busybox", "httpd", "-f", "-p", "8080", "-h"];

/// podman with everything private, cleaned up on drop (containers,
/// networks, host-local stores of the networks it made).
struct Podman {
    prefix: String,
    conf: PathBuf,
    networks: std::cell::RefCell<Vec<String>>,
    rt: RuntimeHost,
}

impl Podman {
    fn new(n: u8) -> Podman {
        require_tools(&["podman", "runc", "conmon", "nsenter"]);
        let rt = RuntimeHost::new("pm", n);
        let base = rt.dir.path();
        for sub in ["root", "runroot", "tmp", "net.d"] {
            std::fs::create_dir_all(base.join(sub)).unwrap();
        }
        let conf = base.join("containers.conf");
        // No CAP_SYS_RESOURCE here: podman's default rlimits cannot be set.
        std::fs::write(
            &conf,
            format!(
                "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
                 [network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{plugins}\"]\n\
                 network_config_dir = \"{base}/net.d\"\ndefault_subnet = \"10.241.{n}.0/24\"\n\
                 default_subnet_pools = [{{\"base\" = \"10.241.{pool}.0/24\", \"size\" = 24}}]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{base}/events.log\"\ntmp_dir = \"{base}/tmp\"\n\
                 static_dir = \"{base}/root/libpod\"\nvolume_path = \"{base}/root/volumes\"\nlock_type = \"file\"\n",
                plugins = rt.plugins.path().display(),
                base = base.display(),
                pool = 100 + n,
            ),
        )
        .unwrap();
        std::fs::write(
            base.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/runroot\"\n",
                base.display()
            ),
        )
        .unwrap();
        std::fs::write(base.join("registries.conf"), "unqualified-search-registries = []\n").unwrap();
        let podman = Podman { prefix: unique("pm"), conf, networks: Default::default(), rt };
        let tar = podman.rt.rootfs_tar();
        podman.ok(&["import", "-q", "--change", "CMD [\"/bin/sh\"]", tar.to_str().unwrap(), IMAGE]);
        podman
    }

    fn run(&self, args: &[&str]) -> Output {
        let base = self.rt.dir.path();
        let mut command = self.rt.command("podman");
        command
            .env("CONTAINERS_CONF", &self.conf)
            .env("CONTAINERS_STORAGE_CONF", base.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", base.join("registries.conf"))
            .arg("--root")
            .arg(base.join("root"))
            .arg("--runroot")
            .arg(base.join("runroot"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", "runc"])
            .arg("--network-config-dir")
            .arg(base.join("net.d"))
            .arg("--tmpdir")
            .arg(base.join("tmp"))
            .args(["--events-backend", "file"])
            .args(args);
        command.output().expect("run podman")
    }

    /// Runs podman; panics with its stderr when it fails; its stdout, trimmed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `network create` of a network named PREFIX-`name`; its name.
    fn network(&self, name: &str, options: &[&str]) -> String {
        let name = format!("{}-{name}", self.prefix);
        let mut args = vec!["network", "create"];
        args.extend_from_slice(options);
        args.push(&name);
        self.ok(&args);
        self.networks.borrow_mut().push(name.clone());
        name
    }

    /// `run -d` of httpd with `options`; the container's full ID.
    fn httpd(&self, name: &str, options: &[&str]) -> String {
        let name = format!("{}-{name}", self.prefix);
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(options);
        args.push(IMAGE);
        args.extend_from_slice(&HTTPD);
        args.push("/www");
        self.ok(&args)
    }

    fn inspect(&self, container: &str, format: &str) -> String {
        self.ok(&["inspect", "--format", format, container])
    }

    /// A container's IPv4 address on a network.
    fn address(&self, container: &str, network: &str) -> String {
        self.inspect(container, &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"))
    }

    fn exec(&self, container: &str, command: &[&str]) -> String {
        let mut args = vec!["exec", container];
        args.extend_from_slice(command);
        self.ok(&args)
    }

    /// The host-local store podman-written networks use (not configurable).
    fn store(network: &str) -> PathBuf {
        Path::new("/var/lib/cni/networks").join(network)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-a", "-f", "-t", "0"]);
        for network in self.networks.borrow().iter() {
            let _ = self.run(&["network", "rm", "-f", network]);
            let _ = std::fs::remove_dir_all(Podman::store(network));
        }
        unmount_below(self.rt.dir.path());
    }
}

/// The reservation files (addresses) of a podman network's host-local store.
fn reserved(network: &str) -> Vec<String> {
    reservations(&Podman::store(network))
}

#[test]
fn podman_publishes_ports_connects_networks_and_removes_everything() {
    let pm = Podman::new(41);
    let n = pm.rt.n;
    let sub = pm.network("sub", &["--subnet", "10.241.1.0/24", "--gateway", "10.241.1.1"]);
    let auto = pm.network("auto", &[]);
    let internal = pm.network("int", &["--internal", "--subnet", "10.241.2.0/24"]);

    // run -p: reached from the client through the host port.
    let web = pm.httpd("web", &["--network", &sub, "-p", "18080:8080"]);
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18080).as_deref(), Some(PAGE), "-p 18080:8080 answers");
    let web_ip = pm.address(&web, &sub);
    assert!(web_ip.starts_with("10.241.1."), "{web_ip}");
    // libcni before 1.2 caches no netns: cnictl finds it in the result.
    let views = |args: &[&str]| {
        let net_d = pm.rt.dir.path().join("net.d");
        let out = std::process::Command::new(cnictl())
            .args(args)
            .env("NETCONFPATH", &net_d)
            .env("CNI_PATH", pm.rt.plugins.path())
            .env_remove("CNI_CACHE_DIR")
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let listed = views(&["attachments", "-o", "json"]);
    let mine = listed.as_array().unwrap().iter().find(|a| a["containerID"] == web.as_str()).cloned();
    let mine = mine.unwrap_or_else(|| panic!("{web} not in {listed}"));
    assert!(mine["netns"].as_str().unwrap().starts_with("/run/netns/"), "{mine}");
    assert_eq!(mine["netnsExists"], true, "{mine}");
    let doctor = views(&["doctor", "-o", "json"]);
    let gone = doctor.as_array().unwrap().iter().any(|f| {
        f["detail"].as_str().is_some_and(|d| d.contains("namespace that is gone") && d.contains(sub.as_str()))
    });
    assert!(!gone, "doctor is quiet about podman's live attachment: {doctor}");

    // --ip and --mac-address (podman passes them in CNI_ARGS).
    let fixed =
        pm.httpd("fixed", &["--network", &sub, "--ip", "10.241.1.50", "--mac-address", "02:42:0a:f1:01:32"]);
    let eth0 = pm.exec(&fixed, &["ip", "-o", "addr", "show", "eth0"]);
    assert!(eth0.contains("10.241.1.50/24"), "--ip: {eth0}");
    let link = pm.exec(&fixed, &["ip", "link", "show", "eth0"]);
    assert!(link.contains("02:42:0a:f1:01:32"), "--mac-address: {link}");
    // Two containers on one network reach each other.
    let page = pm.exec(&fixed, &["wget", "-q", "-O-", &format!("http://{web_ip}:8080/")]);
    assert_eq!(page, PAGE, "container to container on {sub}");

    // network create without a subnet takes one from default_subnet_pools.
    let pooled = pm.httpd("pooled", &["--network", &auto]);
    let pooled_ip = pm.address(&pooled, &auto);
    assert!(pooled_ip.starts_with(&format!("10.241.{}.", 100 + n)), "from the pool: {pooled_ip}");

    // --internal: no default route, no gateway address on the host.
    let inner = pm.httpd("inner", &["--network", &internal]);
    let routes = pm.exec(&inner, &["ip", "route"]);
    assert!(!routes.contains("default"), "internal: {routes}");

    // connect and disconnect a second network: the published port keeps answering.
    pm.ok(&["network", "connect", &internal, &web]);
    let eth1 = pm.exec(&web, &["ip", "-o", "-4", "addr", "show", "eth1"]);
    assert!(eth1.contains("10.241.2."), "connect adds eth1: {eth1}");
    let inner_ip = pm.address(&inner, &internal);
    assert_eq!(pm.exec(&web, &["wget", "-q", "-O-", &format!("http://{inner_ip}:8080/")]), PAGE);
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18080).as_deref(), Some(PAGE), "port after connect");
    pm.ok(&["network", "disconnect", &internal, &web]);
    assert!(pm.run(&["exec", &web, "ip", "link", "show", "eth1"]).status.code() != Some(0), "eth1 gone");
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18080).as_deref(), Some(PAGE), "port after disconnect");

    // A container on two networks, both with a default route.
    let both = pm.httpd("both", &["--network", &format!("{sub},{auto}"), "-p", "18081:8080"]);
    let defaults = pm.exec(&both, &["ip", "-4", "route", "show", "default"]);
    assert_eq!(defaults.lines().count(), 2, "a default route per network: {defaults}");
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18081).as_deref(), Some(PAGE), "-p on two networks");

    // rm -f leaves nothing: no veth, rule, cache entry or reservation.
    let containers = [&web, &fixed, &pooled, &inner, &both];
    let mut needles: Vec<String> = containers.iter().map(|c| c.to_string()).collect();
    needles.extend(
        [&web_ip, &pooled_ip, &inner_ip, &"10.241.1.50".to_string()].iter().map(|ip| format!("{ip}/32")),
    );
    let mut args = vec!["rm", "-f", "-t", "0"];
    args.extend(containers.iter().map(|c| c.as_str()));
    pm.ok(&args);
    assert_eq!(pm.rt.leftovers(&needles), Vec::<String>::new(), "left in the host netns");
    for id in containers {
        assert!(!cached(id), "cache entry of {id} left");
    }
    for network in [&sub, &auto, &internal] {
        assert_eq!(reserved(network), Vec::<String>::new(), "reservations left on {network}");
    }
    assert_eq!(pm.rt.get_once(&pm.rt.host_ip(), 18080), None, "the port is closed");
}

#[test]
fn podman_dual_stack_networks_publish_ports_on_both_families() {
    let pm = Podman::new(42);
    let ds = pm.network("ds", &["--ipv6", "--subnet", "10.241.3.0/24", "--subnet", "fd00:241:3::/64"]);
    let web = pm.httpd(
        "web",
        &["--network", &ds, "-p", "18082:8080", "-p", &format!("{}:18083:8080", pm.rt.host_ip())],
    );
    let v6 =
        pm.inspect(&web, &format!("{{{{(index .NetworkSettings.Networks \"{ds}\").GlobalIPv6Address}}}}"));
    assert!(v6.starts_with("fd00:241:3:"), "an IPv6 address: {v6}");
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18082).as_deref(), Some(PAGE), "IPv4 host port");
    assert_eq!(pm.rt.get(&pm.rt.host_ip6(), 18082).as_deref(), Some(PAGE), "IPv6 host port");
    assert_eq!(pm.rt.get(&pm.rt.host_ip(), 18083).as_deref(), Some(PAGE), "host port bound to an address");
    assert_eq!(pm.rt.get_once(&pm.rt.host_ip6(), 18083), None, "an IPv4-bound port maps no IPv6");
    let v4 = pm.address(&web, &ds);
    pm.ok(&["rm", "-f", "-t", "0", &web]);
    let needles = vec![web.clone(), format!("{v4}/32"), format!("{v6}/128")];
    assert_eq!(pm.rt.leftovers(&needles), Vec::<String>::new(), "left in the host netns");
    assert!(!cached(&web));
    assert_eq!(reserved(&ds), Vec::<String>::new());
}

#[test]
fn the_installer_image_from_scratch_installs_the_plugins_and_the_network_config() {
    let pm = Podman::new(43);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = static_binary();
    // The build context: the static binary alone, as the Containerfile says.
    let work = tempfile::tempdir().unwrap();
    let context = work.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    copy_executable(&binary, &context.join("cni-plugins"));
    let image = format!("localhost/{}-installer:e2e", pm.prefix);
    let containerfile = root.join("deploy/installer/Containerfile");
    pm.ok(&[
        "build",
        "-q",
        "--network",
        "none",
        "-f",
        containerfile.to_str().unwrap(),
        "-t",
        &image,
        context.to_str().unwrap(),
    ]);
    let layers = pm.ok(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", &image]);
    assert_eq!(layers, "1", "from scratch: one layer, the binary's");

    let (bin, net, conf) = (work.path().join("bin"), work.path().join("net.d"), work.path().join("cnictl"));
    for dir in [&bin, &net, &conf] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let conflist = r#"{"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "bridge", "bridge": "cni0",
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.241.43.0/24"}]]}}]}"#;
    std::fs::write(conf.join("10-cnictl.conflist"), conflist).unwrap();
    let mount = |host: &Path, inside: &str| format!("{}:{inside}", host.display());
    let out = pm.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &mount(&bin, "/host/opt/cni/bin"),
        "-v",
        &mount(&net, "/host/etc/cni/net.d"),
        "-v",
        &mount(&conf, "/etc/cnictl:ro"),
        &image,
        "--conflist",
        "/etc/cnictl/10-cnictl.conflist",
        "--net-dir",
        "/host/etc/cni/net.d",
        "/host/opt/cni/bin",
    ]);
    assert!(out.contains("installed cni-plugins"), "{out}");
    assert_eq!(std::fs::read(bin.join("cni-plugins")).unwrap(), std::fs::read(&binary).unwrap());
    for name in cni::BUILTIN_PLUGIN_TYPES {
        assert_eq!(std::fs::read_link(bin.join(name)).unwrap(), Path::new("cni-plugins"), "{name}");
    }
    let version =
        std::process::Command::new(bin.join("bridge")).env("CNI_COMMAND", "VERSION").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("1.1.0"), "the installed bridge answers");
    assert_eq!(std::fs::read_to_string(net.join("10-cnictl.conflist")).unwrap(), conflist);
    let _ = pm.run(&["rmi", "-f", &image]);
}
