//! Links: look-up, veth pairs, bridges, bridge ports and their VLANs,
//! ifb devices, and child links of a parent (macvlan, ipvlan, 802.1q).

use std::os::fd::RawFd;

use netlink_packet_core::DefaultNla;
#[cfg(test)]
use netlink_packet_route::link::State;
use netlink_packet_route::link::{
    AfSpecBridge, BridgeVlanInfo, BridgeVlanInfoFlags, InfoBridge, InfoBridgePort, InfoData, InfoIpVlan,
    InfoKind, InfoMacVlan, InfoPortData, InfoPortKind, InfoVeth, InfoVlan, InfoVrf, IpVlanMode,
    LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{
    is_exists, is_gone, is_no_device, link_read, nl_error, Netlink, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
};

/// IFLA_IFALIAS.
const IFLA_IFALIAS: u16 = 20;
use crate::checked::IFNAME_MAX;
use crate::kernel::error::KernelError;
pub use crate::spec::mac::{format_mac, parse_mac};

/// The kind of a link, as far as plugins care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// A Linux bridge.
    Bridge,
    /// One end of a veth pair.
    Veth,
    /// A macvlan, with its mode.
    Macvlan(MacvlanMode),
    /// An ipvlan, with its mode.
    Ipvlan(IpvlanMode),
    /// An 802.1q VLAN, with its ID.
    Vlan(u16),
    /// A VRF, with its routing table.
    Vrf(u32),
    /// Anything else, with the kernel's kind name (empty for none).
    Other(String),
}

/// A macvlan's mode (MACVLAN_MODE_*), named as netconfs and `ip link` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    /// 1: no traffic between the master's macvlans.
    Private,
    /// 2: traffic between them through the external switch.
    Vepa,
    /// 4: traffic between them inside the host (the netconf's default).
    Bridge,
    /// 8: the one macvlan takes the master's traffic.
    Passthru,
    /// A mode a netconf cannot ask for, as the kernel reported it.
    Other(u32),
}

impl MacvlanMode {
    /// The mode a netconf's `mode` names (empty: bridge); `None` for an unknown one.
    pub fn parse(text: &str) -> Option<MacvlanMode> {
        match text {
            "" | "bridge" => Some(MacvlanMode::Bridge),
            "private" => Some(MacvlanMode::Private),
            "vepa" => Some(MacvlanMode::Vepa),
            "passthru" => Some(MacvlanMode::Passthru),
            _ => None,
        }
    }

    /// Its name, for messages.
    pub fn name(&self) -> String {
        match self {
            MacvlanMode::Private => "private".into(),
            MacvlanMode::Vepa => "vepa".into(),
            MacvlanMode::Bridge => "bridge".into(),
            MacvlanMode::Passthru => "passthru".into(),
            MacvlanMode::Other(mode) => format!("mode {mode}"),
        }
    }

    fn kernel(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
            MacvlanMode::Passthru => 8,
            MacvlanMode::Other(mode) => mode,
        }
    }

    pub(super) fn from_kernel(mode: u32) -> MacvlanMode {
        match mode {
            1 => MacvlanMode::Private,
            2 => MacvlanMode::Vepa,
            4 => MacvlanMode::Bridge,
            8 => MacvlanMode::Passthru,
            other => MacvlanMode::Other(other),
        }
    }
}

/// An ipvlan's mode (IPVLAN_MODE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanMode {
    /// 0: layer 2 (the netconf's default).
    L2,
    /// 1: layer 3.
    L3,
    /// 2: layer 3 with the host's netfilter.
    L3s,
    /// A mode a netconf cannot ask for, as the kernel reported it.
    Other(u16),
}

impl IpvlanMode {
    /// The mode a netconf's `mode` names (empty: l2); `None` for an unknown one.
    pub fn parse(text: &str) -> Option<IpvlanMode> {
        match text {
            "" | "l2" => Some(IpvlanMode::L2),
            "l3" => Some(IpvlanMode::L3),
            "l3s" => Some(IpvlanMode::L3s),
            _ => None,
        }
    }

    /// Its name, for messages.
    pub fn name(&self) -> String {
        match self {
            IpvlanMode::L2 => "l2".into(),
            IpvlanMode::L3 => "l3".into(),
            IpvlanMode::L3s => "l3s".into(),
            IpvlanMode::Other(mode) => format!("mode {mode}"),
        }
    }

