//! What the netconf says about options, in the reference's terms: the
//! option names of `provide` and `request`, the options sent, the
//! parameter request list, and the client identifier the reference builds
//! (so a lease taken by one implementation is recognised by the server
//! when the other renews or releases it).

use std::fmt;

use serde::Deserialize;

use crate::message::code;

/// The longest `<containerID>/<netName>/<ifName>` the reference puts in a
/// client identifier: it cuts the string at 254 bytes, then prepends the
/// type byte, so the option is at most 255 bytes (its length is one byte).
pub const CLIENT_ID_TEXT_MAX: usize = 254;

/// The reference's option names (its `optionNameToID`).
const NAMES: [(&str, u8); 6] = [
    ("dhcp-client-identifier", code::CLIENT_ID),
    ("subnet-mask", code::SUBNET_MASK),
    ("routers", code::ROUTERS),
    ("host-name", code::HOST_NAME),
    ("user-class", code::USER_CLASS),
    ("vendor-class-identifier", code::VENDOR_CLASS_ID),
];

/// The parameter request list when the netconf does not replace it: the
/// reference's routers and subnet mask, then name servers, domain name and
/// search list, which the reference never asks for, so that the result's
/// `dns` can be filled (a server sends most options only when asked).
pub const DEFAULT_REQUEST_LIST: [u8; 5] =
    [code::ROUTERS, code::SUBNET_MASK, code::DNS_SERVERS, code::DOMAIN_NAME, code::DOMAIN_SEARCH];

/// An option name or value the netconf cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(pub String);

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OptionError {}

/// The client identifier (option 61) of an attachment: type 0 ("not a
/// hardware address") then `<containerID>/<netName>/<ifName>` cut at
/// [`CLIENT_ID_TEXT_MAX`] bytes (a cut may fall inside a UTF-8 character,
/// as the reference's does: these are bytes on the wire).
pub fn client_id(container_id: &str, net_name: &str, if_name: &str) -> Vec<u8> {
    let text = format!("{container_id}/{net_name}/{if_name}");
    let mut id = Vec::with_capacity(1 + text.len().min(CLIENT_ID_TEXT_MAX));
    id.push(0);
    id.extend_from_slice(&text.as_bytes()[..text.len().min(CLIENT_ID_TEXT_MAX)]);
    id
}

/// An option code from a netconf name: one of the reference's names, or a
/// decimal number (as Go's `ParseUint(s, 10, 8)`: digits only, no sign,
/// at most 255). Pad (0) and end (255) carry no value and are refused.
pub fn parse_option_name(name: &str) -> Result<u8, OptionError> {
    if let Some((_, c)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(*c);
    }
    let bad = || OptionError(format!("unknown DHCP option {name:?}: not an option name nor a number 1-254"));
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match name.parse::<u8>() {
        Ok(c) if c != code::PAD && c != code::END => Ok(c),
        _ => Err(bad()),
    }
}

/// One `provide` entry of the netconf: an option sent to the server, its
/// value given or read from a `CNI_ARGS` key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProvideOption {
    /// Option name or number.
    #[serde(default)]
    pub option: String,
    /// The value, as text.
    #[serde(default)]
    pub value: String,
    /// A `CNI_ARGS` key whose value is sent (it wins over `value`).
    #[serde(default, rename = "fromArg")]
    pub from_arg: String,
}

/// One `request` entry of the netconf: an option asked for in the
/// parameter request list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RequestOption {
    /// Drop the default list (routers, subnet mask).
    #[serde(default, rename = "skipDefault")]
    pub skip_default: bool,
    /// Option name or number; empty entries only carry `skipDefault`.
    #[serde(default)]
    pub option: String,
}

/// The options a client sends with each DISCOVER, REQUEST and renewal.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentOptions {
    /// Options from `provide`, in order, one value per code (the later
    /// entry wins, as the reference's option update does).
    pub provided: Vec<(u8, Vec<u8>)>,
    /// The parameter request list (option 55); not sent when empty.
    pub request_list: Vec<u8>,
}

/// `CNI_ARGS` as the reference reads it for `fromArg`: `;`-separated
/// `KEY=VALUE` pairs, the later of two equal keys winning.
fn cni_arg<'a>(cni_args: &'a str, key: &str) -> Option<&'a str> {
    cni_args
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .next_back()
}

