//! The client's UDP socket: port 68 on one interface of one network
//! namespace.
//!
//! It is opened in the namespace of the calling thread and stays bound
//! there: a daemon opens it on a short-lived thread inside the container's
//! netns (`cni::netns::Netns::run`) and uses it from anywhere afterwards.
//! `SO_BINDTODEVICE` confines it to the interface, so several interfaces
//! of one namespace each have their own port-68 socket (`SO_REUSEADDR`).
//! Before the client has an address it cannot receive unicast, so it asks
//! servers to broadcast (the BROADCAST flag); sends that must come from the
//! leased address (renewal, rebinding, release) name it with `IP_PKTINFO`.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// How long opening waits for the link to run (carrier, link watch) before
/// going on regardless: a link without carrier still gets a socket.
const RUNNING_WAIT: Duration = Duration::from_secs(2);

/// A bound port-68 socket and what it knows of its interface.
#[derive(Debug)]
pub struct DhcpSocket {
    socket: UdpSocket,
    ifname: String,
    ifindex: i32,
    mac: [u8; 6],
    brought_up: bool,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn set_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a live c_int and its size is passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// An `ifreq` naming `ifname` (checked by the caller to fit).
fn ifreq(ifname: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all zeros is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(ifname.bytes()) {
        *dst = src as libc::c_char;
    }
    req
}

fn ioctl(fd: RawFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: `req` is a valid ifreq for these SIOC* requests, which read
    // and write only within it.
    check(unsafe { libc::ioctl(fd, request as _, req as *mut libc::ifreq) }).map(drop)
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(*addr.ip()).to_be() },
        sin_zero: [0; 8],
    }
}

/// The MAC of `ifname` in the calling thread's netns; `None` when there is
/// no such interface. The daemon's link watch and its resume after a
/// restart ask this before they use a lease's interface.
pub fn interface_mac(ifname: &str) -> io::Result<Option<[u8; 6]>> {
    if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    // SAFETY: plain socket(2) call; the fd is owned right after.
    let raw = check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    match hardware_address(fd.as_raw_fd(), ifname) {
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
        Ok((_, mac)) => Ok(Some(mac)),
    }
}

/// `ifname`'s hardware type (an `ARPHRD_*`) and first six address bytes.
fn hardware_address(fd: RawFd, ifname: &str) -> io::Result<(libc::sa_family_t, [u8; 6])> {
    let mut req = ifreq(ifname);
    ioctl(fd, libc::SIOCGIFHWADDR, &mut req)?;
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *dst = *src as u8;
    }
    Ok((hw.sa_family, mac))
}

/// A MAC as text, `02:00:5e:..`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

