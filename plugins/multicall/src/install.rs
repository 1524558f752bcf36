//! `cni-plugins install [DIR]`: puts this binary into a CNI plugin
//! directory with a link per plugin type, so installing is one command
//! instead of a copy and seventeen `ln -sf`.
//!
//! The binary goes in as a temporary file that is synced and renamed over
//! `cni-plugins`, and each link is made under a temporary name and
//! renamed over its own: a runtime exec'ing a plugin while an install or
//! upgrade runs gets the old binary or the new one, never a part of one.
//! Files of other plugins are left alone, and a file of the same name as
//! one of ours that is not ours (the reference's `bridge`, say) is not
//! replaced unless `--force` says so: all such conflicts are found before
//! anything is changed. With `--conflist`, a network configuration (a
//! Kubernetes ConfigMap, say) is checked and then written, atomically,
//! into the runtime's config dir after the plugins are in place.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where runtimes look for plugins by default.
const DEFAULT_DIR: &str = "/opt/cni/bin";

const USAGE: &str = "usage: cni-plugins install [--list] [--force] [--conflist FILE [--net-dir DIR]] [DIR]

Installs this binary as DIR/cni-plugins (default /opt/cni/bin) and links
every plugin type to it. Other plugins in DIR are left alone; a file named
like one of ours that is not ours is replaced only with --force.
  --list            show what would be done, change nothing
  --force           replace files of our plugin names that are not ours
  --conflist FILE   also write FILE, once it parses as a conflist, into the
                    network config dir under its own name (atomically); a
                    FILE that does not exist is skipped (an optional ConfigMap);
                    one named *.template is written as it is, for the runtime
                    to fill in (containerd's conf_template: the node's pod CIDR)
  --net-dir DIR     the network config dir (default /etc/cni/net.d)";

/// Where runtimes read network configurations by default.
const DEFAULT_NET_DIR: &str = "/etc/cni/net.d";

/// What the command line asked for.
struct Request {
    dir: PathBuf,
    list: bool,
    force: bool,
    conflist: Option<PathBuf>,
    net_dir: PathBuf,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut request = Request {
        dir: PathBuf::from(DEFAULT_DIR),
        list: false,
        force: false,
        conflist: None,
        net_dir: PathBuf::from(DEFAULT_NET_DIR),
    };
    let mut dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--list" | "-n" => request.list = true,
            "--force" | "-f" => request.force = true,
            "--conflist" => request.conflist = Some(PathBuf::from(value("--conflist")?)),
            "--net-dir" => request.net_dir = PathBuf::from(value("--net-dir")?),
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            path if dir.is_none() => dir = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if let Some(dir) = dir {
        request.dir = dir;
    }
    Ok(request)
}

/// What is under one of our names now.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Nothing,
    /// Ours already: the binary's name, or a link to it.
    Ours,
    /// Anything else: a file or link of another plugin set.
    Foreign(String),
}

fn found_at(path: &Path, is_binary: bool) -> io::Result<Found> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(e),
    };
    if is_binary && meta.is_file() {
        return Ok(Found::Ours);
    }
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path)?;
        if target == Path::new(cni::MULTICALL_BINARY) {
            return Ok(Found::Ours);
        }
        return Ok(Found::Foreign(format!("a link to {}", target.display())));
    }
    Ok(Found::Foreign(if meta.is_dir() { "a directory".into() } else { "a file".into() }))
}

/// One entry of the plan: a name in DIR and what happens to it.
struct Step {
    name: String,
    found: Found,
}

impl Step {
    fn describe(&self, force: bool) -> String {
        let what = if self.name == cni::MULTICALL_BINARY {
            "the binary".to_string()
        } else {
            format!("link -> {}", cni::MULTICALL_BINARY)
        };
        let action = match (&self.found, self.name == cni::MULTICALL_BINARY) {
            (Found::Nothing, _) => "new".to_string(),
            (Found::Ours, true) => "replace".to_string(),
            (Found::Ours, false) => "in place".to_string(),
            (Found::Foreign(what), _) if force => format!("replace {what} (--force)"),
            (Found::Foreign(what), _) => format!("CONFLICT: {what}, not ours (--force replaces it)"),
        };
        format!("{:<14} {what:<20} {action}", self.name)
    }
}

fn plan(dir: &Path) -> io::Result<Vec<Step>> {
    let mut steps = vec![Step {
        name: cni::MULTICALL_BINARY.to_string(),
        found: found_at(&dir.join(cni::MULTICALL_BINARY), true)?,
    }];
    for name in cni::BUILTIN_PLUGIN_TYPES {
        steps.push(Step { name: name.to_string(), found: found_at(&dir.join(name), false)? });
    }
    Ok(steps)
}

/// A temporary name in `dir` for `name`, removed first if a killed
/// install left it.
fn temp_in(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let temp = dir.join(format!(".{name}.install-{}", std::process::id()));
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(temp),
    }
}

