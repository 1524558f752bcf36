//! The reference's protocol between the dhcp plugin and daemon, so that
//! either of ours talks to the other of the reference during a rolling
//! upgrade: Go's net/rpc over HTTP on the unix socket. The client sends
//! `CONNECT /_goRPC_ HTTP/1.0` and a blank line, the server answers
//! `HTTP/1.0 200 Connected to Go RPC` and a blank line; then each call is
//! a gob `Request` header (method, sequence number) and the method's
//! argument, each answer a `Response` header (method, sequence, error
//! text) and the reply. The methods: `DHCP.Allocate(skel.CmdArgs) ->
//! current.Result` (ADD and CHECK: the lease held, or a new one) and
//! `DHCP.Release(skel.CmdArgs) -> struct{}` (DEL).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use cni::{CniError, CniResult};
use ipnetwork::IpNetwork;

use crate::gob::{self, Decoder, Encoder, Shape, SliceShape, StructShape, Value};
use crate::protocol::{Request, Verb, PROTOCOL};

/// The method ADD and CHECK call.
pub const ALLOCATE: &str = "DHCP.Allocate";
/// The method DEL calls.
pub const RELEASE: &str = "DHCP.Release";

/// What the client sends to open the RPC session.
const CONNECT: &[u8] = b"CONNECT /_goRPC_ HTTP/1.0\n\n";
/// The server's answer to it.
const CONNECTED: &[u8] = b"HTTP/1.0 200 Connected to Go RPC\n\n";

const STRING: Shape = Shape::Builtin(gob::STRING);
const BYTES: Shape = Shape::Builtin(gob::BYTES);
const INT: Shape = Shape::Builtin(gob::INT);

/// net/rpc's call header.
static REQUEST_HEADER: StructShape = StructShape {
    id: 65,
    name: "Request",
    fields: &[("ServiceMethod", STRING), ("Seq", Shape::Builtin(gob::UINT))],
};

/// net/rpc's answer header.
static RESPONSE_HEADER: StructShape = StructShape {
    id: 66,
    name: "Response",
    fields: &[("ServiceMethod", STRING), ("Seq", Shape::Builtin(gob::UINT)), ("Error", STRING)],
};

/// skel.CmdArgs, the argument of both methods.
static CMD_ARGS: StructShape = StructShape {
    id: 67,
    name: "CmdArgs",
    fields: &[
        ("ContainerID", STRING),
        ("Netns", STRING),
        ("IfName", STRING),
        ("Args", STRING),
        ("Path", STRING),
        ("StdinData", BYTES),
    ],
};

/// `struct{}`: Release's reply, and the body of an error answer.
static EMPTY: StructShape = StructShape { id: 68, name: "", fields: &[] };

static IPNET: StructShape = StructShape { id: 69, name: "IPNet", fields: &[("IP", BYTES), ("Mask", BYTES)] };

static IPCONFIG: StructShape = StructShape {
    id: 70,
    name: "IPConfig",
    fields: &[("Interface", INT), ("Address", Shape::Struct(&IPNET)), ("Gateway", BYTES)],
};

static IPCONFIGS: SliceShape =
    SliceShape { id: 71, name: "[]*types100.IPConfig", elem: Shape::Struct(&IPCONFIG) };

static ROUTE: StructShape = StructShape {
    id: 72,
    name: "Route",
    fields: &[
        ("Dst", Shape::Struct(&IPNET)),
        ("GW", BYTES),
        ("MTU", INT),
        ("AdvMSS", INT),
        ("Priority", INT),
        ("Table", INT),
        ("Scope", INT),
    ],
};

static ROUTES: SliceShape = SliceShape { id: 73, name: "[]*types.Route", elem: Shape::Struct(&ROUTE) };

static STRINGS: SliceShape = SliceShape { id: 74, name: "[]string", elem: STRING };

static DNS: StructShape = StructShape {
    id: 75,
    name: "DNS",
    fields: &[
        ("Nameservers", Shape::Slice(&STRINGS)),
        ("Domain", STRING),
        ("Search", Shape::Slice(&STRINGS)),
        ("Options", Shape::Slice(&STRINGS)),
    ],
};

/// current.Result, Allocate's reply (interfaces: the daemon has none;
/// CNIVersion is never sent).
static RESULT: StructShape = StructShape {
    id: 76,
    name: "Result",
    fields: &[
        ("CNIVersion", STRING),
        ("IPs", Shape::Slice(&IPCONFIGS)),
        ("Routes", Shape::Slice(&ROUTES)),
        ("DNS", Shape::Struct(&DNS)),
    ],
};

