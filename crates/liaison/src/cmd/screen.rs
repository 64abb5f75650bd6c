//! `liaison screen`: screen text for watchlist terms, indicators of compromise
//! and STIX indicators. Files, directories, stdin and gzip in; JSON lines out.
//!
//! The engine lives in `liaison-screen`; this module does the IO: inputs are
//! cut in chunks at line boundaries, scanned by a pool of workers and
//! written back in input order. Regular files are mapped into memory in
//! windows (no copy); stdin, pipes and gzip files are read.
//!
//! Line numbers: a chunk's first line number depends on the newlines of every
//! chunk before it, which are counted by the workers scanning those chunks at
//! the same time. So workers number lines from 1 within their chunk, note
//! where each hit's line number stands in its JSON line, and the ordered
//! writer adds the chunk's base. A worker gets its chunk's newline count from
//! its last hit (whose line the engine counted) plus the text after it, so
//! the text is counted once.

use anyhow::{Context, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use liaison_screen::{
    rules_from_bundle, AllowList, Engine, EngineBuilder, Extractors, Scratch, Watchlist,
};
use memmap2::{Mmap, MmapOptions};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Screen text for watchlist terms, indicators (IPs, domains, URLs, e-mail
/// addresses, hashes, CVE ids, ASNs, Bitcoin addresses; defanged forms too)
/// and STIX indicators. Prints one JSON line per hit.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    liaison screen --watchlist terms.txt --indicators bundle.json feeds/ sensor.log.gz\n  \
    zcat today.jsonl.gz | liaison screen --field message --watchlist terms.csv --ignore-case\n  \
    liaison screen --count --no-extract --watchlist terms.txt big.log\n  \
    liaison --data /srv/liaison --as ana screen --from-store --store sensor.log\n\n\
Exit status: 0 if there was a hit, 1 if none, 2 if an input could not be read.\n\
Watchlists: one term a line (grep -F -f style), or CSV with a header\n\
`term,case_insensitive,whole_word,severity,tags,label`.")]
pub struct ScreenArgs {
    /// Watchlist file: one term a line, or CSV with a `term` header column (repeatable).
    #[arg(long = "watchlist", short = 'f', value_name = "FILE")]
    pub watchlists: Vec<PathBuf>,
    /// Match every term regardless of case (Unicode simple case folding).
    #[arg(long, short = 'i')]
    pub ignore_case: bool,
    /// Match every term only as a whole word (like `rg -w`).
    #[arg(long)]
    pub whole_word: bool,
    /// Don't extract indicators (IPs, domains, URLs, hashes, …); terms and STIX indicators only.
    #[arg(long)]
    pub no_extract: bool,
    /// Print per input the number of lines with at least one hit (like `rg -c`).
    #[arg(long, short = 'c')]
    pub count: bool,
    /// Print throughput (lines/s, MB/s) and counts to stderr at the end.
    #[arg(long)]
    pub stats: bool,
    /// A STIX bundle of indicators; active ones are screened for (repeatable).
    #[arg(long, value_name = "FILE")]
    pub indicators: Vec<PathBuf>,
    /// Inputs are JSON lines: screen the text of this field (`a.b` for nested).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// An allow-list file: CIDRs, domains (with sub-domains) or exact values to drop (repeatable).
    #[arg(long, value_name = "FILE")]
    pub allowlist: Vec<PathBuf>,
    /// Don't apply the built-in allow-list (private ranges, documentation domains, well-known hosts).
    #[arg(long)]
    pub no_default_allowlist: bool,
    /// Term matcher (for measurements): strided (the gram filter), or one Aho-Corasick
    /// automaton: contiguous-nfa, nfa, dfa or auto.
    #[arg(long, default_value = "strided", value_name = "KIND", hide = true)]
    pub automaton: String,
    /// Automaton states up to this depth use dense transitions (for measurements).
    #[arg(long, value_name = "N", hide = true)]
    pub dense_depth: Option<usize>,
    /// Report only leftmost-longest, non-overlapping term matches (for measurements).
    #[arg(long, hide = true)]
    pub leftmost: bool,
    /// Chunk size in MiB for splitting inputs across threads.
    #[arg(long, default_value_t = 8, value_name = "MIB", hide = true)]
    pub chunk_mib: usize,
    /// Read files with read(2) instead of mapping them into memory. A mapped
    /// file that another program truncates while it is screened can kill
    /// the process (SIGBUS); use this for files that may shrink meanwhile.
    #[arg(long)]
    pub no_mmap: bool,
    /// Size in MiB of the windows in which files are mapped (for measurements).
    #[arg(long, default_value_t = 32, value_name = "MIB", hide = true)]
    pub window_mib: usize,
    /// Keep the hits in the store as sightings and alerts (for `liaison alert`) instead of
    /// printing them; acts as `--as` in `--data`.
    #[arg(long)]
    pub store: bool,
    /// With --store: keep hits of this severity and above (info, low, medium, high, critical).
    #[arg(
        long,
        default_value = "low",
        value_name = "SEVERITY",
        requires = "store"
    )]
    pub min_severity: String,
    /// With --store: label of the watchlist terms and of indicators not in the store, as a banner.
    #[arg(long, value_name = "BANNER", requires = "store")]
    pub rule_label: Option<String>,
    /// With --store: label of the screened sources, as a banner.
    #[arg(long, value_name = "BANNER", requires = "store")]
    pub source_label: Option<String>,
    /// Also screen for what the store holds that you may read: every active STIX
    /// indicator and every watchlist kept with `liaison watchlist add` (`--data`, `--as`).
    #[arg(long)]
    pub from_store: bool,
    /// A watchlist kept in the store, by name or id (repeatable; `liaison watchlist list`).
    #[arg(long = "store-watchlist", value_name = "NAME")]
    pub store_watchlists: Vec<String>,
    /// Files or directories to screen; stdin when none (or `-`). `.gz` files are decompressed.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Terms read from the store by the binary before screening (not a flag).
    #[arg(skip)]
    pub store_terms: Watchlist,
    /// Indicators read from the store by the binary before screening (not a flag).
    #[arg(skip)]
    pub store_rules: Vec<liaison_screen::IndicatorRule>,
}

