//! Output for people and for scripts: tables on a terminal, stable JSON
//! with `-o json`. Every view builds its rows once and picks a form here.
//!
//! Also the one way out to stdout for the views: a reader that stops early
//! (`cnictl plugins | head -1`) closes the pipe, and the command then ends
//! quietly, as a program killed by SIGPIPE, instead of panicking.

use std::any::Any;
use std::io::{ErrorKind, IsTerminal, Write};

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

/// The unwind payload that a closed stdout starts: `main` turns it into a
/// quiet SIGPIPE exit after the destructors on the way have run.
pub struct ClosedPipe;

/// The unwind payload of any other failed write to stdout (a full disk):
/// `main` reports it as an error.
pub struct WriteFailed(pub String);

/// Writes `bytes` to stdout and flushes; a closed pipe or a failed write
/// ends the command (see [`ClosedPipe`], [`WriteFailed`]).
pub fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        drop(out);
        if e.kind() == ErrorKind::BrokenPipe {
            std::panic::resume_unwind(Box::new(ClosedPipe));
        }
        std::panic::resume_unwind(Box::new(WriteFailed(format!("cannot write to standard output: {e}"))));
    }
}

/// Writes one line to stdout, as [`write_out`] does.
pub fn line(text: impl std::fmt::Display) {
    write_out(format!("{text}\n").as_bytes());
}

/// True for the payload of an unwind that a closed stdout or stderr caused:
/// ours, or the panic of `println!`/`eprintln!` (code we do not route
/// through [`write_out`]).
pub fn is_closed_pipe(payload: &(dyn Any + Send)) -> bool {
    if payload.is::<ClosedPipe>() {
        return true;
    }
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    text.starts_with("failed printing to std") && text.contains("Broken pipe")
}

/// Keeps the panic hook quiet for a closed pipe (it would print "The
/// application panicked" and a backtrace banner); other panics go to the
/// hook installed before.
pub fn quiet_closed_pipes() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_pipe(info.payload()) {
            previous(info);
        }
    }));
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

/// Words that open a cell in a bad state, and their colours (ANSI SGR).
const STATES: [(&str, &str); 6] = [
    ("fail", "1;31"),
    ("error", "1;31"),
    ("problem", "1;31"),
    ("warn", "33"),
    ("gone", "33"),
    ("skip", "33"),
];

/// The first private-use character: a state word is carried through the
/// table layout in private-use characters of the same width, one per ASCII
/// letter, and coloured after the layout so that escapes never count
/// towards a column's width.
const MARK: u32 = 0xE000;

fn mark_state(cell: String) -> String {
    let word = cell.split([' ', ':']).next().unwrap_or_default();
    if !STATES.iter().any(|(state, _)| *state == word) {
        return cell;
    }
    let marked: String = word.chars().filter_map(|c| char::from_u32(MARK + c as u32)).collect();
    format!("{marked}{}", &cell[word.len()..])
}

fn paint_states(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let colour = STATES.iter().find(|(state, _)| state == word).map_or("0", |(_, c)| c);
        out.push_str(&format!("\x1b[{colour}m{word}\x1b[0m"));
        word.clear();
    };
    for c in text.chars() {
        match (c as u32).checked_sub(MARK).filter(|d| *d < 0x80).and_then(char::from_u32) {
            Some(plain) => word.push(plain),
            None => {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A table with a header row. On a terminal: a rule under the header only,
/// fitted to the terminal's width (long cells wrap), bad states (fail,
/// error, problem, warn, gone, skip) in colour unless NO_COLOR is set. In a pipe:
/// plain aligned columns, lines never wrapped.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let terminal = std::io::stdout().is_terminal();
    let colour = colored();
    let mut table = Table::new();
    match width() {
        Some(columns) if terminal => {
            // A rule under the header, nothing between rows.
            table.load_preset("     ──            ");
            table.set_content_arrangement(ContentArrangement::Dynamic).set_width(columns);
        }
        _ => {
            table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if headers.iter().any(|h| !h.is_empty()) {
        table.set_header(headers.iter().map(|h| h.to_uppercase()));
    }
    let columns = width().filter(|_| terminal);
    let mut widest: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            match widest.get_mut(i) {
                Some(widest) => *widest = (*widest).max(w),
                None => widest.push(w),
            }
        }
        table.add_row(if colour { row.into_iter().map(mark_state).collect() } else { row });
    }
    if let Some(columns) = columns {
        keep_short_columns_whole(&mut table, &widest, columns);
    }
    let text = table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    if colour {
        paint_states(&text)
    } else {
        text
    }
}

/// The widest cell a column may have and still be kept whole.
const SHORT_COLUMN: usize = 30;

/// Keeps short columns (names, versions, states) unwrapped, narrowest
/// first, while they take at most three quarters of the width: the
/// Dynamic arrangement alone shares the width evenly and cut a 19-column
/// file name to leave room for a long message beside it. Long columns
/// share the rest.
fn keep_short_columns_whole(table: &mut Table, widest: &[usize], columns: u16) {
    let budget = usize::from(columns) * 3 / 4;
    let mut order: Vec<usize> = (0..widest.len()).collect();
    order.sort_by_key(|&i| widest[i]);
    let mut used = 0;
    for i in order {
        let need = widest[i] + 2; // the cell's padding, which the boundary counts
        if widest[i] > SHORT_COLUMN || used + need > budget {
            break;
        }
        used += need;
        if let (Some(column), Ok(w)) = (table.column_mut(i), u16::try_from(widest[i])) {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w + 2)));
        }
    }
}

/// Prints a view: its JSON, or its table (with `empty` when there are no rows).
pub fn print(format: Format, json: &Value, headers: &[&str], rows: Vec<Vec<String>>, empty: &str) {
    match format {
        Format::Json => crate::commands::print_json(json),
        Format::Table if rows.is_empty() => line(empty),
        Format::Table => line(table(headers, rows)),
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
    fn state_words_are_marked_and_painted_back() {
        let marked = mark_state("fail: no plugin".into());
        assert_ne!(marked, "fail: no plugin");
        assert_eq!(marked.chars().count(), "fail: no plugin".chars().count());
        assert_eq!(paint_states(&marked), "\x1b[1;31mfail\x1b[0m: no plugin");
        assert_eq!(mark_state("failing".into()), "failing");
        assert_eq!(mark_state("ok".into()), "ok");
    }

    #[test]
    fn marked_words_take_the_width_of_the_plain_ones() {
        let render = |cell: String| {
            let mut t = Table::new();
            t.load_preset(presets::NOTHING).set_header(["A", "B"]).add_row([cell, "x".into()]);
            t.to_string()
        };
        let plain = render("warn".into());
        let marked = render(mark_state("warn".into()));
        assert_eq!(paint_states(&marked).replace("\x1b[33m", "").replace("\x1b[0m", ""), plain);
    }

    #[test]
    fn other_panics_are_not_closed_pipes() {
        let ours: Box<dyn Any + Send> = Box::new(ClosedPipe);
        assert!(is_closed_pipe(&*ours));
        let std: Box<dyn Any + Send> =
            Box::new(String::from("failed printing to stdout: Broken pipe (os error 32)"));
        assert!(is_closed_pipe(&*std));
        let other: Box<dyn Any + Send> = Box::new("index out of bounds");
        assert!(!is_closed_pipe(&*other));
    }
}
