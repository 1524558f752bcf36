//! cnictl: the operator CLI for CNI networks. Kept thin: parse the
//! command line, set up error reporting, run the command, and end quietly
//! when the reader of stdout goes away.

mod cli;
mod commands;
mod docker;
mod inspect;
mod netns;
mod render;
mod report;
mod runtime;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::process::ExitCode;

fn main() -> ExitCode {
    let hook = color_eyre::config::HookBuilder::default().display_env_section(false);
    let hook = if report::colored() { hook } else { hook.theme(color_eyre::config::Theme::new()) };
    if let Err(e) = hook.install() {
        eprintln!("cnictl: cannot set up error reporting: {e}");
    }
    render::quiet_closed_pipes();
    // Every write to a closed stdout unwinds to here (destructors on the way
    // run: namespaces and attachments of `run` still go), then ends as SIGPIPE.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let cli = cli::parse();
        let verb = cli.verb.clone();
        match commands::run(cli) {
            Ok(code) => code,
            Err(report) if report::closed_pipe(&report) => render::closed_pipe_exit(),
            Err(report) => {
                report::print(&report, &verb);
                report::exit_code(&report)
            }
        }
    }));
    match outcome {
        Ok(code) => code,
        Err(payload) if render::is_closed_pipe(&*payload) => render::closed_pipe_exit(),
        Err(payload) => match payload.downcast::<render::WriteFailed>() {
            Ok(failed) => {
                eprintln!("cnictl: error: {}", failed.0);
                ExitCode::FAILURE
            }
            Err(payload) => resume_unwind(payload),
        },
    }
}