impl DhcpSocket {
    /// Opens 0.0.0.0:68 on `ifname` in the calling thread's netns, and
    /// brings the interface up if it is down (as the reference does: a
    /// main plugin may call IPAM before it sets the link up).
    pub fn open(ifname: &str) -> io::Result<DhcpSocket> {
        if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ || ifname.bytes().any(|b| b == 0 || b == b'/')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name {ifname:?}"),
            ));
        }
        // SAFETY: plain socket(2) call; the fd is owned right after.
        let raw = check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let raw = fd.as_raw_fd();
        let ctx = |what: &'static str| {
            move |e: io::Error| io::Error::new(e.kind(), format!("{what} on {ifname}: {e}"))
        };

        let mut req = ifreq(ifname);
        ioctl(raw, libc::SIOCGIFINDEX, &mut req).map_err(ctx("no such interface"))?;
        // SAFETY: SIOCGIFINDEX filled the ifindex member of the union.
        let ifindex = unsafe { req.ifr_ifru.ifru_ifindex };

        let (hw_type, mac) = hardware_address(raw, ifname).map_err(ctx("reading the hardware address"))?;
        if hw_type != libc::ARPHRD_ETHER {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{ifname} is not an Ethernet interface (hardware type {hw_type})"),
            ));
        }

        let mut req = ifreq(ifname);
        ioctl(raw, libc::SIOCGIFFLAGS, &mut req).map_err(ctx("reading the link flags"))?;
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        let flags = unsafe { req.ifr_ifru.ifru_flags };
        let brought_up = flags & libc::IFF_UP as libc::c_short == 0;
        if brought_up {
            req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
            ioctl(raw, libc::SIOCSIFFLAGS, &mut req).map_err(ctx("setting the link up"))?;
        }
        // A link just set up drops what is sent until the kernel's link
        // watch marks it running (up to a second later): wait for that, a
        // little, so the first DISCOVER is not lost to a 4 s retransmission.
        let waited = std::time::Instant::now();
        while waited.elapsed() < RUNNING_WAIT {
            let mut req = ifreq(ifname);
            ioctl(raw, libc::SIOCGIFFLAGS, &mut req).map_err(ctx("reading the link flags"))?;
            // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
            if unsafe { req.ifr_ifru.ifru_flags } & libc::IFF_RUNNING as libc::c_short != 0 {
                break;
            }
            // The link watch marks a veth running within a fraction of a
            // millisecond (0.1-0.4 ms here), yet often after the first look:
            // a 10 ms nap cost most ADDs 10 ms.
            std::thread::sleep(Duration::from_millis(1));
        }

        set_int_option(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).map_err(ctx("SO_REUSEADDR"))?;
        set_int_option(raw, libc::SOL_SOCKET, libc::SO_BROADCAST, 1).map_err(ctx("SO_BROADCAST"))?;
        // SAFETY: the name bytes are live for the call and their length is passed.
        check(unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                ifname.as_ptr().cast(),
                ifname.len() as libc::socklen_t,
            )
        })
        .map_err(ctx("SO_BINDTODEVICE"))?;
        let local = sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, crate::message::CLIENT_PORT));
        // SAFETY: `local` is a valid sockaddr_in and its size is passed.
        check(unsafe {
            libc::bind(
                raw,
                (&local as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })
        .map_err(ctx("binding UDP port 68"))?;
        Ok(DhcpSocket { socket: UdpSocket::from(fd), ifname: ifname.to_string(), ifindex, mac, brought_up })
    }

    /// The interface's name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Whether opening set the link up (it was down).
    pub fn brought_up(&self) -> bool {
        self.brought_up
    }

    /// The interface's hardware address (the messages' chaddr).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Sends `bytes` to `dst`. With `source`, the packet leaves from that
    /// address (it must be on the interface) rather than one the kernel
    /// picks: a server may ignore a release from any other (plugins#1278).
    pub fn send(&self, bytes: &[u8], dst: SocketAddrV4, source: Option<Ipv4Addr>) -> io::Result<()> {
        let Some(source) = source else {
            self.socket.send_to(bytes, dst)?;
            return Ok(());
        };
        let mut to = sockaddr(dst);
        let mut iov = libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() };
        let info = libc::in_pktinfo {
            ipi_ifindex: self.ifindex,
            ipi_spec_dst: libc::in_addr { s_addr: u32::from(source).to_be() },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        // Room for one cmsghdr with an in_pktinfo, u64-aligned.
        let mut control = [0u64; 8];
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::in_pktinfo>() as u32) } as usize;
        debug_assert!(space <= std::mem::size_of_val(&control));
        // SAFETY: msghdr is plain old data; zeroed, then every used field set.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut to as *mut libc::sockaddr_in).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points at `control`, large enough for one
        // header and its data; CMSG_FIRSTHDR/CMSG_DATA stay within it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::IPPROTO_IP;
            (*cmsg).cmsg_type = libc::IP_PKTINFO;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::in_pktinfo>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>(), info);
        }
        // SAFETY: every pointer in `msg` refers to a live local above.
        let sent = unsafe { libc::sendmsg(self.socket.as_raw_fd(), &msg, 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` for one datagram; `None` when none came.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<(usize, SocketAddrV4)>> {
        if timeout.is_zero() {
            return Ok(None);
        }
        self.socket.set_read_timeout(Some(timeout))?;
        loop {
            match self.socket.recv_from(buf) {
                Ok((n, std::net::SocketAddr::V4(from))) => return Ok(Some((n, from))),
                Ok((_, std::net::SocketAddr::V6(_))) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
    }
}
