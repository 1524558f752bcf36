//! The fixtures tests build on, with one call shape, `call(plugin, path,
//! command, conf)` (Wire adds the ifname): a plugin directory, one
//! attachment deleted on drop, a lab host netns with a bridge network
//! (HostLab), and a host link wired to a peer netns (Wire).

use super::*;

/// A directory of links named after our plugin types, as an installation has.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
}

impl PluginDir {
    pub fn new() -> PluginDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in cni::BUILTIN_PLUGIN_TYPES {
            std::os::unix::fs::symlink(multicall(), dir.path().join(name)).expect("link plugin");
        }
        PluginDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn plugin(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An attachment made by a plugin; DEL'd by `del_plugin` on drop so that a
/// failing test leaves no netfilter rules or reservations behind.
pub struct Attachment<'a> {
    pub del_plugin: PathBuf,
    pub conf: String,
    pub id: String,
    pub netns: &'a TestNetns,
    pub ifname: String,
    pub cni_path: String,
}

impl<'a> Attachment<'a> {
    pub fn new(del_plugin: &Path, conf: &str, netns: &'a TestNetns, cni_path: &str) -> Attachment<'a> {
        Attachment {
            del_plugin: del_plugin.to_path_buf(),
            conf: conf.to_string(),
            id: unique("ctr"),
            netns,
            ifname: "eth0".to_string(),
            cni_path: cni_path.to_string(),
        }
    }

    /// Runs `plugin` (with CNI_PATH `path`) for this attachment: the call
    /// shape all three fixtures share.
    pub fn call(&self, plugin: &Path, path: &str, command: &str, stdin: &str) -> Outcome {
        let netns = self.netns.path();
        run_plugin(plugin, &cni_env(command, &self.id, &netns, &self.ifname, path), stdin)
    }

    /// ADD with `plugin`; panics with the plugin's output on failure.
    pub fn add(&self, plugin: &Path, path: &str) -> Value {
        let out = self.call(plugin, path, "ADD", &self.conf);
        assert_eq!(out.code, 0, "ADD failed: {}", out.stdout);
        out.json
    }

    /// The conf with `prevResult` set, for CHECK and DEL.
    pub fn with_prev(&self, result: &Value) -> String {
        with_prev(&self.conf, result)
    }
}

impl Drop for Attachment<'_> {
    fn drop(&mut self) {
        let _ = self.call(&self.del_plugin.clone(), &self.cni_path.clone(), "DEL", &self.conf.clone());
    }
}

/// A netconf (JSON text) with `prevResult` set, for CHECK and DEL.
pub fn with_prev(conf: &str, result: &Value) -> String {
    let mut conf: Value = serde_json::from_str(conf).expect("conf JSON");
    conf["prevResult"] = result.clone();
    conf.to_string()
}

/// A netconf with the keys of `extra` set on top (each test's variations of a base config).
pub fn with_keys(mut conf: Value, extra: &Value) -> Value {
    for (k, v) in extra.as_object().into_iter().flatten() {
        conf[k] = v.clone();
    }
    conf
}

/// A "host" netns of the test's own with a bridge network (gateway
/// `BASE.N.1`, default route, hairpin) and one container on it: meta
/// plugins chained after bridge run inside it, so their links, qdiscs,
/// rules and traffic stay in namespaces the test made.
pub struct HostLab {
    pub plugins: PluginDir,
    _store: tempfile::TempDir,
    pub host: TestNetns,
    pub container: TestNetns,
    pub base: String,
    pub n: u8,
    pub network: String,
    pub id: String,
    pub result: Value,
}

impl HostLab {
    /// `base` is the file's 10.x prefix ("10.230"); IPv6 uses fd00:x:N::/64.
    pub fn new(base: &str, n: u8) -> HostLab {
        let plugins = PluginDir::new();
        let store = tempfile::tempdir().expect("store dir");
        let host = TestNetns::new("labh");
        let container = TestNetns::new("labc");
        host.exec(&["ip", "link", "set", "lo", "up"]);
        container.exec(&["ip", "link", "set", "lo", "up"]);
        let network = unique("labn");
        let id = unique("labctr");
        let v6 = base.rsplit('.').next().unwrap_or("0");
        let conf = serde_json::json!({"cniVersion": "1.0.0", "name": network, "type": "bridge",
            "bridge": "labbr0", "isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": format!("{base}.{n}.0/24")}],
                                                        [{"subnet": format!("fd00:{v6}:{n}::/64")}]],
                     "dataDir": store.path()}})
        .to_string();
        let path = plugins.path().to_str().expect("utf-8 path").to_string();
        let out = run_plugin_in(
            &host,
            &plugins.plugin("bridge"),
            &cni_env("ADD", &id, &container.path(), "eth0", &path),
            &conf,
        );
        assert_eq!(out.code, 0, "bridge ADD: {}", out.stdout);
        HostLab {
            plugins,
            _store: store,
            host,
            container,
            base: base.to_string(),
            n,
            network,
            id,
            result: out.json,
        }
    }

    pub fn gateway(&self) -> String {
        format!("{}.{}.1", self.base, self.n)
    }

    pub fn container_ip(&self) -> String {
        self.result["ips"][0]["address"]
            .as_str()
            .unwrap_or_default()
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The host end of the container's veth (from the bridge result).
    pub fn host_veth(&self) -> String {
        self.result["interfaces"][1]["name"].as_str().unwrap_or_default().to_string()
    }

    /// Runs `plugin` (with CNI_PATH `path`) in the host netns for the lab's container.
    pub fn call(&self, plugin: &Path, path: &str, command: &str, conf: &str) -> Outcome {
        run_plugin_in(
            &self.host,
            plugin,
            &cni_env(command, &self.id, &self.container.path(), "eth0", path),
            conf,
        )
    }

    /// Our plugin `name` for another container ID on the lab's netns.
    pub fn run_ours_as(&self, id: &str, name: &str, command: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        run_plugin_in(
            &self.host,
            &self.plugins.plugin(name),
            &cni_env(command, id, &self.container.path(), "eth0", path),
            conf,
        )
    }

    /// Our plugin `name`.
    pub fn run_ours(&self, name: &str, command: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        self.call(&self.plugins.plugin(name), path, command, conf)
    }

    /// The reference's plugin `name`.
    pub fn run_reference(&self, name: &str, command: &str, conf: &str) -> Outcome {
        self.call(&Path::new(REFERENCE_DIR).join(name), REFERENCE_DIR, command, conf)
    }

    /// Our plugin `name` in the host netns with /usr/sbin (where iptables
    /// lives, /sbin being a link to it) hidden under an empty tmpfs in a
    /// mount namespace of its own: a host with nftables and no iptables.
    pub fn run_ours_without_iptables(&self, name: &str, command: &str, conf: &str) -> Outcome {
        let path = self.plugins.path().to_str().unwrap_or_default();
        let mut cmd = in_netns(&self.host.name, "unshare");
        cmd.args(["-m", "sh", "-c", "mount -t tmpfs none /usr/sbin && exec \"$0\""]);
        cmd.arg(self.plugins.plugin(name));
        run_command(cmd, &cni_env(command, &self.id, &self.container.path(), "eth0", path), conf)
    }
}