/// A single line longer than this is cut (hits spanning the cut are lost).
const MAX_LINE: usize = 64 << 20;

/// Where hits go instead of stdout (`--store`): a writer taking the JSON lines, and
/// what to do once every input is screened.
pub struct Diversion {
    /// Takes the hits as JSON lines.
    pub out: Box<dyn Write>,
    /// Runs after the last input (stores what `out` collected).
    pub finish: Box<dyn FnOnce() -> Result<()>>,
}

/// Run `liaison screen`.
pub fn run(args: ScreenArgs) -> Result<ExitCode> {
    if args.store {
        anyhow::bail!("--store needs the liaison binary's store (liaison screen --store)");
    }
    run_diverted(args, None)
}

/// Run `liaison screen`, sending the hits to `divert` when given.
pub fn run_diverted(args: ScreenArgs, divert: Option<Diversion>) -> Result<ExitCode> {
    if divert.is_some() && args.count {
        anyhow::bail!("--store keeps every hit; it does not go with --count");
    }
    let t0 = Instant::now();
    let engine = build_engine(&args)?;
    let build_secs = t0.elapsed().as_secs_f64();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let chunk = args.chunk_mib.clamp(1, 1024) << 20;
    let window = (args.window_mib.clamp(1, 4096) << 20).max(chunk);

    // Expand the inputs.
    let mut failed = false;
    let mut inputs: Vec<Input> = Vec::new();
    if args.inputs.is_empty() {
        inputs.push(Input::Stdin);
    }
    for p in &args.inputs {
        if p.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if p.is_dir() {
            if let Err(e) = walk(p, &mut inputs) {
                eprintln!("liaison: {}: {e}", p.display());
                failed = true;
            }
        } else {
            inputs.push(Input::File(p.clone()));
        }
    }
    let show_names = inputs.len() > 1 || args.inputs.iter().any(|p| p.is_dir());

    let total: u64 = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Input::Stdin => 0,
        })
        .sum();
    let pb = progress(total);

    let stdout = io::stdout();
    let (mut out, finish): (Box<dyn Write>, _) = match divert {
        Some(d) => (d.out, Some(d.finish)),
        None => (
            Box::new(io::BufWriter::with_capacity(1 << 20, stdout.lock())),
            None,
        ),
    };
    let mut totals = Totals::default();
    let t1 = Instant::now();
    for input in &inputs {
        let name = input.name();
        let reader = match input.open(!args.no_mmap) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("liaison: {name}: {e}");
                failed = true;
                continue;
            }
        };
        let cfg = StreamCfg {
            engine: &engine,
            source: &name,
            threads,
            chunk,
            window,
            count: args.count,
            lines: args.stats,
            field: args.field.as_deref(),
            pb: &pb,
        };
        match screen_stream(&cfg, reader, &mut out) {
            Ok(s) => {
                if args.count && s.hit_lines > 0 {
                    let r = if show_names {
                        writeln!(out, "{name}:{}", s.hit_lines)
                    } else {
                        writeln!(out, "{}", s.hit_lines)
                    };
                    if is_broken_pipe(&r) {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
                totals.add(&s);
            }
            Err(StreamError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(ExitCode::SUCCESS);
            }
            Err(StreamError::Output(e)) => return Err(e).context("writing output"),
            Err(StreamError::Input(e, partial)) => {
                pb.suspend(|| eprintln!("liaison: {name}: {e}"));
                failed = true;
                totals.add(&partial);
            }
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("writing output");
        }
    }
    pb.finish_and_clear();
    drop(out);
    if let Some(finish) = finish {
        finish()?;
    }
    if args.stats {
        let secs = t1.elapsed().as_secs_f64().max(1e-9);
        let mb = totals.bytes as f64 / 1e6;
        eprintln!(
            "liaison: screened {} lines, {:.1} MB in {:.3} s: {:.0} lines/s, {:.1} MB/s ({} threads)",
            totals.lines,
            mb,
            secs,
            totals.lines as f64 / secs,
            mb / secs,
            threads
        );
        eprintln!(
            "liaison: {} hits on {} lines; {} terms, {} indicators ({} by matcher), {} automaton patterns, {:.1} MB automaton, built in {:.3} s",
            totals.hits,
            totals.hit_lines,
            engine.term_count(),
            engine.rule_count(),
            engine.matcher_count(),
            engine.pattern_count(),
            engine.memory_usage() as f64 / 1e6,
            build_secs
        );
    }
    // Freeing 100,000 terms and the matcher's tables takes milliseconds:
    // off the command's path (the process usually exits before it is done).
    std::thread::spawn(move || drop(engine));
    Ok(if failed {
        ExitCode::from(2)
    } else if totals.hits > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn is_broken_pipe(r: &io::Result<()>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe)
}

fn build_engine(args: &ScreenArgs) -> Result<Engine> {
    let mut list = args.store_terms.clone();
    for p in &args.watchlists {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        list.extend(Watchlist::parse(&p.display().to_string(), &text)?);
    }
    let mut rules = args.store_rules.clone();
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    for p in &args.indicators {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        rules.extend(
            rules_from_bundle(&text, Some(&now)).with_context(|| format!("{}", p.display()))?,
        );
    }
    let mut allow = if args.no_default_allowlist {
        AllowList::empty()
    } else {
        AllowList::builtin()
    };
    for p in &args.allowlist {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        allow.add_text(&text);
    }
    let builder = EngineBuilder::new()
        .watchlist(list)
        .ignore_case(args.ignore_case)
        .whole_word(args.whole_word)
        .extract((!args.no_extract).then(Extractors::default))
        .allow_list(allow)
        .indicators(rules)
        .overlapping(!args.leftmost)
        .dense_depth(args.dense_depth)
        .strided(false);
    let builder = match args.automaton.as_str() {
        "strided" => builder.strided(true),
        "contiguous-nfa" => {
            builder.automaton_kind(Some(liaison_screen::AhoCorasickKind::ContiguousNFA))
        }
        "nfa" => builder.automaton_kind(Some(liaison_screen::AhoCorasickKind::NoncontiguousNFA)),
        "dfa" => builder.automaton_kind(Some(liaison_screen::AhoCorasickKind::DFA)),
        "auto" => builder.automaton_kind(None),
        other => anyhow::bail!("--automaton: unknown kind '{other}'"),
    };
    let engine = builder.build()?;
    for e in engine.skipped() {
        eprintln!("liaison: warning: {e} (not screened)");
    }
    Ok(engine)
}

fn progress(total: u64) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = if total > 0 {
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
    } else {
        indicatif::ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
    };
    if let Ok(s) = style {
        pb.set_style(s);
    }
    pb
}

enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".into(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Open: a regular file (not gzip, not empty) to be mapped when `mmap`,
    /// anything else to be read, decompressing gzip (by magic number).
    fn open(&self, mmap: bool) -> io::Result<Opened> {
        let mut r: Box<dyn BufRead + Send> = match self {
            Input::Stdin => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
            Input::File(p) => {
                let mut f = File::open(p)?;
                let meta = f.metadata()?;
                if meta.is_dir() {
                    return Err(io::Error::other("is a directory"));
                }
                // Only regular files are mapped: pipes and devices can't be,
                // and files such as those of /proc say they are empty.
                if mmap && meta.is_file() && meta.len() > 0 {
                    let mut head = [0u8; 2];
                    let n = f.read(&mut head)?;
                    if n < 2 || head != [0x1f, 0x8b] {
                        return Ok(Opened::Map(f, meta.len()));
                    }
                    f.seek(SeekFrom::Start(0))?;
                }
                Box::new(BufReader::with_capacity(1 << 16, f))
            }
        };
        let head = r.fill_buf()?;
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            Ok(Opened::Read(Box::new(
                flate2::bufread::MultiGzDecoder::new(r),
            )))
        } else {
            Ok(Opened::Read(Box::new(r)))
        }
    }
}

/// An opened input.
enum Opened {
    /// A regular file and its length at opening: mapped, in windows, up to
    /// that length (what is appended later is not screened).
    Map(File, u64),
    /// Anything else: read into buffers.
    Read(Box<dyn Read + Send>),
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let ft = std::fs::symlink_metadata(&p)?.file_type();
        if ft.is_dir() {
            if let Err(e) = walk(&p, out) {
                eprintln!("liaison: {}: {e}", p.display());
            }
        } else if ft.is_file() {
            out.push(Input::File(p));
        }
    }
    Ok(())
}