fn install_binary(dir: &Path) -> io::Result<()> {
    let data = fs::read(std::env::current_exe()?)?;
    let temp = temp_in(dir, cni::MULTICALL_BINARY)?;
    let written = (|| {
        {
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o755).open(&temp)?;
            file.write_all(&data)?;
            file.set_permissions(fs::Permissions::from_mode(0o755))?;
            file.sync_all()?;
        }
        // Closed before it gets the name: a file still open for writing
        // cannot be exec'd (ETXTBSY).
        fs::rename(&temp, dir.join(cni::MULTICALL_BINARY))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

fn install_link(dir: &Path, name: &str) -> io::Result<()> {
    let temp = temp_in(dir, name)?;
    std::os::unix::fs::symlink(cni::MULTICALL_BINARY, &temp)?;
    fs::rename(&temp, dir.join(name)).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

fn apply(dir: &Path, steps: &[Step]) -> io::Result<()> {
    install_binary(dir)?;
    for step in steps.iter().filter(|s| s.name != cni::MULTICALL_BINARY && s.found != Found::Ours) {
        install_link(dir, &step.name)?;
    }
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The conflist to write, read and checked before anything is installed:
/// `Ok(None)` when there is none to write.
fn read_conflist(file: &Path) -> Result<Option<(String, Vec<u8>)>, String> {
    let bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    // A template is not JSON until the runtime fills it in.
    if file.extension().is_none_or(|e| e != "template") {
        cni::conflist::parse_conflist(&bytes, file)?;
    }
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Some((name, bytes)))
}

/// Writes the conflist into the network config dir: a runtime watching
/// it sees the old file or the new one, never a part.
fn write_conflist(net_dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    fs::DirBuilder::new().recursive(true).mode(0o755).create(net_dir)?;
    let path = net_dir.join(name);
    cni::statefile::write(&path, bytes, 0o644)?;
    Ok(path)
}

/// Runs `install` with the arguments after it; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let request = match parse(args) {
        Ok(request) => request,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return 0;
            }
            eprintln!("cni-plugins install: {msg}\n{USAGE}");
            return 2;
        }
    };
    let dir = &request.dir;
    let conflist = match request.conflist.as_deref().map(read_conflist).transpose() {
        Ok(found) => found.flatten(),
        Err(msg) => {
            eprintln!("cni-plugins install: nothing changed: {msg}");
            return 1;
        }
    };
    if let (Some(file), None) = (&request.conflist, &conflist) {
        println!("no conflist at {}: none written", file.display());
    }
    if !request.list {
        if let Err(e) = fs::DirBuilder::new().recursive(true).mode(0o755).create(dir) {
            eprintln!("cni-plugins install: cannot create {}: {e}", dir.display());
            return 1;
        }
    }
    let steps = match plan(dir) {
        Ok(steps) => steps,
        Err(e) => {
            eprintln!("cni-plugins install: cannot read {}: {e}", dir.display());
            return 1;
        }
    };
    if request.list {
        println!("{}:", dir.display());
        for step in &steps {
            println!("  {}", step.describe(request.force));
        }
        if let Some((name, _)) = &conflist {
            println!("{}:\n  {name:<14} {:<20} write", request.net_dir.display(), "network config");
        }
        return 0;
    }
    let conflicts: Vec<&Step> = steps.iter().filter(|s| matches!(s.found, Found::Foreign(_))).collect();
    if !conflicts.is_empty() && !request.force {
        eprintln!(
            "cni-plugins install: nothing changed in {}: these names are taken by plugins that are not ours:",
            dir.display()
        );
        for step in conflicts {
            eprintln!("  {}", step.describe(false));
        }
        eprintln!("Remove them, install into another directory, or replace them with --force.");
        return 1;
    }
    if let Err(e) = apply(dir, &steps) {
        eprintln!("cni-plugins install: {}: {e}", dir.display());
        return 1;
    }
    println!(
        "installed {} and {} plugin links in {}",
        cni::MULTICALL_BINARY,
        cni::BUILTIN_PLUGIN_TYPES.len(),
        dir.display()
    );
    // The plugins first: a runtime that sees the network starts using it.
    if let Some((name, bytes)) = conflist {
        match write_conflist(&request.net_dir, &name, &bytes) {
            Ok(path) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("cni-plugins install: {}: {e}", request.net_dir.display());
                return 1;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let r = args(&[]).unwrap();
        assert_eq!((r.dir, r.list, r.force), (PathBuf::from(DEFAULT_DIR), false, false));
        let r = args(&["--list", "/tmp/x", "--force"]).unwrap();
        assert_eq!((r.dir, r.list, r.force), (PathBuf::from("/tmp/x"), true, true));
        let r = args(&["--conflist", "/etc/c/10.conflist", "--net-dir", "/host/net.d", "/host/bin"]).unwrap();
        assert_eq!(r.conflist, Some(PathBuf::from("/etc/c/10.conflist")));
        assert_eq!((r.net_dir, r.dir), (PathBuf::from("/host/net.d"), PathBuf::from("/host/bin")));
        assert!(args(&["--conflist"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["a", "b"]).is_err());
    }

    #[test]
    fn what_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        assert_eq!(found_at(&at("bridge"), false).unwrap(), Found::Nothing);
        std::os::unix::fs::symlink("cni-plugins", at("bridge")).unwrap();
        assert_eq!(found_at(&at("bridge"), false).unwrap(), Found::Ours);
        std::os::unix::fs::symlink("/usr/lib/cni/ptp", at("ptp")).unwrap();
        assert!(matches!(found_at(&at("ptp"), false).unwrap(), Found::Foreign(_)));
        fs::write(at("tap"), "#!/bin/sh\n").unwrap();
        assert!(matches!(found_at(&at("tap"), false).unwrap(), Found::Foreign(_)));
        fs::write(at("cni-plugins"), "old").unwrap();
        assert_eq!(found_at(&at("cni-plugins"), true).unwrap(), Found::Ours);
    }
}
