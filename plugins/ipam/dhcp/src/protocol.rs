//! The socket protocol between our dhcp plugin and our daemon: one JSON
//! line each way per connection. The reference's plugin and daemon speak
//! Go's net/rpc over HTTP on the same socket path; each of ours recognises
//! the other side's and speaks it too (`gorpc`).
//!
//! Ours: the plugin sends a [`Request`] (`{"protocol":"cnictl-dhcp/1",..}`
//! and a newline), the daemon answers one [`Response`] line and closes.
//! The reference's plugin opens with `CONNECT /_goRPC_ HTTP/1.0`, which our
//! daemon serves in that protocol. A Go daemon answers our line with an
//! HTTP 400 ([`CallError::GoDaemon`]), and our plugin calls it again in its
//! protocol.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use cni::CniError;
use serde::{Deserialize, Serialize};

/// The protocol's name and version, first in every request.
pub const PROTOCOL: &str = "cnictl-dhcp/1";

/// The largest line either side reads.
pub const MAX_LINE: u64 = 1 << 20;

/// How long a plugin waits for the daemon's answer: longer than an
/// acquisition may take with the default `-resendtimeout` (208 s).
pub const ANSWER_WAIT: Duration = Duration::from_secs(300);

/// What the reference's plugin sends first.
pub const GO_RPC_CONNECT: &str = "CONNECT /_goRPC_";

/// A verb the daemon serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Get (or reuse) a lease.
    Add,
    /// Release and forget a lease.
    Del,
    /// Verify the lease matches prevResult.
    Check,
    /// Release leases of attachments that are not valid.
    Gc,
    /// Answer, to show the daemon runs.
    Status,
}

/// One plugin call, as the daemon needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// [`PROTOCOL`].
    pub protocol: String,
    /// The verb.
    pub verb: Verb,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`.
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_ARGS`.
    pub cni_args: String,
    /// The netconf, as the plugin read it from stdin.
    pub config: String,
}

/// The daemon's answer: a CNI result (1.1.0 JSON) or a spec error.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// ADD's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The failure, as a spec error object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
    /// The daemon's version.
    #[serde(default)]
    pub daemon: String,
}

impl Response {
    /// A success, with a result or none.
    pub fn ok(result: Option<serde_json::Value>) -> Response {
        Response { result, error: None, daemon: env!("CARGO_PKG_VERSION").to_string() }
    }

    /// A failure.
    pub fn failed(err: &CniError) -> Response {
        Response {
            result: None,
            error: Some(err.to_json(cni::version::CURRENT)),
            daemon: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Why a call to the daemon failed.
#[derive(Debug)]
pub enum CallError {
    /// Nothing listens on the socket (missing, or refused).
    NotRunning(io::Error),
    /// The reference's Go daemon answered.
    GoDaemon,
    /// Another failure talking to the daemon.
    Io(io::Error),
}

impl CallError {
    /// The error a plugin reports, naming the socket and what to do.
    pub fn to_cni(&self, socket: &str, code: cni::ErrorCode) -> CniError {
        match self {
            CallError::NotRunning(e) => CniError::new(
                code,
                format!("the dhcp daemon does not answer on {socket}: {e}"),
            )
            .with_details(format!(
                "start it with `dhcp daemon -socketpath {socket}` (the dhcp link in the CNI plugin \
                 directory), or `systemctl start cni-dhcp.socket`"
            )),
            CallError::GoDaemon => CniError::new(
                code,
                format!("the daemon on {socket} is the reference (Go) dhcp daemon, which does not serve this call"),
            ),
            CallError::Io(e) => CniError::new(code, format!("talking to the dhcp daemon on {socket}: {e}")),
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes.
pub fn read_line(stream: impl Read) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_LINE)).read_until(b'\n', &mut line)?;
    Ok(line)
}

/// Sends `request` to the daemon at `socket` and waits for its answer.
pub fn call(socket: &str, request: &Request) -> Result<Response, CallError> {
    call_within(socket, request, ANSWER_WAIT)
}

/// [`call`], waiting at most `wait` for the answer.
pub fn call_within(socket: &str, request: &Request, wait: Duration) -> Result<Response, CallError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => CallError::NotRunning(e),
        _ => CallError::Io(e),
    })?;
    stream.set_read_timeout(Some(wait)).map_err(CallError::Io)?;
    stream.set_write_timeout(Some(wait)).map_err(CallError::Io)?;
    let mut line = serde_json::to_vec(request).map_err(|e| CallError::Io(io::Error::other(e)))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(CallError::Io)?;
    let answer = read_line(&stream).map_err(CallError::Io)?;
    if answer.starts_with(b"HTTP/") {
        return Err(CallError::GoDaemon);
    }
    if answer.is_empty() {
        return Err(CallError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the daemon closed without answering",
        )));
    }
    serde_json::from_slice(&answer).map_err(|e| {
        CallError::Io(io::Error::new(io::ErrorKind::InvalidData, format!("unreadable answer: {e}")))
    })
}

/// A STATUS request with nothing else: what doctor and STATUS send.
pub fn status_request() -> Request {
    Request {
        protocol: PROTOCOL.to_string(),
        verb: Verb::Status,
        container_id: String::new(),
        netns: String::new(),
        ifname: String::new(),
        cni_args: String::new(),
        config: String::new(),
    }
}

/// The daemon's answer to an HTTP request that is no net/rpc session: a
/// status line a Go client prints as "unexpected HTTP response: ...".
pub fn go_client_refusal() -> &'static [u8] {
    b"HTTP/1.0 501 this socket is served by the cnictl dhcp daemon: it takes its own requests and Go net/rpc sessions (CONNECT /_goRPC_)\r\n\r\n"
}

/// The outcome of a response for the plugin: the result, or the error.
pub fn outcome(response: Response) -> Result<Option<serde_json::Value>, CniError> {
    match response.error {
        Some(e) => Err(CniError::from_json(&e)
            .unwrap_or_else(|| CniError::internal(format!("the dhcp daemon failed: {e}")))),
        None => Ok(response.result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_and_error_round_trip() {
        let r = Request {
            protocol: PROTOCOL.into(),
            verb: Verb::Gc,
            container_id: "c".into(),
            netns: String::new(),
            ifname: "eth0".into(),
            cni_args: String::new(),
            config: "{}".into(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"protocol":"cnictl-dhcp/1","verb":"gc""#), "{text}");
        let err = CniError::new(cni::ErrorCode::TryAgainLater, "no offer");
        let back = outcome(Response::failed(&err)).unwrap_err();
        assert_eq!((back.code, back.msg.as_str()), (11, "no offer"));
        assert_eq!(outcome(Response::ok(None)).unwrap(), None);
    }
}
