//! The bandwidth netconf: limits given at the top level of the netconf or,
//! when none is there, in `runtimeConfig.bandwidth` (as the reference reads
//! them), checked, and turned into the token bucket settings the reference
//! programs.

use cni::conf::{parse, NetConf};
use cni::env::CmdArgs;
use cni::jsonpos::key_label;
use cni::netlink::Tbf;
use cni::result::null_as_empty;
use cni::CniError;
use serde::Deserialize;

/// The queueing latency the reference sizes its buckets for.
const LATENCY_MS: f64 = 25.0;
/// tc's time unit: microseconds.
const TIME_UNITS_PER_SEC: f64 = 1_000_000.0;

/// Every key this plugin reads from its netconf besides the common ones
/// (`cni::known_keys`), as paths: `cnictl validate` names any other key.
/// The test `known_keys_match_the_parser` keeps it equal to what the
/// parser's structs read.
pub const KEYS: cni::known_keys::Keys =
    &["ingressRate", "ingressBurst", "egressRate", "egressBurst", "runtimeConfig.bandwidth"];

/// Rates in bits per second, bursts in bits; 0 is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Limits {
    /// Traffic into the container.
    #[serde(rename = "ingressRate", default)]
    pub ingress_rate: u64,
    /// See `ingress_rate`.
    #[serde(rename = "ingressBurst", default)]
    pub ingress_burst: u64,
    /// Traffic out of the container.
    #[serde(rename = "egressRate", default)]
    pub egress_rate: u64,
    /// See `egress_rate`.
    #[serde(rename = "egressBurst", default)]
    pub egress_burst: u64,
}

impl Limits {
    /// True when nothing is limited.
    pub fn is_zero(&self) -> bool {
        *self == Limits::default()
    }

    /// The ingress bucket, when ingress is limited.
    pub fn ingress(&self) -> Option<Tbf> {
        (self.ingress_rate > 0 && self.ingress_burst > 0)
            .then(|| bucket(self.ingress_rate, self.ingress_burst))
    }

