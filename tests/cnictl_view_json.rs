//! Golden files for the views' `-o json`: `list`, `show`, `attachments`,
//! `plugins` and `validate` against fixed config dirs, caches and plugin
//! dirs, compared byte for byte (key order, indentation, trailing newline)
//! with `tests/golden/views/<case>.json`, so that a change to a view's
//! JSON is always a decision, never an accident.
//!
//! To accept new output (after checking the diff is what you meant):
//!
//! ```text
//! CNICTL_BLESS=1 cargo test --test cnictl_view_json
//! git diff tests/golden/views
//! ```
//!
//! With `CNICTL_BLESS=1` each case writes its golden file instead of
//! comparing (the exit code is still checked).
//!
//! Normalisation, applied to the output (and, a no-op for blessed files, to
//! the golden text) before comparing, and nothing else:
//! - the temp dirs of a run are replaced by placeholders: `$CONF` (config
//!   dir), `$CACHE` (cache dir), `$PLUGINS` (the plugin dir of the case),
//!   `$MULTICALL` (the `plugins` case's second dir);
//! - `ageSeconds` is the one value that depends on the clock: a number
//!   there is rewritten to `0`. A `null` stays `null` (an entry whose mtime
//!   is in the future has no age; one fixture entry is such), so the golden
//!   files still tell a number from `null`.
//!
//! Nothing here makes a namespace, link or rule: the cache entries are
//! written by hand, and a namespace that "exists" is `/proc/self/ns/net`
//! (cnictl's own, there on any host).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

/// Where the golden files live.
fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/views")
}

fn blessing() -> bool {
    std::env::var("CNICTL_BLESS").is_ok_and(|v| v == "1")
}

/// `text` with each of `dirs` (a path and its placeholder) replaced, and
/// every numeric `ageSeconds` value rewritten to 0 (see the top of the file).
fn normalise(text: &str, dirs: &[(&Path, &str)]) -> String {
    let mut spellings: Vec<(String, &str)> = Vec::new();
    for (dir, placeholder) in dirs {
        spellings.push((dir.display().to_string(), placeholder));
        if let Ok(real) = dir.canonicalize() {
            spellings.push((real.display().to_string(), placeholder));
        }
    }
    // Longest first, so that no path is replaced inside a longer one.
    spellings.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    let mut out = text.to_string();
    for (path, placeholder) in &spellings {
        out = out.replace(path.as_str(), placeholder);
    }
    zero_ages(&out)
}

/// Every `"ageSeconds": <digits>` as `"ageSeconds": 0`.
fn zero_ages(text: &str) -> String {
    const KEY: &str = "\"ageSeconds\":";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let after_key = at + KEY.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        out.push_str(&rest[..spaces]);
        rest = &rest[spaces..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push('0');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// The first line where `expected` and `actual` differ, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.split_inclusive('\n'), actual.split_inclusive('\n'));
    for line in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return "same lines; the texts differ in bytes".into(),
            (x, y) if x == y => continue,
            (x, y) => return format!("line {line}:\n  golden: {x:?}\n  actual: {y:?}"),
        }
    }
    unreachable!()
}

/// One view run: cnictl with `args` (`-o json` added), the exit code it
/// must end with, and its golden file, `tests/golden/views/<golden>.json`.
struct Case<'a> {
    golden: &'a str,
    args: &'a [&'a str],
    code: i32,
}

