//! Medians, p90 and ratios, and the table they are printed in.

use std::time::Duration;

/// Summary of timings in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// Median and p90 of a set of timings.
pub fn summarize(times: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if ms.is_empty() {
        return Summary { median: f64::NAN, p90: f64::NAN };
    }
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Summary { median: at(0.5), p90: at(0.9) }
}

/// One line of the report.
pub struct Row {
    /// What was measured.
    pub what: String,
    /// Ours, as shown.
    pub ours: String,
    /// The reference, as shown.
    pub reference: String,
    /// The floor (the same kernel work, fewest syscalls), as shown.
    pub floor: String,
    /// ours / reference.
    pub ratio: f64,
    /// ours / floor in time (for a rate: the floor's rate / ours); `None`
    /// without a floor.
    pub floor_ratio: Option<f64>,
    /// The target, as DESIGN.md states it.
    pub target: String,
}

/// Formats a latency summary.
pub fn latency(s: Summary) -> String {
    format!("{:.1} ms (p90 {:.1})", s.median, s.p90)
}

/// The report as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| work | ours | reference | floor | ours/ref | ours/floor | target |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let floor_ratio = row.floor_ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "n/a".to_string());
        let ratio = if row.ratio.is_nan() { "n/a".to_string() } else { format!("{:.2}", row.ratio) };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {ratio} | {floor_ratio} | {} |\n",
            row.what, row.ours, row.reference, row.floor, row.target
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let times: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let s = summarize(&times);
        assert_eq!(s.median, 6.0);
        assert_eq!(s.p90, 9.0);
    }
}
