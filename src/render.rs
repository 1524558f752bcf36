//! Output for people and for scripts: tables on a terminal, stable JSON
//! with `-o json`. Every view builds its rows once and picks a form here.
//!
//! Also the one way out to stdout: every write returns `io::Result`, and a
//! reader that stops early (`cnictl plugins | head -1`) ends the command
//! quietly, as a program killed by SIGPIPE, through the one path in `main`.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table, Width};
use serde_json::Value;

/// How views print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns (the default).
    Table,
    /// JSON, for scripts.
    Json,
}

/// Writes `bytes` to stdout and flushes. A reader that went away comes
/// back as an error of kind `BrokenPipe`, which `main` turns into a quiet
/// SIGPIPE exit ([`crate::report::closed_pipe`]) once the command has
/// unwound by `?` (the destructors on the way run: `run` still deletes its
/// network); any other failure is reported as an error.
pub fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush())
}

/// Writes one line to stdout, as [`write_out`] does.
pub fn line(text: impl std::fmt::Display) -> std::io::Result<()> {
    write_out(format!("{text}\n").as_bytes())
}

/// A finding's detail with its fix on the line under it: doctor's and
/// `check --deep`'s tables, whose three columns leave the detail most of a
/// terminal's width.
pub fn detail_with_fix(detail: &str, fix: Option<&str>) -> String {
    match fix {
        Some(fix) => format!("{detail}\nfix: {fix}"),
        None => detail.to_string(),
    }
}

/// Prints JSON for scripts, indented as the reference tools do.
pub fn print_json(value: &Value) -> std::io::Result<()> {
    let mut out = cni::result::to_pretty(value);
    out.push(b'\n');
    write_out(&out)
}

/// Ends the process as a shell program whose reader went away: killed by
/// SIGPIPE (the shell shows 141), or exit 141 if the signal does not end it.
pub fn closed_pipe_exit() -> std::process::ExitCode {
    // SAFETY: restoring a signal's default action and raising it has no
    // memory-safety preconditions; nothing else in this process relies on
    // SIGPIPE being ignored from here on.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::ExitCode::from(141)
}

/// True when the views may use colour: stdout is a terminal and NO_COLOR
/// is unset or empty (<https://no-color.org>).
pub fn colored() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// The width tables are fitted to: the terminal's columns when stdout is a
/// terminal (80 if it does not say), none in a pipe, so that scripts get
/// whole lines.
pub fn width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer given, which
    // points at a live, writable one.
    let got = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    if got == 0 && size.ws_col > 0 {
        return Some(size.ws_col);
    }
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|c| *c > 0);
    Some(columns.unwrap_or(80))
}

/// What a cell's state says, which decides its colour: the view that makes
/// the cell knows the state's type, so no word of its text is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing to point out.
    Plain,
    /// Worth a look (yellow): warn, gone, skip.
    Notice,
    /// Something is wrong (bold red): fail, error, problem.
    Alarm,
}

impl Tone {
    /// The ANSI SGR colour, and the first private-use character of the
    /// range a state word of this tone is carried through the layout in.
    fn paint(self) -> Option<(&'static str, u32)> {
        match self {
            Tone::Plain => None,
            Tone::Notice => Some(("33", 0xE000)),
            Tone::Alarm => Some(("1;31", 0xE080)),
        }
    }
}

/// A table cell: its text, and the tone of its leading word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// What it says.
    pub text: String,
    /// How its state word is coloured on a terminal.
    pub tone: Tone,
}

impl Cell {
    /// A cell whose leading word is a state of `tone`.
    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell { text: text.into(), tone }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, tone: Tone::Plain }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

/// A view: what `-o json` prints (its serialization) and the table of it.
pub trait View: serde::Serialize {
    /// The table's column headers.
    fn headers(&self) -> &'static [&'static str];
    /// One row per item.
    fn rows(&self) -> Vec<Vec<Cell>>;
    /// What the table says when there are no rows.
    fn empty(&self) -> String;
}

/// Prints a view: its JSON, or its table.
pub fn show(format: Format, view: &impl View) -> std::io::Result<()> {
    match format {
        Format::Json => print_json(&serde_json::to_value(view)?),
        Format::Table => {
            let rows = view.rows();
            if rows.is_empty() {
                line(view.empty())
            } else {
                line(table(view.headers(), rows))
            }
        }
    }
}

/// The leading word of a toned cell (up to a space or colon), carried
/// through the table layout in private-use characters of the same width,
/// one per ASCII letter, and painted after the layout so that escapes
/// never count towards a column's width.
fn mark_state(cell: Cell) -> String {
    let Some((_, base)) = cell.tone.paint() else { return cell.text };
    let word = cell.text.split([' ', ':']).next().unwrap_or_default();
    if !word.is_ascii() {
        return cell.text;
    }
    let marked: String = word.chars().filter_map(|c| char::from_u32(base + c as u32)).collect();
    format!("{marked}{}", &cell.text[word.len()..])
}