    fn kernel(self) -> u16 {
        match self {
            IpvlanMode::L2 => 0,
            IpvlanMode::L3 => 1,
            IpvlanMode::L3s => 2,
            IpvlanMode::Other(mode) => mode,
        }
    }

    pub(super) fn from_kernel(mode: u16) -> IpvlanMode {
        match mode {
            0 => IpvlanMode::L2,
            1 => IpvlanMode::L3,
            2 => IpvlanMode::L3s,
            other => IpvlanMode::Other(other),
        }
    }
}

/// What plugins need to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Kernel interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Whether the administrative UP flag is set.
    pub up: bool,
    /// Whether the operational state is UP.
    pub oper_up: bool,
    /// Whether the PROMISC flag is set.
    pub promisc: bool,
    /// Whether the ALLMULTI flag is set.
    pub allmulti: bool,
    /// Transmit queue length.
    pub txqlen: u32,
    /// Hardware address as `aa:bb:cc:dd:ee:ff`, if the link has one.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Index of the master (bridge) the link is enslaved to.
    pub master: Option<u32>,
    /// The peer's index for a veth (in whatever namespace the peer is).
    pub peer_index: Option<u32>,
    /// The interface alias (host-device keeps the host name there).
    pub alias: String,
    /// What kind of link it is.
    pub kind: LinkKind,
}

/// What kind of child link to make of a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// A macvlan: its mode and the broadcast queue
    /// length (0 for the kernel's default).
    Macvlan { mode: MacvlanMode, bc_queue_len: u32 },
    /// An ipvlan and its mode.
    Ipvlan { mode: IpvlanMode },
    /// An 802.1q VLAN with its ID.
    Vlan { id: u16 },
}

impl ChildKind {
    /// The kind as `ip link` names it, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            ChildKind::Macvlan { .. } => "macvlan",
            ChildKind::Ipvlan { .. } => "ipvlan",
            ChildKind::Vlan { .. } => "vlan",
        }
    }
}

/// A child link to create on `parent` (an index in this namespace), made
/// in `netns` (a netns fd) under `name`.
pub struct ChildSpec<'a> {
    /// Name it gets (in `netns`).
    pub name: &'a str,
    /// The parent link's index.
    pub parent: u32,
    /// Its kind and kind-specific settings.
    pub kind: ChildKind,
    /// MTU, 0 for the parent's.
    pub mtu: u32,
    /// A fixed hardware address.
    pub mac: Option<[u8; 6]>,
    /// Where the link goes.
    pub netns: RawFd,
}

/// A veth pair to create: `name` here, `peer` moved into `peer_netns` (a netns fd).
pub struct VethSpec<'a> {
    /// Name of the end that stays in this namespace.
    pub name: &'a str,
    /// Name of the other end.
    pub peer: &'a str,
    /// MTU of both ends; 0 keeps the kernel default.
    pub mtu: u32,
    /// Hardware address for the end that stays here.
    pub mac: Option<[u8; 6]>,
    /// Namespace fd the peer is created in.
    pub peer_netns: RawFd,
}

