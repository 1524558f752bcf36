//! Go's `encoding/gob`, as much of it as Go's net/rpc needs between the
//! reference's dhcp plugin and daemon: values of structs, slices, arrays,
//! maps and the basic types, with the type definitions that precede them
//! on a stream. Interfaces and Go's custom encoders are not supported (no
//! message of that protocol carries them).
//!
//! A stream is a sequence of messages, each a length and then a type id:
//! a negative id defines that type (a `wireType` value follows), a positive
//! one is a value of it. Unsigned numbers are one byte below 128, else the
//! byte count negated and the big-endian bytes; signed ones are folded into
//! unsigned (sign in the low bit). A struct is its non-zero fields, each as
//! the delta from the previous field's index, ended by a 0; a top-level
//! value of another kind follows a 0.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};

/// A gob type id: the built-in ones below, then each stream's own from 65.
pub type TypeId = i64;

/// `bool`.
pub const BOOL: TypeId = 1;
/// Signed integers.
pub const INT: TypeId = 2;
/// Unsigned integers.
pub const UINT: TypeId = 3;
/// Floating point.
pub const FLOAT: TypeId = 4;
/// `[]byte` (and named byte slices: `net.IP`, `net.IPMask`).
pub const BYTES: TypeId = 5;
/// `string`.
pub const STRING: TypeId = 6;
/// `complex128`.
pub const COMPLEX: TypeId = 7;

/// The largest message either side accepts: far more than a netconf.
const MAX_MESSAGE: u64 = 16 << 20;

/// A decoded (or to be encoded) value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// Any signed integer.
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    /// `float32`/`float64`.
    Float(f64),
    /// A byte slice.
    Bytes(Vec<u8>),
    /// A string.
    String(String),
    /// A struct's fields that were sent (zero fields are not).
    Struct(Vec<(String, Value)>),
    /// A slice or array.
    List(Vec<Value>),
    /// A map.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// A struct's field by name; `None` when it was not sent (Go's zero).
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string field (empty when absent).
    pub fn text(&self, name: &str) -> String {
        match self.field(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        }
    }

    /// The bytes of a byte-slice field (empty when absent).
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        match self.field(name) {
            Some(Value::Bytes(b)) => b.clone(),
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        }
    }

    /// The elements of a slice field (empty when absent).
    pub fn list(&self, name: &str) -> &[Value] {
        match self.field(name) {
            Some(Value::List(items)) => items,
            _ => &[],
        }
    }

    /// An integer field, signed or not (0 when absent).
    pub fn int(&self, name: &str) -> i64 {
        match self.field(name) {
            Some(Value::Int(i)) => *i,
            Some(Value::Uint(u)) => i64::try_from(*u).unwrap_or(i64::MAX),
            _ => 0,
        }
    }
}

/// What a type id of the stream's own stands for, as its definition says.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// A struct: its fields (name, type), in order.
    Struct(Vec<(String, TypeId)>),
    /// A slice of the element type.
    Slice(TypeId),
    /// An array of the element type.
    Array(TypeId),
    /// A map: key and value types.
    Map(TypeId, TypeId),
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("gob: {}", what.into()))
}

/// Bytes being read: one message's.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> io::Result<u8> {
        let b = *self.data.get(self.at).ok_or_else(|| invalid("message ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> io::Result<&[u8]> {
        let n = usize::try_from(n).map_err(|_| invalid("length out of range"))?;
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| invalid("message ends early"))?;
        let slice = &self.data[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn uint(&mut self) -> io::Result<u64> {
        let first = self.byte()?;
        match bytes_after(first)? {
            0 => Ok(u64::from(first)),
            count => Ok(big_endian(self.take(count as u64)?)),
        }
    }

    fn int(&mut self) -> io::Result<i64> {
        Ok(unfold(self.uint()?))
    }

    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let len = self.uint()?;
        Ok(self.take(len)?.to_vec())
    }

    fn string(&mut self) -> io::Result<String> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }
}

/// How many bytes follow an unsigned number's first byte: none below 128,
/// else the count the byte holds negated (at most 8).
fn bytes_after(first: u8) -> io::Result<usize> {
    if first < 0x80 {
        return Ok(0);
    }
    match usize::from((!first).wrapping_add(1)) {
        count @ 1..=8 => Ok(count),
        _ => Err(invalid("an unsigned number longer than 8 bytes")),
    }
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b))
}

/// A signed integer from its unsigned form (sign in the low bit).
fn unfold(u: u64) -> i64 {
    if u & 1 == 1 {
        !((u >> 1) as i64)
    } else {
        (u >> 1) as i64
    }
}

