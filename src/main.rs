//! cnictl: the operator CLI for CNI networks. Kept thin: parse the
//! command line, set up error reporting, run the command.

mod cli;
mod commands;
mod docker;
mod inspect;
mod netns;
mod render;
mod report;
mod runtime;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let hook = color_eyre::config::HookBuilder::default().display_env_section(false);
    let hook = if report::colored() { hook } else { hook.theme(color_eyre::config::Theme::new()) };
    if let Err(e) = hook.install() {
        eprintln!("cnictl: cannot set up error reporting: {e}");
    }
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(report) => {
            report::print(&report);
            std::process::ExitCode::FAILURE
        }
    }
}