fn field(name: &str, value: Value) -> (String, Value) {
    (name.to_string(), value)
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn ipnet(net: &IpNetwork) -> Value {
    let mask = match net {
        IpNetwork::V4(n) => n.mask().octets().to_vec(),
        IpNetwork::V6(n) => n.mask().octets().to_vec(),
    };
    Value::Struct(vec![field("IP", Value::Bytes(ip_bytes(net.ip()))), field("Mask", Value::Bytes(mask))])
}

/// A CNI result as current.Result's gob value.
pub fn result_value(result: &CniResult) -> Value {
    let ips = result
        .ips
        .iter()
        .map(|ip| {
            let mut fields = vec![field("Address", ipnet(&ip.address))];
            if let Some(index) = ip.interface {
                fields.insert(0, field("Interface", Value::Int(index as i64)));
            }
            if let Some(gw) = ip.gateway {
                fields.push(field("Gateway", Value::Bytes(ip_bytes(gw))));
            }
            Value::Struct(fields)
        })
        .collect();
    let routes = result
        .routes
        .iter()
        .map(|r| {
            let mut fields = vec![field("Dst", ipnet(&r.dst))];
            if let Some(gw) = r.gw {
                fields.push(field("GW", Value::Bytes(ip_bytes(gw))));
            }
            fields.push(field("MTU", Value::Int(i64::from(r.mtu))));
            fields.push(field("AdvMSS", Value::Int(i64::from(r.advmss))));
            fields.push(field("Priority", Value::Int(i64::from(r.priority))));
            fields.extend(r.table.map(|t| field("Table", Value::Int(t))));
            fields.extend(r.scope.map(|s| field("Scope", Value::Int(s))));
            Value::Struct(fields)
        })
        .collect();
    let strings = |items: &[String]| Value::List(items.iter().cloned().map(Value::String).collect());
    let dns = Value::Struct(vec![
        field("Nameservers", strings(&result.dns.nameservers)),
        field("Domain", Value::String(result.dns.domain.clone())),
        field("Search", strings(&result.dns.search)),
        field("Options", strings(&result.dns.options)),
    ]);
    // No CNIVersion, as the reference daemon sends none: the plugin's own
    // (the version it converts from) must stay.
    Value::Struct(vec![
        field("IPs", Value::List(ips)),
        field("Routes", Value::List(routes)),
        field("DNS", dns),
    ])
}

/// An address from Go's `net.IP` bytes (an IPv4-mapped one as IPv4).
fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            Some(v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)))
        }
        _ => None,
    }
}

/// A `net.IPNet` value as an address with its prefix length.
fn ipnet_of(value: &Value) -> Option<IpNetwork> {
    let ip = ip_of(&value.bytes("IP"))?;
    let mask = value.bytes("Mask");
    let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
    // A 16-byte mask of an IPv4 address counts the mapped prefix's 96 bits.
    let prefix = if ip.is_ipv4() && mask.len() == 16 { ones.saturating_sub(96) } else { ones };
    IpNetwork::new(ip, u8::try_from(prefix).ok()?).ok()
}

/// current.Result's gob value as a CNI result (JSON of the current version).
pub fn result_json(value: &Value) -> Result<serde_json::Value, CniError> {
    let bad = |what: &str| CniError::internal(format!("the reference dhcp daemon sent {what}"));
    let mut ips = Vec::new();
    for ip in value.list("IPs") {
        let address = ip.field("Address").and_then(ipnet_of).ok_or_else(|| bad("an unreadable address"))?;
        let mut entry = serde_json::json!({"address": address.to_string()});
        if let Some(gw) = ip_of(&ip.bytes("Gateway")) {
            entry["gateway"] = gw.to_string().into();
        }
        if ip.field("Interface").is_some() {
            entry["interface"] = ip.int("Interface").into();
        }
        ips.push(entry);
    }
    let mut routes = Vec::new();
    for route in value.list("Routes") {
        let dst = route.field("Dst").and_then(ipnet_of).ok_or_else(|| bad("an unreadable route"))?;
        let mut entry = serde_json::json!({"dst": dst.to_string()});
        if let Some(gw) = ip_of(&route.bytes("GW")) {
            entry["gw"] = gw.to_string().into();
        }
        for (go, json) in [("MTU", "mtu"), ("AdvMSS", "advmss"), ("Priority", "priority")] {
            if route.int(go) != 0 {
                entry[json] = route.int(go).into();
            }
        }
        routes.push(entry);
    }
    let mut result = serde_json::json!({"cniVersion": cni::version::CURRENT, "ips": ips, "routes": routes});
    if let Some(dns) = value.field("DNS") {
        let texts = |name: &str| -> Vec<String> {
            dns.list(name)
                .iter()
                .filter_map(|v| if let Value::String(s) = v { Some(s.clone()) } else { None })
                .collect()
        };
        let mut out = serde_json::Map::new();
        for (go, json) in [("Nameservers", "nameservers"), ("Search", "search"), ("Options", "options")] {
            let items = texts(go);
            if !items.is_empty() {
                out.insert(json.into(), items.into());
            }
        }
        if !dns.text("Domain").is_empty() {
            out.insert("domain".into(), dns.text("Domain").into());
        }
        if !out.is_empty() {
            result["dns"] = serde_json::Value::Object(out);
        }
    }
    Ok(result)
}