struct StreamCfg<'a> {
    engine: &'a Engine,
    source: &'a str,
    threads: usize,
    chunk: usize,
    window: usize,
    count: bool,
    /// Count the lines of the input (for `--stats`): with `--count`, only
    /// the lines with a hit are counted otherwise.
    lines: bool,
    field: Option<&'a str>,
    pb: &'a indicatif::ProgressBar,
}

/// Counts of one input.
#[derive(Debug, Default, Clone)]
struct Totals {
    bytes: u64,
    lines: u64,
    hits: u64,
    hit_lines: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.hits += o.hits;
        self.hit_lines += o.hit_lines;
    }
}

enum StreamError {
    /// Reading the input failed (what was read before is counted).
    Input(io::Error, Totals),
    /// Writing the output failed.
    Output(io::Error),
}

struct Job {
    seq: u64,
    offset: u64,
    data: Chunk,
}

/// A chunk's bytes: a buffer read from a stream, or a range of a mapped
/// window of a file (the window is unmapped when its last chunk is dropped).
enum Chunk {
    Owned(Vec<u8>),
    Mapped(Arc<Mmap>, Range<usize>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Mapped(m, r) => &m[r.clone()],
        }
    }
}

/// Where a hit's line number stands in a worker's output: at byte `at`, the
/// digits of `line`, the number within the chunk (from 1).
struct Mark {
    at: usize,
    line: u64,
}

struct Done {
    seq: u64,
    /// JSON lines with chunk-relative line numbers (see `marks`).
    out: Vec<u8>,
    marks: Vec<Mark>,
    /// Newlines in the chunk: the next chunk's first line is this many on.
    newlines: u64,
    /// Lines that are not JSON (with `--field`).
    bad_json: u64,
    stats: Totals,
    /// A read buffer to reuse.
    buf: Option<Vec<u8>>,
}

