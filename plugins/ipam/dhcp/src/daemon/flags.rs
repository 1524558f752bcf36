//! `dhcp daemon`'s command line, as the reference's Go `flag` package
//! reads it (`-name value`, `-name=value`, one or two dashes, booleans
//! bare or `=true`), with Go durations (`10s`, `1m30s`, `500ms`).

use std::path::PathBuf;
use std::time::Duration;

use crate::client::Timing;
use crate::config::DEFAULT_SOCKET_PATH;
use crate::store::DEFAULT_LEASE_DIR;

/// What the daemon was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `-socketpath` (before `-hostprefix`).
    pub socket_path: String,
    /// `-pidfile`: absolute, removed on SIGINT/SIGTERM.
    pub pidfile: Option<PathBuf>,
    /// `-hostprefix`: prefixed to the socket path and every netns path.
    pub host_prefix: String,
    /// `-broadcast`: the BOOTP broadcast flag (our client always sets it
    /// before it has an address: its UDP socket cannot take unicast then).
    pub broadcast: bool,
    /// `-leasedir` (ours): where leases are kept.
    pub lease_dir: PathBuf,
    /// `-timeout`, `-resendmax`, `-resendtimeout` as the client's timing.
    pub timing: Timing,
}

/// The usage text.
pub const USAGE: &str = "usage: dhcp daemon [-socketpath PATH] [-pidfile PATH] [-hostprefix DIR] [-broadcast]
                   [-timeout 10s] [-resendmax 62s] [-resendtimeout 208s] [-leasedir DIR]
  -socketpath     the socket plugins call (default /run/cni/dhcp.sock; its directory is made 0700)
  -pidfile        write the daemon's PID here (absolute path; removed on SIGINT/SIGTERM)
  -hostprefix     prefix of the host's root, for a daemon in a container (socket and netns paths)
  -broadcast      ask servers to broadcast replies (always done before an address is held)
  -timeout        the longest wait for a reply after one transmission
  -resendmax      the cap on the doubling wait between retransmissions
  -resendtimeout  how long one exchange keeps trying
  -leasedir       where leases are kept across restarts (default /var/lib/cni/dhcp)
With systemd socket activation (LISTEN_FDS=1) the passed socket is served instead.";

/// A Go duration: a sequence of decimal numbers, each with a unit (`ns`,
/// `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone is zero. Negative
/// durations are refused here (they mean nothing for these flags).
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {text:?}")),
    }
}

/// Reads the flags after `daemon`. `Err` carries the message to print
/// (with [`USAGE`] for `-h`).
pub fn parse(argv: &[String]) -> Result<Settings, String> {
    let mut socket_path = String::new();
    let mut pidfile = String::new();
    let mut host_prefix = String::new();
    let mut broadcast = false;
    let mut lease_dir = String::new();
    let mut timeout = Duration::from_secs(10);
    let defaults = Timing::default();
    let (mut resend_max, mut resend_timeout) = (defaults.max_wait, defaults.total);
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            break;
        }
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("unexpected argument {arg:?}\n{USAGE}"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if matches!(name, "h" | "help") {
            return Err(USAGE.to_string());
        }
        if name == "broadcast" {
            broadcast =
                inline.as_deref().map_or(Ok(true), parse_bool).map_err(|e| format!("-broadcast: {e}"))?;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().cloned().ok_or_else(|| format!("flag needs an argument: -{name}\n{USAGE}"))?,
        };
        let duration = |v: &str| parse_go_duration(v).map_err(|e| format!("-{name}: {e}"));
        match name {
            "socketpath" => socket_path = value,
            "pidfile" => pidfile = value,
            "hostprefix" => host_prefix = value,
            "leasedir" => lease_dir = value,
            "timeout" => timeout = duration(&value)?,
            "resendmax" => resend_max = duration(&value)?,
            "resendtimeout" => resend_timeout = duration(&value)?,
            _ => return Err(format!("flag provided but not defined: -{name}\n{USAGE}")),
        }
    }
    if !pidfile.is_empty() && !pidfile.starts_with('/') {
        return Err(format!("Error writing pidfile {pidfile:?}: path not absolute"));
    }
    if socket_path.is_empty() {
        socket_path = DEFAULT_SOCKET_PATH.to_string();
    }
    if lease_dir.is_empty() {
        lease_dir = format!("{host_prefix}{DEFAULT_LEASE_DIR}");
    }
    let wait_cap = resend_max.min(timeout).max(Duration::from_millis(100));
    let timing = Timing {
        first_wait: defaults.first_wait.min(wait_cap),
        max_wait: wait_cap,
        total: resend_timeout,
        ..defaults
    };
    Ok(Settings {
        socket_path,
        pidfile: (!pidfile.is_empty()).then(|| PathBuf::from(pidfile)),
        host_prefix,
        broadcast,
        lease_dir: PathBuf::from(lease_dir),
        timing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "s", "-1s", "1d", "1.2.3s", "ms1"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reference_flags_in_go_syntax() {
        let s = parse(&args(&[
            "--socketpath=/tmp/d.sock",
            "-pidfile",
            "/tmp/d.pid",
            "-broadcast",
            "-hostprefix",
            "/host",
            "-timeout=2s",
            "-resendtimeout",
            "30s",
        ]))
        .unwrap();
        assert_eq!(s.socket_path, "/tmp/d.sock");
        assert_eq!(s.pidfile, Some(PathBuf::from("/tmp/d.pid")));
        assert!(s.broadcast);
        assert_eq!(s.lease_dir, PathBuf::from("/host/var/lib/cni/dhcp"));
        assert_eq!((s.timing.max_wait, s.timing.total), (Duration::from_secs(2), Duration::from_secs(30)));
        assert_eq!(s.timing.first_wait, Duration::from_secs(2));

        let d = parse(&[]).unwrap();
        assert_eq!(d.socket_path, "/run/cni/dhcp.sock");
        assert_eq!(d.lease_dir, PathBuf::from("/var/lib/cni/dhcp"));
        assert_eq!(
            (d.timing.first_wait, d.timing.max_wait),
            (Duration::from_secs(4), Duration::from_secs(10))
        );
        assert!(!parse(&args(&["-broadcast=false"])).unwrap().broadcast);

        assert!(parse(&args(&["-pidfile", "rel.pid"])).unwrap_err().contains("not absolute"));
        assert!(parse(&args(&["-nope", "1"])).unwrap_err().contains("not defined: -nope"));
        assert!(parse(&args(&["-timeout"])).unwrap_err().contains("needs an argument"));
        assert!(parse(&args(&["-timeout", "10"])).unwrap_err().contains("invalid duration"));
        assert!(parse(&args(&["-h"])).unwrap_err().starts_with("usage:"));
    }
}