/// The unsigned form of a signed integer.
fn fold(i: i64) -> u64 {
    if i < 0 {
        ((!i as u64) << 1) | 1
    } else {
        (i as u64) << 1
    }
}

fn put_uint(buf: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        buf.push(value as u8);
        return;
    }
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    buf.push((-((8 - skip) as i8)) as u8);
    buf.extend_from_slice(&bytes[skip..]);
}

fn put_int(buf: &mut Vec<u8>, value: i64) {
    put_uint(buf, fold(value));
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_uint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// The reading side of a stream: the types the writer defined so far.
pub struct Decoder<R> {
    reader: R,
    types: HashMap<TypeId, Type>,
}

impl<R: Read> Decoder<R> {
    /// A decoder of the stream `reader`.
    pub fn new(reader: R) -> Decoder<R> {
        Decoder { reader, types: HashMap::new() }
    }

    /// The next value on the stream (type definitions before it are taken
    /// in); `None` at a clean end of the stream.
    pub fn next_value(&mut self) -> io::Result<Option<Value>> {
        loop {
            let Some(message) = self.message()? else { return Ok(None) };
            let mut cursor = Cursor { data: &message, at: 0 };
            let id = cursor.int()?;
            if id < 0 {
                let wire = wire_type(&mut cursor)?;
                self.types.insert(-id, wire);
                continue;
            }
            // A top-level value that is not a struct follows a zero delta.
            if !matches!(self.types.get(&id), Some(Type::Struct(_))) && cursor.uint()? != 0 {
                return Err(invalid("a top-level value without its zero delta"));
            }
            return self.value(&mut cursor, id, 0).map(Some);
        }
    }

    /// One message's bytes; `None` when the stream ends before one starts.
    fn message(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut first = [0u8; 1];
        if self.reader.read(&mut first)? == 0 {
            return Ok(None);
        }
        let len = match bytes_after(first[0])? {
            0 => u64::from(first[0]),
            count => {
                let mut bytes = [0u8; 8];
                self.reader.read_exact(&mut bytes[..count])?;
                big_endian(&bytes[..count])
            }
        };
        if len > MAX_MESSAGE {
            return Err(invalid(format!("a message of {len} bytes")));
        }
        let mut message = vec![0u8; len as usize];
        self.reader.read_exact(&mut message)?;
        Ok(Some(message))
    }

    fn value(&self, cursor: &mut Cursor, id: TypeId, depth: usize) -> io::Result<Value> {
        if depth > 32 {
            return Err(invalid("values nested too deep"));
        }
        let float = |cursor: &mut Cursor| Ok::<_, io::Error>(f64::from_bits(cursor.uint()?.swap_bytes()));
        match id {
            BOOL => return Ok(Value::Bool(cursor.uint()? != 0)),
            INT => return Ok(Value::Int(cursor.int()?)),
            UINT => return Ok(Value::Uint(cursor.uint()?)),
            FLOAT => return Ok(Value::Float(float(cursor)?)),
            BYTES => return Ok(Value::Bytes(cursor.bytes()?)),
            STRING => return Ok(Value::String(cursor.string()?)),
            COMPLEX => {
                return Ok(Value::List(vec![Value::Float(float(cursor)?), Value::Float(float(cursor)?)]))
            }
            _ => {}
        }
        let own = self.types.get(&id).ok_or_else(|| invalid(format!("type {id} was not defined")))?;
        // Each element takes a byte at least: a count above the bytes left is a lie.
        let count = |cursor: &mut Cursor| match cursor.uint()? {
            n if n > cursor.data.len() as u64 => Err(invalid("more elements than bytes")),
            n => Ok(n),
        };
        Ok(match own {
            Type::Struct(fields) => {
                let mut found = Vec::new();
                each_field(cursor, |index, cursor| {
                    let (name, field_type) = fields
                        .get(index)
                        .ok_or_else(|| invalid(format!("field {index} of a struct of {}", fields.len())))?;
                    found.push((name.clone(), self.value(cursor, *field_type, depth + 1)?));
                    Ok(())
                })?;
                Value::Struct(found)
            }
            Type::Slice(elem) | Type::Array(elem) => {
                let n = count(cursor)?;
                Value::List((0..n).map(|_| self.value(cursor, *elem, depth + 1)).collect::<io::Result<_>>()?)
            }
            Type::Map(key, elem) => {
                let n = count(cursor)?;
                let mut entries = Vec::new();
                for _ in 0..n {
                    let k = self.value(cursor, *key, depth + 1)?;
                    entries.push((k, self.value(cursor, *elem, depth + 1)?));
                }
                Value::Map(entries)
            }
        })
    }
}

/// Walks a struct's fields as sent: each a delta from the previous
/// field's index (`visit` reads the field at that index), ended by 0.
fn each_field(
    cursor: &mut Cursor,
    mut visit: impl FnMut(usize, &mut Cursor) -> io::Result<()>,
) -> io::Result<()> {
    let mut index: Option<usize> = None;
    loop {
        let delta = cursor.uint()?;
        if delta == 0 {
            return Ok(());
        }
        let next = usize::try_from(delta).ok().and_then(|d| index.map_or(Some(d - 1), |i| i.checked_add(d)));
        let next = next.ok_or_else(|| invalid("a field delta out of range"))?;
        index = Some(next);
        visit(next, cursor)?;
    }
}

/// A `wireType`: the one field that is set says the kind. Each kind is a
/// struct whose first field is a CommonType (name, id: neither is needed
/// here) and whose others are type ids (a length for an array) or, for a
/// struct, its fields.
fn wire_type(cursor: &mut Cursor) -> io::Result<Type> {
    let mut wire = None;
    each_field(cursor, |kind, cursor| {
        if wire.is_some() {
            return Err(invalid("a type definition with more than one kind"));
        }
        let mut ids = [0i64; 2];
        let mut fields = Vec::new();
        each_field(cursor, |part, cursor| match (kind, part) {
            // CommonType: the name (a string), the id.
            (_, 0) => each_field(cursor, |field, cursor| match field {
                0 => cursor.bytes().map(drop),
                _ => cursor.uint().map(drop),
            }),
            (2, 1) => {
                for _ in 0..cursor.uint()? {
                    fields.push(field_type(cursor)?);
                }
                Ok(())
            }
            (0 | 1 | 3, 1 | 2) => {
                ids[part - 1] = cursor.int()?;
                Ok(())
            }
            _ => Err(invalid("a type with an unknown part")),
        })?;
        wire = Some(match kind {
            0 => Type::Array(ids[0]),
            1 => Type::Slice(ids[0]),
            2 => Type::Struct(fields),
            3 => Type::Map(ids[0], ids[1]),
            _ => return Err(invalid("an unsupported kind of type (a Go custom encoder)")),
        });
        Ok(())
    })?;
    wire.ok_or_else(|| invalid("a type definition of no kind"))
}

/// A fieldType struct: name and type id.
fn field_type(cursor: &mut Cursor) -> io::Result<(String, TypeId)> {
    let (mut name, mut id) = (String::new(), 0);
    each_field(cursor, |index, cursor| {
        match index {
            0 => name = cursor.string()?,
            1 => id = cursor.int()?,
            _ => return Err(invalid("a field type with an unknown field")),
        }
        Ok(())
    })?;
    Ok((name, id))
}

/// A type this side sends: built-in, or one of its own with a fixed id
/// (from 65; ids need only be unique on one stream).
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A built-in type.
    Builtin(TypeId),
    /// A struct type of ours.
    Struct(&'static StructShape),
    /// A slice type of ours.
    Slice(&'static SliceShape),
}

/// A struct type to send.
#[derive(Debug)]
pub struct StructShape {
    /// Its id on our streams.
    pub id: TypeId,
    /// Its Go name (informative).
    pub name: &'static str,
    /// Field names and types, in Go's order.
    pub fields: &'static [(&'static str, Shape)],
}