/// One line of an HTTP head, at most 4 KiB; an error at the stream's end.
fn head_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.take(4096).read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the HTTP head ends early"));
    }
    Ok(line.trim_end().to_string())
}

/// Reads an HTTP head's remaining lines, up to and with its blank line.
fn skip_head(reader: &mut impl BufRead) -> io::Result<()> {
    for _ in 0..64 {
        if head_line(reader)?.is_empty() {
            return Ok(());
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "no end of the HTTP head"))
}

/// The daemon side: serves the reference plugin's calls on a connection
/// whose first line (`CONNECT /_goRPC_ ...`) `reader` has already given,
/// answering each with `answer` until the client closes.
pub fn serve(
    mut reader: impl BufRead,
    stream: &UnixStream,
    answer: impl Fn(&Request) -> Result<Option<serde_json::Value>, CniError>,
) -> io::Result<()> {
    skip_head(&mut reader)?;
    let mut writer = stream;
    writer.write_all(CONNECTED)?;
    let mut decoder = Decoder::new(reader);
    let mut encoder = Encoder::new(stream);
    loop {
        let Some(header) = decoder.next_value()? else { return Ok(()) };
        let args = decoder
            .next_value()?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "a call without its argument"))?;
        let method = header.text("ServiceMethod");
        let verb = match method.as_str() {
            ALLOCATE => Some(Verb::Add),
            RELEASE => Some(Verb::Del),
            _ => None,
        };
        let outcome = match verb {
            Some(verb) => answer(&request_of(verb, &args)),
            None => Err(CniError::internal(format!("rpc: can't find method {method}"))),
        };
        let (error, body, shape) = match (outcome, verb) {
            (Ok(Some(json)), Some(Verb::Add)) => match CniResult::from_json(&json, cni::version::CURRENT) {
                Ok(result) => (String::new(), result_value(&result), &RESULT),
                Err(e) => (e.to_string(), Value::Struct(Vec::new()), &EMPTY),
            },
            (Ok(_), _) => (String::new(), Value::Struct(Vec::new()), &EMPTY),
            (Err(e), _) => (e.to_string(), Value::Struct(Vec::new()), &EMPTY),
        };
        let reply_header = Value::Struct(vec![
            field("ServiceMethod", Value::String(method)),
            field("Seq", Value::Uint(header.int("Seq") as u64)),
            field("Error", Value::String(error)),
        ]);
        encoder.encode(&RESPONSE_HEADER, &reply_header)?;
        encoder.encode(shape, &body)?;
    }
}

/// A reference plugin's call as our daemon's request.
fn request_of(verb: Verb, args: &Value) -> Request {
    Request {
        protocol: PROTOCOL.to_string(),
        verb,
        container_id: args.text("ContainerID"),
        netns: args.text("Netns"),
        ifname: args.text("IfName"),
        cni_args: args.text("Args"),
        config: String::from_utf8_lossy(&args.bytes("StdinData")).into_owned(),
    }
}