/// The link a parsed message describes: what [`link_read`] reads from the
/// bytes, kept for the test that compares the two.
#[cfg(test)]
fn link_from_message(msg: &LinkMessage) -> Link {
    let mut link = link_read::link_of_header(msg.header.index, msg.header.flags.bits());
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name.clone(),
            LinkAttribute::Address(bytes) if !bytes.is_empty() => link.mac = Some(format_mac(bytes)),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::TxQueueLen(len) => link.txqlen = *len,
            LinkAttribute::Controller(index) => link.master = Some(*index),
            LinkAttribute::Link(index) => link.peer_index = Some(*index),
            LinkAttribute::IfAlias(alias) => link.alias = alias.clone(),
            LinkAttribute::OperState(state) => link.oper_up = *state == State::Up,
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        link.kind = match kind {
                            InfoKind::Bridge => LinkKind::Bridge,
                            InfoKind::Veth => LinkKind::Veth,
                            InfoKind::MacVlan => LinkKind::Macvlan(MacvlanMode::from_kernel(0)),
                            InfoKind::IpVlan => LinkKind::Ipvlan(IpvlanMode::from_kernel(0)),
                            InfoKind::Vlan => LinkKind::Vlan(0),
                            InfoKind::Vrf => LinkKind::Vrf(0),
                            other => LinkKind::Other(other.to_string()),
                        };
                    }
                    if let LinkInfo::Data(InfoData::MacVlan(data)) = info {
                        for item in data {
                            if let InfoMacVlan::Mode(mode) = item {
                                link.kind = LinkKind::Macvlan(MacvlanMode::from_kernel(u32::from(*mode)));
                            }
                        }
                    }
                    if let LinkInfo::Data(InfoData::Vrf(data)) = info {
                        for item in data {
                            if let InfoVrf::TableId(table) = item {
                                link.kind = LinkKind::Vrf(*table);
                            }
                        }
                    }
                    if let LinkInfo::Data(InfoData::Vlan(data)) = info {
                        for item in data {
                            if let InfoVlan::Id(id) = item {
                                link.kind = LinkKind::Vlan(*id);
                            }
                        }
                    }
                    if let LinkInfo::Data(InfoData::IpVlan(data)) = info {
                        for item in data {
                            if let InfoIpVlan::Mode(mode) = item {
                                link.kind = LinkKind::Ipvlan(IpvlanMode::from_kernel(u16::from(*mode)));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    link
}

/// A bridge port's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortFlags {
    /// Frames may leave by the port they came in on (hairpinMode).
    pub hairpin: bool,
    /// The port talks only to non-isolated ports (portIsolation).
    pub isolated: bool,
}

/// How a bridge port carries a VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VlanMembership {
    /// The port's own VLAN: PVID, egress untagged (an access port's).
    Access,
    /// Tagged both ways (a trunk's).
    Tagged,
}

/// Refuses a link name the kernel could never hold, before it goes into a
/// netlink message: a name of 64 KiB made the request overflow the
/// attribute length, and the plugin waited forever or panicked.
fn check_name(name: &str) -> Result<(), KernelError> {
    if crate::checked::is_link_name(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(20).collect();
    let more = if name.chars().count() > 20 { "..." } else { "" };
    Err(KernelError::invalid(format!(
        "invalid interface name {shown:?}{more} ({} bytes): 1 to {IFNAME_MAX} bytes, not \".\" or \"..\", no '/', ':', whitespace or control characters",
        name.len()
    )))
}

/// A message about the link at `index`.
fn of_index(index: u32) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message
}

/// A new link: its name, its kind and the kind's settings.
fn new_link(name: &str, kind: InfoKind, data: Option<InfoData>) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::IfName(name.to_string()));
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    message.attributes.push(LinkAttribute::LinkInfo(info));
    message
}

/// The request setting a link up, for a batch ([`Netlink::apply`]).
pub(super) fn link_up_request(index: u32) -> RouteNetlinkMessage {
    let mut message = of_index(index);
    set_flag(&mut message, LinkFlags::Up, true);
    RouteNetlinkMessage::SetLink(message)
}

/// Sets (or clears) a header flag and says it is to change.
fn set_flag(message: &mut LinkMessage, flag: LinkFlags, on: bool) {
    message.header.flags.set(flag, on);
    message.header.change_mask |= flag;
}

impl Netlink {
    fn get_link(&self, by: Result<u32, &str>) -> Result<Option<Link>, KernelError> {
        let mut message = match by {
            Ok(index) => of_index(index),
            Err(name) => {
                let mut message = LinkMessage::default();
                message.attributes.push(LinkAttribute::IfName(name.to_string()));
                message
            }
        };
        message.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        match self.get_raw(RouteNetlinkMessage::GetLink(message), 0) {
            Ok(answers) => Ok(answers
                .iter()
                .filter(|a| a.kind == link_read::RTM_NEWLINK)
                .find_map(|a| link_read::link_from_payload(a.payload()))),
            Err(e) if is_no_device(&e) => Ok(None),
            Err(e) => {
                let what = match by {
                    Ok(index) => format!("index {index}"),
                    Err(name) => format!("{name:?}"),
                };
                Err(nl_error(&format!("look up link {what}"), e))
            }
        }
    }