/// A slice type to send.
#[derive(Debug)]
pub struct SliceShape {
    /// Its id on our streams.
    pub id: TypeId,
    /// Its Go name (informative).
    pub name: &'static str,
    /// The element type.
    pub elem: Shape,
}

impl Shape {
    fn id(&self) -> TypeId {
        match self {
            Shape::Builtin(id) => *id,
            Shape::Struct(s) => s.id,
            Shape::Slice(s) => s.id,
        }
    }
}

/// The writing side of a stream: which of our types it has defined.
pub struct Encoder<W> {
    writer: W,
    sent: HashSet<TypeId>,
}

impl<W: Write> Encoder<W> {
    /// An encoder onto `writer`.
    pub fn new(writer: W) -> Encoder<W> {
        Encoder { writer, sent: HashSet::new() }
    }

    /// Sends `value` as a top-level value of the struct type `shape`, with
    /// the definitions of the types it uses that were not sent yet.
    pub fn encode(&mut self, shape: &'static StructShape, value: &Value) -> io::Result<()> {
        let mut out = Vec::new();
        self.define(Shape::Struct(shape), &mut out);
        let mut body = Vec::new();
        put_int(&mut body, shape.id);
        encode_struct(&mut body, shape, value)?;
        put_uint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        self.writer.write_all(&out)?;
        self.writer.flush()
    }