/// The plugin side: one call of `method` to a reference daemon on
/// `socket`; Allocate's result as CNI JSON, nothing for Release.
pub fn call(
    socket: &str,
    method: &str,
    request: &Request,
    wait: Duration,
) -> Result<Option<serde_json::Value>, CniError> {
    let fail = |what: String| {
        CniError::internal(format!("talking to the reference dhcp daemon on {socket}: {what}"))
    };
    let stream = UnixStream::connect(socket).map_err(|e| fail(e.to_string()))?;
    stream.set_read_timeout(Some(wait)).map_err(|e| fail(e.to_string()))?;
    stream.set_write_timeout(Some(wait)).map_err(|e| fail(e.to_string()))?;
    (&stream).write_all(CONNECT).map_err(|e| fail(e.to_string()))?;
    let mut reader = BufReader::new(&stream);
    let status = head_line(&mut reader).and_then(|status| skip_head(&mut reader).map(|()| status));
    let status = status.map_err(|e| fail(e.to_string()))?;
    if status != String::from_utf8_lossy(CONNECTED).trim_end() {
        return Err(fail(format!("unexpected HTTP response: {status}")));
    }
    // The netns as an absolute path, as the reference's plugin sends it.
    let netns = std::path::absolute(&request.netns)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| request.netns.clone());
    let args = Value::Struct(vec![
        field("ContainerID", Value::String(request.container_id.clone())),
        field("Netns", Value::String(netns)),
        field("IfName", Value::String(request.ifname.clone())),
        field("Args", Value::String(request.cni_args.clone())),
        field("StdinData", Value::Bytes(request.config.as_bytes().to_vec())),
    ]);
    let header = Value::Struct(vec![
        field("ServiceMethod", Value::String(method.to_string())),
        field("Seq", Value::Uint(0)),
    ]);
    let mut encoder = Encoder::new(&stream);
    encoder.encode(&REQUEST_HEADER, &header).map_err(|e| fail(e.to_string()))?;
    encoder.encode(&CMD_ARGS, &args).map_err(|e| fail(e.to_string()))?;
    let mut decoder = Decoder::new(reader);
    let answer =
        decoder.next_value().map_err(|e| fail(e.to_string()))?.ok_or_else(|| fail("no answer".into()))?;
    let body = decoder
        .next_value()
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("an answer without its body".into()))?;
    let error = answer.text("Error");
    if !error.is_empty() {
        // The reference plugin's words.
        return Err(CniError::internal(format!("error calling {method}: {error}")));
    }
    match method {
        ALLOCATE => result_json(&body).map(Some),
        _ => Ok(None),
    }
}

/// Whether a session opening is the reference plugin's (`CONNECT /_goRPC_`).
pub fn is_go_client(first_line: &[u8]) -> bool {
    first_line.starts_with(crate::protocol::GO_RPC_CONNECT.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_goes_to_gob_and_back() {
        let json = serde_json::json!({"cniVersion": "1.1.0",
            "ips": [{"address": "10.1.2.3/24", "gateway": "10.1.2.1"}, {"address": "fd00::5/64"}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.2.1", "priority": 5}],
            "dns": {"nameservers": ["10.1.2.53"], "domain": "example", "search": ["a", "b"]}});
        let result = CniResult::from_json(&json, "1.1.0").unwrap();
        let mut wire = Vec::new();
        Encoder::new(&mut wire).encode(&RESULT, &result_value(&result)).unwrap();
        let back = Decoder::new(&wire[..]).next_value().unwrap().unwrap();
        let again = result_json(&back).unwrap();
        assert_eq!(CniResult::from_json(&again, "1.1.0").unwrap(), result);
    }

    /// The reference daemon's answer to Allocate, as Go 1.19 wrote it with
    /// libcni 1.2's types (Response header, then current.Result).
    const GO_RESULT: &str = include_str!("../testdata/go_allocate_answer.hex");

    #[test]
    fn reads_the_reference_daemons_result() {
        let text = GO_RESULT.trim();
        let bytes: Vec<u8> =
            (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
        let mut decoder = Decoder::new(&bytes[..]);
        let header = decoder.next_value().unwrap().unwrap();
        assert_eq!(header.text("ServiceMethod"), ALLOCATE);
        let result = result_json(&decoder.next_value().unwrap().unwrap()).unwrap();
        assert_eq!(result["ips"], serde_json::json!([{"address": "10.1.2.3/24", "gateway": "10.1.2.1"}]));
        assert_eq!(result["routes"], serde_json::json!([{"dst": "0.0.0.0/0", "gw": "10.1.2.1"}]));
        assert!(CniResult::from_json(&result, cni::version::CURRENT).is_ok());
    }

    #[test]
    fn go_addresses_read_in_every_form() {
        let v4_in_16 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3];
        assert_eq!(ip_of(&v4_in_16), Some("10.1.2.3".parse().unwrap()));
        let mut mask16 = vec![0xff; 12];
        mask16.extend([0xff, 0xff, 0xff, 0]);
        let net = Value::Struct(vec![
            field("IP", Value::Bytes(v4_in_16.to_vec())),
            field("Mask", Value::Bytes(mask16)),
        ]);
        assert_eq!(ipnet_of(&net), Some("10.1.2.3/24".parse().unwrap()));
        assert_eq!(ip_of(&[1, 2, 3]), None);
    }
}
