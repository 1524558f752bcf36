//! `cnictl validate`'s lint: keys a plugin does not read (with the nearest
//! known key), capability typos, subnets overlapping another network's or
//! the host's addresses and routes, tuning sysctls that do not exist;
//! every finding of a file at its line and column; `--strict`; and the
//! repo's own configs (the Kubernetes manifest's, the default network)
//! linting clean. The host side is a namespace of the test's own playing
//! the host. Subnets 10.172.0.0/16.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A config dir, a cache dir and our plugins.
struct Setup {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.conf.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn cnictl(&self, args: &[&str]) -> (i32, String, String) {
        run_cnictl(args, self.conf.path(), self.cache.path(), self.plugins.path())
    }

    /// `validate -o json`, run in `netns` when given (a namespace playing the host).
    fn json_in(&self, netns: Option<&TestNetns>, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["validate"];
        all.extend(args);
        all.extend(["-o", "json"]);
        let (code, stdout, stderr) = match netns {
            None => self.cnictl(&all),
            Some(netns) => {
                let out = in_netns(&netns.name, cnictl())
                    .args(&all)
                    .env("NETCONFPATH", self.conf.path())
                    .env("CNI_CACHE_DIR", self.cache.path())
                    .env("CNI_PATH", self.plugins.path())
                    .output()
                    .unwrap();
                let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
                (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
            }
        };
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} {stderr}"));
        (code, value)
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        self.json_in(None, args)
    }
}

/// 1-based line and column of the one occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    assert_eq!(text.matches(needle).count(), 1, "{needle} once in {text}");
    let offset = text.find(needle).unwrap();
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
    (line, column)
}

/// The texts of a report's list `field` (`warnings`, `problems`).
fn texts<'a>(report: &'a Value, field: &str) -> Vec<&'a str> {
    report[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} in {report}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The one text of `list` containing `needle`.
fn one<'a>(list: &[&'a str], needle: &str) -> &'a str {
    let found: Vec<&&str> = list.iter().filter(|t| t.contains(needle)).collect();
    assert_eq!(found.len(), 1, "{needle} once in {list:#?}");
    found[0]
}

/// A conflist with one mistake of each kind lint finds as a warning, one
/// key a line, so that each finding's line is its own.
fn many_mistakes(name: &str, bridge: &str) -> String {
    format!(
        r#"{{
  "cniVersion": "1.0.0",
  "name": "{name}",
  "disableChek": true,
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "{bridge}",
      "isGatway": true,
      "IsDefaultGateway": true,
      "hairpinmode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{"subnet": "10.172.1.0/24", "rangeStrat": "10.172.1.10"}}]],
        "routes": [{{"dst": "0.0.0.0/0", "gateway": "10.172.1.1"}}]
      }}
    }},
    {{
      "type": "portmap",
      "capabilities": {{"portMapping": true}}
    }},
    {{
      "type": "someone-elses-plugin",
      "whatever": 1
    }}
  ]
}}
"#
    )
}