/// Runs each case against `conf`, `cache` and the plugin path `cni_path`
/// and compares (or, blessing, writes) its golden file, `dirs` giving the
/// placeholders; fails once, naming every case that differs.
fn check(cases: &[Case], conf: &Path, cache: &Path, cni_path: &Path, dirs: &[(&Path, &str)]) {
    let mut failures = Vec::new();
    for case in cases {
        let mut args = case.args.to_vec();
        args.extend(["-o", "json"]);
        let (code, stdout, stderr) = run_cnictl(&args, conf, cache, cni_path);
        assert_eq!(code, case.code, "{}: cnictl {args:?}: exit code\n{stdout}\n{stderr}", case.golden);
        assert!(
            serde_json::from_str::<Value>(&stdout).is_ok(),
            "{}: cnictl {args:?} printed no JSON:\n{stdout}\n{stderr}",
            case.golden
        );
        let actual = normalise(&stdout, dirs);
        let file = golden_dir().join(format!("{}.json", case.golden));
        if blessing() {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&file, &actual).unwrap();
            continue;
        }
        let expected = match std::fs::read_to_string(&file) {
            Ok(text) => normalise(&text, dirs),
            Err(e) => {
                failures.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        if expected != actual {
            failures.push(format!(
                "{}: cnictl {} differs from the golden file, first at {}\nactual output (normalised):\n{actual}",
                file.display(),
                args.join(" "),
                first_difference(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the new output is intended, regenerate with \
         `CNICTL_BLESS=1 cargo test --test cnictl_view_json` and commit the diff.",
        failures.join("\n\n")
    );
}

/// The config dir every view reads: a chain (bridge with host-local
/// ranges, portmap with capabilities, tuning appended from the plugin
/// dir), a `.conf`, bad JSON, a missing plugin, a shadowed name, an
/// unsupported cniVersion, a type error and a capability name typo.
fn write_configs(conf: &Path) {
    let write = |name: &str, text: &str| std::fs::write(conf.join(name), text).unwrap();
    write("10-chain.conflist", CHAIN);
    std::fs::create_dir(conf.join("golden-chain")).unwrap();
    write(
        "golden-chain/50-tuning.conf",
        "{\n  \"type\": \"tuning\",\n  \"sysctl\": {\"net.core.somaxconn\": \"500\"}\n}\n",
    );
    write(
        "20-single.conf",
        &serde_json::to_string_pretty(&json!({"cniVersion": "0.4.0", "name": "golden-single", "type": "ptp",
            "ipMasq": true, "mtu": 1400,
            "ipam": {"type": "static", "addresses": [{"address": "10.99.2.5/24", "gateway": "10.99.2.1"}],
                     "routes": [{"dst": "0.0.0.0/0"}]}}))
        .unwrap(),
    );
    write(
        "30-badjson.conflist",
        "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"golden-bad\",\n  \"plugins\": [\n    {\"type\": \"bridge\",}\n  ]\n}\n",
    );
    write(
        "40-missing.conflist",
        r#"{"cniVersion": "1.0.0", "name": "golden-missing", "plugins": [{"type": "loopback"}, {"type": "no-such-plugin"}]}"#,
    );
    write(
        "50-shadow.conflist",
        r#"{"cniVersion": "1.0.0", "name": "golden-chain", "plugins": [{"type": "loopback"}]}"#,
    );
    write(
        "60-future.conflist",
        r#"{"cniVersion": "9.9.9", "name": "golden-future", "plugins": [{"type": "loopback"}]}"#,
    );
    write(
        "70-typo.conflist",
        "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"golden-typo\",\n  \"plugins\": [\n    {\"type\": \"bridge\", \"bridge\": \"cnigold1\"},\n    {\"type\": \"portmap\", \"capabilities\": {\"portMapping\": true}}\n  ]\n}\n",
    );
    write(
        "80-mtu.conflist",
        "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"golden-mtu\",\n  \"plugins\": [\n    {\n      \"type\": \"bridge\",\n      \"bridge\": \"cnigold2\",\n      \"mtu\": \"big\"\n    }\n  ]\n}\n",
    );
}

/// The chain network, `golden-chain`.
const CHAIN: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "golden-chain",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cnigold0",
      "isGateway": true,
      "ipMasq": true,
      "capabilities": {"mac": true, "ips": false},
      "ipam": {
        "type": "host-local",
        "ranges": [
          [{"subnet": "10.99.1.0/24", "rangeStart": "10.99.1.10", "rangeEnd": "10.99.1.200", "gateway": "10.99.1.1"}],
          [{"subnet": "fd00:99:1::/64"}]
        ],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]
      }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    }
  ]
}
"#;

/// A `cniCacheV1` entry as libcni writes it, in `<cache>/results/`.
fn write_entry(cache: &Path, file: &str, entry: &Value) -> PathBuf {
    let dir = cache.join("results");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, entry.to_string()).unwrap();
    path
}

