//! The bandwidth plugin's limits as the kernel holds them: the tbf on the
//! host veth (the container's ingress) and, for its egress, the ingress
//! qdisc on the host veth redirecting to the attachment's ifb device and
//! the tbf there; beside what the attachment asked for (runtimeConfig
//! `bandwidth`, or the plugin's netconf keys). Rates in bits per second
//! and bursts in bits, as the netconf gives them.

use cni::gojson::GoKeys;
use cni::netlink::{Netlink, Tbf};
use serde::Serialize;
use serde_json::Value;

/// A rate and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// Bits per second.
    #[serde(rename = "rateBitsPerSecond")]
    pub rate: u64,
    /// Bits.
    #[serde(rename = "burstBits")]
    pub burst: u64,
}

impl Limit {
    /// `1Mbit/s burst 100kbit`, in tc's units.
    pub fn text(&self) -> String {
        format!("{}/s burst {}", bits(self.rate), bits(self.burst))
    }

    /// The limit a tbf enforces: its rate, and the burst its bucket holds
    /// (buffer ticks back to bytes as tc computes them).
    fn of(tbf: &Tbf) -> Limit {
        let ticks = cni::netlink::tick_in_usec();
        let burst_bytes = (f64::from(tbf.buffer) / ticks * tbf.rate as f64 / 1e6).round() as u64;
        Limit { rate: tbf.rate * 8, burst: burst_bytes * 8 }
    }

    /// Whether `live` is this limit within the rounding of tc's buckets.
    fn close_to(&self, live: &Limit) -> bool {
        let near = |a: u64, b: u64| a.abs_diff(b) <= (a / 100).max(64);
        near(self.rate, live.rate) && near(self.burst, live.burst)
    }
}

/// Bits in tc's words: `1Mbit`, `100kbit`, `12bit`.
fn bits(value: u64) -> String {
    match value {
        v if v >= 1_000_000_000 && v % 1_000_000_000 == 0 => format!("{}Gbit", v / 1_000_000_000),
        v if v >= 1_000_000 && v % 1_000_000 == 0 => format!("{}Mbit", v / 1_000_000),
        v if v >= 1_000 && v % 1_000 == 0 => format!("{}kbit", v / 1_000),
        v => format!("{v}bit"),
    }
}

/// How one direction's limit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitState {
    /// Asked for and in place.
    Ok,
    /// Asked for, and the kernel has another.
    Different,
    /// Asked for, and not in place.
    Missing,
    /// In place without being asked for in the cached config.
    Unasked,
    /// Neither.
    None,
}

/// One direction.
#[derive(Debug, Clone, Serialize)]
pub struct Direction {
    /// What the attachment asked for.
    pub configured: Option<Limit>,
    /// What the kernel has.
    pub live: Option<Limit>,
    /// How they compare.
    pub state: LimitState,
    /// Where it is: the host veth, or the ifb device.
    pub device: Option<String>,
}

/// Both directions, from the container's point of view.
#[derive(Debug, Clone, Serialize)]
pub struct Shaping {
    /// Into the container: the tbf on the host veth.
    pub ingress: Direction,
    /// Out of the container: the tbf on the ifb the host veth redirects to.
    pub egress: Direction,
    /// The attachment's ifb device, when it exists.
    pub ifb: Option<String>,
}

/// What the attachment asked for: runtimeConfig's `bandwidth` (capability
/// args) over the bandwidth plugin's own keys.
pub fn configured(
    capability_args: Option<&serde_json::Map<String, Value>>,
    plugin: Option<&Value>,
) -> [Option<Limit>; 2] {
    let runtime = capability_args.and_then(|c| c.go_get("bandwidth"));
    let source = runtime.or(plugin);
    let pair = |rate: &str, burst: &str| {
        let source = source?;
        let rate = source.go_get(rate).and_then(Value::as_u64).filter(|r| *r > 0)?;
        let burst = source.go_get(burst).and_then(Value::as_u64).filter(|b| *b > 0)?;
        Some(Limit { rate, burst })
    };
    [pair("ingressRate", "ingressBurst"), pair("egressRate", "egressBurst")]
}

/// The live limits on `host_veth` (its index) and the attachment's ifb,
/// compared with `configured` ([`configured`]).
pub fn read(host_veth: Option<u32>, ifb_name: &str, configured: [Option<Limit>; 2]) -> Shaping {
    let nl = Netlink::open().ok();
    let tbf_of = |index: u32| -> Option<Limit> {
        let qdiscs = nl.as_ref()?.qdiscs(index).ok()?;
        qdiscs.iter().find_map(|q| q.tbf.as_ref()).map(Limit::of)
    };
    let veth_name = host_veth.and_then(|i| nl.as_ref()?.link_by_index(i).ok().flatten()).map(|l| l.name);
    let ingress = host_veth.and_then(tbf_of);
    let ifb = nl.as_ref().and_then(|nl| nl.link_by_name(ifb_name).ok().flatten());
    let redirected = match (&nl, host_veth, &ifb) {
        (Some(nl), Some(veth), Some(ifb)) => {
            nl.redirect_targets(veth).unwrap_or_default().contains(&ifb.index)
        }
        _ => false,
    };
    let egress = ifb.as_ref().filter(|_| redirected).and_then(|l| tbf_of(l.index));
    let [want_in, want_out] = configured;
    Shaping {
        ingress: direction(want_in, ingress, veth_name),
        egress: direction(want_out, egress, ifb.as_ref().map(|l| l.name.clone())),
        ifb: ifb.map(|l| l.name),
    }
}

fn direction(configured: Option<Limit>, live: Option<Limit>, device: Option<String>) -> Direction {
    let state = match (configured, live) {
        (Some(want), Some(have)) if want.close_to(&have) => LimitState::Ok,
        (Some(_), Some(_)) => LimitState::Different,
        (Some(_), None) => LimitState::Missing,
        (None, Some(_)) => LimitState::Unasked,
        (None, None) => LimitState::None,
    };
    Direction { configured, live, state, device: live.and(device) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_in_tcs_words() {
        assert_eq!(Limit { rate: 1_000_000, burst: 100_000 }.text(), "1Mbit/s burst 100kbit");
        assert_eq!(bits(12), "12bit");
    }

    #[test]
    fn runtime_config_wins_over_the_plugins_keys() {
        let caps = serde_json::json!({"bandwidth": {"IngressRate": 8000, "IngressBurst": 800}});
        let plugin = serde_json::json!({"egressRate": 16000, "egressBurst": 1600});
        let [i, e] = configured(caps.as_object(), Some(&plugin));
        assert_eq!(i, Some(Limit { rate: 8000, burst: 800 }));
        assert_eq!(e, None);
        let [i, e] = configured(None, Some(&plugin));
        assert_eq!((i, e), (None, Some(Limit { rate: 16000, burst: 1600 })));
    }

    #[test]
    fn a_tbf_reads_back_as_the_limit_that_made_it() {
        let ticks = cni::netlink::tick_in_usec();
        // 1 Mbit/s, 100 kbit burst: 12500 bytes take 100 ms at 125000 bytes/s.
        let tbf = Tbf { rate: 125_000, limit: 0, buffer: (100_000.0 * ticks) as u32 };
        assert!(
            Limit { rate: 1_000_000, burst: 100_000 }.close_to(&Limit::of(&tbf)),
            "{:?}",
            Limit::of(&tbf)
        );
    }
}