#[test]
fn misspelt_keys_and_capability_typos_are_all_reported_at_their_lines() {
    let s = Setup::new();
    let name = unique("lint");
    let text = many_mistakes(&name, &unique("lbr"));
    let file = s.write("10-many.conflist", &text);
    // A foreign plugin that answers VERSION (validate asks it nothing else).
    // Written aside and copied with cp (a file written by this process and
    // exec'd could meet a parallel test's fork holding it open: ETXTBSY).
    let script = s.conf.path().join("foreign.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    copy_executable(&script, &s.plugins.path().join("someone-elses-plugin"));
    let (code, report) = s.json(&[&name]);
    let warnings = texts(&report, "warnings");
    let at = |needle: &str| {
        let (line, column) = position(&text, needle);
        format!("{file}:{line}:{column}")
    };
    let expected = [
        format!("{}: disableChek: unknown key disableChek in the network list (did you mean disableCheck?)", at("true,\n  \"plugins\"")),
        format!("{}: plugins[0].isGatway: unknown key isGatway in plugin bridge (did you mean isGateway?)", at("true,\n      \"IsDefault")),
        format!(
            "{}: plugins[0].ipam.ranges[0][0].rangeStrat: unknown key rangeStrat in IPAM plugin host-local (did you mean rangeStart?)",
            at("\"10.172.1.10\"")
        ),
        format!(
            "{}: plugins[0].ipam.routes[0].gateway: unknown key gateway in IPAM plugin host-local",
            at("\"10.172.1.1\"")
        ),
        format!(
            "{}: plugins[1].capabilities.portMapping: capability \"portMapping\" is understood by no known plugin; did you mean \"portMappings\"?",
            at("true}")
        ),
    ];
    for warning in &expected {
        assert!(warnings.contains(&warning.as_str()), "missing {warning}\nin {warnings:#?}");
    }
    // Go's key matching: IsDefaultGateway and hairpinmode are known;
    // a foreign plugin's keys are not judged.
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    assert!(!warnings.iter().any(|w| w.contains("whatever") || w.contains("IsDefaultGateway")));
    // Warnings leave it valid: exit 0, and the lint array places each.
    assert_eq!((code, &report["valid"]), (0, &Value::Bool(true)), "{report}");
    let lint = report["lint"].as_array().unwrap();
    let typo = lint.iter().find(|l| l["key"] == "plugins[0].isGatway").unwrap();
    let (line, column) = position(&text, "true,\n      \"IsDefault");
    assert_eq!((typo["line"].as_u64(), typo["column"].as_u64()), (Some(line as u64), Some(column as u64)));
    assert_eq!((&typo["severity"], &typo["file"]), (&Value::from("warning"), &Value::from(file.clone())));
    // --strict: the same warnings fail the check, in the table too.
    let (code, _) = s.json(&["--strict", &name]);
    assert_eq!(code, 1);
    let (code, stdout, _) = s.cnictl(&["validate", "--strict", &name]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.lines().any(|l| l == format!("warning: {}", expected[1])), "{stdout}");
    assert!(stdout.contains("strict: 5 warning(s) fail the check"), "{stdout}");
    let (code, stdout, _) = s.cnictl(&["validate", &name]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn a_sysctl_that_does_not_exist_is_an_error_at_its_line() {
    let s = Setup::new();
    let name = unique("lsys");
    let text = format!(
        "{{\"cniVersion\": \"1.0.0\", \"name\": \"{name}\", \"plugins\": [\n  {{\"type\": \"loopback\"}},\n  {{\"type\": \"tuning\", \"sysctl\": {{\n    \"net.ipv4.conf.IFNAME.rp_filtr\": \"1\",\n    \"net.ipv4.conf.eth0.rp_filter\": \"1\",\n    \"net.core.somaxconn\": \"512\",\n    \"net.ipv4.no_such_thing\": \"1\"}}}}\n]}}\n"
    );
    let file = s.write("10-sysctl.conflist", &text);
    let (code, report) = s.json(&[&file]);
    assert_eq!((code, &report["valid"]), (1, &Value::Bool(false)), "{report}");
    let problems = texts(&report, "problems");
    let typo = one(&problems, "rp_filtr");
    let (line, column) = position(&text, "\"1\",\n    \"net.ipv4.conf.eth0");
    assert!(
        typo.starts_with(&format!("{file}:{line}:{column}: plugins[1].sysctl.net.ipv4.conf.IFNAME.rp_filtr: sysctl net.ipv4.conf.IFNAME.rp_filtr does not exist")),
        "{typo}"
    );
    assert!(typo.ends_with("did you mean rp_filter?"), "{typo}");
    one(&problems, "net.ipv4.no_such_thing");
    // The interface component is any interface's: eth0 and IFNAME both
    // exist as `default`; somaxconn is per namespace and exists.
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn a_subnet_overlapping_another_networks_names_both_files() {
    let s = Setup::new();
    let (mine, theirs) = (unique("lov"), unique("loo"));
    let text = format!(
        "{{\"cniVersion\": \"1.0.0\", \"name\": \"{mine}\", \"plugins\": [\n  {{\"type\": \"bridge\", \"bridge\": \"{}\",\n   \"ipam\": {{\"type\": \"host-local\", \"subnet\": \"10.172.20.0/23\"}}}}\n]}}\n",
        unique("lbr")
    );
    let other = format!(
        "{{\"cniVersion\": \"1.0.0\", \"name\": \"{theirs}\", \"plugins\": [\n  {{\"type\": \"ptp\",\n   \"ipam\": {{\"type\": \"static\", \"addresses\": [{{\"address\": \"10.172.21.5/24\"}}]}}}}\n]}}\n"
    );
    let file = s.write("10-mine.conflist", &text);
    let other_file = s.write("20-theirs.conflist", &other);
    let (code, report) = s.json(&[&mine]);
    assert_eq!(code, 0, "{report}");
    let warnings = texts(&report, "warnings");
    let (line, column) = position(&text, "\"10.172.20.0/23\"");
    let (other_line, other_column) = position(&other, "\"10.172.21.5/24\"");
    assert_eq!(
        warnings,
        [format!(
            "{file}:{line}:{column}: plugins[0].ipam.subnet: subnet 10.172.20.0/23 overlaps subnet 10.172.21.0/24 of network {theirs} ({other_file}:{other_line}:{other_column})"
        )]
    );
    // And from the other side.
    let (_, report) = s.json(&[&theirs]);
    one(&texts(&report, "warnings"), &format!("of network {mine} ({file}:{line}:{column})"));
}

#[test]
fn a_subnet_overlapping_the_hosts_addresses_and_routes_is_named_with_its_interface() {
    let s = Setup::new();
    // A namespace plays the host: a bridge of its own with an address and a route.
    let host = TestNetns::new("lhost");
    let hostbr = unique("lhb");
    host.exec(&["ip", "link", "add", &hostbr, "type", "bridge"]);
    host.exec(&["ip", "addr", "add", "10.172.30.1/24", "dev", &hostbr]);
    host.exec(&["ip", "link", "set", &hostbr, "up"]);
    host.exec(&["ip", "route", "add", "10.172.31.0/24", "dev", &hostbr]);
    let name = unique("lha");
    let mybr = unique("lmb");
    let text = format!(
        "{{\"cniVersion\": \"1.0.0\", \"name\": \"{name}\", \"plugins\": [\n  {{\"type\": \"bridge\", \"bridge\": \"{mybr}\",\n   \"ipam\": {{\"type\": \"host-local\", \"ranges\": [\n     [{{\"subnet\": \"10.172.30.0/25\"}}],\n     [{{\"subnet\": \"10.172.31.128/25\"}}],\n     [{{\"subnet\": \"10.172.32.0/24\"}}]]}}}}\n]}}\n"
    );
    let file = s.write("10-host.conflist", &text);
    let (code, report) = s.json_in(Some(&host), &[&name]);
    assert_eq!(code, 0, "{report}");
    let warnings = texts(&report, "warnings");
    let (line, column) = position(&text, "\"10.172.30.0/25\"");
    assert!(warnings.contains(
        &format!("{file}:{line}:{column}: plugins[0].ipam.ranges[0][0].subnet: subnet 10.172.30.0/25 overlaps the host's address 10.172.30.1/24 on {hostbr}").as_str()
    ), "{warnings:#?}");
    let (line, column) = position(&text, "\"10.172.31.128/25\"");
    assert!(warnings.contains(
        &format!("{file}:{line}:{column}: plugins[0].ipam.ranges[1][0].subnet: subnet 10.172.31.128/25 overlaps the host's route 10.172.31.0/24 dev {hostbr}").as_str()
    ), "{warnings:#?}");
    // The connected route of the address is not said twice; 10.172.32.0/24 is free.
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    // The network's own bridge carrying its gateway is no overlap.
    let own = text.replace(&mybr, &hostbr);
    s.write("10-host.conflist", &own);
    let (code, report) = s.json_in(Some(&host), &["--strict", &name]);
    assert_eq!(code, 0, "its address and routes are the network's own: {report}");
    assert_eq!(report["warnings"], Value::Array(Vec::new()), "{report}");
}

/// The conflist of deploy/kubernetes/cnictl.yaml's ConfigMap, its
/// `{{.PodCIDR}}` filled in.
fn kubernetes_conflist() -> String {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/cnictl.yaml"))
            .unwrap();
    let start = manifest.find("10-cnictl.conflist.template: |").unwrap();
    let body: Vec<&str> =
        manifest[start..].lines().skip(1).take_while(|l| l.starts_with("    ") || l.is_empty()).collect();
    body.join("\n").replace("{{.PodCIDR}}", "10.172.40.0/24")
}

#[test]
fn the_repos_own_configs_lint_clean() {
    let s = Setup::new();
    // The Kubernetes manifest's network.
    let k8s = s.write("10-k8s.conflist", &kubernetes_conflist());
    // The default network, as `default-network show` prints it.
    let (code, default, stderr) = s.cnictl(&["default-network", "show"]);
    assert_eq!(code, 0, "{stderr}");
    let default_file = s.write("99-default.conflist", &default);
    for file in [&k8s, &default_file] {
        let (code, report) = s.json(&["--strict", file]);
        assert_eq!(code, 0, "{file}: {report}");
        assert_eq!(
            (report["warnings"].as_array().map(Vec::len), report["problems"].as_array().map(Vec::len)),
            (Some(0), Some(0)),
            "{report}"
        );
        assert_eq!(report["lint"], Value::Array(Vec::new()), "{report}");
    }
}

#[test]
fn a_capability_declared_on_a_plugin_that_does_not_read_it_is_named_with_its_readers() {
    let s = Setup::new();
    let name = unique("lcap");
    let text = format!(
        "{{\"cniVersion\": \"1.0.0\", \"name\": \"{name}\", \"plugins\": [\n  {{\"type\": \"bridge\", \"bridge\": \"{}\", \"capabilities\": {{\"mac\": true, \"ips\": true, \"portMappings\": true}},\n   \"ipam\": {{\"type\": \"host-local\", \"subnet\": \"10.172.70.0/24\"}}}},\n  {{\"type\": \"portmap\"}}\n]}}\n",
        unique("lbr")
    );
    let file = s.write("10-cap.conflist", &text);
    let (code, report) = s.json(&[&name]);
    assert_eq!(code, 0, "{report}");
    let (line, column) = position(&text, "true}");
    // mac is bridge's own, ips its IPAM plugin's: only portMappings is misplaced.
    assert_eq!(
        texts(&report, "warnings"),
        [format!(
            "{file}:{line}:{column}: plugins[0].capabilities.portMappings: capability portMappings is declared by plugin bridge, which does not read it (read by portmap)"
        )]
    );
}
