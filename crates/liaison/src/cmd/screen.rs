//! `liaison screen`: screen text for watchlist terms, indicators of compromise
//! and STIX indicators. Files, directories, stdin and gzip in; JSON lines out.
//!
//! The engine lives in `liaison-screen`; this module does the IO: inputs are
//! read in chunks cut at line boundaries, scanned by a pool of workers and
//! written back in input order.

use anyhow::{Context, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use liaison_screen::{
    rules_from_bundle, AllowList, Engine, EngineBuilder, Extractors, Scratch, Watchlist,
};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Screen text for watchlist terms, indicators (IPs, domains, URLs, e-mail
/// addresses, hashes, CVE ids, ASNs, Bitcoin addresses; defanged forms too)
/// and STIX indicators. Prints one JSON line per hit.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    liaison screen --watchlist terms.txt --indicators bundle.json feeds/ sensor.log.gz\n  \
    zcat today.jsonl.gz | liaison screen --field message --watchlist terms.csv --ignore-case\n  \
    liaison screen --count --no-extract --watchlist terms.txt big.log\n\n\
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
    /// Files or directories to screen; stdin when none (or `-`). `.gz` files are decompressed.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
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
        let reader = match input.open() {
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
            count: args.count,
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
    let mut list = Watchlist::new();
    for p in &args.watchlists {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        list.extend(Watchlist::parse(&p.display().to_string(), &text)?);
    }
    let mut rules = Vec::new();
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

    /// Open, decompressing gzip (by magic number).
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let mut r: Box<dyn BufRead + Send> = match self {
            Input::Stdin => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
            Input::File(p) => {
                let f = File::open(p)?;
                if f.metadata()?.is_dir() {
                    return Err(io::Error::other("is a directory"));
                }
                Box::new(BufReader::with_capacity(1 << 16, f))
            }
        };
        let head = r.fill_buf()?;
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
        } else {
            Ok(Box::new(r))
        }
    }
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
    count: bool,
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
    first_line: u64,
    /// Newlines in `data` (counted once, by the reader).
    newlines: u64,
    offset: u64,
    data: Vec<u8>,
}

struct Done {
    seq: u64,
    out: Vec<u8>,
    stats: Totals,
    buf: Vec<u8>,
}

/// Screen one input: a reader thread cuts chunks, `threads` workers scan
/// them, and this thread writes the results in input order.
fn screen_stream(
    cfg: &StreamCfg<'_>,
    reader: Box<dyn Read + Send>,
    out: &mut impl Write,
) -> Result<Totals, StreamError> {
    let (job_tx, job_rx) = bounded::<Job>(cfg.threads * 2);
    let (done_tx, done_rx) = bounded::<Done>(cfg.threads * 4);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(cfg.threads * 4);
    std::thread::scope(|s| {
        let chunk = cfg.chunk;
        let rd = s.spawn(move || read_chunks(reader, chunk, job_tx, free_rx));
        for _ in 0..cfg.threads {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            s.spawn(move || worker(cfg, job_rx, done_tx));
        }
        drop(done_tx);
        drop(job_rx);
        let mut totals = Totals::default();
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        let mut out_err: Option<io::Error> = None;
        for d in done_rx.iter() {
            pending.insert(d.seq, d);
            while let Some(d) = pending.remove(&next) {
                next += 1;
                totals.add(&d.stats);
                cfg.pb.inc(d.stats.bytes);
                if out_err.is_none() && !d.out.is_empty() {
                    if let Err(e) = out.write_all(&d.out) {
                        out_err = Some(e);
                    }
                }
                let _ = free_tx.try_send(d.buf);
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

/// Read `r` into chunks of about `size` bytes ending at a line end.
fn read_chunks(
    mut r: Box<dyn Read + Send>,
    size: usize,
    tx: Sender<Job>,
    free: Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let (mut seq, mut line, mut offset) = (0u64, 1u64, 0u64);
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
                        let _ = send_chunk(&tx, &mut seq, &mut line, &mut offset, buf);
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
        if send_chunk(&tx, &mut seq, &mut line, &mut offset, buf).is_err() {
            return Ok(()); // the consumer stopped
        }
    }
    Ok(())
}

fn send_chunk(
    tx: &Sender<Job>,
    seq: &mut u64,
    line: &mut u64,
    offset: &mut u64,
    data: Vec<u8>,
) -> Result<(), ()> {
    if data.is_empty() {
        return Ok(());
    }
    // The next chunk starts on the line after the last newline: the line a
    // chunk cut inside an over-long line continues, or (at the end) nothing.
    let nl = memchr::memchr_iter(b'\n', &data).count() as u64;
    let job = Job {
        seq: *seq,
        first_line: *line,
        newlines: nl,
        offset: *offset,
        data,
    };
    *seq += 1;
    *line += nl;
    *offset += job.data.len() as u64;
    tx.send(job).map_err(|_| ())
}

fn worker(cfg: &StreamCfg<'_>, rx: Receiver<Job>, tx: Sender<Done>) {
    let mut scratch = Scratch::default();
    let mut fields = FieldScratch::default();
    for job in rx.iter() {
        let mut stats = Totals {
            bytes: job.data.len() as u64,
            lines: job.newlines + u64::from(job.data.last() != Some(&b'\n')),
            ..Totals::default()
        };
        let mut out = Vec::new();
        let mut last_line = 0u64;
        let mut emit = |h: liaison_screen::Hit<'_>| {
            stats.hits += 1;
            if h.line != last_line {
                stats.hit_lines += 1;
                last_line = h.line;
            }
            if !cfg.count {
                // Serialising a Hit to a Vec cannot fail.
                let _ = serde_json::to_writer(&mut out, &h);
                out.push(b'\n');
            }
        };
        match cfg.field {
            None => cfg.engine.scan_with(
                cfg.source,
                &job.data,
                job.first_line,
                job.offset,
                &mut scratch,
                &mut emit,
            ),
            Some(field) => {
                fields.load(&job.data, field);
                let starts = &fields.line_starts;
                cfg.engine.scan_with(
                    cfg.source,
                    &fields.text,
                    job.first_line,
                    0,
                    &mut scratch,
                    |mut h| {
                        // Point at the JSON line; the column stays within the field's text.
                        let k = (h.line - job.first_line) as usize;
                        h.offset = job.offset + starts.get(k).copied().unwrap_or(0) as u64;
                        emit(h)
                    },
                );
                if fields.bad > 0 {
                    cfg.pb.suspend(|| {
                        eprintln!(
                            "liaison: {}: {} of the lines from line {} on are not JSON (skipped)",
                            cfg.source, fields.bad, job.first_line
                        )
                    });
                }
            }
        }
        if tx
            .send(Done {
                seq: job.seq,
                out,
                stats,
                buf: job.data,
            })
            .is_err()
        {
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
