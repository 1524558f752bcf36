//! cnictl as a terminal and a pipe see it: a reader that closes the pipe
//! early, tables at 80 to 100 columns in a pseudo-terminal (IDs, names and
//! paths not cut mid-word), help scoped and
//! wrapped, permission problems said as such (as the user nobody), aliases,
//! completion names, and the man pages' synopses and sections. Subnets
//! 10.248.N.0/24 belong here.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

/// A config dir with one network, a cache holding one attachment of it,
/// and our plugins.
struct Fixture {
    plugins: PluginDir,
    conf: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let fx = Fixture {
            plugins: PluginDir::new(),
            conf: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
        };
        let net = json!({"cniVersion": "1.0.0", "name": "termnet", "plugins": [
            {"type": "bridge", "bridge": "cnitermbr0", "isGateway": true, "ipMasq": true,
             "ipam": {"type": "host-local", "subnet": "10.248.1.0/24", "dataDir": "/tmp/cnictl-terminal-unused"}},
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]});
        std::fs::write(fx.conf.path().join("10-termnet.conflist"), net.to_string()).unwrap();
        let results = fx.cache.path().join("results");
        std::fs::create_dir(&results).unwrap();
        let config = base64_encode(net.to_string().as_bytes());
        let entry = json!({
            "kind": "cniCacheV1", "containerId": "0123456789abcdef0123456789abcdef",
            "config": config, "ifName": "eth0", "networkName": "termnet",
            "netns": "/var/run/netns/cnictl-terminal-gone-namespace",
            "result": {"cniVersion": "1.0.0", "ips": [{"address": "10.248.1.7/24"}]}
        });
        std::fs::write(results.join("termnet-0123456789abcdef0123456789abcdef-eth0"), entry.to_string())
            .unwrap();
        fx
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(cnictl());
        cmd.args(args);
        self.env(&mut cmd);
        cmd
    }

    /// The fixture's environment on any command (script, setpriv) that runs cnictl.
    fn env(&self, cmd: &mut Command) {
        cmd.env("NETCONFPATH", self.conf.path())
            .env("CNI_CACHE_DIR", self.cache.path())
            .env("CNI_PATH", self.plugins.path())
            .env("NO_COLOR", "1")
            .env_remove("CNI_ARGS")
            .env_remove("CAP_ARGS")
            .env_remove("CNI_IFNAME");
    }

    /// Runs cnictl in a pseudo-terminal of `columns` columns (through
    /// script(1)); the screen's lines with escapes and carriage returns gone.
    fn on_terminal(&self, columns: u16, args: &[&str], colour: bool) -> Vec<String> {
        let line = format!("stty cols {columns} rows 60; exec {} {}", cnictl().display(), args.join(" "));
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]);
        self.env(&mut script);
        if colour {
            script.env_remove("NO_COLOR");
        }
        let out = script.stdin(Stdio::null()).output().expect("run script(1)");
        String::from_utf8_lossy(&out.stdout).lines().map(|l| strip_escapes(l).replace('\r', "")).collect()
    }
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Text without ANSI escape sequences (ESC [ ... letter).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The views and a sample of other printing commands.
const VIEWS: [&[&str]; 8] = [
    &["list"],
    &["show", "termnet"],
    &["attachments"],
    &["plugins"],
    &["doctor"],
    &["netns", "list"],
    &["validate", "termnet"],
    &["completions", "bash"],
];

#[test]
fn a_closed_pipe_ends_every_view_quietly() {
    require_root();
    let fx = Fixture::new();
    let mut views: Vec<&[&str]> = VIEWS.to_vec();
    views.extend([
        &["list", "-o", "json"][..],
        &["attachments", "-o", "json"],
        &["--help"],
        &["default-network", "show"],
    ]);
    for args in views {
        // The reading end is closed before cnictl starts: every write it makes fails.
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let out = fx.command(args).stdout(Stdio::from(write)).stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let quiet = out.status.code() == Some(0)
            || out.status.code() == Some(141)
            || out.status.signal() == Some(libc::SIGPIPE)
            // doctor and validate may fail on their own findings, before or after writing.
            || (out.status.code() == Some(1) && matches!(args[0], "doctor" | "validate"));
        assert!(quiet, "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked") && !stderr.contains("BACKTRACE"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_after_add_keeps_the_attachment_and_says_nothing() {
    require_root();
    let fx = Fixture::new();
    let net = json!({"cniVersion": "1.0.0", "name": "termlo", "plugins": [{"type": "loopback"}]});
    std::fs::write(fx.conf.path().join("20-termlo.conflist"), net.to_string()).unwrap();
    let ns = TestNetns::new("cnterm");
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = fx
        .command(&["add", "termlo", &ns.name])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.signal() == Some(libc::SIGPIPE)
            || out.status.code() == Some(141)
            || out.status.code() == Some(0),
        "{:?} {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The ADD happened and is cached; DEL takes it away.
    let listed: Value =
        serde_json::from_slice(&fx.command(&["attachments", "-o", "json"]).output().unwrap().stdout).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|a| a["network"] == "termlo"), "{listed}");
    assert!(fx.command(&["del", "termlo", &ns.name]).status().unwrap().success());
}

#[test]
fn tables_fit_an_80_column_terminal_without_rules_between_rows() {
    require_root();
    let fx = Fixture::new();
    for args in VIEWS.iter().filter(|a| a[0] != "completions") {
        for colour in [false, true] {
            let lines = fx.on_terminal(80, args, colour);
            assert!(!lines.is_empty() || args[0] == "netns", "{args:?} printed nothing");
            for line in &lines {
                assert!(line.chars().count() <= 80, "{args:?}: {} columns: {line:?}", line.chars().count());
            }
            let rules =
                lines.iter().filter(|l| !l.trim().is_empty() && l.trim().chars().all(|c| c == '─')).count();
            let headers = lines
                .iter()
                .filter(|l| {
                    l.trim_start().starts_with("NETWORK ")
                        || l.trim_start().starts_with("CHECK ")
                        || l.trim_start().starts_with("NAME ")
                        || l.trim_start().starts_with("PLUGIN ")
                        || l.trim_start().starts_with("# ")
                })
                .count();
            assert!(rules <= headers.max(1), "{args:?}: a rule between rows:\n{}", lines.join("\n"));
        }
    }
    // doctor's ten-odd findings no longer take a screen each.
    let doctor = fx.on_terminal(80, &["doctor"], false);
    let findings: Value =
        serde_json::from_slice(&fx.command(&["doctor", "-o", "json"]).output().unwrap().stdout).unwrap();
    let count = findings.as_array().unwrap().len();
    assert!(
        doctor.len() <= 3 * count + 2,
        "{} lines for {count} findings:\n{}",
        doctor.len(),
        doctor.join("\n")
    );
}

#[test]
fn tables_keep_ids_and_namespace_names_whole_and_json_has_them_in_full() {
    require_root();
    let fx = Fixture::new();
    let results = fx.cache.path().join("results");
    std::fs::remove_file(results.join("termnet-0123456789abcdef0123456789abcdef-eth0")).unwrap();
    let config = base64_encode(&std::fs::read(fx.conf.path().join("10-termnet.conflist")).unwrap());
    let ids = ["0123456789abcdef", "fedcba9876543210"].map(|half| half.repeat(4));
    for (n, id) in ids.iter().enumerate() {
        let entry = json!({
            "kind": "cniCacheV1", "containerId": id, "config": config, "ifName": "eth0",
            "networkName": "termnet", "netns": format!("/var/run/netns/cnterm-pod{n}"),
            "result": {"cniVersion": "1.0.0", "ips": [{"address": format!("10.248.1.{}/24", 10 + n)}]}
        });
        std::fs::write(results.join(format!("termnet-{id}-eth0")), entry.to_string()).unwrap();
    }
    for columns in [80, 90, 100] {
        for args in [&["attachments"][..], &["show", "termnet"]] {
            let lines = fx.on_terminal(columns, args, false);
            let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            for (n, id) in ids.iter().enumerate() {
                assert!(
                    words.contains(&&id[..12]),
                    "{columns} {args:?}: {id} as podman shows it:\n{}",
                    lines.join("\n")
                );
                assert!(!lines.iter().any(|l| l.contains(&id[..13])), "{columns} {args:?}: cut to 12");
                let name = format!("cnterm-pod{n}");
                assert!(
                    words.contains(&name.as_str()),
                    "{columns} {args:?}: {name} whole:\n{}",
                    lines.join("\n")
                );
            }
        }
        let list = fx.on_terminal(columns, &["list"], false);
        assert!(
            list.iter().any(|l| l.split_whitespace().any(|w| w == "10-termnet.conflist")),
            "{}",
            list.join("\n")
        );
    }
    // JSON has them in full.
    let json: Value =
        serde_json::from_slice(&fx.command(&["attachments", "-o", "json"]).output().unwrap().stdout).unwrap();
    let listed: Vec<&Value> = json.as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 2, "{json}");
    for entry in listed {
        assert!(ids.iter().any(|id| entry["containerID"] == id.as_str()), "{entry}");
        assert!(entry["netns"].as_str().unwrap().starts_with("/var/run/netns/cnterm-pod"), "{entry}");
    }
    let list: Value =
        serde_json::from_slice(&fx.command(&["list", "-o", "json"]).output().unwrap().stdout).unwrap();
    assert_eq!(list[0]["file"], fx.conf.path().join("10-termnet.conflist").to_str().unwrap());
}

#[test]
fn pipes_get_whole_lines_and_no_colour() {
    require_root();
    let fx = Fixture::new();
    let mut cmd = fx.command(&["doctor"]);
    cmd.env_remove("NO_COLOR");
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b'), "{text}");
    assert!(!text.contains('─'), "{text}");
    // The longest finding stays on one line.
    assert!(text.lines().any(|l| l.chars().count() > 80), "{text}");
}

#[test]
fn colour_marks_bad_states_on_a_terminal_unless_no_color() {
    require_root();
    let fx = Fixture::new();
    let line = format!("stty cols 100 rows 40; exec {} attachments", cnictl().display());
    let run = |no_color: bool| {
        let mut script = Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .env("NETCONFPATH", fx.conf.path())
            .env("CNI_CACHE_DIR", fx.cache.path())
            .env("CNI_PATH", fx.plugins.path())
            .stdin(Stdio::null());
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&script.output().unwrap().stdout).to_string()
    };
    let coloured = run(false);
    assert!(coloured.contains("\x1b[33mgone\x1b[0m"), "{coloured:?}");
    let plain = run(true);
    assert!(!plain.contains('\x1b') && plain.contains("gone"), "{plain:?}");
}

