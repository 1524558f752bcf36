//! Reading RTM_NEWLINK answers straight from their bytes into a [`Link`]:
//! only the attributes a `Link` holds are looked at. netlink-packet-route
//! parses every attribute of the 1.5-2 KiB answer (statistics, the
//! address families' settings, XDP) into vectors first, and a bridge ADD
//! reads five links; this costs it nothing it uses.

use super::link::{IpvlanMode, Link, LinkKind, MacvlanMode};
use crate::kernel::nlattr::attributes;
use crate::spec::mac::format_mac;

/// Length of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;
const IFF_UP: u32 = 0x1;
const IFF_PROMISC: u32 = 0x100;
const IFF_ALLMULTI: u32 = 0x200;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_IFALIAS: u16 = 20;

const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
/// The first attribute of each kind's data: macvlan's and ipvlan's mode,
/// the VLAN's ID, the VRF's table.
const KIND_DATA_FIRST: u16 = 1;
const IF_OPER_UP: u8 = 6;

/// RTM_NEWLINK, the type of a GETLINK's answers.
pub(super) const RTM_NEWLINK: u16 = 16;

/// The link an RTM_NEWLINK message's payload (after the netlink header)
/// describes; `None` when it is too short to be one.
pub(super) fn link_from_payload(payload: &[u8]) -> Option<Link> {
    let header = payload.get(..IFINFOMSG_LEN)?;
    let index = u32::from_ne_bytes(header[4..8].try_into().ok()?);
    let flags = u32::from_ne_bytes(header[8..12].try_into().ok()?);
    let mut link = link_of_header(index, flags);
    for (kind, value) in attributes(&payload[IFINFOMSG_LEN..]) {
        match kind {
            IFLA_IFNAME => link.name = text(value),
            IFLA_ADDRESS if !value.is_empty() => link.mac = Some(format_mac(value)),
            IFLA_MTU => link.mtu = u32_of(value).unwrap_or(0),
            IFLA_TXQLEN => link.txqlen = u32_of(value).unwrap_or(0),
            IFLA_MASTER => link.master = u32_of(value),
            IFLA_LINK => link.peer_index = u32_of(value),
            IFLA_IFALIAS => link.alias = text(value),
            IFLA_OPERSTATE => link.oper_up = value.first() == Some(&IF_OPER_UP),
            IFLA_LINKINFO => link.kind = kind_of(value),
            _ => {}
        }
    }
    Some(link)
}

/// A link as its `ifinfomsg` header describes it (index and flags), its
/// attributes still to be read.
pub(super) fn link_of_header(index: u32, flags: u32) -> Link {
    Link {
        index,
        name: String::new(),
        up: flags & IFF_UP != 0,
        oper_up: false,
        promisc: flags & IFF_PROMISC != 0,
        allmulti: flags & IFF_ALLMULTI != 0,
        txqlen: 0,
        mac: None,
        mtu: 0,
        master: None,
        peer_index: None,
        alias: String::new(),
        kind: LinkKind::Other(String::new()),
    }
}

/// The kind from IFLA_LINKINFO, with the mode, ID or table its data gives.
fn kind_of(info: &[u8]) -> LinkKind {
    let nested = attributes(info);
    let name = nested.iter().find(|(k, _)| *k == IFLA_INFO_KIND).map(|(_, v)| text(v)).unwrap_or_default();
    let first = nested
        .iter()
        .find(|(k, _)| *k == IFLA_INFO_DATA)
        .and_then(|(_, data)| attributes(data).into_iter().find(|(k, _)| *k == KIND_DATA_FIRST))
        .map(|(_, v)| v);
    let u16_first = || first.and_then(|v| Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?)));
    match name.as_str() {
        "bridge" => LinkKind::Bridge,
        "veth" => LinkKind::Veth,
        "macvlan" => LinkKind::Macvlan(MacvlanMode::from_kernel(first.and_then(u32_of).unwrap_or(0))),
        "ipvlan" => LinkKind::Ipvlan(IpvlanMode::from_kernel(u16_first().unwrap_or(0))),
        "vlan" => LinkKind::Vlan(u16_first().unwrap_or(0)),
        "vrf" => LinkKind::Vrf(first.and_then(u32_of).unwrap_or(0)),
        _ => LinkKind::Other(name),
    }
}

fn u32_of(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// A NUL-terminated string attribute.
fn text(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}
