//! Traffic control: token bucket (tbf) qdiscs, the ingress qdisc, and the
//! u32 filter that redirects a link's incoming traffic to an ifb device.
//! This is what `bandwidth` shapes with, as the reference does: the same
//! qdiscs, handles, filter and actions, so `tc` shows the same state.
//!
//! netlink-packet-route does not encode tbf options: its parameters go as
//! a raw `TCA_TBF_PARMS` attribute (`struct tc_tbf_qopt`).

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirrorOption, TcActionOption, TcActionType,
    TcAttribute, TcFilterU32Option, TcHandle, TcMessage, TcMirror, TcMirrorActionType, TcOption, TcU32Key,
    TcU32Selector, TcU32SelectorFlags,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{nl_error, Netlink, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use crate::kernel::error::KernelError;

/// TCA_OPTIONS, the qdisc attribute holding its kind's settings.
const TCA_OPTIONS: u16 = 2;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
/// `struct tc_tbf_qopt`: two `tc_ratespec` (12 bytes each), limit, buffer, mtu.
const TBF_QOPT_LEN: usize = 36;
/// ETH_P_ALL, in network byte order as tc filters carry it.
const ETH_P_ALL: u16 = 0x0003;

/// A token bucket's settings as the kernel holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tbf {
    /// Rate in bytes per second.
    pub rate: u64,
    /// Queue limit in bytes.
    pub limit: u32,
    /// Bucket size in scheduler ticks.
    pub buffer: u32,
}

/// A qdisc of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qdisc {
    /// "tbf", "ingress", "noqueue", ...
    pub kind: String,
    /// Its handle (major << 16 | minor).
    pub handle: u32,
    /// Its parent's handle.
    pub parent: u32,
    /// The token bucket settings, for a tbf.
    pub tbf: Option<Tbf>,
}

fn handle(value: u32) -> TcHandle {
    TcHandle::from(value)
}

fn tbf_options(tbf: &Tbf) -> Vec<TcOption> {
    let mut qopt = vec![0u8; TBF_QOPT_LEN];
    // rate.rate is a u32 at offset 8 of the first tc_ratespec; faster rates go in RATE64.
    qopt[8..12].copy_from_slice(&(tbf.rate.min(u32::MAX as u64) as u32).to_ne_bytes());
    qopt[24..28].copy_from_slice(&tbf.limit.to_ne_bytes());
    qopt[28..32].copy_from_slice(&tbf.buffer.to_ne_bytes());
    let mut options = vec![TcOption::Other(DefaultNla::new(TCA_TBF_PARMS, qopt))];
    if tbf.rate >= 1 << 32 {
        options.push(TcOption::Other(DefaultNla::new(TCA_TBF_RATE64, tbf.rate.to_ne_bytes().to_vec())));
    }
    options
}

fn nla_value(nla: &DefaultNla) -> Vec<u8> {
    let mut value = vec![0u8; nla.value_len()];
    nla.emit_value(&mut value);
    value
}

/// The tbf settings in a qdisc's attributes. netlink-packet-route hands
/// options of kinds it does not know over as one raw TCA_OPTIONS attribute.
fn tbf_from(attributes: &[TcAttribute]) -> Option<Tbf> {
    let options = attributes.iter().find_map(|a| match a {
        TcAttribute::Options(options) => Some(options),
        _ => None,
    })?;
    let mut raw: Vec<(u16, Vec<u8>)> = Vec::new();
    for option in options {
        if let TcOption::Other(nla) = option {
            match nla.kind() {
                TCA_OPTIONS => raw.extend(
                    crate::nlattr::attributes(&nla_value(nla)).into_iter().map(|(k, v)| (k, v.to_vec())),
                ),
                kind => raw.push((kind, nla_value(nla))),
            }
        }
    }
    let get = |kind: u16| raw.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_slice());
    let qopt = get(TCA_TBF_PARMS)?;
    let word = |at: usize| qopt.get(at..at + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let rate64 = get(TCA_TBF_RATE64)
        .and_then(|b| b.get(..8))
        .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    Some(Tbf { rate: rate64.unwrap_or(word(8)? as u64), limit: word(24)?, buffer: word(28)? })
}