/// Builds the options to send from the netconf's `provide` and `request`
/// and the call's `CNI_ARGS`, as the reference does: a provided value of
/// more than 255 bytes is an error, an empty one is not sent; `fromArg`
/// wins over `value` when the key is present; the request list is
/// `request`'s options (duplicates dropped) followed by routers and subnet
/// mask unless an entry says `skipDefault`.
pub fn prepare(
    cni_args: &str,
    provide: &[ProvideOption],
    request: &[RequestOption],
) -> Result<SentOptions, OptionError> {
    let mut sent = SentOptions::default();
    let mut put = |c: u8, value: &str, what: &str| -> Result<(), OptionError> {
        if value.len() > 255 {
            return Err(OptionError(format!(
                "value too long for DHCP option {what:?}: {} bytes (at most 255)",
                value.len()
            )));
        }
        match sent.provided.iter_mut().find(|(code, _)| *code == c) {
            Some(entry) => entry.1 = value.as_bytes().to_vec(),
            None => sent.provided.push((c, value.as_bytes().to_vec())),
        }
        Ok(())
    };
    for p in provide {
        let c = parse_option_name(&p.option)?;
        if !p.value.is_empty() {
            put(c, &p.value, &p.option)?;
        }
        if p.from_arg.is_empty() {
            continue;
        }
        if let Some(value) = cni_arg(cni_args, &p.from_arg) {
            put(c, value, &p.option)?;
        }
    }
    let mut skip_default = false;
    for r in request {
        skip_default |= r.skip_default;
        if r.option.is_empty() {
            continue;
        }
        let c = parse_option_name(&r.option)?;
        if !sent.request_list.contains(&c) {
            sent.request_list.push(c);
        }
    }
    if !skip_default {
        for c in DEFAULT_REQUEST_LIST {
            if !sent.request_list.contains(&c) {
                sent.request_list.push(c);
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_type_zero_then_the_attachment() {
        assert_eq!(client_id("abc", "net1", "eth0"), b"\0abc/net1/eth0".to_vec());
    }

    #[test]
    fn client_id_text_is_cut_at_254_bytes() {
        let long = "c".repeat(300);
        let id = client_id(&long, "net", "eth0");
        assert_eq!(id.len(), 255, "type byte plus 254");
        assert_eq!(id[0], 0);
        assert!(id[1..].iter().all(|b| *b == b'c'));
        // Exactly 254 bytes of text: nothing cut.
        let id = client_id(&"x".repeat(254 - "/n/e".len()), "n", "e");
        assert_eq!(id.len(), 255);
        assert!(id.ends_with(b"/n/e"));
        // One more: the last byte goes.
        let id = client_id(&"x".repeat(255 - "/n/e".len()), "n", "e");
        assert_eq!(id.len(), 255);
        assert!(id.ends_with(b"/n/"));
        // A cut inside a multi-byte character keeps the bytes before it.
        let id = client_id(&"x".repeat(249), "n", "aé");
        assert_eq!(id.len(), 255);
        assert_eq!(&id[250..], &[b'/', b'n', b'/', b'a', 0xc3][..]);
    }

    #[test]
    fn option_names_and_numbers() {
        assert_eq!(parse_option_name("dhcp-client-identifier"), Ok(61));
        assert_eq!(parse_option_name("subnet-mask"), Ok(1));
        assert_eq!(parse_option_name("routers"), Ok(3));
        assert_eq!(parse_option_name("host-name"), Ok(12));
        assert_eq!(parse_option_name("user-class"), Ok(77));
        assert_eq!(parse_option_name("vendor-class-identifier"), Ok(60));
        assert_eq!(parse_option_name("121"), Ok(121));
        assert_eq!(parse_option_name("007"), Ok(7), "Go's ParseUint takes leading zeros");
        for bad in ["", "+12", "-1", "256", "0", "255", "0x10", "Routers", "12 ", "domain-name"] {
            assert!(parse_option_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn provide(option: &str, value: &str, from_arg: &str) -> ProvideOption {
        ProvideOption { option: option.into(), value: value.into(), from_arg: from_arg.into() }
    }

    fn request(option: &str, skip_default: bool) -> RequestOption {
        RequestOption { option: option.into(), skip_default }
    }

    #[test]
    fn request_list_defaults_and_skip() {
        assert_eq!(prepare("", &[], &[]).unwrap().request_list, vec![3, 1, 6, 15, 119]);
        let sent = prepare("", &[], &[request("121", false), request("routers", false)]).unwrap();
        assert_eq!(sent.request_list, vec![121, 3, 1, 6, 15, 119]);
        let sent = prepare("", &[], &[request("", true), request("6", false)]).unwrap();
        assert_eq!(sent.request_list, vec![6]);
        assert!(prepare("", &[], &[request("nope", false)]).is_err());
    }

    #[test]
    fn provided_values_and_cni_args() {
        let args = "IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAME=web-1";
        let sent = prepare(
            args,
            &[
                provide("host-name", "fallback", "K8S_POD_NAME"),
                provide("vendor-class-identifier", "cni", ""),
                provide("user-class", "", "MISSING"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(sent.provided, vec![(12, b"web-1".to_vec()), (60, b"cni".to_vec())]);
        let sent = prepare("", &[provide("host-name", "fallback", "K8S_POD_NAME")], &[]).unwrap();
        assert_eq!(sent.provided, vec![(12, b"fallback".to_vec())]);
        let err = prepare("", &[provide("host-name", &"h".repeat(256), "")], &[]).unwrap_err();
        assert!(err.0.contains("too long"), "{err}");
        assert!(prepare("", &[provide("host-name", &"h".repeat(255), "")], &[]).is_ok());
        assert!(prepare("", &[provide("bogus", "x", "")], &[]).is_err());
    }
}