#[test]
fn netns_list_has_json_and_aliases_work() {
    require_root();
    let fx = Fixture::new();
    let ns = TestNetns::new("cnterm");
    let out = fx.command(&["netns", "ls", "-o", "json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = listed.as_array().unwrap().iter().find(|n| n["name"] == ns.name.as_str()).cloned();
    assert_eq!(entry.map(|e| e["path"].clone()), Some(json!(ns.path())));
    let list = fx.command(&["list", "-o", "json"]).output().unwrap().stdout;
    assert_eq!(fx.command(&["ls", "-o", "json"]).output().unwrap().stdout, list);
    let show = fx.command(&["show", "termnet", "-o", "json"]).output().unwrap().stdout;
    assert_eq!(fx.command(&["inspect", "termnet", "-o", "json"]).output().unwrap().stdout, show);
    // `netns exec` without `--`, as `ip netns exec`; with it still works.
    let out = fx.command(&["netns", "exec", &ns.name, "ip", "-o", "link", "show"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lo:"));
    let out = fx.command(&["netns", "exec", &ns.name, "--", "true"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gone = TestNetns::new("cnterm");
    let out = fx.command(&["netns", "delete", &gone.name]).output().unwrap();
    assert!(out.status.success());
    assert!(!Path::new(&gone.path()).exists());
}

#[test]
fn completion_names_come_from_the_host() {
    require_root();
    let fx = Fixture::new();
    let ns = TestNetns::new("cnterm");
    let names = |args: &[&str]| {
        let out = fx.command(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(names(&["__complete", "2", "cnictl", "show", ""]), ["termnet"]);
    assert!(names(&["__complete", "3", "cnictl", "add", "termnet", ""]).contains(&ns.name));
    assert!(names(&["__complete", "3", "cnictl", "netns", "exec", ""]).contains(&ns.name));
    assert!(names(&["__complete", "1", "cnictl", ""]).is_empty());
    // The scripts call it.
    for file in ["cnictl.bash", "_cnictl", "cnictl.fish"] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("completions").join(file))
                .unwrap();
        assert!(text.contains("__complete"), "{file}");
    }
}

#[test]
fn as_nobody_an_unreadable_cache_is_an_error_and_doctor_says_it_needs_root() {
    require_root();
    let fx = Fixture::new();
    // The temp dirs are root's 0700; let nobody reach the config dir and
    // the cache dir, but not the results in it (0700, as libcni makes it).
    for dir in [fx.conf.path(), fx.cache.path()] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let results = fx.cache.path().join("results");
    std::fs::set_permissions(&results, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        fx.conf.path().join("10-termnet.conflist"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let as_nobody = |args: &[&str]| {
        let mut setpriv = Command::new("setpriv");
        setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(cnictl()).args(args);
        fx.env(&mut setpriv);
        setpriv.output().expect("run setpriv")
    };
    let out = as_nobody(&["attachments"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "needs root, as every verb says it: {stderr}");
    assert!(stderr.contains("needs root") && stderr.contains("result cache"), "{stderr}");
    assert!(stderr.contains("run cnictl as root"), "the hint: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("no attachments"));
    let out = as_nobody(&["show", "termnet"]);
    assert_eq!(out.status.code(), Some(77), "show too: {}", String::from_utf8_lossy(&out.stderr));

    let out = as_nobody(&["doctor", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped: Vec<&Value> =
        findings.as_array().unwrap().iter().filter(|f| f["status"] == "skip").collect();
    for check in ["netfilter backend", "stale state", "kernel features"] {
        let found = skipped.iter().find(|f| f["check"] == check);
        let found = found.unwrap_or_else(|| panic!("{check} not skipped: {findings}"));
        assert!(found["detail"].as_str().unwrap().starts_with("needs root"), "{found}");
    }
    // Nothing concluded from what nobody cannot see.
    assert!(!findings.to_string().contains("no stale cache entries"), "{findings}");
}

#[test]
fn hints_never_point_at_the_command_that_printed_them() {
    require_root();
    let fx = Fixture::new();
    std::fs::write(fx.conf.path().join("20-bad.conflist"), "{\"name\": \"bad\", \"plugins\": 7}").unwrap();
    let path = fx.conf.path().join("20-bad.conflist");
    let out = fx.command(&["validate", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("`cnictl validate"), "{stderr}");
}

#[test]
fn help_shows_the_global_options_where_they_apply_and_wraps() {
    let help = |args: &[&str]| {
        String::from_utf8_lossy(&Command::new(cnictl()).args(args).output().unwrap().stdout).to_string()
    };
    let netns_add = help(&["netns", "add", "--help"]);
    assert!(!netns_add.contains("--conf-dir") && !netns_add.contains("--output"), "{netns_add}");
    let add = help(&["add", "--help"]);
    assert!(add.contains("Global options:") && add.contains("--conf-dir"), "{add}");
    assert!(add.contains("--output") && add.contains("as cnitool prints it"), "add's own -o: {add}");
    let del = help(&["del", "--help"]);
    assert!(!del.contains("--output"), "del prints no view: {del}");
    let list = help(&["netns", "list", "--help"]);
    assert!(list.contains("--output"), "{list}");
    // Parsing still takes them anywhere.
    let out = Command::new(cnictl()).args(["-o", "json", "netns", "list"]).output().unwrap();
    assert!(out.status.success());
    // Wrapped to the terminal.
    let fx_dir = tempfile::tempdir().unwrap();
    let line = format!("stty cols 60 rows 40; exec {} add --help", cnictl().display());
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("NETCONFPATH", fx_dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        assert!(strip_escapes(line).trim_end_matches('\r').chars().count() <= 60, "{line:?}\n{text}");
    }
}

#[test]
fn man_pages_have_true_synopses_and_the_sections_operators_look_for() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".1").to_string())
        .collect();
    assert!(pages.contains(&"cnictl-docker-run".to_string()));
    for page in &pages {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1"))).unwrap().replace("\\-", "-");
        let synopsis = text.split(".SH SYNOPSIS\n").nth(1).unwrap_or_else(|| panic!("{page}: no SYNOPSIS"));
        let name = synopsis.trim_start_matches("\\fB").split("\\fR").next().unwrap();
        // Every word names a page of its own: `cnictl docker-run`, not `cnictl docker run`.
        let words: Vec<&str> = name.split(' ').collect();
        for n in 1..=words.len() {
            let prefix = words[..n].join("-");
            assert!(pages.contains(&prefix), "{page}: synopsis {name:?} names no page {prefix}");
        }
        assert_eq!(words.join("-"), *page, "{page}: synopsis {name:?}");
        for section in ["EXAMPLES", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"] {
            assert!(
                text.contains(&format!(".SH \"{section}\"")) || text.contains(&format!(".SH {section}")),
                "{page}: no {section}"
            );
        }
        for var in
            ["NETCONFPATH", "CNI_PATH", "CNI_ARGS", "CAP_ARGS", "CNI_IFNAME", "CNI_CACHE_DIR", "NO_COLOR"]
        {
            assert!(text.contains(var), "{page}: {var}");
        }
        for file in ["/etc/cni/net.d", "/var/lib/cni/results", "/var/run/netns", "/opt/cni/bin"] {
            assert!(text.contains(file), "{page}: {file}");
        }
        // Every page it refers to exists.
        for reference in text.split("cnictl-").skip(1) {
            if let Some(end) = reference.find("(1)") {
                let target = format!("cnictl-{}", &reference[..end]);
                if !target.contains(' ') && !target.contains('\\') {
                    assert!(pages.contains(&target), "{page} refers to {target}(1), which does not exist");
                }
            }
        }
        assert!(!text.contains("cnictl-help"), "{page}");
    }
}
