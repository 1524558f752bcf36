//! DHCP fixtures for the dhcp tests: dnsmasq on a test netns, a scripted
//! server for what dnsmasq cannot be made to do quickly (short leases,
//! silence, NAKs, chosen options), and `dhcp daemon` run as a process of
//! the test. All stay in namespaces the test made; everything is stopped
//! on drop.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{in_netns, TestNetns};

/// Polls `f` every 20 ms for up to `limit`.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// The client id the reference sends for an attachment, as dnsmasq writes
/// it: 0x00 then "<containerID>/<net>/<ifname>", hex with colons.
pub fn client_id_hex(container_id: &str, net: &str, ifname: &str) -> String {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(format!("{container_id}/{net}/{ifname}").as_bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// dnsmasq serving DHCP on one interface of a test netns, DNS off, with
/// its lease, pid and log files in a temp dir.
pub struct Dnsmasq {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq in `netns` on `interface` with `range`
    /// (`first,last,mask,time`) and `extra` options; waits until it serves.
    pub fn start(netns: &TestNetns, interface: &str, range: &str, extra: &[&str]) -> Dnsmasq {
        let dir = tempfile::tempdir().expect("temp dir");
        let arg = |flag: &str, name: &str| format!("--{flag}={}", dir.path().join(name).display());
        let child = in_netns(&netns.name, "dnsmasq")
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--port=0",
                &format!("--interface={interface}"),
                "--bind-interfaces",
                "--user=root",
                "--no-ping",
                "--log-dhcp",
                &format!("--dhcp-range={range}"),
                &arg("dhcp-leasefile", "leases"),
                &arg("pid-file", "pid"),
                &arg("log-facility", "log"),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dnsmasq (Debian package dnsmasq-base; scripts/test installs it)");
        let mut d = Dnsmasq { child: Some(child), dir };
        let ready = wait_for(Duration::from_secs(10), || {
            if let Some(status) = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("dnsmasq exited ({status})");
            }
            d.log().contains("DHCP, sockets bound")
        });
        assert!(ready, "dnsmasq not ready: {}", d.log());
        d
    }

    /// dnsmasq's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The lease file: (expiry, MAC, address, client id) per line.
    pub fn leases(&self) -> Vec<(u64, String, String, String)> {
        std::fs::read_to_string(self.dir.path().join("leases"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                (f.len() >= 5).then(|| (f[0].parse().unwrap_or(0), f[1].into(), f[2].into(), f[4].into()))
            })
            .collect()
    }

    /// Whether the lease file has a lease for `address` (waiting up to 5 s
    /// for it to become `present`).
    pub fn has_lease_within(&self, address: &str, present: bool) -> bool {
        wait_for(Duration::from_secs(5), || self.leases().iter().any(|l| l.2 == address) == present)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One message the scripted server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Message type (option 53).
    pub kind: u8,
    /// The flags field.
    pub flags: u16,
    /// ciaddr.
    pub ciaddr: [u8; 4],
    /// The options, in order.
    pub options: Vec<(u8, Vec<u8>)>,
    /// The source address and port.
    pub from: SocketAddr,
    /// The destination address in the IP header (255.255.255.255 for a
    /// broadcast, the server's for a unicast).
    pub to: std::net::Ipv4Addr,
    /// When it came.
    pub at: Instant,
}

impl Seen {
    /// An option's value.
    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        self.options.iter().find(|(c, _)| *c == code).map(|(_, v)| v.clone())
    }
}

/// What the scripted server grants and how it behaves; change it while
/// it runs through [`Scripted::script`].
#[derive(Debug, Clone)]
pub struct Script {
    /// The address offered (yiaddr).
    pub address: [u8; 4],
    /// The server id (option 54) and router (option 3).
    pub server: [u8; 4],
    /// Lease time, T1, T2 in seconds.
    pub times: (u32, u32, u32),
    /// REQUESTs to NAK before granting.
    pub naks: usize,
    /// Whether REQUESTs with ciaddr (renewing, rebinding) are answered.
    pub answer_confirmations: bool,
    /// More options in every OFFER and ACK.
    pub extra: Vec<(u8, Vec<u8>)>,
}

impl Script {
    /// Offers `.77` of the server's /24, lease 300 s, T1 100, T2 200.
    pub fn new(server: [u8; 4]) -> Script {
        Script {
            address: [server[0], server[1], server[2], 77],
            server,
            times: (300, 100, 200),
            naks: 0,
            answer_confirmations: true,
            extra: Vec::new(),
        }
    }
}

/// Parses a DHCP packet's options.
pub fn options(pkt: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 240;
    while at + 1 < pkt.len() && pkt[at] != 255 {
        if pkt[at] == 0 {
            at += 1;
            continue;
        }
        let len = pkt[at + 1] as usize;
        let Some(value) = pkt.get(at + 2..at + 2 + len) else { break };
        out.push((pkt[at], value.to_vec()));
        at += 2 + len;
    }
    out
}

fn reply(req: &[u8], kind: u8, script: &Script, extra: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 2;
    p[1] = 1;
    p[2] = 6;
    p[4..8].copy_from_slice(&req[4..8]);
    p[10..12].copy_from_slice(&req[10..12]);
    if kind != 6 {
        p[16..20].copy_from_slice(&script.address);
    }
    p[28..44].copy_from_slice(&req[28..44]);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind, 54, 4]);
    p.extend_from_slice(&script.server);
    for (c, v) in extra {
        p.push(*c);
        p.push(v.len() as u8);
        p.extend_from_slice(v);
    }
    p.push(255);
    p
}