/// A host netns whose `mvm0` is one end of a veth to a peer netns on
/// `BASE.N.0/24` (the peer is `.100`), and a container netns: plugins that
/// make the container interface a child of a host link (macvlan, ipvlan)
/// run in the host netns, and the container pings the peer over it.
pub struct Wire {
    pub plugins: PluginDir,
    pub store: tempfile::TempDir,
    pub host: TestNetns,
    pub peer: TestNetns,
    pub container: TestNetns,
    pub base: String,
    pub n: u8,
}

impl Wire {
    pub fn new(base: &str, n: u8) -> Wire {
        let wire = Wire {
            plugins: PluginDir::new(),
            store: tempfile::tempdir().expect("store dir"),
            host: TestNetns::new("wireh"),
            peer: TestNetns::new("wirep"),
            container: TestNetns::new("wirec"),
            base: base.to_string(),
            n,
        };
        wire.host.exec(&["ip", "link", "add", "mvm0", "type", "veth", "peer", "name", "mvpeer"]);
        wire.host.exec(&["ip", "link", "set", "mvpeer", "netns", &wire.peer.name]);
        wire.host.exec(&["ip", "link", "set", "mvm0", "up"]);
        wire.peer.exec(&["ip", "addr", "add", &format!("{base}.{n}.100/24"), "dev", "mvpeer"]);
        wire.peer.exec(&["ip", "link", "set", "mvpeer", "up"]);
        wire
    }

    /// Runs `plugin` (CNI_PATH `path`) in the host netns for the container's `ifname`.
    pub fn call(&self, plugin: &Path, path: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        run_plugin_in(
            &self.host,
            plugin,
            &cni_env(command, "wirectr", &self.container.path(), ifname, path),
            conf,
        )
    }

    /// Our plugin `name`.
    pub fn ours(&self, name: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        self.call(
            &self.plugins.plugin(name),
            self.plugins.path().to_str().unwrap_or_default(),
            command,
            ifname,
            conf,
        )
    }

    /// The reference's plugin `name`.
    pub fn reference(&self, name: &str, command: &str, ifname: &str, conf: &str) -> Outcome {
        self.call(&Path::new(REFERENCE_DIR).join(name), REFERENCE_DIR, command, ifname, conf)
    }

    /// `ip -d -j link show NAME` in the container; Null when it does not exist.
    pub fn link(&self, name: &str) -> Value {
        let text = self.container.output(&["ip", "-d", "-j", "link", "show", name]);
        serde_json::from_str::<Value>(&text).map(|v| v[0].clone()).unwrap_or(Value::Null)
    }

    /// True when the container reaches the peer.
    pub fn pings_peer(&self) -> bool {
        ping(Some(&self.container.name), &format!("{}.{}.100", self.base, self.n))
    }
}