/// One mirred action redirecting to `ifindex` (egress), with the given verdict.
fn redirect_action(order: u16, ifindex: u32, verdict: TcActionType) -> TcAction {
    let mut generic = TcActionGeneric::default();
    generic.action = verdict;
    let mut mirror = TcMirror::default();
    mirror.generic = generic;
    mirror.eaction = TcMirrorActionType::EgressRedir;
    mirror.ifindex = ifindex;
    let mut action = TcAction::default();
    action.tab = order;
    action.attributes = vec![
        TcActionAttribute::Kind("mirred".to_string()),
        TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(mirror))]),
    ];
    action
}

/// Scheduler ticks per microsecond, from /proc/net/psched as tc and the
/// reference's netlink library read it (15.625 on current kernels).
pub fn tick_in_usec() -> f64 {
    let fields: Vec<f64> = std::fs::read_to_string("/proc/net/psched")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| u32::from_str_radix(f, 16).ok().map(f64::from))
        .collect();
    match fields.as_slice() {
        [t2us, us2t, clock_res, ..] if *us2t > 0.0 => {
            // Old kernels with a nanosecond clock report t2us that way.
            let t2us = if *clock_res == 1e9 { *us2t } else { *t2us };
            t2us / us2t * (clock_res / 1e6)
        }
        _ => 1000.0 / 64.0,
    }
}

/// The request for a root tbf qdisc (handle 1:) on a link. The message
/// builders are public so that the bench's floor program sends the same
/// requests in one batch.
pub fn tbf_request(index: u32, tbf: &Tbf) -> RouteNetlinkMessage {
    let mut message = TcMessage::with_index(index as i32);
    message.header.handle = handle(0x0001_0000);
    message.header.parent = TcHandle::ROOT;
    message.attributes.push(TcAttribute::Kind("tbf".to_string()));
    message.attributes.push(TcAttribute::Options(tbf_options(tbf)));
    RouteNetlinkMessage::NewQueueDiscipline(message)
}

/// The request for the ingress qdisc (handle ffff:) on a link.
pub fn ingress_qdisc_request(index: u32) -> RouteNetlinkMessage {
    let mut message = TcMessage::with_index(index as i32);
    message.header.handle = handle(0xffff_0000);
    message.header.parent = TcHandle::INGRESS;
    message.attributes.push(TcAttribute::Kind("ingress".to_string()));
    RouteNetlinkMessage::NewQueueDiscipline(message)
}

/// The request redirecting everything a link receives to `target` (an
/// ifb): a u32 match-all filter on the ingress qdisc, priority 1, flowid
/// 1:1, with the reference's two mirred actions (redirect and stolen,
/// then redirect and pass).
pub fn redirect_filter_request(index: u32, target: u32) -> RouteNetlinkMessage {
    let mut message = TcMessage::with_index(index as i32);
    message.header.parent = handle(0xffff_0000);
    // tcm_info: priority in the upper 16 bits, protocol (big-endian) in the lower.
    message.header.info = (1u32 << 16) | ETH_P_ALL.to_be() as u32;
    let mut selector = TcU32Selector::default();
    selector.flags = TcU32SelectorFlags::Terminal;
    selector.nkeys = 1;
    selector.keys = vec![TcU32Key::default()];
    message.attributes.push(TcAttribute::Kind("u32".to_string()));
    message.attributes.push(TcAttribute::Options(vec![
        TcOption::U32(TcFilterU32Option::ClassId(handle(0x0001_0001))),
        TcOption::U32(TcFilterU32Option::Selector(selector)),
        TcOption::U32(TcFilterU32Option::Action(vec![
            redirect_action(1, target, TcActionType::Stolen),
            redirect_action(2, target, TcActionType::Ok),
        ])),
    ]));
    RouteNetlinkMessage::NewTrafficFilter(message)
}

impl Netlink {
    fn tc_request(&self, message: RouteNetlinkMessage, what: &str) -> Result<(), KernelError> {
        // A deletion with NLM_F_CREATE | NLM_F_EXCL is refused (EOPNOTSUPP).
        let flags = match message {
            RouteNetlinkMessage::DelQueueDiscipline(_) => 0,
            _ => NLM_F_CREATE | NLM_F_EXCL,
        };
        self.request(message, flags).map_err(|e| nl_error(what, e))
    }

    /// Adds a root tbf qdisc (handle 1:) to a link.
    pub fn add_tbf(&self, index: u32, tbf: &Tbf) -> Result<(), KernelError> {
        self.tc_request(tbf_request(index, tbf), &format!("add tbf qdisc to link {index}"))
    }

    /// Adds the ingress qdisc (handle ffff:) to a link.
    pub fn add_ingress_qdisc(&self, index: u32) -> Result<(), KernelError> {
        self.tc_request(ingress_qdisc_request(index), &format!("create ingress qdisc on link {index}"))
    }

