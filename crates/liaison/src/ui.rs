//! Terminal helpers: progress bars that stay quiet when piped, and text charts.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A byte-counting progress bar on stderr, hidden when stderr is not a terminal.
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A counting progress bar (objects, lines) on stderr, hidden when piped.
pub fn count_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A horizontal bar chart of labelled counts, widest bar `width` cells.
pub fn bar_chart(rows: &[(String, u64)], width: usize) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, n) in rows {
        let cells = (*n as f64 / max as f64 * width as f64).round() as usize;
        let bar = if *n > 0 {
            "█".repeat(cells.max(1))
        } else {
            String::new()
        };
        out.push_str(&format!("  {label:<label_w$}  {bar} {n}\n"));
    }
    out
}