fn paint_states(text: &str) -> String {
    let tones = [Tone::Notice, Tone::Alarm].map(|t| t.paint().unwrap_or_default());
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut colour = "0";
    let flush = |word: &mut String, out: &mut String, colour: &str| {
        if !word.is_empty() {
            out.push_str(&format!("\x1b[{colour}m{word}\x1b[0m"));
            word.clear();
        }
    };
    for c in text.chars() {
        let marked = tones.iter().find_map(|(sgr, base)| {
            let offset = (c as u32).checked_sub(*base).filter(|d| *d < 0x80)?;
            Some((*sgr, char::from_u32(offset)?))
        });
        match marked {
            Some((sgr, plain)) => {
                if sgr != colour {
                    flush(&mut word, &mut out, colour);
                    colour = sgr;
                }
                word.push(plain);
            }
            None => {
                flush(&mut word, &mut out, colour);
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out, colour);
    out
}

/// A table with a header row. On a terminal: a rule under the header only,
/// fitted to the terminal's width (long cells wrap between words, and IDs,
/// paths and addresses are kept whole wherever the width allows), the
/// state word of a toned cell in its tone's colour unless NO_COLOR is set. In a pipe: plain aligned columns, lines never wrapped. Cells
/// under a `container id` or `netns` header are shown short ([`cell`]).
pub fn table(headers: &[&str], rows: Vec<Vec<Cell>>) -> String {
    let terminal = std::io::stdout().is_terminal();
    layout(headers, rows, width().filter(|_| terminal), colored())
}

/// [`table`] for a terminal of `columns` (none: a pipe), coloured or not.
fn layout(headers: &[&str], rows: Vec<Vec<Cell>>, columns: Option<u16>, colour: bool) -> String {
    let mut table = Table::new();
    match columns {
        Some(columns) => {
            // A rule under the header, nothing between rows.
            table.load_preset("     ──            ");
            table.set_content_arrangement(ContentArrangement::Dynamic).set_width(columns);
        }
        None => {
            table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let titles: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    if headers.iter().any(|h| !h.is_empty()) {
        table.set_header(&titles);
    }
    let mut widest: Vec<usize> = titles.iter().map(|h| h.chars().count()).collect();
    let mut words: Vec<usize> = titles.iter().map(|h| longest_word(h)).collect();
    for row in rows {
        let row: Vec<Cell> = row
            .into_iter()
            .enumerate()
            .map(|(i, c)| Cell { text: cell(headers.get(i).copied().unwrap_or(""), c.text), tone: c.tone })
            .collect();
        for (i, text) in row.iter().map(|c| &c.text).enumerate() {
            let w = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            if widest.len() <= i {
                widest.push(0);
                words.push(0);
            }
            widest[i] = widest[i].max(w);
            words[i] = words[i].max(longest_word(text));
        }
        let texts: Vec<String> = if colour {
            row.into_iter().map(mark_state).collect()
        } else {
            row.into_iter().map(|c| c.text).collect()
        };
        table.add_row(texts);
    }
    if let Some(columns) = columns {
        for (i, w) in column_widths(&widest, &words, usize::from(columns)).into_iter().enumerate() {
            // The constraint's width counts the cell's padding.
            if let (Some(column), Ok(w)) = (table.column_mut(i), u16::try_from(w + 2)) {
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
        }
    }
    let text = table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    if colour {
        paint_states(&text)
    } else {
        text
    }
}

/// The widest run of non-blank characters in `text`: what wrapping between
/// words cannot make narrower.
fn longest_word(text: &str) -> usize {
    text.split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0)
}

/// How many characters of a container ID a table shows, as `podman ps`.
pub const SHORT_ID: usize = 12;

/// A cell as a table shows it, by its column's header: a container ID as
/// [`short_id`], a namespace path as [`netns_cell`]; others as they are.
/// JSON always has them in full.
pub fn cell(header: &str, text: String) -> String {
    match header {
        "container id" => short_id(&text),
        "netns" => netns_cell(&text),
        _ => text,
    }
}

/// A container ID as a table shows it: a hexadecimal one (docker, podman,
/// containerd, CRI-O) cut to [`SHORT_ID`] characters as `podman ps` cuts
/// it; another (cnitool's `cnitool-` and 20 hex digits) whole up to
/// [`SHORT_COLUMN`] characters, else cut with an ellipsis.
pub fn short_id(id: &str) -> String {
    let length = id.chars().count();
    if length > SHORT_ID && id.chars().all(|c| c.is_ascii_hexdigit()) {
        return id.chars().take(SHORT_ID).collect();
    }
    if length > SHORT_COLUMN {
        return id.chars().take(SHORT_COLUMN - 1).chain(std::iter::once('…')).collect();
    }
    id.to_string()
}

/// A netns path as a table shows it: a named namespace (under
/// /var/run/netns or /run/netns, as `ip netns` makes them) by its name,
/// any other path as it is.
pub fn netns_cell(path: &str) -> String {
    let named = ["/var/run/netns/", "/run/netns/"].iter().find_map(|dir| path.strip_prefix(dir));
    match named {
        Some(name) if !name.is_empty() && !name.contains('/') => name.to_string(),
        _ => path.to_string(),
    }
}

/// The widest cell a column may have and still be kept whole.
const SHORT_COLUMN: usize = 30;

/// The content width of each column on a terminal of `columns`. First each
/// column's longest word, narrowest first while all of them fit: an ID, a
/// path or an address is never cut inside where the width allows. When
/// they all fit, short columns (names, versions, states) whole, narrowest
/// first, while they take at most three quarters of the width: shared
/// evenly, a 19-column file name was cut to leave room for a long message
/// beside it. When they do not, the columns whose words are cut get the
/// rest first. Then what is left goes to the columns that want more.
fn column_widths(widest: &[usize], words: &[usize], columns: usize) -> Vec<usize> {
    // A line is each column's content and its padding of 2, and a
    // separator between columns: the sum of (content + 3) less one.
    let room = columns + 1;
    let used = |widths: &[usize]| widths.iter().map(|w| w + 3).sum::<usize>();
    let mut widths = vec![1; widest.len()];
    let mut by_word: Vec<usize> = (0..widest.len()).collect();
    by_word.sort_by_key(|&i| words[i]);
    for i in by_word {
        let before = widths[i];
        widths[i] = words[i].max(before);
        if used(&widths) > room {
            widths[i] = before;
            break;
        }
    }
    let cut: Vec<usize> = (0..widest.len()).filter(|&i| widths[i] < words[i]).collect();
    if cut.is_empty() {
        keep_short_columns_whole(&mut widths, widest, columns, |w| used(w) <= room);
    }
    let rest = room.saturating_sub(used(&widths));
    let rest = share(&mut widths, words, &cut, rest);
    let all: Vec<usize> = (0..widest.len()).collect();
    share(&mut widths, widest, &all, rest);
    widths
}

/// Widens short columns (at most [`SHORT_COLUMN`]) to their widest cell,
/// narrowest first, while they take at most three quarters of `columns`
/// and the widths still `fit`.
fn keep_short_columns_whole(
    widths: &mut [usize],
    widest: &[usize],
    columns: usize,
    fit: impl Fn(&[usize]) -> bool,
) {
    let budget = columns * 3 / 4;
    let mut by_width: Vec<usize> = (0..widest.len()).collect();
    by_width.sort_by_key(|&i| widest[i]);
    let mut whole = 0;
    for i in by_width {
        let before = widths[i];
        widths[i] = widest[i].max(before);
        if widest[i] > SHORT_COLUMN || whole + widest[i] + 2 > budget || !fit(widths) {
            widths[i] = before;
            break;
        }
        whole += widest[i] + 2;
    }
}

/// Gives up to `rest` columns of width to the columns `among` that are
/// narrower than their `target`: the whole of what one lacks where an even
/// share covers it (those lacking least first), else an even share.
/// Returns what is left.
fn share(widths: &mut [usize], target: &[usize], among: &[usize], mut rest: usize) -> usize {
    let mut wanting: Vec<usize> = among.iter().copied().filter(|&i| widths[i] < target[i]).collect();
    wanting.sort_by_key(|&i| target[i] - widths[i]);
    while let Some(&i) = wanting.first() {
        let lacks = target[i] - widths[i];
        if lacks > rest / wanting.len() {
            break;
        }
        widths[i] = target[i];
        rest -= lacks;
        wanting.remove(0);
    }
    let count = wanting.len();
    for (n, &i) in wanting.iter().enumerate() {
        widths[i] += rest / count + usize::from(n < rest % count);
    }
    if count > 0 {
        0
    } else {
        rest
    }
}

/// How long ago, in the largest whole unit: `42s`, `5m`, `3h`, `2d`.
pub fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_the_largest_unit() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(3 * 3600), "3h");
        assert_eq!(age(3 * 86400), "3d");
    }

    #[test]
    fn a_cells_tone_not_its_words_decides_its_colour() {
        let marked = mark_state(Cell::toned("fail: no plugin", Tone::Alarm));
        assert_ne!(marked, "fail: no plugin");
        assert_eq!(marked.chars().count(), "fail: no plugin".chars().count());
        assert_eq!(paint_states(&marked), "\x1b[1;31mfail\x1b[0m: no plugin");
        let notice = mark_state(Cell::toned("gone", Tone::Notice));
        assert_eq!(paint_states(&notice), "\x1b[33mgone\x1b[0m");
        assert_eq!(
            mark_state(Cell::from("fail: a plain cell")),
            "fail: a plain cell",
            "words alone colour nothing"
        );
    }

    #[test]
    fn marked_words_take_the_width_of_the_plain_ones() {
        let render = |cell: String| {
            let mut t = Table::new();
            t.load_preset(presets::NOTHING).set_header(["A", "B"]).add_row([cell, "x".into()]);
            t.to_string()
        };
        let plain = render("warn".into());
        let marked = render(mark_state(Cell::toned("warn", Tone::Notice)));
        assert_eq!(paint_states(&marked).replace("\x1b[33m", "").replace("\x1b[0m", ""), plain);
    }

    #[test]
    fn ids_are_cut_as_podman_cuts_them_and_named_namespaces_shown_by_name() {
        let docker = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(short_id(docker), "0123456789ab");
        assert_eq!(short_id("cnitool-0a1b2c3d4e5f60718293"), "cnitool-0a1b2c3d4e5f60718293");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id(&"x".repeat(40)).chars().count(), SHORT_COLUMN);
        assert_eq!(netns_cell("/var/run/netns/blue"), "blue");
        assert_eq!(netns_cell("/run/netns/blue"), "blue");
        assert_eq!(netns_cell("/proc/42/ns/net"), "/proc/42/ns/net");
        assert_eq!(netns_cell("/var/run/netns/a/b"), "/var/run/netns/a/b");
    }

    /// The words of a table's text, each whole on some line.
    fn whole(text: &str, word: &str) -> bool {
        text.lines().any(|l| l.split_whitespace().any(|w| w == word))
    }

    #[test]
    fn terminal_tables_keep_ids_paths_and_addresses_whole() {
        let docker = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let cnitool = "cnitool-0a1b2c3d4e5f60718293";
        let headers = ["network", "container id", "netns", "if", "ips", "age", "netns exists"];
        // What fits each width when no word is cut; the IDs as tables cut them.
        let cases = [
            (80, docker, "/var/run/netns/blue", "10.248.1.7/24, fd00:248:1::7/64", "0123456789ab", "blue"),
            (
                90,
                docker,
                "/var/run/netns/cnictl-run-4242-0a1b2c3d",
                "10.248.1.7/24",
                "0123456789ab",
                "cnictl-run-4242-0a1b2c3d",
            ),
            (100, cnitool, "/proc/123456/ns/net", "10.248.1.7/24", cnitool, "/proc/123456/ns/net"),
        ];
        for (columns, id, netns, ips, shown_id, shown_netns) in cases {
            let row: Vec<Cell> = ["termnet", id, netns, "eth0", ips, "3d", "gone"].map(Cell::from).to_vec();
            let text = layout(&headers, vec![row.clone(), row], Some(columns), false);
            for line in text.lines() {
                assert!(line.chars().count() <= usize::from(columns), "{columns}: {line:?}\n{text}");
            }
            let mut words = vec![shown_id, shown_netns];
            words.extend(ips.split(", "));
            for word in words {
                assert!(
                    whole(&text, word) || whole(&text, &format!("{word},")),
                    "{columns}: {word} cut:\n{text}"
                );
            }
            assert!(!text.contains("0123456789abc"), "{columns}: the ID is cut to 12:\n{text}");
        }
        let headers = ["name", "file", "version", "plugins", "subnets", "state"];
        let file = "/etc/cni/net.d/10-mynetwork.conflist";
        let row = ["mynet", file, "1.0.0", "bridge > portmap > firewall", "10.248.1.0/24", "ok"];
        let text = layout(&headers, vec![row.map(Cell::from).to_vec()], Some(100), false);
        assert!(whole(&text, file), "{text}");
    }

    #[test]
    fn pipes_get_the_short_cells_on_whole_lines() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let rows = vec![vec![Cell::from(id), Cell::from("/var/run/netns/blue")]];
        let text = layout(&["container id", "netns"], rows, None, false);
        assert_eq!(
            text.lines().nth(1).map(str::split_whitespace).map(Iterator::collect::<Vec<_>>),
            Some(vec!["0123456789ab", "blue"])
        );
    }

    #[test]
    fn a_closed_pipe_is_an_error_that_main_ends_quietly() {
        let closed = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let report = color_eyre::eyre::Report::new(closed).wrap_err("writing the view");
        assert!(crate::report::closed_pipe(&report));
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(!crate::report::closed_pipe(&color_eyre::eyre::Report::new(full)));
    }
}
