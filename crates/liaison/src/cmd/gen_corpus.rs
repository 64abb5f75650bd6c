//! `liaison gen corpus`: a realistic mixed corpus for screening tests and
//! benchmarks, with its watchlist, indicator bundle and manifest.

use anyhow::{bail, Context, Result};
use liaison_screen::corpus::{self, CorpusConfig};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

/// Generate a screening corpus: log lines and news-like sentences in several
/// languages (Chinese included) with planted watchlist terms and indicators
/// (some defanged) and near misses; plus the matching watchlist, a STIX bundle
/// of indicators and a JSON manifest of what was planted.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  liaison gen corpus --size 500MB --seed 7 --out /tmp/corpus\n\n\
Writes DIR/corpus.txt, DIR/watchlist.txt (one term a line), DIR/indicators.json\n\
(a STIX 2.1 bundle) and DIR/manifest.json. The same seed gives the same files."
)]
pub struct GenCorpusArgs {
    /// Approximate corpus size: bytes, or with a unit (500MB, 2GiB, 64k).
    #[arg(long, default_value = "100MB", value_parser = parse_size)]
    pub size: u64,
    /// Seed of everything generated.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of watchlist terms.
    #[arg(long, default_value_t = 100_000)]
    pub terms: usize,
    /// Number of indicators in the bundle.
    #[arg(long, default_value_t = 10_000)]
    pub indicators: usize,
    /// At most this many planted hits listed one by one in the manifest.
    #[arg(long, default_value_t = 200_000)]
    pub manifest_limit: usize,
}

/// Parse `500MB`, `2GiB`, `64k`, `1000`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}': expected a size like 500MB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" => 1073741824.0,
        u => return Err(format!("'{s}': unknown unit '{u}'")),
    };
    Ok((n * mult) as u64)
}

/// Counts bytes for the progress bar.
struct Progress<W> {
    w: W,
    pb: indicatif::ProgressBar,
}

impl<W: Write> Write for Progress<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.w.write(b)?;
        self.pb.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Run `liaison gen corpus`.
pub fn run(args: GenCorpusArgs) -> Result<()> {
    if args.size == 0 {
        bail!("--size must be more than 0");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<File>> {
        let p = args.out.join(name);
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(&p).with_context(|| format!("{}", p.display()))?,
        ))
    };
    let cfg = CorpusConfig {
        seed: args.seed,
        size: args.size,
        terms: args.terms,
        indicators: args.indicators,
        manifest_limit: args.manifest_limit,
        ..CorpusConfig::default()
    };
    let terms = corpus::watchlist_terms(cfg.seed, cfg.terms);
    let mut w = create("watchlist.txt")?;
    for t in &terms {
        writeln!(w, "{t}")?;
    }
    w.flush()?;
    let inds = corpus::indicators(cfg.seed, cfg.indicators);
    let mut w = create("indicators.json")?;
    corpus::write_bundle(&inds, &mut w)?;
    w.flush()?;

    let pb = if io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(args.size);
        if let Ok(s) = indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec}",
        ) {
            pb.set_style(s);
        }
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut w = Progress {
        w: create("corpus.txt")?,
        pb: pb.clone(),
    };
    let manifest = corpus::write_corpus(&cfg, &terms, &inds, &mut w)?;
    w.flush()?;
    pb.finish_and_clear();
    let mut m = create("manifest.json")?;
    serde_json::to_writer_pretty(&mut m, &manifest)?;
    m.write_all(b"\n")?;
    m.flush()?;
    eprintln!(
        "liaison: wrote {} ({} lines, {} bytes; {} planted hits, {} near misses), watchlist.txt ({} terms), indicators.json ({} indicators), manifest.json",
        args.out.join("corpus.txt").display(),
        manifest.lines,
        manifest.bytes,
        manifest.counts.values().sum::<u64>(),
        manifest.near_miss_counts.values().sum::<u64>(),
        terms.len(),
        inds.len()
    );
    Ok(())
}
