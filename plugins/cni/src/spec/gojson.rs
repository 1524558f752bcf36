//! Go's `encoding/json` key rules, for everything we read.
//!
//! The reference plugins, libcni and the runtimes are Go, and Go matches an
//! object key to a struct field exactly or, failing that, case-insensitively
//! (with Unicode simple folding, so `K` U+212A matches `k`); keys are applied
//! in document order, so when two keys land on one field the later wins.
//! Runtimes rely on it: containerd's go-cni sends port mappings as
//! `{"HostPort":..,"Protocol":..}`. serde matches exactly and refuses
//! duplicates, so this module puts one layer under every typed parse: the
//! document is read into [`Node`] (objects keep their keys in order,
//! duplicates included), and [`GoValue`] deserializes from it, renaming each
//! key of a struct to the field it folds to before serde sees it. Maps
//! (`HashMap`, `serde_json::Value`) keep their keys as written, as Go's do.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

/// A JSON document as Go's decoder walks it: object members in document
/// order, duplicates kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in document order.
    Object(Vec<(String, Node)>),
}

impl From<&Value> for Node {
    fn from(value: &Value) -> Node {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(s.clone()),
            Value::Array(items) => Node::Array(items.iter().map(Node::from).collect()),
            Value::Object(map) => Node::Object(map.iter().map(|(k, v)| (k.clone(), Node::from(v))).collect()),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Node, E> {
        Ok(Number::from_f64(n).map(Node::Number).unwrap_or(Node::Null))
    }
    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::String(s))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Node>()? {
            members.push(member);
        }
        Ok(Node::Object(members))
    }
}

/// One character as Go folds it for key matching: ASCII letters to upper
/// case, and the two non-ASCII letters whose fold set holds an ASCII one
/// (KELVIN SIGN, LATIN SMALL LETTER LONG S) to that letter. Our field names
/// are ASCII, so no other character can match one.
fn fold_char(c: char) -> char {
    match c {
        '\u{212A}' => 'K',
        '\u{017F}' => 'S',
        c => c.to_ascii_uppercase(),
    }
}

/// Whether Go's decoder would take `key` for a field named `field`.
pub fn fold_eq(field: &str, key: &str) -> bool {
    field.chars().map(fold_char).eq(key.chars().map(fold_char))
}

/// The member of an object Go's decoder would read for the field `field`:
/// the key equal to it or, failing that, one equal as Go folds (a `Value`
/// has lost the document order that would pick among several).
/// Code that reads a netconf as a `Value` uses this instead of `get`.
pub fn get<'v>(object: &'v Value, field: &str) -> Option<&'v Value> {
    get_in(object.as_object()?, field)
}

/// [`get`] on an object already taken apart.
pub fn get_in<'v>(map: &'v serde_json::Map<String, Value>, field: &str) -> Option<&'v Value> {
    map.get(field).or_else(|| map.iter().rev().find(|(k, _)| fold_eq(field, k)).map(|(_, v)| v))
}

/// [`get`] as a method, for code that walks netconfs, conflists and
/// results as `Value`s (cnictl's views, doctor, validate).
pub trait GoKeys {
    /// The member Go's decoder would read for the field `field`.
    fn go_get(&self, field: &str) -> Option<&Value>;
}

impl GoKeys for Value {
    fn go_get(&self, field: &str) -> Option<&Value> {
        get(self, field)
    }
}

impl GoKeys for serde_json::Map<String, Value> {
    fn go_get(&self, field: &str) -> Option<&Value> {
        get_in(self, field)
    }
}

/// The struct field a key lands on: an exact match, else the first field
/// it folds to; `None` for a key the struct does not know.
fn field_for<'f>(fields: &[&'f str], key: &str) -> Option<&'f str> {
    fields.iter().find(|f| **f == key).or_else(|| fields.iter().find(|f| fold_eq(f, key))).copied()
}