/// A cache with: a live entry (netns `/proc/self/ns/net`) with both
/// families, CNI_ARGS and capability args; one whose netns is gone; one of
/// libcni before 1.2 (no `netns`, the sandbox of its result's interface);
/// one of another network with no result and an mtime in the future (no
/// age); and a truncated one.
fn write_cache(cache: &Path) {
    let config = base64::engine::general_purpose::STANDARD.encode(CHAIN);
    let result = |ip4: &str, ip6: Option<&str>, sandbox: &str| {
        let mut ips = vec![json!({"address": format!("{ip4}/24"), "gateway": "10.99.1.1", "interface": 2})];
        if let Some(ip6) = ip6 {
            ips.push(json!({"address": format!("{ip6}/64"), "gateway": "fd00:99:1::1", "interface": 2}));
        }
        json!({"cniVersion": "1.0.0",
               "interfaces": [{"name": "cnigold0", "mac": "02:00:00:00:99:01"},
                              {"name": "veth0a1b2c3d", "mac": "02:00:00:00:99:02"},
                              {"name": "eth0", "mac": "02:00:00:00:99:03", "sandbox": sandbox}],
               "ips": ips,
               "routes": [{"dst": "0.0.0.0/0", "gw": "10.99.1.1"}],
               "dns": {}})
    };
    write_entry(
        cache,
        "golden-chain-aaaa1111-eth0",
        &json!({"kind": "cniCacheV1", "containerId": "aaaa1111", "config": config, "ifName": "eth0",
                "networkName": "golden-chain", "netns": "/proc/self/ns/net",
                "cniArgs": [["K8S_POD_NAMESPACE", "default"], ["K8S_POD_NAME", "web-0"]],
                "capabilityArgs": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
                "result": result("10.99.1.10", Some("fd00:99:1::10"), "/proc/self/ns/net")}),
    );
    write_entry(
        cache,
        "golden-chain-bbbb2222-eth0",
        &json!({"kind": "cniCacheV1", "containerId": "bbbb2222", "config": config, "ifName": "eth0",
                "networkName": "golden-chain", "netns": "/var/run/netns/cnictl-golden-gone",
                "result": result("10.99.1.11", None, "/var/run/netns/cnictl-golden-gone")}),
    );
    write_entry(
        cache,
        "golden-chain-cccc3333-net1",
        &json!({"kind": "cniCacheV1", "containerId": "cccc3333", "config": config, "ifName": "net1",
                "networkName": "golden-chain",
                "result": result("10.99.1.12", Some("fd00:99:1::12"), "/proc/self/ns/net")}),
    );
    let future = write_entry(
        cache,
        "golden-other-dddd4444-eth0",
        &json!({"kind": "cniCacheV1", "containerId": "dddd4444",
                "config": base64::engine::general_purpose::STANDARD.encode(
                    r#"{"cniVersion":"1.0.0","name":"golden-other","plugins":[{"type":"loopback"}]}"#),
                "ifName": "eth0", "networkName": "golden-other", "netns": "/var/run/netns/cnictl-golden-other"}),
    );
    let year_2100 = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800);
    std::fs::File::options().write(true).open(&future).unwrap().set_modified(year_2100).unwrap();
    std::fs::write(
        cache.join("results/golden-chain-eeee5555-eth0"),
        r#"{"kind":"cniCacheV1","containerId":"eeee5555","config":"eyJjbmlWZXJzaW9uIjo"#,
    )
    .unwrap();
}