    /// Deletes a link's root qdisc, or (`ingress`) its ingress qdisc with
    /// the filters on it: the undo of `add_tbf` and `add_ingress_qdisc`.
    pub fn delete_qdisc(&self, index: u32, ingress: bool) -> Result<(), KernelError> {
        let mut message = TcMessage::with_index(index as i32);
        if ingress {
            message.header.handle = handle(0xffff_0000);
            message.header.parent = TcHandle::INGRESS;
        } else {
            message.header.parent = TcHandle::ROOT;
        }
        let what = if ingress { "ingress" } else { "root" };
        self.tc_request(
            RouteNetlinkMessage::DelQueueDiscipline(message),
            &format!("delete the {what} qdisc of link {index}"),
        )
    }

    /// Redirects everything a link receives to `target` (an ifb): see
    /// [`redirect_filter_request`].
    pub fn add_redirect_filter(&self, index: u32, target: u32) -> Result<(), KernelError> {
        self.tc_request(redirect_filter_request(index, target), &format!("add filter to link {index}"))
    }

    /// The links the ingress filters of link `index` redirect to (mirred
    /// actions): what tells an ifb that still serves a link from one
    /// whose link is gone.
    pub fn redirect_targets(&self, index: u32) -> Result<Vec<u32>, KernelError> {
        let mut request = TcMessage::with_index(index as i32);
        request.header.parent = TcHandle { major: 0xffff, minor: TcHandle::MIN_INGRESS };
        let answers = match self.get(RouteNetlinkMessage::GetTrafficFilter(request), NLM_F_DUMP) {
            Ok(answers) => answers,
            // No ingress qdisc: no filters.
            Err(e) if e.errno() == Some(libc::EINVAL) => return Ok(Vec::new()),
            Err(e) => return Err(nl_error(&format!("list filters of link {index}"), e)),
        };
        let mut targets = Vec::new();
        for answer in &answers {
            let RouteNetlinkMessage::NewTrafficFilter(message) = answer else { continue };
            for attribute in &message.attributes {
                let TcAttribute::Options(options) = attribute else { continue };
                for option in options {
                    let TcOption::U32(TcFilterU32Option::Action(actions)) = option else { continue };
                    for action in actions {
                        for attribute in &action.attributes {
                            let TcActionAttribute::Options(options) = attribute else { continue };
                            for option in options {
                                if let TcActionOption::Mirror(TcActionMirrorOption::Parms(mirror)) = option {
                                    targets.push(mirror.ifindex);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(targets)
    }

    /// The qdiscs of a link.
    pub fn qdiscs(&self, index: u32) -> Result<Vec<Qdisc>, KernelError> {
        let request = TcMessage::with_index(index as i32);
        self.dump(RouteNetlinkMessage::GetQueueDiscipline(request), "list qdiscs", |answer| {
            let RouteNetlinkMessage::NewQueueDiscipline(msg) = answer else { return None };
            if msg.header.index != index as i32 {
                return None;
            }
            let kind = msg
                .attributes
                .iter()
                .find_map(|a| match a {
                    TcAttribute::Kind(kind) => Some(kind.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let tbf = if kind == "tbf" { tbf_from(&msg.attributes) } else { None };
            Some(Qdisc {
                kind,
                handle: u32::from(msg.header.handle),
                parent: u32::from(msg.header.parent),
                tbf,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbf_options_read_back() {
        for rate in [12_500_000u64, 1 << 33] {
            let tbf = Tbf { rate, limit: 437_500, buffer: 19_531_250 };
            let attributes = vec![TcAttribute::Kind("tbf".into()), TcAttribute::Options(tbf_options(&tbf))];
            assert_eq!(tbf_from(&attributes), Some(tbf));
            // As a dump parses it: one raw TCA_OPTIONS holding the nested attributes.
            let mut nested = Vec::new();
            for option in tbf_options(&tbf) {
                if let TcOption::Other(nla) = option {
                    let value = nla_value(&nla);
                    nested.extend_from_slice(&((value.len() + 4) as u16).to_ne_bytes());
                    nested.extend_from_slice(&nla.kind().to_ne_bytes());
                    nested.extend_from_slice(&value);
                }
            }
            let dumped =
                vec![TcAttribute::Options(vec![TcOption::Other(DefaultNla::new(TCA_OPTIONS, nested))])];
            assert_eq!(tbf_from(&dumped), Some(tbf));
        }
    }
}