/// A struct's members renamed to its fields, the later of two keys for one
/// field winning; unknown keys pass through for serde to ignore. A member
/// whose value is `null` is dropped: Go's decoder leaves the field as it
/// was (`"runtimeConfig": null` is no runtimeConfig, and
/// `{"mtu": 1, "mtu": null}` keeps 1), where serde would refuse a null
/// for a field that is not an `Option`.
fn struct_members<'de>(
    members: &'de [(String, Node)],
    fields: &[&'static str],
) -> Vec<(&'de str, &'de Node)> {
    let mut out: Vec<(&str, &Node)> = Vec::with_capacity(members.len());
    for (key, value) in members.iter().filter(|(_, v)| !matches!(v, Node::Null)) {
        let name = field_for(fields, key).unwrap_or(key);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name, value)),
        }
    }
    out
}

/// A deserializer over a [`Node`] that applies Go's key rules to structs.
#[derive(Clone, Copy)]
pub struct GoValue<'de>(pub &'de Node);

type Error = serde_json::Error;

impl<'de> IntoDeserializer<'de, Error> for GoValue<'de> {
    type Deserializer = GoValue<'de>;
    fn into_deserializer(self) -> GoValue<'de> {
        self
    }
}

fn visit_members<'de, V: Visitor<'de>>(
    members: Vec<(&'de str, &'de Node)>,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = MapDeserializer::new(members.into_iter().map(|(k, v)| (k, GoValue(v))));
    let value = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(value)
}