/// Screen one input: a reader thread cuts chunks, `threads` workers scan
/// them, and this thread writes the results in input order.
fn screen_stream(
    cfg: &StreamCfg<'_>,
    input: Opened,
    out: &mut impl Write,
) -> Result<Totals, StreamError> {
    let (job_tx, job_rx) = bounded::<Job>(cfg.threads * 2);
    let (done_tx, done_rx) = bounded::<Done>(cfg.threads * 4);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(cfg.threads * 4);
    // Each hit's JSON line starts so: its line number follows.
    let line_at = {
        let mut p = b"{\"source\":".to_vec();
        // Serialising a string to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut p, cfg.source);
        p.extend_from_slice(b",\"line\":");
        p
    };
    std::thread::scope(|s| {
        let (chunk, window, threads) = (cfg.chunk, cfg.window, cfg.threads);
        let rd = match input {
            Opened::Read(r) => s.spawn(move || read_chunks(r, chunk, job_tx, free_rx)),
            Opened::Map(mut f, len) => s.spawn(move || {
                if map_chunks(&f, len, chunk, window, threads, &job_tx)? {
                    return Ok(());
                }
                // Not mappable after all (some file systems): read it.
                f.seek(SeekFrom::Start(0))?;
                let r = Box::new(BufReader::with_capacity(1 << 16, f));
                read_chunks(r, chunk, job_tx, free_rx)
            }),
        };
        for _ in 0..cfg.threads {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            let line_at = &line_at;
            s.spawn(move || worker(cfg, line_at, job_rx, done_tx));
        }
        drop(done_tx);
        drop(job_rx);
        let mut totals = Totals::default();
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let (mut next, mut line) = (0u64, 1u64);
        let mut out_err: Option<io::Error> = None;
        for d in done_rx.iter() {
            pending.insert(d.seq, d);
            while let Some(d) = pending.remove(&next) {
                next += 1;
                totals.add(&d.stats);
                cfg.pb.inc(d.stats.bytes);
                if d.bad_json > 0 {
                    cfg.pb.suspend(|| {
                        eprintln!(
                            "liaison: {}: {} of the lines from line {line} on are not JSON (skipped)",
                            cfg.source, d.bad_json
                        )
                    });
                }
                if out_err.is_none() && !d.out.is_empty() {
                    if let Err(e) = write_numbered(out, &d, line) {
                        out_err = Some(e);
                    }
                }
                line += d.newlines;
                if let Some(b) = d.buf {
                    let _ = free_tx.try_send(b);
                }
            }
            if out_err.is_some() {
                break;
            }
        }
        drop(free_tx);
        // On an output error, stop the reader by dropping the result channel:
        // workers then fail to send and exit, and the reader's sends fail.
        drop(done_rx);
        let read = rd
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")));
        if let Some(e) = out_err {
            return Err(StreamError::Output(e));
        }
        match read {
            Ok(()) => Ok(totals),
            Err(e) => Err(StreamError::Input(e, totals)),
        }
    })
}

/// Write a worker's JSON lines, each line number moved on by the chunk's
/// first line `base` less one.
fn write_numbered(out: &mut impl Write, d: &Done, base: u64) -> io::Result<()> {
    if base == 1 {
        return out.write_all(&d.out);
    }
    let mut from = 0;
    let mut digits = [0u8; 20];
    for m in &d.marks {
        out.write_all(&d.out[from..m.at])?;
        out.write_all(decimal(base - 1 + m.line, &mut digits))?;
        from = m.at + decimal(m.line, &mut digits).len();
    }
    out.write_all(&d.out[from..])
}

