//! Where a value sits in JSON text, so that errors found after parsing
//! (a wrong type, a missing key) can name the line and column as a parse
//! error would. A small scanner over the original bytes; it assumes the
//! text already parsed as JSON.
//!
//! Plugin errors name the key at fault as `key "ipam.ranges[0][0].subnet"`
//! ([`key_label`]); [`key_in_message`] finds it again, [`parse_path`] turns
//! it into a path and [`locate_go`] finds it in the file the way Go's
//! decoder matched it, so `cnictl validate` can point into the file.

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// The path as people write it: `plugins[0].ipam.type`.
pub fn display(path: &[Seg]) -> String {
    let mut text = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if text.is_empty() => text.push_str(k),
            Seg::Key(k) => {
                text.push('.');
                text.push_str(k);
            }
            Seg::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

fn skip_ws(text: &[u8], mut pos: usize) -> usize {
    while pos < text.len() && text[pos].is_ascii_whitespace() {
        pos += 1;
    }
    pos
}

/// The end (exclusive) of the string starting at `pos` (a quote).
fn string_end(text: &[u8], mut pos: usize) -> Option<usize> {
    pos += 1;
    while pos < text.len() {
        match text[pos] {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
    None
}

/// The end (exclusive) of the value starting at `pos`.
fn value_end(text: &[u8], pos: usize) -> Option<usize> {
    match *text.get(pos)? {
        b'"' => string_end(text, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = pos;
            while at < text.len() {
                match text[at] {
                    b'"' => {
                        at = string_end(text, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            None
        }
        _ => {
            let mut at = pos;
            while at < text.len()
                && !matches!(text[at], b',' | b'}' | b']')
                && !text[at].is_ascii_whitespace()
            {
                at += 1;
            }
            Some(at)
        }
    }
}

/// The byte offset of the value at `path`, starting from the value at `pos`.
fn find(text: &[u8], pos: usize, path: &[Seg]) -> Option<usize> {
    find_with(text, pos, path, usize::MAX)
}

/// [`find`], the keys from segment `fold_from` on matched as Go's decoder
/// matches struct fields: equal or equal as Go folds case. Of two keys for
/// one value the later wins, as with serde_json's `Value` and Go's maps
/// and structs alike.
fn find_with(text: &[u8], pos: usize, path: &[Seg], fold_from: usize) -> Option<usize> {
    let pos = skip_ws(text, pos);
    let Some((first, rest)) = path.split_first() else { return Some(pos) };
    let (open, close) = match first {
        Seg::Key(_) => (b'{', b'}'),
        Seg::Index(_) => (b'[', b']'),
    };
    if *text.get(pos)? != open {
        return None;
    }
    let fold = fold_from == 0;
    let next_fold = fold_from.saturating_sub(1);
    let mut at = skip_ws(text, pos + 1);
    let mut index = 0;
    let mut last_match = None;
    while *text.get(at)? != close {
        let value_start = match first {
            Seg::Key(wanted) => {
                let key_end = string_end(text, at)?;
                let key: String = serde_json::from_slice(&text[at..key_end]).ok()?;
                let colon = skip_ws(text, key_end);
                let start = skip_ws(text, colon + 1);
                if (!fold && &key == wanted) || (fold && crate::gojson::fold_eq(wanted, &key)) {
                    last_match = Some(start);
                }
                start
            }
            Seg::Index(wanted) => {
                if index == *wanted {
                    return find_with(text, at, rest, next_fold);
                }
                at
            }
        };
        at = skip_ws(text, value_end(text, value_start)?);
        if text.get(at) == Some(&b',') {
            at = skip_ws(text, at + 1);
        }
        index += 1;
    }
    find_with(text, last_match?, rest, next_fold)
}

/// The 1-based line and column of the value at `path` in `text`.
pub fn locate(text: &[u8], path: &[Seg]) -> Option<(usize, usize)> {
    line_column(text, find(text, 0, path)?)
}

/// The line and column of the value at `prefix` then `rest`: the prefix's
/// keys matched exactly (a conflist's own keys, which libcni reads from a
/// map), the rest's as Go matches struct fields (a plugin's netconf).
pub fn locate_go(text: &[u8], prefix: &[Seg], rest: &[Seg]) -> Option<(usize, usize)> {
    let mut path = prefix.to_vec();
    path.extend_from_slice(rest);
    line_column(text, find_with(text, 0, &path, prefix.len())?)
}

/// The line and column of the value at `path` or, when it is not there
/// (a missing key), of the nearest enclosing value that is.
pub fn locate_nearest_go(text: &[u8], prefix: &[Seg], rest: &[Seg]) -> Option<(usize, usize)> {
    (0..=rest.len()).rev().find_map(|n| locate_go(text, prefix, &rest[..n]))
}

/// Parses a path as [`display`] writes it (`ipam.ranges[0][0].subnet`);
/// `None` when it is not one.
pub fn parse_path(text: &str) -> Option<Vec<Seg>> {
    let mut path = Vec::new();
    for (i, part) in text.split('.').enumerate() {
        let (name, mut indexes) = match part.find('[') {
            Some(open) => (&part[..open], &part[open..]),
            None => (part, ""),
        };
        if name.is_empty() && (i > 0 || indexes.is_empty()) {
            return None;
        }
        if !name.is_empty() {
            path.push(Seg::Key(name.to_string()));
        }
        while let Some(body) = indexes.strip_prefix('[') {
            let close = body.find(']')?;
            path.push(Seg::Index(body[..close].parse().ok()?));
            indexes = &body[close + 1..];
        }
        if !indexes.is_empty() {
            return None;
        }
    }
    Some(path)
}

/// How a plugin error names the key at fault: `key "mtu"`, the form
/// [`key_in_message`] finds again.
pub fn key_label(path: &str) -> String {
    format!("key {path:?}")
}

/// The key path a message names with [`key_label`], and the message
/// without the label (and without a leading "failed to parse network
/// config: ", which the position then says better).
pub fn key_in_message(msg: &str) -> Option<(Vec<Seg>, String)> {
    let start = msg.find("key \"")?;
    let (path, after) = debug_unquote(&msg[start + 5..])?;
    let path = parse_path(&path)?;
    let after = after.strip_prefix(": ").unwrap_or(after);
    let before = msg[..start].strip_suffix("failed to parse network config: ").unwrap_or(&msg[..start]);
    Some((path, format!("{before}{after}")))
}

/// Undoes what `{:?}` did to a string: `text` starts after the opening
/// quote; gives the string and what follows the closing quote. [`key_label`]
/// quotes with `{:?}`, which escapes quotes, backslashes, control
/// characters and some others (combining marks as `\u{364}`).
fn debug_unquote(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => out.push(match chars.next()?.1 {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'u' => {
                    if chars.next()?.1 != '{' {
                        return None;
                    }
                    let mut hex = String::new();
                    loop {
                        match chars.next()?.1 {
                            '}' => break,
                            h => hex.push(h),
                        }
                    }
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                other @ ('\\' | '"' | '\'') => other,
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    None
}

fn line_column(text: &[u8], offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(0);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }

    #[test]
    fn finds_values_by_path() {
        let text = b"{\n  \"name\": \"x\",\n  \"plugins\": [\n    {\"type\": \"a\", \"s\": \"}]\"},\n    {\"ipam\": {\"type\": 5}}\n  ]\n}";
        assert_eq!(locate(text, &[key("name")]), Some((2, 11)));
        assert_eq!(locate(text, &[key("plugins"), Seg::Index(1), key("ipam"), key("type")]), Some((5, 23)));
        assert_eq!(locate(text, &[key("plugins"), Seg::Index(2)]), None);
        assert_eq!(locate(text, &[key("missing")]), None);
        assert_eq!(
            display(&[key("plugins"), Seg::Index(1), key("ipam"), key("type")]),
            "plugins[1].ipam.type"
        );
    }

    #[test]
    fn the_later_of_duplicate_keys_is_found() {
        // serde_json (and libcni's Go map) read the later "plugins"; the
        // error about it must point there, not at the first.
        let text = b"{\"name\": \"x\", \"plugins\": \"oops\",\n \"plugins\": [{\"type\": 1}]}";
        let value: serde_json::Value = serde_json::from_slice(text).unwrap();
        assert_eq!(value["plugins"][0]["type"], 1);
        assert_eq!(locate(text, &[key("plugins"), Seg::Index(0), key("type")]), Some((2, 23)));
        assert_eq!(locate(text, &[key("plugins")]), Some((2, 13)));
        let nested = b"{\"dns\": {\"search\": \"a\", \"search\": [\"b\"]}}";
        assert_eq!(locate(nested, &[key("dns"), key("search"), Seg::Index(0)]), Some((1, 36)));
    }

    #[test]
    fn plugin_keys_are_found_as_go_matches_them() {
        let text = b"{\"plugins\": [{\"type\": \"bridge\",\n  \"MTU\": \"1\", \"Mtu\": \"2\",\n  \"IPAM\": {\"Ranges\": [[{\"subnet\": \"x\"}]]}}]}";
        let prefix = [key("plugins"), Seg::Index(0)];
        assert_eq!(locate_go(text, &prefix, &[key("mtu")]), Some((2, 22)), "the later duplicate wins");
        let subnet = parse_path("ipam.ranges[0][0].subnet").unwrap();
        assert_eq!(locate_go(text, &prefix, &subnet), Some((3, 35)));
        assert_eq!(locate_go(b"{\"Plugins\": [{}]}", &prefix, &[]), None, "the list's keys are exact");
        assert_eq!(locate_nearest_go(text, &prefix, &[key("ipam"), key("subnet")]), Some((3, 11)));
    }

    #[test]
    fn key_paths_round_trip_through_messages() {
        let path = "ipam.ranges[0][1].subnet";
        assert_eq!(display(&parse_path(path).unwrap()), path);
        assert_eq!(parse_path("a..b"), None);
        assert_eq!(parse_path("a[x]"), None);
        let msg = format!(
            "failed to parse network config: {}: invalid address: 10.0.0.0/244",
            key_label("ipam.subnet")
        );
        let (found, rest) = key_in_message(&msg).unwrap();
        assert_eq!(display(&found), "ipam.subnet");
        assert_eq!(rest, "invalid address: 10.0.0.0/244");
        let msg = format!(
            "invalid range set 0: {}: Network has host bits set",
            key_label("ipam.ranges[0][0].subnet")
        );
        assert_eq!(key_in_message(&msg).unwrap().1, "invalid range set 0: Network has host bits set");
        assert_eq!(key_in_message("no key here"), None);
    }

    #[test]
    fn keys_that_debug_quoting_escapes_come_back_out_of_a_message() {
        // key_label quotes with {:?}: a combining mark, a quote, a backslash
        // or a newline in a key is escaped, and must be read back unescaped.
        for name in ["n\u{364}me", "a\"b", "back\\slash", "new\nline", "tab\t\u{0}", "caf\u{e9}"] {
            let path = vec![key("sysctl"), key(name), Seg::Index(2)];
            let msg = format!("failed to parse network config: {}: bad value", key_label(&display(&path)));
            assert_eq!(key_in_message(&msg), Some((path, "bad value".to_string())), "{msg}");
        }
        assert_eq!(key_in_message("key \"a\\u{zz}\": x"), None);
        assert_eq!(key_in_message("key \"unterminated"), None);
    }
}
