//! Engine build time and one-thread scan speed on one file, without the
//! command's IO (for development: run it under `valgrind --tool=cachegrind`
//! to compare matchers by instruction counts and cache misses).
//!
//! ```text
//! cargo run --release -p liaison-screen --example scan-speed -- WATCHLIST TEXT [ci|ac|ac-ci]
//! REPS=1 valgrind --tool=cachegrind target/release/examples/scan-speed w.txt c10.txt
//! ```

use liaison_screen::{EngineBuilder, Scratch, Term, Watchlist};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 3 {
        eprintln!("usage: scan-speed WATCHLIST TEXT [ci|ac|ac-ci]");
        std::process::exit(2);
    }
    let w = std::fs::read_to_string(&a[1]).expect("watchlist");
    let text = std::fs::read(&a[2]).expect("text");
    let mode = a.get(3).map_or("", String::as_str);
    if mode == "x" {
        extract_only(&text);
        return;
    }
    let list = Watchlist {
        terms: w.lines().map(Term::new).collect(),
    };
    let t = std::time::Instant::now();
    let e = EngineBuilder::new()
        .extract(None)
        .ignore_case(mode.ends_with("ci"))
        .strided(!mode.starts_with("ac"))
        .watchlist(list)
        .build()
        .expect("build");
    eprintln!("build {:?} {:?}", t.elapsed(), e);
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    if std::env::var_os("FOLD").is_some() {
        let mut out = Vec::new();
        let mut best = std::time::Duration::MAX;
        for _ in 0..reps {
            let t = std::time::Instant::now();
            liaison_screen::fold::fold_into(&text, &mut out);
            best = best.min(t.elapsed());
        }
        eprintln!(
            "fold {best:?}: {:.0} MB/s",
            text.len() as f64 / 1e6 / best.as_secs_f64()
        );
    }
    let (mut best, mut n) = (std::time::Duration::MAX, 0);
    let mut sc = Scratch::default();
    for _ in 0..reps {
        let t = std::time::Instant::now();
        n = e.scan("x", &text, 1, 0, &mut sc).len();
        best = best.min(t.elapsed());
    }
    eprintln!(
        "scan {best:?} (best of {reps}), {n} hits, {:.0} MB/s",
        text.len() as f64 / 1e6 / best.as_secs_f64()
    );
}

/// Extraction alone (`scan-speed W TEXT x`), over 64 KiB chunks cut at line
/// ends as the command cuts them: the cost of the extractors without the
/// watchlist, for instruction counts under valgrind.
fn extract_only(text: &[u8]) {
    use liaison_screen::extract::{extract, Extractors};
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut out = Vec::new();
    let (mut best, mut n) = (std::time::Duration::MAX, 0);
    for _ in 0..reps {
        let t = std::time::Instant::now();
        n = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let cut = if rest.len() <= 65536 {
                rest.len()
            } else {
                memchr::memchr(b'\n', &rest[65536..]).map_or(rest.len(), |p| 65536 + p + 1)
            };
            out.clear();
            extract(&rest[..cut], Extractors::default(), &mut out);
            n += out.len();
            rest = &rest[cut..];
        }
        best = best.min(t.elapsed());
    }
    eprintln!(
        "extract {best:?} (best of {reps}), {n} found, {:.0} MB/s",
        text.len() as f64 / 1e6 / best.as_secs_f64()
    );
}