    /// The egress bucket, when egress is limited.
    pub fn egress(&self) -> Option<Tbf> {
        (self.egress_rate > 0 && self.egress_burst > 0).then(|| bucket(self.egress_rate, self.egress_burst))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConf {
    #[serde(rename = "ingressRate")]
    ingress_rate: Option<u64>,
    #[serde(rename = "ingressBurst")]
    ingress_burst: Option<u64>,
    #[serde(rename = "egressRate")]
    egress_rate: Option<u64>,
    #[serde(rename = "egressBurst")]
    egress_burst: Option<u64>,
    #[serde(rename = "runtimeConfig", deserialize_with = "null_as_empty")]
    runtime_config: RawRuntimeConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRuntimeConfig {
    bandwidth: Option<Limits>,
}

/// The checked configuration of one call.
pub struct Config {
    /// Common keys, prevResult included.
    pub net: NetConf,
    /// The limits in force; None when none were given.
    pub limits: Option<Limits>,
}

/// A rate and its burst, set together; errors name the key at fault
/// below `at` (the top level, or runtimeConfig's `bandwidth`).
fn check_pair(rate: u64, burst: u64, key: &str, at: &str) -> Result<(), CniError> {
    let (rate_key, burst_key) = key.split_once('/').unwrap_or((key, key));
    let label = |name: &str| key_label(&format!("{at}{name}"));
    match (rate, burst) {
        (0, 0) => Ok(()),
        (_, 0) => Err(CniError::config(format!(
            "{}: if rate is set, burst must also be set ({key})",
            label(burst_key)
        ))),
        (0, _) => Err(CniError::config(format!(
            "{}: if burst is set, rate must also be set ({key})",
            label(rate_key)
        ))),
        (_, burst) if burst / 8 >= u32::MAX as u64 => {
            Err(CniError::config(format!("{}: burst cannot be more than 4GB ({key})", label(burst_key))))
        }
        _ => Ok(()),
    }
}

/// Reads and checks the netconf of one call.
pub fn load(args: &CmdArgs) -> Result<Config, CniError> {
    let net: NetConf = parse(&args.stdin)?;
    let raw: RawConf = parse(&args.stdin)?;
    let top = [raw.ingress_rate, raw.ingress_burst, raw.egress_rate, raw.egress_burst];
    // Any limit key at the top level wins over runtimeConfig, as in the reference.
    let at_top = top.iter().any(Option::is_some);
    let limits = if at_top {
        Some(Limits {
            ingress_rate: raw.ingress_rate.unwrap_or(0),
            ingress_burst: raw.ingress_burst.unwrap_or(0),
            egress_rate: raw.egress_rate.unwrap_or(0),
            egress_burst: raw.egress_burst.unwrap_or(0),
        })
    } else {
        raw.runtime_config.bandwidth
    };
    if let Some(limits) = &limits {
        let at = if at_top { "" } else { "runtimeConfig.bandwidth." };
        check_pair(limits.ingress_rate, limits.ingress_burst, "ingressRate/ingressBurst", at)?;
        check_pair(limits.egress_rate, limits.egress_burst, "egressRate/egressBurst", at)?;
    }
    Ok(Config { net, limits })
}

/// Go's `uint32(f)` for a float64 as amd64 compiles it: truncated to an
/// int64, then the low 32 bits. Rust's `as u32` saturates instead, which
/// differs once a value overflows: containerd sends a burst of 2^32-1
/// bits when a pod names none, and the buffer in ticks then wraps.
fn go_u32(value: f64) -> u32 {
    value as i64 as u32
}

/// The reference's bucket for a rate (bits/s) and burst (bits): rate and
/// burst in bytes, the burst as scheduler ticks, and a queue of 25 ms at
/// the rate plus the burst, with Go's overflow on every conversion.
fn bucket(rate_bits: u64, burst_bits: u64) -> Tbf {
    let rate = rate_bits / 8;
    let burst = (burst_bits / 8) as u32;
    let burst_time = go_u32(burst as f64 * TIME_UNITS_PER_SEC / rate as f64);
    let buffer = go_u32(burst_time as f64 * cni::netlink::tick_in_usec());
    let latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000.0);
    let limit = go_u32(rate as f64 * latency / TIME_UNITS_PER_SEC).wrapping_add(burst);
    Tbf { rate, limit, buffer }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_the_references() {
        // 100 Mbit/s with a 1 Mbit burst: tc shows "rate 100Mbit burst 125000b lat 25ms".
        let tbf = bucket(100_000_000, 1_000_000);
        assert_eq!(tbf.rate, 12_500_000);
        assert_eq!(tbf.limit, 312_500 + 125_000);
        assert_eq!(tbf.buffer, (10_000.0 * cni::netlink::tick_in_usec()) as u32);
    }

    #[test]
    fn rates_and_bursts_come_in_pairs() {
        let pair = "ingressRate/ingressBurst";
        assert!(check_pair(1000, 0, pair, "").unwrap_err().msg.starts_with(r#"key "ingressBurst": "#));
        assert!(check_pair(0, 1000, pair, "").unwrap_err().msg.starts_with(r#"key "ingressRate": "#));
        let at = "runtimeConfig.bandwidth.";
        let err = check_pair(1000, 8 * u32::MAX as u64, pair, at).unwrap_err();
        assert!(
            err.msg.starts_with(r#"key "runtimeConfig.bandwidth.ingressBurst": burst cannot"#),
            "{}",
            err.msg
        );
        assert!(check_pair(1000, 1000, pair, "").is_ok() && check_pair(0, 0, pair, "").is_ok());
    }
}

#[cfg(test)]
mod known_keys_tests {
    use super::*;
    use cni::known_keys::{check_against_parser, struct_fields};

    /// KEYS is what the parser reads: a key added to a struct and not to
    /// KEYS (lint would flag it) or the other way round fails here.
    #[test]
    fn known_keys_match_the_parser() {
        let parsed: Vec<(&str, Vec<&'static str>)> =
            vec![("runtimeConfig", struct_fields::<RawRuntimeConfig>()), ("", struct_fields::<RawConf>())];
        // unshapedSubnets and shapedSubnets are not listed: the reference read
        // them only in v1.5.0 and v1.5.1 (reverted in v1.6.0), so neither it
        // nor this plugin does now, and lint says so.
        assert_eq!(check_against_parser(KEYS, &cni::known_keys::common(), &parsed, &[]), Ok(()));
    }
}
