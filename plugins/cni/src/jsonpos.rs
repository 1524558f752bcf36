//! Where a value sits in JSON text, so that errors found after parsing
//! (a wrong type, a missing key) can name the line and column as a parse
//! error would. A small scanner over the original bytes; it assumes the
//! text already parsed as JSON.

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
    let pos = skip_ws(text, pos);
    let Some((first, rest)) = path.split_first() else { return Some(pos) };
    let (open, close) = match first {
        Seg::Key(_) => (b'{', b'}'),
        Seg::Index(_) => (b'[', b']'),
    };
    if *text.get(pos)? != open {
        return None;
    }
    let mut at = skip_ws(text, pos + 1);
    let mut index = 0;
    while *text.get(at)? != close {
        let value_start = match first {
            Seg::Key(wanted) => {
                let key_end = string_end(text, at)?;
                let key: String = serde_json::from_slice(&text[at..key_end]).ok()?;
                let colon = skip_ws(text, key_end);
                let start = skip_ws(text, colon + 1);
                if &key == wanted {
                    return find(text, start, rest);
                }
                start
            }
            Seg::Index(wanted) => {
                if index == *wanted {
                    return find(text, at, rest);
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
    None
}

/// The 1-based line and column of the value at `path` in `text`.
pub fn locate(text: &[u8], path: &[Seg]) -> Option<(usize, usize)> {
    let offset = find(text, 0, path)?;
    let before = &text[..offset];
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
}