/// `n` in decimal, in `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Append `h` as one JSON object, byte for byte what `serde_json::to_writer`
/// writes for it (the test below checks): written by hand because serde's
/// per-field machinery cost about 3,000 instructions a hit, which showed in
/// runs with many hits.
fn write_hit(out: &mut Vec<u8>, h: &liaison_screen::Hit<'_>) {
    use liaison_screen::{Rule, Severity};
    let mut digits = [0u8; 20];
    out.extend_from_slice(b"{\"source\":");
    json_str(out, h.source);
    out.extend_from_slice(b",\"line\":");
    out.extend_from_slice(decimal(h.line, &mut digits));
    out.extend_from_slice(b",\"offset\":");
    out.extend_from_slice(decimal(h.offset, &mut digits));
    out.extend_from_slice(b",\"column\":");
    out.extend_from_slice(decimal(h.column, &mut digits));
    out.extend_from_slice(b",\"matched\":");
    json_str(out, &h.matched);
    if let Some(v) = &h.value {
        out.extend_from_slice(b",\"value\":");
        json_str(out, v);
    }
    match h.rule {
        Rule::Term { term } => {
            out.extend_from_slice(b",\"rule\":{\"type\":\"term\",\"term\":");
            json_str(out, term);
        }
        Rule::Indicator { id } => {
            out.extend_from_slice(b",\"rule\":{\"type\":\"indicator\",\"id\":");
            json_str(out, id);
        }
        Rule::Extractor { kind } => {
            out.extend_from_slice(b",\"rule\":{\"type\":\"extractor\",\"kind\":\"");
            out.extend_from_slice(kind.as_str().as_bytes());
            out.push(b'"');
        }
    }
    out.extend_from_slice(match h.severity {
        Severity::Info => b"},\"severity\":\"info\"",
        Severity::Low => b"},\"severity\":\"low\"",
        Severity::Medium => b"},\"severity\":\"medium\"",
        Severity::High => b"},\"severity\":\"high\"",
        Severity::Critical => b"},\"severity\":\"critical\"",
    });
    if let Some(l) = h.label {
        out.extend_from_slice(b",\"label\":");
        json_str(out, l);
    }
    if !h.tags.is_empty() {
        out.extend_from_slice(b",\"tags\":[");
        for (i, t) in h.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, t);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// Append `s` as a JSON string. Most strings need no escape and are copied
/// as they are; the others go through serde_json, so escapes stay its own.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serialising a string to a Vec cannot fail.
        let _ = serde_json::to_writer(out, s);
    }
}

/// Read `r` into chunks of about `size` bytes ending at a line end.
fn read_chunks(
    mut r: Box<dyn Read + Send>,
    size: usize,
    tx: Sender<Job>,
    free: Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let (mut seq, mut offset) = (0u64, 0u64);
    let mut eof = false;
    while !eof {
        let mut buf = free.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&carry);
        carry.clear();
        let mut want = size.max(buf.len() + 1);
        loop {
            // Fill up to `want` (read_to_end reads into spare capacity
            // without zeroing it first).
            while buf.len() < want {
                let old = buf.len();
                match r.by_ref().take((want - old) as u64).read_to_end(&mut buf) {
                    Ok(n) if old + n < want => {
                        eof = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // Screen what was read, then report.
                        let _ = send_chunk(&tx, &mut seq, &mut offset, Chunk::Owned(buf));
                        return Err(e);
                    }
                }
            }
            if eof {
                break;
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(p) => {
                    carry.extend_from_slice(&buf[p + 1..]);
                    buf.truncate(p + 1);
                    break;
                }
                // One long line: read on, up to MAX_LINE.
                None if buf.len() < MAX_LINE => want = (want * 2).min(MAX_LINE),
                None => break,
            }
        }
        if buf.is_empty() {
            break;
        }
        if send_chunk(&tx, &mut seq, &mut offset, Chunk::Owned(buf)).is_err() {
            return Ok(()); // the consumer stopped
        }
    }
    Ok(())
}

