//! cnictl: the operator CLI for CNI networks. Kept thin: parse the
//! command line, set up error reporting, run the command, and end quietly
//! when the reader of stdout goes away (every stdout write returns
//! `io::Result`; a closed pipe comes back here as an error).

/// Writes a formatted line to stdout ([`render::line`]) and returns from
/// the function with the error when that fails (a closed pipe included).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::render::line(format_args!($($arg)*))?
    };
}

/// A line for the operator on stderr ([`report::say`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::report::say(format_args!($($arg)*))
    };
}

mod cli;
mod commands;
mod dataplane;
mod docker;
mod inspect;
mod lint;
mod netns;
mod plan;
mod render;
mod report;
mod runtime;

use std::process::ExitCode;

fn main() -> ExitCode {
    let hook = color_eyre::config::HookBuilder::default().display_env_section(false);
    let hook = if report::colored() { hook } else { hook.theme(color_eyre::config::Theme::new()) };
    if let Err(e) = hook.install() {
        say!("cnictl: cannot set up error reporting: {e}");
    }
    let cli = cli::parse();
    let verb = cli.verb.clone();
    match commands::run(cli) {
        Ok(code) => code,
        // The one path of a closed stdout: every write returned it by `?`
        // (destructors on the way ran), and it ends as SIGPIPE would.
        Err(report) if report::closed_pipe(&report) => render::closed_pipe_exit(),
        Err(report) => {
            report::print(&report, &verb);
            report::exit_code(&report)
        }
    }
}