impl<'de> de::Deserializer<'de> for GoValue<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Node::String(s) => visitor.visit_borrowed_str(s),
            Node::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(GoValue));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Node::Object(members) => {
                visit_members(members.iter().map(|(k, v)| (k.as_str(), v)).collect(), visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Node::Object(members) => visit_members(struct_members(members, fields), visitor),
            // Go leaves a struct decoded from null as it was.
            Node::Null => visit_members(Vec::new(), visitor),
            // Go refuses an array for a struct; serde would fill the
            // fields by position.
            Node::Array(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Node::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Node::Object(members) if members.len() == 1 => {
                let members = struct_members(members, variants);
                let map = MapDeserializer::new(members.into_iter().map(|(k, v)| (k, GoValue(v))));
                visitor.visit_enum(MapAccessDeserializer::new(map))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

/// Decodes JSON text into `T` with Go's key rules.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let node: Node = serde_json::from_slice(bytes)?;
    T::deserialize(GoValue(&node))
}

/// Decodes a JSON value into `T` with Go's key rules. (A `Value` has lost
/// the order of its keys, so of two keys for one field that differ in case
/// the one sorting later wins; text read with [`from_slice`] keeps Go's order.)
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, Error> {
    T::deserialize(GoValue(&Node::from(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Mapping {
        #[serde(rename = "hostPort")]
        host_port: u16,
        protocol: String,
        #[serde(rename = "hostIP")]
        host_ip: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Holder {
        #[serde(rename = "portMappings", default)]
        port_mappings: Vec<Mapping>,
        #[serde(default)]
        labels: HashMap<String, String>,
        #[serde(default)]
        inner: Option<Box<Holder>>,
    }

    #[test]
    fn go_cased_keys_match_fields() {
        let text = br#"{"PortMappings":[{"HostPort":8080,"Protocol":"tcp","HostIP":""}],
                        "INNER":{"portmappings":[{"hostport":1,"PROTOCOL":"udp"}]}}"#;
        let holder: Holder = from_slice(text).unwrap();
        assert_eq!(
            holder.port_mappings,
            vec![Mapping { host_port: 8080, protocol: "tcp".into(), host_ip: "".into() }]
        );
        let inner = holder.inner.unwrap();
        assert_eq!(inner.port_mappings[0].host_port, 1);
        assert_eq!(inner.port_mappings[0].protocol, "udp");
    }

    #[test]
    fn the_later_of_two_keys_wins_as_in_go() {
        let m: Mapping = from_slice(br#"{"hostPort":1,"HostPort":2}"#).unwrap();
        assert_eq!(m.host_port, 2);
        let m: Mapping = from_slice(br#"{"HOSTPORT":2,"hostPort":1}"#).unwrap();
        assert_eq!(m.host_port, 1);
        let m: Mapping = from_slice(br#"{"hostPort":1,"HostPort":2,"hostPort":3}"#).unwrap();
        assert_eq!(m.host_port, 3);
    }

    #[test]
    fn go_folds_kelvin_and_long_s() {
        // "\u212A" is KELVIN SIGN; Go takes it for 'k'.
        #[derive(Deserialize)]
        struct K {
            #[serde(default)]
            kind: String,
            #[serde(default)]
            stop: String,
        }
        let k: K = from_slice("{\"\u{212A}IND\":\"a\",\"\u{017F}TOP\":\"b\"}".as_bytes()).unwrap();
        assert_eq!((k.kind.as_str(), k.stop.as_str()), ("a", "b"));
        assert!(!fold_eq("kind", "kinds"));
    }

    #[test]
    fn maps_keep_their_keys_and_values_pass_through() {
        let holder: Holder = from_slice(br#"{"Labels":{"A":"1","a":"2"}}"#).unwrap();
        assert_eq!(holder.labels.len(), 2);
        let value: Value = from_slice(br#"{"Key":[1,-2,2.5,null,true]}"#).unwrap();
        assert_eq!(value, serde_json::json!({"Key":[1,-2,2.5,null,true]}));
    }

    #[test]
    fn type_errors_stay_serde_json_errors() {
        let err = from_slice::<Mapping>(br#"{"HostPort":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type: string \"x\""), "{err}");
        let err = from_slice::<Mapping>(br#"{"hostPort":70000}"#).unwrap_err();
        assert!(err.to_string().contains("70000"), "{err}");
    }

    #[test]
    fn a_struct_is_not_read_from_an_array() {
        // Go: "cannot unmarshal array into Go value of type ...".
        let err = from_slice::<Mapping>(b"[]").unwrap_err();
        assert!(err.to_string().contains("invalid type: sequence"), "{err}");
        assert!(from_slice::<Mapping>(br#"[8080, "tcp", ""]"#).is_err());
        let err = from_slice::<Holder>(br#"{"inner": [[]]}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type: sequence"), "{err}");
        // Arrays of structs, and arrays where a sequence is wanted, still read.
        let holder: Holder = from_slice(br#"{"portMappings": [{"hostPort": 1}]}"#).unwrap();
        assert_eq!(holder.port_mappings[0].host_port, 1);
        assert_eq!(from_slice::<(u8, String)>(br#"[1, "a"]"#).unwrap(), (1, "a".to_string()));
    }

    #[test]
    fn get_reads_as_go_does() {
        let v = serde_json::json!({"Type": "host-local"});
        assert_eq!(get(&v, "type").and_then(Value::as_str), Some("host-local"));
        let v = serde_json::json!({"type": "a", "TYPE": "b"});
        assert_eq!(get(&v, "type").and_then(Value::as_str), Some("a"));
        assert!(get(&v, "name").is_none());
    }

    #[test]
    fn enums_by_name_and_by_object() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum Mode {
            Bridge,
            Other(Level),
        }
        #[derive(Debug, Deserialize, PartialEq)]
        struct Level {
            level: u8,
        }
        assert_eq!(from_slice::<Mode>(br#""bridge""#).unwrap(), Mode::Bridge);
        assert_eq!(from_slice::<Mode>(br#"{"other":{"Level":3}}"#).unwrap(), Mode::Other(Level { level: 3 }));
    }

    #[test]
    fn null_leaves_a_field_as_go_leaves_it() {
        #[derive(Debug, Default, Deserialize, PartialEq)]
        #[serde(default)]
        struct Conf {
            mtu: u32,
            #[serde(rename = "runtimeConfig")]
            runtime_config: Mapping,
            name: String,
        }
        let conf: Conf =
            from_slice(br#"{"mtu": 1, "MTU": null, "runtimeConfig": null, "name": null}"#).unwrap();
        assert_eq!(conf, Conf { mtu: 1, ..Default::default() });
        let mapping: Mapping = from_slice(b"null").unwrap();
        assert_eq!(mapping, Mapping::default());
        let with_null: HashMap<String, Option<u16>> = from_slice(br#"{"a": null}"#).unwrap();
        assert_eq!(with_null.get("a"), Some(&None), "maps keep their null members");
    }
}