    fn link_dump(&self, message: LinkMessage, what: &str) -> Result<Vec<LinkMessage>, KernelError> {
        self.dump(RouteNetlinkMessage::GetLink(message), what, |a| match a {
            RouteNetlinkMessage::NewLink(msg) => Some(msg),
            _ => None,
        })
    }

    /// Every link in the namespace.
    pub fn links(&self) -> Result<Vec<Link>, KernelError> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let answers = self
            .get_raw(RouteNetlinkMessage::GetLink(message), NLM_F_DUMP)
            .map_err(|e| nl_error("list links", e))?;
        Ok(answers
            .iter()
            .filter(|a| a.kind == link_read::RTM_NEWLINK)
            .filter_map(|a| link_read::link_from_payload(a.payload()))
            .collect())
    }

    /// Looks a link up by name; `None` when it does not exist.
    pub fn link_by_name(&self, name: &str) -> Result<Option<Link>, KernelError> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        self.get_link(Err(name))
    }

    /// Looks a link up by index; `None` when it does not exist.
    pub fn link_by_index(&self, index: u32) -> Result<Option<Link>, KernelError> {
        self.get_link(Ok(index))
    }

    /// Changes a link (RTM_SETLINK).
    fn set(&self, message: LinkMessage, what: &str) -> Result<(), KernelError> {
        self.request(RouteNetlinkMessage::SetLink(message), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|e| nl_error(what, e))
    }

    /// Changes one attribute of a link.
    fn set_attribute(&self, index: u32, attribute: LinkAttribute, what: &str) -> Result<(), KernelError> {
        let mut message = of_index(index);
        message.attributes.push(attribute);
        self.set(message, what)
    }

    /// Sets a link administratively up or down.
    pub fn set_link_up(&self, index: u32, up: bool) -> Result<(), KernelError> {
        let mut message = of_index(index);
        set_flag(&mut message, LinkFlags::Up, up);
        self.set(message, &format!("set link {index} {}", if up { "up" } else { "down" }))
    }

    /// Turns promiscuous mode on or off.
    pub fn set_promisc(&self, index: u32, on: bool) -> Result<(), KernelError> {
        let mut message = of_index(index);
        set_flag(&mut message, LinkFlags::Promisc, on);
        self.set(message, &format!("set promisc on {index}"))
    }

    /// Turns the all-multicast flag on or off.
    pub fn set_allmulti(&self, index: u32, on: bool) -> Result<(), KernelError> {
        let mut message = of_index(index);
        set_flag(&mut message, LinkFlags::Allmulti, on);
        self.set(message, &format!("set allmulti on {index}"))
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), KernelError> {
        self.set_attribute(index, LinkAttribute::Mtu(mtu), &format!("set mtu {mtu} on {index}"))
    }

    /// Sets the transmit queue length.
    pub fn set_txqlen(&self, index: u32, len: u32) -> Result<(), KernelError> {
        self.set_attribute(index, LinkAttribute::TxQueueLen(len), &format!("set txqlen {len} on {index}"))
    }

    /// Sets the hardware address.
    pub fn set_mac(&self, index: u32, mac: &[u8; 6]) -> Result<(), KernelError> {
        self.set_attribute(index, LinkAttribute::Address(mac.to_vec()), &format!("set mac of {index}"))
    }

    /// Enslaves a link to a master (a bridge).
    pub fn set_master(&self, index: u32, master: u32) -> Result<(), KernelError> {
        self.set_attribute(
            index,
            LinkAttribute::Controller(master),
            &format!("attach link {index} to {master}"),
        )
    }

    /// Creates a bridge. Returns false when a link of that name already exists.
    pub fn add_bridge(&self, name: &str, mtu: u32, vlan_filtering: bool) -> Result<bool, KernelError> {
        check_name(name)?;
        let data = vlan_filtering.then(|| InfoData::Bridge(vec![InfoBridge::VlanFiltering(true)]));
        let mut message = new_link(name, InfoKind::Bridge, data);
        if mtu > 0 {
            message.attributes.push(LinkAttribute::Mtu(mtu));
        }
        self.add_link(message, || format!("create bridge {name:?}"))
    }

    /// Sends one RTM_NEWLINK: true when made, false when the name is taken
    /// (EEXIST); `what` words any other failure. Every link creation goes
    /// through here.
    fn add_link(&self, message: LinkMessage, what: impl FnOnce() -> String) -> Result<bool, KernelError> {
        match self.request(RouteNetlinkMessage::NewLink(message), NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => Ok(true),
            Err(e) if is_exists(&e) => Ok(false),
            Err(e) => Err(nl_error(&what(), e)),
        }
    }

    /// Creates an ifb device, up, with the given MTU and txqueuelen 0 (as
    /// the reference's). Returns false when the name is already taken.
    pub fn add_ifb(&self, name: &str, mtu: u32) -> Result<bool, KernelError> {
        check_name(name)?;
        let mut message = new_link(name, InfoKind::Ifb, None);
        message.attributes.extend([LinkAttribute::Mtu(mtu), LinkAttribute::TxQueueLen(0)]);
        set_flag(&mut message, LinkFlags::Up, true);
        self.add_link(message, || format!("create ifb {name:?}"))
    }

    /// Creates a macvlan, ipvlan or VLAN of a parent link. Returns false
    /// when the name is already taken.
    pub fn add_child(&self, spec: &ChildSpec) -> Result<bool, KernelError> {
        check_name(spec.name)?;
        let (kind, data) = match spec.kind {
            ChildKind::Macvlan { mode, bc_queue_len } => {
                let mut data = vec![InfoMacVlan::Mode(MacVlanMode::from(mode.kernel()))];
                if bc_queue_len > 0 {
                    data.push(InfoMacVlan::BcQueueLen(bc_queue_len));
                }
                (InfoKind::MacVlan, InfoData::MacVlan(data))
            }
            ChildKind::Ipvlan { mode } => {
                (InfoKind::IpVlan, InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::from(mode.kernel()))]))
            }
            ChildKind::Vlan { id } => (InfoKind::Vlan, InfoData::Vlan(vec![InfoVlan::Id(id)])),
        };
        let mut message = new_link(spec.name, kind, Some(data));
        // txqueuelen 0, as the reference's links of these kinds have.
        message.attributes.extend([
            LinkAttribute::Link(spec.parent),
            LinkAttribute::TxQueueLen(0),
            LinkAttribute::NetNsFd(spec.netns),
        ]);
        if spec.mtu > 0 {
            message.attributes.push(LinkAttribute::Mtu(spec.mtu));
        }
        if let Some(mac) = spec.mac {
            message.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        self.add_link(message, || format!("create {} {:?}", spec.kind.name(), spec.name))
    }

    /// Creates a VRF device for `table`, up. Returns false when the name is already taken.
    pub fn add_vrf(&self, name: &str, table: u32) -> Result<bool, KernelError> {
        check_name(name)?;
        let mut message = new_link(name, InfoKind::Vrf, Some(InfoData::Vrf(vec![InfoVrf::TableId(table)])));
        set_flag(&mut message, LinkFlags::Up, true);
        self.add_link(message, || format!("could not add VRF {name:?}"))
    }

    /// Creates a dummy link. Returns false when the name is already taken.
    pub fn add_dummy(&self, name: &str) -> Result<bool, KernelError> {
        check_name(name)?;
        self.add_link(new_link(name, InfoKind::Dummy, None), || format!("create dummy {name:?}"))
    }

    /// Moves a link into another namespace (a netns fd).
    pub fn set_netns(&self, index: u32, netns: RawFd) -> Result<(), KernelError> {
        self.set_attribute(index, LinkAttribute::NetNsFd(netns), &format!("move link {index}"))
    }

    /// Sets (or, with "", clears) a link's alias.
    pub fn set_alias(&self, index: u32, alias: &str) -> Result<(), KernelError> {
        // An empty IFLA_IFALIAS (no NUL) is what removes the alias.
        let attribute = if alias.is_empty() {
            LinkAttribute::Other(DefaultNla::new(IFLA_IFALIAS, Vec::new()))
        } else {
            LinkAttribute::IfAlias(alias.to_string())
        };
        self.set_attribute(index, attribute, &format!("set alias of link {index}"))
    }

    /// Renames a link (it must be down).
    pub fn rename_link(&self, index: u32, name: &str) -> Result<(), KernelError> {
        check_name(name)?;
        self.set_attribute(
            index,
            LinkAttribute::IfName(name.to_string()),
            &format!("rename link {index} to {name:?}"),
        )
    }

    /// Creates a veth pair. Returns false when a name is already taken.
    pub fn add_veth(&self, spec: &VethSpec) -> Result<bool, KernelError> {
        check_name(spec.name)?;
        check_name(spec.peer)?;
        // txqueuelen 0 on both ends, as the reference's veths have.
        let mut peer = LinkMessage::default();
        peer.attributes.extend([
            LinkAttribute::IfName(spec.peer.to_string()),
            LinkAttribute::TxQueueLen(0),
            LinkAttribute::NetNsFd(spec.peer_netns),
        ]);
        if spec.mtu > 0 {
            peer.attributes.push(LinkAttribute::Mtu(spec.mtu));
        }
        let mut message = new_link(spec.name, InfoKind::Veth, Some(InfoData::Veth(InfoVeth::Peer(peer))));
        message.attributes.push(LinkAttribute::TxQueueLen(0));
        if spec.mtu > 0 {
            message.attributes.push(LinkAttribute::Mtu(spec.mtu));
        }
        if let Some(mac) = spec.mac {
            message.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        self.add_link(message, || format!("create veth {:?} with peer {:?}", spec.name, spec.peer))
    }

    /// Deletes a link; a link already gone is no error.
    pub fn delete_link(&self, index: u32) -> Result<(), KernelError> {
        match self.request(RouteNetlinkMessage::DelLink(of_index(index)), 0) {
            Ok(()) => Ok(()),
            Err(e) if is_gone(&e) => Ok(()),
            Err(e) => Err(nl_error(&format!("delete link {index}"), e)),
        }
    }

    /// Sets a bridge port's hairpin and isolated flags.
    pub fn set_bridge_port(&self, index: u32, flags: PortFlags) -> Result<(), KernelError> {
        let mut message = of_index(index);
        message.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![
                InfoBridgePort::HairpinMode(flags.hairpin),
                InfoBridgePort::Isolated(flags.isolated),
            ])),
        ]));
        self.request(RouteNetlinkMessage::NewLink(message), 0)
            .map_err(|e| nl_error(&format!("set bridge port flags of {index}"), e))
    }

    /// The VLAN IDs of a bridge port.
    pub fn bridge_vlans(&self, index: u32) -> Result<Vec<u16>, KernelError> {
        let mut message = LinkMessage::default();
        message.header.interface_family = AddressFamily::Bridge;
        message.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::Brvlan]));
        let mut vlans = Vec::new();
        for msg in self.link_dump(message, "list bridge vlans")? {
            if msg.header.index != index {
                continue;
            }
            for attr in &msg.attributes {
                if let LinkAttribute::AfSpecBridge(specs) = attr {
                    for spec in specs {
                        if let AfSpecBridge::VlanInfo(info) = spec {
                            vlans.push(info.vid);
                        }
                    }
                }
            }
        }
        Ok(vlans)
    }

    /// A bridge port's VLAN entry.
    fn bridge_vlan_message(index: u32, vid: u16, flags: BridgeVlanInfoFlags) -> LinkMessage {
        let mut message = of_index(index);
        message.header.interface_family = AddressFamily::Bridge;
        message
            .attributes
            .push(LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(BridgeVlanInfo { vid, flags })]));
        message
    }

    /// Adds a VLAN to a bridge port.
    pub fn bridge_vlan_add(
        &self,
        index: u32,
        vid: u16,
        membership: VlanMembership,
    ) -> Result<(), KernelError> {
        let flags = match membership {
            VlanMembership::Access => BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged,
            VlanMembership::Tagged => BridgeVlanInfoFlags::empty(),
        };
        self.set(Self::bridge_vlan_message(index, vid, flags), &format!("add vlan {vid} to port {index}"))
    }

    /// Removes a VLAN from a bridge port.
    pub fn bridge_vlan_del(&self, index: u32, vid: u16) -> Result<(), KernelError> {
        let message = Self::bridge_vlan_message(index, vid, BridgeVlanInfoFlags::empty());
        self.request(RouteNetlinkMessage::DelLink(message), 0)
            .map_err(|e| nl_error(&format!("remove vlan {vid} from port {index}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CniError;
    use std::os::fd::AsRawFd;

    /// The links of a throwaway namespace (a bridge, a veth pair with one
    /// end a port of it, up, promiscuous and with an alias, a macvlan on
    /// the other end), read from their bytes, are what netlink-packet-route's
    /// full parse of the same answers gives.
    #[test]
    fn links_read_from_the_bytes_are_the_parsed_links() {
        let netns = crate::netns::Netns::temporary().expect("a namespace of its own (needs root)");
        let (read, parsed) = netns
            .with_netlink(|nl| {
                nl.add_bridge("rb0", 1400, false)?;
                let bridge = nl.link_by_name("rb0")?.ok_or_else(|| CniError::internal("rb0"))?;
                let own = std::fs::File::open("/proc/thread-self/ns/net")
                    .map_err(|e| CniError::internal(e.to_string()))?;
                let spec = VethSpec {
                    name: "rv0",
                    peer: "rv1",
                    mtu: 1400,
                    mac: Some([2, 0, 0, 0, 0, 7]),
                    peer_netns: std::os::fd::AsRawFd::as_raw_fd(&own),
                };
                nl.add_veth(&spec)?;
                let port = nl.link_by_name("rv0")?.ok_or_else(|| CniError::internal("rv0"))?;
                nl.set_link_up(port.index, true)?;
                nl.set_master(port.index, bridge.index)?;
                nl.set_promisc(port.index, true)?;
                nl.set_alias(port.index, "an alias")?;
                let other = nl.link_by_name("rv1")?.ok_or_else(|| CniError::internal("rv1"))?;
                let mode = MacvlanMode::Private;
                let kind = ChildKind::Macvlan { mode, bc_queue_len: 0 };
                let macvlan = ChildSpec {
                    name: "rm0",
                    parent: other.index,
                    kind,
                    mtu: 0,
                    mac: None,
                    netns: own.as_raw_fd(),
                };
                nl.add_child(&macvlan)?;
                let parsed: Vec<Link> = nl
                    .link_dump(LinkMessage::default(), "list links")?
                    .iter()
                    .map(link_from_message)
                    .collect();
                Ok((nl.links()?, parsed))
            })
            .expect("links made and listed");
        assert_eq!(read.len(), 5, "lo, rb0, rv0, rv1, rm0: {read:?}");
        assert_eq!(read, parsed);
        let port = read.iter().find(|l| l.name == "rv0").expect("rv0");
        assert!(port.up && port.promisc && port.master.is_some() && port.kind == LinkKind::Veth, "{port:?}");
        assert_eq!(
            (port.alias.as_str(), port.mtu, port.mac.as_deref()),
            ("an alias", 1400, Some("02:00:00:00:00:07"))
        );
        let macvlan = read.iter().find(|l| l.name == "rm0").expect("rm0");
        assert_eq!(macvlan.kind, LinkKind::Macvlan(MacvlanMode::Private));
        assert_eq!(read.iter().find(|l| l.name == "rb0").map(|l| &l.kind), Some(&LinkKind::Bridge));
    }

    #[test]
    fn modes_are_named_as_netconfs_name_them_and_keep_the_kernels_numbers() {
        for (text, kernel) in [("bridge", 4), ("private", 1), ("vepa", 2), ("passthru", 8)] {
            let mode = MacvlanMode::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((mode.name(), mode.kernel()), (text.to_string(), kernel));
            assert_eq!(MacvlanMode::from_kernel(kernel), mode);
        }
        assert_eq!(MacvlanMode::parse(""), Some(MacvlanMode::Bridge));
        assert_eq!(MacvlanMode::from_kernel(16).name(), "mode 16");
        assert_eq!(MacvlanMode::parse("source"), None);
        for (text, kernel) in [("l2", 0), ("l3", 1), ("l3s", 2)] {
            let mode = IpvlanMode::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((mode.name(), mode.kernel()), (text.to_string(), kernel));
            assert_eq!(IpvlanMode::from_kernel(kernel), mode);
        }
        assert_eq!(IpvlanMode::parse(""), Some(IpvlanMode::L2));
        assert_eq!(IpvlanMode::parse("l4"), None);
    }
}