    /// Appends the definitions of `shape` and what it uses, inner types
    /// first, each once per stream.
    fn define(&mut self, shape: Shape, out: &mut Vec<u8>) {
        let id = shape.id();
        if matches!(shape, Shape::Builtin(_)) || !self.sent.insert(id) {
            return;
        }
        let mut body = Vec::new();
        put_int(&mut body, -id);
        match shape {
            Shape::Builtin(_) => {}
            Shape::Struct(s) => {
                for (_, field) in s.fields {
                    self.define(*field, out);
                }
                put_uint(&mut body, 3); // StructT
                put_uint(&mut body, 1); // its CommonType
                put_common_type(&mut body, s.name, id);
                if !s.fields.is_empty() {
                    put_uint(&mut body, 1); // Field
                    put_uint(&mut body, s.fields.len() as u64);
                    for (name, field) in s.fields {
                        put_uint(&mut body, 1);
                        put_bytes(&mut body, name.as_bytes());
                        put_uint(&mut body, 1);
                        put_int(&mut body, field.id());
                        put_uint(&mut body, 0);
                    }
                }
                put_uint(&mut body, 0);
            }
            Shape::Slice(s) => {
                self.define(s.elem, out);
                put_uint(&mut body, 2); // SliceT
                put_uint(&mut body, 1); // its CommonType
                put_common_type(&mut body, s.name, id);
                put_uint(&mut body, 1); // Elem
                put_int(&mut body, s.elem.id());
                put_uint(&mut body, 0);
            }
        }
        put_uint(&mut body, 0); // end of the wireType
        put_uint(out, body.len() as u64);
        out.extend_from_slice(&body);
    }
}

fn put_common_type(buf: &mut Vec<u8>, name: &str, id: TypeId) {
    if name.is_empty() {
        put_uint(buf, 2);
    } else {
        put_uint(buf, 1);
        put_bytes(buf, name.as_bytes());
        put_uint(buf, 1);
    }
    put_int(buf, id);
    put_uint(buf, 0);
}

/// A struct's fields that are not Go's zero, as deltas, ended by 0.
fn encode_struct(buf: &mut Vec<u8>, shape: &StructShape, value: &Value) -> io::Result<()> {
    let mut last: i64 = -1;
    for (index, (name, field)) in shape.fields.iter().enumerate() {
        let Some(v) = value.field(name) else { continue };
        if is_zero(*field, v) {
            continue;
        }
        put_uint(buf, (index as i64 - last) as u64);
        last = index as i64;
        encode_value(buf, *field, v)?;
    }
    put_uint(buf, 0);
    Ok(())
}

/// Go leaves out zero fields of basic types and empty slices; a struct
/// field is always sent.
fn is_zero(shape: Shape, value: &Value) -> bool {
    match (shape, value) {
        (Shape::Struct(_), _) => false,
        (_, Value::Bool(b)) => !b,
        (_, Value::Int(i)) => *i == 0,
        (_, Value::Uint(u)) => *u == 0,
        (_, Value::Float(f)) => *f == 0.0,
        (_, Value::Bytes(b)) => b.is_empty(),
        (_, Value::String(s)) => s.is_empty(),
        (_, Value::List(items)) => items.is_empty(),
        (_, Value::Map(entries)) => entries.is_empty(),
        (_, Value::Struct(_)) => false,
    }
}

