//! `dhcp daemon`: holds the leases of every container on this host. The
//! plugin is a short-lived process per call; leases must be renewed long
//! after it ends, so a daemon does the DHCP exchanges, keeps the leases on
//! disk, and answers the plugin over a unix socket.
//!
//! Threads: the accepting one, one upkeep scheduler, one signal waiter,
//! and short-lived ones per connection and per exchange, so the count does
//! not grow with the leases held.

mod flags;
mod leases;
mod listener;
mod serve;

use std::path::PathBuf;
use std::sync::Arc;

pub use flags::{parse as parse_flags, parse_go_duration, Settings};
pub use leases::{next_due, LINK_SWEEP};

use crate::store::Store;
use leases::{log, Leases};

/// Runs the daemon with the arguments after `daemon`; returns the exit
/// status when it cannot start (it runs until a signal otherwise).
pub fn main(argv: &[String]) -> i32 {
    let settings = match flags::parse(argv) {
        Ok(s) => s,
        Err(msg) if msg.starts_with("usage:") => {
            println!("{msg}");
            return 0;
        }
        Err(msg) => {
            eprintln!("dhcp daemon: {msg}");
            return 2;
        }
    };
    match run(settings) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("dhcp daemon: {msg}");
            1
        }
    }
}

fn run(settings: Settings) -> Result<(), String> {
    let socket = PathBuf::from(format!("{}{}", settings.host_prefix, settings.socket_path));
    if let Some(pidfile) = &settings.pidfile {
        listener::write_pidfile(pidfile)?;
    }
    let store = Store::open(&settings.lease_dir)
        .map_err(|e| format!("failed to create the lease directory {}: {e}", settings.lease_dir.display()))?;
    let listening = listener::listen(&socket)?;
    let made = listening.made.clone();
    let pidfile = settings.pidfile.clone();
    // Before any other thread is made: every thread made after has the
    // signals blocked, so only the signal thread takes them.
    listener::exit_on_signal(move || {
        if let Some(path) = &made {
            let _ = std::fs::remove_file(path);
        }
        if let Some(path) = &pidfile {
            let _ = std::fs::remove_file(path);
        }
        log("stopped");
    })?;
    let leases = Arc::new(Leases::new(store, settings.host_prefix.clone(), settings.timing));
    let resumed = leases.resume()?;
    let serving = match &listening.made {
        Some(path) => format!("serving on {}", path.display()),
        None => "serving the socket systemd passed".to_string(),
    };
    log(format!("{serving} (leases in {}, {resumed} resumed)", settings.lease_dir.display()));
    {
        let leases = leases.clone();
        std::thread::Builder::new()
            .name("upkeep".into())
            .spawn(move || leases.upkeep())
            .map_err(|e| format!("failed to start the upkeep thread: {e}"))?;
    }
    for stream in listening.listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log(format!("accept: {e}"));
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        };
        let leases = leases.clone();
        let spawned =
            std::thread::Builder::new().name("call".into()).spawn(move || serve::connection(&leases, stream));
        if let Err(e) = spawned {
            log(format!("cannot serve a call: {e}"));
        }
    }
    Ok(())
}
