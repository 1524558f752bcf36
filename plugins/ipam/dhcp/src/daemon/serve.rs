//! The daemon's answers to plugin calls: ADD gets or reuses a lease, DEL
//! releases it, CHECK compares it with prevResult, GC releases what is no
//! longer valid, STATUS answers. Each runs on the connection's own thread.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, SystemTime};

use cni::{CniError, ErrorCode};

use super::leases::{log, Leases, Link};
use crate::client::{Client, Config};
use crate::config;
use crate::gorpc;
use crate::lease::Phase;
use crate::options::client_id;
use crate::protocol::{self, Request, Response, Verb, PROTOCOL};
use crate::result::lease_result;
use crate::socket::mac_text;
use crate::store::{key, LeaseRecord};

/// How long a connection may take to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// Serves one connection: a request line in, a response line out. A
/// reference (Go net/rpc) client is served in its own protocol, for as
/// many calls as it makes.
pub fn connection(leases: &Leases, mut stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(REQUEST_WAIT));
    let mut reader = BufReader::new(&stream);
    let mut line = Vec::new();
    if let Err(e) = (&mut reader).take(protocol::MAX_LINE).read_until(b'\n', &mut line) {
        return log(format!("reading a request: {e}"));
    }
    if line.is_empty() {
        // A probe that connected and closed (a readiness check).
        return;
    }
    if gorpc::is_go_client(&line) {
        if let Err(e) = gorpc::serve(reader, &stream, |request| answer(leases, request)) {
            log(format!("serving the reference dhcp plugin: {e}"));
        }
        return;
    }
    if line.starts_with(b"GET ") || line.starts_with(b"POST ") {
        log("refused an HTTP request that is no Go net/rpc call");
        let _ = stream.write_all(protocol::go_client_refusal());
        return;
    }
    let response = match serde_json::from_slice::<Request>(&line) {
        Ok(request) if request.protocol == PROTOCOL => match answer(leases, &request) {
            Ok(result) => Response::ok(result),
            Err(e) => Response::failed(&e),
        },
        Ok(request) => Response::failed(&CniError::internal(format!(
            "the dhcp daemon speaks {PROTOCOL}, the plugin {:?}: install one version of both",
            request.protocol
        ))),
        Err(e) => Response::failed(&CniError::new(ErrorCode::Decoding, format!("unreadable request: {e}"))),
    };
    let mut text = serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec());
    text.push(b'\n');
    if let Err(e) = stream.write_all(&text) {
        log(format!("answering a request: {e}"));
    }
}

fn answer(leases: &Leases, request: &Request) -> Result<Option<serde_json::Value>, CniError> {
    match request.verb {
        Verb::Add => add(leases, request).map(Some),
        Verb::Del => del(leases, request).map(|()| None),
        Verb::Check => check(leases, request).map(|()| None),
        Verb::Gc => gc(leases, request).map(|()| None),
        Verb::Status => Ok(None),
    }
}

/// ADD: the lease held for this attachment when there is one (the
/// reference's reuse), else a new one from the server, persisted before
/// the result goes back.
fn add(leases: &Leases, request: &Request) -> Result<serde_json::Value, CniError> {
    let conf = config::load(request.config.as_bytes(), &request.cni_args)?;
    let key = key(&request.container_id, &conf.name, &request.ifname);
    let _k = leases.lock_key(&key);
    if let Some(record) = leases.get(&key) {
        if record.lease.phase(SystemTime::now()) != Phase::Expired {
            return lease_result(&record.lease, conf.priority)?.to_json(cni::version::CURRENT);
        }
    }
    let path = leases.netns_path(&request.netns);
    let netns = cni::netns::Netns::open(&path)?;
    let config = Config {
        ifname: request.ifname.clone(),
        client_id: client_id(&request.container_id, &conf.name, &request.ifname),
        options: conf.options.clone(),
        timing: leases.timing(),
    };
    let client = Client::open_in(&netns, config)?;
    let (lease, mac) = (client.acquire()?, client.mac());
    let record = LeaseRecord {
        network: conf.name.clone(),
        container_id: request.container_id.clone(),
        ifname: request.ifname.clone(),
        netns: request.netns.clone(),
        mac: mac_text(&mac),
        options: conf.options,
        lease,
    };
    let result = lease_result(&record.lease, conf.priority).and_then(|r| r.to_json(cni::version::CURRENT));
    let held = result.and_then(|r| leases.hold(record.clone()).map(|()| r));
    match held {
        Ok(result) => {
            log(format!("{key}: leased {} from {}", record.lease.address, record.lease.server_id));
            Ok(result)
        }
        Err(e) => {
            // Not usable or not kept: give it back (best effort: the
            // address is not on the interface yet).
            if let Ok(Link::Present(client)) = leases.open(&record) {
                let _ = client.release(&record.lease);
            }
            let _ = leases.forget(&key);
            Err(e)
        }
    }
}

/// DEL: release and forget; nothing held is no error.
fn del(leases: &Leases, request: &Request) -> Result<(), CniError> {
    let (name, _) = config::load_del(request.config.as_bytes());
    let key = key(&request.container_id, &name, &request.ifname);
    let _k = leases.lock_key(&key);
    leases.release(&key, "DEL")
}

/// CHECK: a lease must be held for the attachment, unexpired, on its
/// interface, for the address prevResult reports.
fn check(leases: &Leases, request: &Request) -> Result<(), CniError> {
    let conf = config::load(request.config.as_bytes(), &request.cni_args)?;
    let key = key(&request.container_id, &conf.name, &request.ifname);
    let _k = leases.lock_key(&key);
    let record = leases
        .get(&key)
        .ok_or_else(|| CniError::internal(format!("the dhcp daemon holds no lease for {key}")))?;
    if record.lease.phase(SystemTime::now()) == Phase::Expired {
        return Err(CniError::internal(format!(
            "the lease of {} for {key} has expired",
            record.lease.address
        )));
    }
    if let Some(why) = leases.gone(&record)? {
        return Err(CniError::internal(format!("the lease of {key}: {why}")));
    }
    let prev = conf.prev_result.ok_or_else(|| CniError::config("CHECK needs a prevResult"))?;
    let leased = std::net::IpAddr::V4(record.lease.address);
    if prev.ips.iter().any(|ip| ip.address.ip() == leased) {
        return Ok(());
    }
    let reported: Vec<String> = prev.ips.iter().map(|ip| ip.address.to_string()).collect();
    Err(CniError::internal(format!(
        "the dhcp daemon holds {leased} for {key}, prevResult reports {}",
        if reported.is_empty() { "no address".to_string() } else { reported.join(", ") }
    )))
}

/// GC: release every lease of this network whose attachment is not valid.
fn gc(leases: &Leases, request: &Request) -> Result<(), CniError> {
    let conf = config::load(request.config.as_bytes(), &request.cni_args)?;
    let valid = |r: &LeaseRecord| {
        conf.valid_attachments.iter().any(|a| a.container_id == r.container_id && a.ifname == r.ifname)
    };
    let mut failed = None;
    for key in leases.keys_where(|r| r.network == conf.name && !valid(r)) {
        let _k = leases.lock_key(&key);
        if let Err(e) = leases.release(&key, "GC") {
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}