/// Cut the file `f` (`len` bytes at opening) into chunks of about `size`
/// bytes ending at a line end, as ranges of windows of about `window` bytes
/// mapped one after the other: no copy, and only the windows of the chunks in
/// flight are mapped. Near the end chunks get smaller (down to 1 MiB), so
/// that the `threads` workers finish at about the same time.
///
/// A mapped file that shrinks while it is screened makes reads of the
/// vanished pages fault (SIGBUS): the length is checked again before each
/// window is mapped, which catches a file truncated before, not while, its
/// window is screened (`--no-mmap` reads instead).
///
/// False when the file could not be mapped at all (nothing was sent).
fn map_chunks(
    f: &File,
    len: u64,
    size: usize,
    window: usize,
    threads: usize,
    tx: &Sender<Job>,
) -> io::Result<bool> {
    let Ok(len) = usize::try_from(len) else {
        return Ok(false);
    };
    let (mut seq, mut pos) = (0u64, 0usize);
    let map = |from: usize, n: usize| -> io::Result<(Arc<Mmap>, usize)> {
        let now = f.metadata()?.len();
        if now < (from + n) as u64 {
            return Err(io::Error::other(format!(
                "the file shrank to {now} bytes while it was screened"
            )));
        }
        // SAFETY: the map is only read, within the length the file had just
        // now (see above for a file truncated meanwhile).
        let m = unsafe { MmapOptions::new().offset(from as u64).len(n).map(f)? };
        let _ = m.advise(memmap2::Advice::Sequential);
        Ok((Arc::new(m), from))
    };
    // The current window and where it starts in the file.
    let mut win = match map(0, window.min(len)) {
        Ok(w) => Some(w),
        Err(_) => return Ok(false),
    };
    while pos < len {
        let size = size.min(((len - pos) / (2 * threads)).max(1 << 20));
        let want = (pos + size).min(len);
        let (mut m, mut ws) = match win.take() {
            Some((m, ws)) if ws + m.len() >= want => (m, ws),
            _ => map(pos, window.max(size).min(len - pos))?,
        };
        let end = if want == len {
            len
        } else if let Some(p) = memchr::memrchr(b'\n', &m[pos - ws..want - ws]) {
            pos + p + 1
        } else {
            // One long line: on to its end, up to MAX_LINE.
            let limit = (pos + MAX_LINE).min(len);
            if ws + m.len() < limit {
                (m, ws) = map(pos, limit - pos)?;
            }
            memchr::memchr(b'\n', &m[want - ws..limit - ws]).map_or(limit, |p| want + p + 1)
        };
        let job = Job {
            seq,
            offset: pos as u64,
            data: Chunk::Mapped(Arc::clone(&m), pos - ws..end - ws),
        };
        win = Some((m, ws));
        if tx.send(job).is_err() {
            return Ok(true); // the consumer stopped
        }
        seq += 1;
        pos = end;
    }
    Ok(true)
}

fn send_chunk(tx: &Sender<Job>, seq: &mut u64, offset: &mut u64, data: Chunk) -> Result<(), ()> {
    let n = data.bytes().len();
    if n == 0 {
        return Ok(());
    }
    let job = Job {
        seq: *seq,
        offset: *offset,
        data,
    };
    *seq += 1;
    *offset += n as u64;
    tx.send(job).map_err(|_| ())
}

fn worker(cfg: &StreamCfg<'_>, line_at: &[u8], rx: Receiver<Job>, tx: Sender<Done>) {
    let mut scratch = Scratch::default();
    let mut fields = FieldScratch::default();
    for job in rx.iter() {
        let data = job.data.bytes();
        let mut stats = Totals {
            bytes: data.len() as u64,
            ..Totals::default()
        };
        let mut out = Vec::new();
        let mut marks = Vec::new();
        // Line and offset of the last hit (hits come in input order).
        let mut last = (1u64, job.offset);
        let mut emit = |h: liaison_screen::Hit<'_>| {
            stats.hits += 1;
            if h.line != last.0 || stats.hits == 1 {
                stats.hit_lines += 1;
            }
            last = (h.line, h.offset.max(last.1));
            if !cfg.count {
                let at = out.len() + line_at.len();
                write_hit(&mut out, &h);
                out.push(b'\n');
                debug_assert!(out[at - line_at.len()..].starts_with(line_at));
                marks.push(Mark { at, line: h.line });
            }
        };
        // Lines are numbered from 1 in the chunk (see the module's comment).
        let (newlines, bad_json) = match cfg.field {
            // Counting: nothing of a hit is made, and the chunk's lines are
            // counted only for `--stats` (no line number is printed).
            None if cfg.count => {
                let c = cfg.engine.count(data, &mut scratch);
                stats.hits = c.hits;
                stats.hit_lines = c.hit_lines;
                let newlines = if cfg.lines {
                    memchr::memchr_iter(b'\n', data).count() as u64
                } else {
                    0
                };
                (newlines, 0)
            }
            None => {
                cfg.engine
                    .scan_with(cfg.source, data, 1, job.offset, &mut scratch, &mut emit);
                // The engine counted the newlines before the last hit.
                let tail = ((last.1 - job.offset) as usize).min(data.len());
                let after = memchr::memchr_iter(b'\n', &data[tail..]).count() as u64;
                (last.0 - 1 + after, 0)
            }
            Some(field) => {
                fields.load(data, field);
                let starts = &fields.line_starts;
                cfg.engine
                    .scan_with(cfg.source, &fields.text, 1, 0, &mut scratch, |mut h| {
                        // Point at the JSON line; the column stays within the field's text.
                        let k = (h.line - 1) as usize;
                        h.offset = job.offset + starts.get(k).copied().unwrap_or(0) as u64;
                        emit(h)
                    });
                let partial = usize::from(data.last() != Some(&b'\n'));
                ((starts.len() - partial) as u64, fields.bad)
            }
        };
        stats.lines = newlines + u64::from(data.last() != Some(&b'\n'));
        let buf = match job.data {
            Chunk::Owned(v) => Some(v),
            Chunk::Mapped(..) => None,
        };
        let done = Done {
            seq: job.seq,
            out,
            marks,
            newlines,
            bad_json,
            stats,
            buf,
        };
        if tx.send(done).is_err() {
            return;
        }
    }
}

