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
//! anything is changed.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where runtimes look for plugins by default.
const DEFAULT_DIR: &str = "/opt/cni/bin";

const USAGE: &str = "usage: cni-plugins install [--list] [--force] [DIR]

Installs this binary as DIR/cni-plugins (default /opt/cni/bin) and links
every plugin type to it. Other plugins in DIR are left alone; a file named
like one of ours that is not ours is replaced only with --force.
  --list   show what would be done, change nothing
  --force  replace files of our plugin names that are not ours";

/// What the command line asked for.
struct Request {
    dir: PathBuf,
    list: bool,
    force: bool,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut request = Request { dir: PathBuf::from(DEFAULT_DIR), list: false, force: false };
    let mut dir = None;
    for arg in args {
        match arg.as_str() {
            "--list" | "-n" => request.list = true,
            "--force" | "-f" => request.force = true,
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
    match apply(dir, &steps) {
        Ok(()) => {
            println!(
                "installed {} and {} plugin links in {}",
                cni::MULTICALL_BINARY,
                cni::BUILTIN_PLUGIN_TYPES.len(),
                dir.display()
            );
            0
        }
        Err(e) => {
            eprintln!("cni-plugins install: {}: {e}", dir.display());
            1
        }
    }
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
