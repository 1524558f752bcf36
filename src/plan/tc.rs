//! The plan of bandwidth: the token buckets (tc tbf) ADD would program,
//! computed by the bandwidth crate's own bucket arithmetic, and the ifb
//! that egress limiting redirects through.

use cni::netlink::Tbf;
use serde_json::{json, Map, Value};

use super::{Chain, Input, Section};

/// One bucket as JSON and as words: rate in bits and bytes per second,
/// the configured burst, tc's limit and buffer.
fn bucket(rate_bits: u64, burst_bits: u64, tbf: &Tbf, on: &str) -> (Value, String) {
    let value = json!({
        "on": on,
        "rateBitsPerSecond": rate_bits,
        "rateBytesPerSecond": tbf.rate,
        "burstBytes": burst_bits / 8,
        "limitBytes": tbf.limit,
        "bufferTicks": tbf.buffer,
    });
    let text = format!(
        "tbf on {on}: rate {rate_bits} bit/s ({} bytes/s), burst {} bytes, limit {} bytes",
        tbf.rate,
        burst_bits / 8,
        tbf.limit
    );
    (value, text)
}

/// bandwidth: ingress (into the container) as a tbf on the host veth;
/// egress as everything the host veth receives redirected to an ifb with
/// the tbf.
pub(super) fn bandwidth(input: &Input, plugin: &Map<String, Value>, chain: &Chain, section: &mut Section) {
    let args = input.cmd_args(input.stdin(plugin));
    let limits = match bandwidth::planned_limits(&args) {
        Ok(Some(limits)) => limits,
        Ok(None) => {
            section.put(
                "limits",
                "limits",
                "none: no rates in the netconf or the capability args (bandwidth)",
            );
            return;
        }
        Err(e) => return section.problem(e.msg),
    };
    if !chain.host_veth {
        section.problem("no veth peer of the container interface: bandwidth needs a veth plugin before it");
    }
    match limits.ingress() {
        Some(tbf) => {
            let (value, text) = bucket(limits.ingress_rate, limits.ingress_burst, &tbf, "the host veth");
            section.put_text("ingress", "ingress (into the container)", value, text);
        }
        None => section.put("ingress", "ingress (into the container)", "not limited"),
    }
    match limits.egress() {
        Some(tbf) => {
            let ifb = bandwidth::ifb_name(&input.list.name, &input.rt.container_id);
            let (mut value, text) = bucket(limits.egress_rate, limits.egress_burst, &tbf, &ifb);
            value["ifb"] = ifb.clone().into();
            let text = format!(
                "{text}\nifb {ifb} created; an ingress qdisc and a u32 filter on the host veth redirect to it"
            );
            section.put_text("egress", "egress (out of the container)", value, text);
        }
        None => section.put("egress", "egress (out of the container)", "not limited"),
    }
}
