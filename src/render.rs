//! Output for people and for scripts: tables on a terminal, stable JSON
//! with `-o json`. Every view builds its rows once and picks a form here.

use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

/// How views print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns (the default).
    Table,
    /// JSON, for scripts.
    Json,
}

/// A table with a header row, drawn with lines on a terminal and plain
/// ASCII in a pipe.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table.load_preset(presets::UTF8_HORIZONTAL_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.load_preset(presets::NOTHING);
    }
    table.set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

/// Prints a view: its JSON, or its table (with `empty` when there are no rows).
pub fn print(format: Format, json: &Value, headers: &[&str], rows: Vec<Vec<String>>, empty: &str) {
    match format {
        Format::Json => crate::commands::print_json(json),
        Format::Table if rows.is_empty() => println!("{empty}"),
        Format::Table => println!("{}", table(headers, rows)),
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
}