/// A DHCP server scripted by the test, on port 67 of one interface of a
/// test netns: it records every message and answers by its [`Script`].
pub struct Scripted {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scripted {
    /// Serves on `interface` of `netns`.
    pub fn start(netns: &TestNetns, interface: &str, script: Script) -> Scripted {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let (seen, script, stop, interface) =
                (seen.clone(), script.clone(), stop.clone(), interface.to_string());
            netns.run(move || {
                let socket = bound_socket(&interface);
                let _ = tx.send(());
                serve(&socket, &seen, &script, &stop)
            })
        };
        rx.recv_timeout(Duration::from_secs(5)).expect("scripted server ready");
        Scripted { seen, script, stop, thread: Some(thread) }
    }

    /// A copy of what was received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    /// Changes the script.
    pub fn change(&self, f: impl FnOnce(&mut Script)) {
        f(&mut self.script.lock().expect("script"));
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bound_socket(interface: &str) -> UdpSocket {
    let socket = super::bind_retrying("port 67", || UdpSocket::bind("0.0.0.0:67"));
    // SAFETY: the name bytes are live for the call and their length is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            interface.as_ptr().cast(),
            interface.len() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_BINDTODEVICE {interface}");
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live c_int and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "IP_PKTINFO");
    socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    socket.set_broadcast(true).expect("broadcast");
    socket
}

/// One datagram with its source and the destination of its IP header.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr, std::net::Ipv4Addr)> {
    // SAFETY: every pointer handed to recvmsg refers to a live local of
    // the stated size; the control buffer is u64-aligned and walked with
    // the CMSG_* macros only within msg_controllen.
    unsafe {
        let mut from: libc::sockaddr_in = std::mem::zeroed();
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut from as *mut libc::sockaddr_in).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(socket.as_raw_fd(), &mut msg, 0);
        if n < 0 {
            return None;
        }
        let mut to = std::net::Ipv4Addr::UNSPECIFIED;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                let info = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>());
                to = std::net::Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        let ip = std::net::Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr));
        Some((n as usize, SocketAddr::from((ip, u16::from_be(from.sin_port))), to))
    }
}

fn serve(socket: &UdpSocket, seen: &Mutex<Vec<Seen>>, script: &Mutex<Script>, stop: &AtomicBool) {
    let mut requests = 0;
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::SeqCst) {
        let Some((n, from, to)) = receive(socket, &mut buf) else { continue };
        let pkt = &buf[..n];
        if pkt.len() < 240 {
            continue;
        }
        let opts = options(pkt);
        let kind = opts.iter().find(|(c, _)| *c == 53).and_then(|(_, v)| v.first().copied()).unwrap_or(0);
        let ciaddr = [pkt[12], pkt[13], pkt[14], pkt[15]];
        let flags = u16::from_be_bytes([pkt[10], pkt[11]]);
        seen.lock().expect("seen").push(Seen {
            kind,
            flags,
            ciaddr,
            options: opts,
            from,
            to,
            at: Instant::now(),
        });
        let s = script.lock().expect("script").clone();
        let (lease, t1, t2) = s.times;
        let mut granted: Vec<(u8, Vec<u8>)> = vec![
            (1, vec![255, 255, 255, 0]),
            (3, s.server.to_vec()),
            (51, lease.to_be_bytes().to_vec()),
            (58, t1.to_be_bytes().to_vec()),
            (59, t2.to_be_bytes().to_vec()),
        ];
        granted.extend(s.extra.iter().cloned());
        let answer = match kind {
            1 => reply(pkt, 2, &s, &granted),
            3 if ciaddr != [0; 4] && !s.answer_confirmations => continue,
            3 if requests < s.naks => {
                requests += 1;
                reply(pkt, 6, &s, &[(56, b"scripted refusal".to_vec())])
            }
            3 => reply(pkt, 5, &s, &granted),
            _ => continue,
        };
        let _ = socket.send_to(&answer, "255.255.255.255:68");
    }
}

/// `dhcp daemon` run by a test in its host netns, with its socket, lease
/// directory, pidfile and log in a temp dir; killed on drop.
pub struct Daemon {
    child: Option<Child>,
    pub dir: PathBuf,
    program: PathBuf,
    netns: String,
    extra: Vec<String>,
}

impl Daemon {
    /// Starts `program daemon` (a `dhcp` link) in `netns` with its files
    /// under `dir` and `extra` flags; waits until the socket answers.
    pub fn start(program: &Path, netns: &TestNetns, dir: &Path, extra: &[&str]) -> Daemon {
        let mut d = Daemon {
            child: None,
            dir: dir.to_path_buf(),
            program: program.to_path_buf(),
            netns: netns.name.clone(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        d.restart();
        d
    }

    /// The socket path.
    pub fn socket(&self) -> String {
        self.dir.join("dhcp.sock").display().to_string()
    }

    /// The lease directory.
    pub fn lease_dir(&self) -> PathBuf {
        self.dir.join("leases")
    }

    /// The lease files there.
    pub fn lease_files(&self) -> Vec<String> {
        std::fs::read_dir(self.lease_dir())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// What the daemon logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Starts it (again).
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("daemon.log"))
            .expect("daemon log");
        let child = in_netns(&self.netns, &self.program)
            .arg("daemon")
            .args(["-socketpath", &self.socket()])
            .arg(format!("--leasedir={}", self.lease_dir().display()))
            .args(["-pidfile", &self.dir.join("pid").display().to_string()])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dhcp daemon");
        self.child = Some(child);
        let socket = self.socket();
        let up =
            wait_for(Duration::from_secs(10), || std::os::unix::net::UnixStream::connect(&socket).is_ok());
        assert!(up, "dhcp daemon not serving: {}", self.log());
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Its thread count (from /proc).
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        let child = self.child.as_mut()?;
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().ok()?;
        self.child = None;
        status.code()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