/// The field texts of a chunk of JSON lines, one line each.
#[derive(Default)]
struct FieldScratch {
    text: Vec<u8>,
    line_starts: Vec<usize>,
    bad: u64,
}

impl FieldScratch {
    fn load(&mut self, data: &[u8], field: &str) {
        self.text.clear();
        self.line_starts.clear();
        self.bad = 0;
        let mut start = 0;
        for line in data.split_inclusive(|&b| b == b'\n') {
            self.line_starts.push(start);
            start += line.len();
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            if body.iter().all(u8::is_ascii_whitespace) {
                self.text.push(b'\n');
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) => {
                    let mut cur = Some(&v);
                    for k in field.split('.') {
                        cur = cur.and_then(|c| c.get(k));
                    }
                    match cur {
                        Some(serde_json::Value::String(s)) => self
                            .text
                            .extend(s.bytes().map(|b| if b == b'\n' { b' ' } else { b })),
                        Some(serde_json::Value::Null) | None => {}
                        Some(other) => self.text.extend_from_slice(other.to_string().as_bytes()),
                    }
                }
                Err(_) => self.bad += 1,
            }
            self.text.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_hit;
    use liaison_screen::{Hit, Kind, Rule, Severity};

    /// Strings that need every kind of escape, and some that need none.
    fn samples() -> Vec<String> {
        let mut v: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        v.extend(
            [
                "",
                "evil.example.com",
                "\u{7f}\u{80}\u{2028}\u{2029}",
                "中文 \"quoted\" \\ back\\slash",
                "tab\tnew\nline\r\u{0}",
                "héllo wörld",
            ]
            .map(String::from),
        );
        v
    }

    #[test]
    fn hits_are_written_as_serde_json_writes_them() {
        let strs = samples();
        let tags: Vec<String> = strs.iter().take(3).cloned().collect();
        let sevs = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        let kinds = Kind::ALL;
        for (i, s) in strs.iter().enumerate() {
            let other = &strs[(i * 7 + 3) % strs.len()];
            let rule = match i % 3 {
                0 => Rule::Term { term: other },
                1 => Rule::Indicator { id: other },
                _ => Rule::Extractor {
                    kind: kinds[i % kinds.len()],
                },
            };
            let h = Hit {
                source: if i % 2 == 0 { "<stdin>" } else { s },
                line: [0, 1, 9, 10, 12345, u64::MAX][i % 6],
                offset: (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                column: i as u64,
                matched: s.clone(),
                value: (i % 4 != 0).then(|| other.clone()),
                rule,
                severity: sevs[i % sevs.len()],
                label: (i % 5 != 0).then_some(other.as_str()),
                tags: &tags[..i % 4],
            };
            let mut mine = Vec::new();
            write_hit(&mut mine, &h);
            let theirs = serde_json::to_vec(&h).expect("serialise");
            assert_eq!(
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&theirs),
                "hit {i}"
            );
        }
    }
}