/// A config dir (`write_configs`), an empty cache, a written one
/// (`write_cache`) and all our plugins.
struct Fixture {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    empty_cache: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let fixture = Fixture {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().unwrap(),
            empty_cache: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
        };
        write_configs(fixture.conf.path());
        write_cache(fixture.cache.path());
        fixture
    }

    fn check(&self, cases: &[Case], cache: &Path) {
        let dirs = [(self.conf.path(), "$CONF"), (cache, "$CACHE"), (self.plugins.path(), "$PLUGINS")];
        check(cases, self.conf.path(), cache, self.plugins.path(), &dirs);
    }
}

#[test]
fn list_json_matches_the_golden_file() {
    let fx = Fixture::new();
    fx.check(&[Case { golden: "list", args: &["list"], code: 0 }], fx.empty_cache.path());
}

#[test]
fn show_json_matches_the_golden_files() {
    let fx = Fixture::new();
    let chain = ["show", "golden-chain"];
    fx.check(
        &[
            Case { golden: "show-chain-no-attachments", args: &chain, code: 0 },
            Case { golden: "show-single-conf", args: &["show", "golden-single"], code: 0 },
        ],
        fx.empty_cache.path(),
    );
    fx.check(&[Case { golden: "show-chain-attachments", args: &chain, code: 0 }], fx.cache.path());
}

#[test]
fn attachments_json_matches_the_golden_files() {
    let fx = Fixture::new();
    fx.check(&[Case { golden: "attachments", args: &["attachments"], code: 0 }], fx.cache.path());
    fx.check(&[Case { golden: "attachments-empty", args: &["attachments"], code: 0 }], fx.empty_cache.path());
}

#[test]
fn validate_json_matches_the_golden_files() {
    let fx = Fixture::new();
    let file = |name: &str| fx.conf.path().join(name).display().to_string();
    let (chain, mtu, bad) = (file("10-chain.conflist"), file("80-mtu.conflist"), file("30-badjson.conflist"));
    fx.check(
        &[
            Case { golden: "validate-net-valid", args: &["validate", "golden-chain"], code: 0 },
            Case { golden: "validate-file-valid", args: &["validate", &chain], code: 0 },
            Case { golden: "validate-file-type-error", args: &["validate", &mtu], code: 1 },
            Case { golden: "validate-net-capability-typo", args: &["validate", "golden-typo"], code: 0 },
            Case { golden: "validate-net-missing-plugin", args: &["validate", "golden-missing"], code: 1 },
            Case {
                golden: "validate-net-unsupported-version",
                args: &["validate", "golden-future"],
                code: 1,
            },
            Case { golden: "validate-file-bad-json", args: &["validate", &bad], code: 1 },
        ],
        fx.empty_cache.path(),
    );
}

#[test]
fn plugins_json_matches_the_golden_file() {
    // $PLUGINS: links to a few of ours, a file that is not executable (not
    // listed), and an executable that answers VERSION with no JSON.
    // $MULTICALL: the multicall binary under its own name (every type of
    // ours not found before, as it) and a bridge shadowed by $PLUGINS's.
    // So the golden file lists every built-in plugin type: a new one means
    // blessing it again. The reference plugins (/usr/lib/cni) are left
    // out: their versions are the host's package's.
    let plugins = tempfile::tempdir().unwrap();
    for name in ["bridge", "host-local", "loopback", "portmap"] {
        std::os::unix::fs::symlink(multicall(), plugins.path().join(name)).unwrap();
    }
    std::fs::write(plugins.path().join("README"), "not a plugin\n").unwrap();
    let broken = plugins.path().join("broken");
    std::fs::write(&broken, "#!/bin/sh\necho 'this is not a CNI plugin'\n").unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let second = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(multicall(), second.path().join(cni::MULTICALL_BINARY)).unwrap();
    std::os::unix::fs::symlink(multicall(), second.path().join("bridge")).unwrap();

    let conf = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let path = PathBuf::from(format!("{}:{}", plugins.path().display(), second.path().display()));
    let dirs = [(plugins.path(), "$PLUGINS"), (second.path(), "$MULTICALL")];
    check(
        &[Case { golden: "plugins", args: &["plugins"], code: 0 }],
        conf.path(),
        cache.path(),
        &path,
        &dirs,
    );
}
