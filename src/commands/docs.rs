//! Shell completions and man pages, generated from the clap definitions in
//! `cli.rs` so they cannot drift from the CLI. `generate-docs` writes the
//! committed copies in `completions/` and `man/`; a test regenerates them
//! and fails when the committed ones are stale.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use color_eyre::eyre::{Result, WrapErr};

use crate::cli::Cli;

/// The completion files and the shells they are for.
pub const COMPLETIONS: [(Shell, &str); 3] =
    [(Shell::Bash, "cnictl.bash"), (Shell::Zsh, "_cnictl"), (Shell::Fish, "cnictl.fish")];

fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cnictl", &mut out);
    out
}

/// `cnictl completions SHELL`: the script on stdout.
pub fn completions(shell: Shell) -> Result<ExitCode> {
    use std::io::Write;
    std::io::stdout().write_all(&completion(shell)).wrap_err("failed to write the completion script")?;
    Ok(ExitCode::SUCCESS)
}

/// Every man page: `cnictl.1` and `cnictl-<verb>.1` (`cnictl-<verb>-<sub>.1`
/// for nested verbs), as (file name, contents).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = Cli::command();
    root.build();
    let mut pages = Vec::new();
    render(&root, "cnictl", &mut pages)?;
    Ok(pages)
}

fn render(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let mut out = Vec::new();
    let page = cmd.clone().name(name.to_string()).bin_name(name.replace('-', " "));
    clap_mangen::Man::new(page).render(&mut out).wrap_err("failed to render a man page")?;
    pages.push((format!("{name}.1"), out));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        render(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

/// `cnictl generate-docs DIR`: writes DIR/completions and DIR/man.
pub fn generate(dir: &Path) -> Result<ExitCode> {
    let write = |path: &Path, data: &[u8]| -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .wrap_err_with(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(path, data).wrap_err_with(|| format!("failed to write {}", path.display()))
    };
    for (shell, file) in COMPLETIONS {
        write(&dir.join("completions").join(file), &completion(shell))?;
    }
    let man = dir.join("man");
    if man.exists() {
        std::fs::remove_dir_all(&man).wrap_err_with(|| format!("failed to clear {}", man.display()))?;
    }
    for (file, data) in man_pages()? {
        write(&man.join(file), &data)?;
    }
    Ok(ExitCode::SUCCESS)
}
