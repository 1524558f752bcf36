//! cnictl: the operator CLI for CNI networks. Kept thin: parse the
//! command line, set up error reporting, run the command.

mod cli;
mod commands;
mod docker;
mod inspect;
mod netns;
mod render;
mod runtime;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let hook = color_eyre::config::HookBuilder::default().display_env_section(false);
    let hook = if plain { hook.theme(color_eyre::config::Theme::new()) } else { hook };
    if let Err(e) = hook.install() {
        eprintln!("cnictl: cannot set up error reporting: {e}");
    }
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(report) => {
            // One line per cause, no backtrace: an operator reads this.
            eprintln!("cnictl: error: {report}");
            for cause in report.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