fn encode_value(buf: &mut Vec<u8>, shape: Shape, value: &Value) -> io::Result<()> {
    let mismatch = || invalid(format!("a value that is not of type {}", shape.id()));
    match (shape, value) {
        (Shape::Builtin(BOOL), Value::Bool(b)) => put_uint(buf, u64::from(*b)),
        (Shape::Builtin(INT), Value::Int(i)) => put_int(buf, *i),
        (Shape::Builtin(UINT), Value::Uint(u)) => put_uint(buf, *u),
        (Shape::Builtin(FLOAT), Value::Float(f)) => put_uint(buf, f.to_bits().swap_bytes()),
        (Shape::Builtin(BYTES), Value::Bytes(b)) => put_bytes(buf, b),
        (Shape::Builtin(STRING), Value::String(s)) => put_bytes(buf, s.as_bytes()),
        (Shape::Struct(s), v @ Value::Struct(_)) => encode_struct(buf, s, v)?,
        (Shape::Slice(s), Value::List(items)) => {
            put_uint(buf, items.len() as u64);
            for item in items {
                encode_value(buf, s.elem, item)?;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// net/rpc's request header and the reference plugin's CmdArgs, as Go
    /// 1.19's encoder wrote them (libcni 1.2's CmdArgs, with NetnsOverride).
    const GO_CALL: &str = "2fff81030101075265717565737401ff82000102010d536572766963654d6574686f64010c000103536571010600000012ff82010d444843502e416c6c6f63617465006cff8303010107436d644172677301ff84000107010b436f6e7461696e65724944010c0001054e65746e73010c00010649664e616d65010c00010441726773010c00010450617468010c00010d4e65746e734f76657272696465010c000109537464696e44617461010a00000038ff8401046374723101102f7661722f72756e2f6e65746e732f78010465746830020c2f6f70742f636e692f62696e02077b2261223a317d00";

    /// An error answer: the Response header and the empty struct net/rpc sends as its body.
    const GO_ERROR: &str = "3aff8503010108526573706f6e736501ff86000103010d536572766963654d6574686f64010c00010353657101060001054572726f72010c00000019ff86010c444843502e52656c6561736501010104626f6f6d000aff9b030102ff9c00000003ff9c00";

    #[test]
    fn decodes_what_go_sends() {
        let data = hex(GO_CALL);
        let mut decoder = Decoder::new(&data[..]);
        let header = decoder.next_value().unwrap().unwrap();
        assert_eq!(header.text("ServiceMethod"), "DHCP.Allocate");
        assert_eq!(header.int("Seq"), 0, "a zero is not sent");
        let args = decoder.next_value().unwrap().unwrap();
        assert_eq!(args.text("ContainerID"), "ctr1");
        assert_eq!(args.text("Netns"), "/var/run/netns/x");
        assert_eq!(args.text("IfName"), "eth0");
        assert_eq!(args.text("Path"), "/opt/cni/bin");
        assert_eq!(args.bytes("StdinData"), br#"{"a":1}"#);
        assert_eq!(decoder.next_value().unwrap(), None, "a clean end");

        let data = hex(GO_ERROR);
        let mut decoder = Decoder::new(&data[..]);
        let header = decoder.next_value().unwrap().unwrap();
        assert_eq!((header.text("Error"), header.int("Seq")), ("boom".to_string(), 1));
        assert_eq!(decoder.next_value().unwrap().unwrap(), Value::Struct(Vec::new()));
    }

    static HEADER: StructShape = StructShape {
        id: 65,
        name: "Request",
        fields: &[("ServiceMethod", Shape::Builtin(STRING)), ("Seq", Shape::Builtin(UINT))],
    };

    #[test]
    fn encodes_as_go_does() {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out);
        let header = Value::Struct(vec![
            ("ServiceMethod".into(), Value::String("DHCP.Allocate".into())),
            ("Seq".into(), Value::Uint(0)),
        ]);
        encoder.encode(&HEADER, &header).unwrap();
        // Byte for byte what Go wrote: the definition, then the value.
        assert_eq!(out, hex(GO_CALL)[..0x30 + 0x13]);
        let mut again = Vec::new();
        let mut encoder = Encoder::new(&mut again);
        encoder.encode(&HEADER, &header).unwrap();
        encoder.encode(&HEADER, &header).unwrap();
        assert_eq!(again.len(), 0x30 + 0x13 * 2, "a type is defined once per stream");
    }

    #[test]
    fn numbers_fold_and_round_trip() {
        for i in [0i64, 1, -1, 63, -64, 64, 1000, -1000, i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            put_int(&mut buf, i);
            assert_eq!(Cursor { data: &buf, at: 0 }.int().unwrap(), i);
        }
        let mut buf = Vec::new();
        put_uint(&mut buf, 256);
        assert_eq!(buf, [0xfe, 0x01, 0x00], "Go's example: 256 is FE 01 00");
        put_int(&mut buf, 65);
        assert_eq!(&buf[3..], [0xff, 0x82]);
    }

    #[test]
    fn hostile_streams_are_errors_not_panics() {
        for data in [&b"\x05\x02"[..], b"\xff", b"\x03\xff\x81\x07", b"\x02\x82\x01", b"\xf0"] {
            let mut decoder = Decoder::new(data);
            assert!(decoder.next_value().is_err(), "{data:?}");
        }
    }
}
