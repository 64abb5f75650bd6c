//! `liaison`: the one binary. One subcommand per job; the work lives in the crates.

mod cmd {
    pub mod alert;
    pub mod audit;
    pub mod feed;
    pub mod gen_corpus;
    pub mod keys;
    pub mod screen;
    pub mod serve;
    pub mod sign;
    pub mod task;
    pub mod watchlist;
}
mod bench;
mod config;
mod demo;
mod gen;
mod kb;
mod misp;
mod pattern_cmd;
mod ui;

/// mimalloc instead of glibc malloc: an import or feed run builds millions of small JSON
/// values on one thread and frees them on the store's writer thread, where glibc spent
/// about a third of the feed thread's time (`malloc_consolidate`, `unlink_chunk`, fresh
/// pages from the kernel after trimming); see bench/records/collect-2026-11-29-csv.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Liaison: intelligence fusion and sharing for security organizations.
#[derive(Parser, Debug)]
#[command(name = "liaison", version, about, long_about = None,
    after_help = "Start with `liaison demo`, then try `liaison search --data liaison-demo grid`.")]
struct Cli {
    /// Data directory (config.toml and the store).
    #[arg(
        long,
        global = true,
        env = "LIAISON_DATA",
        default_value = "./liaison-data"
    )]
    data: PathBuf,
    /// Act as this user (read commands honour the user's clearance, compartments and organization).
    #[arg(long = "as", global = true, env = "LIAISON_USER", value_name = "USER")]
    as_user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encryption at rest: init, rotate the master key, rekey the store, status.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// The tamper-evident audit log: verify, query.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Signed sharing: signing keys, detached JWS over bundles, checks against pinned partners.
    #[command(subcommand)]
    Sign(cmd::sign::SignCommand),
    /// Create a data directory with a starter config.toml.
    #[command(after_help = "Example:\n  liaison init --data /srv/liaison --org cert")]
    Init(kb::InitArgs),
    /// Import STIX bundles, object lists or single objects (STIX 2.0 is upgraded to 2.1), or MISP events.
    #[command(
        after_help = "Examples:\n  liaison import --label 'RESTRICTED//REL TO ALL//TLP:GREEN' enterprise-attack.json\n  liaison import misp-event.json   (a MISP event is converted to STIX; warnings name JSON paths)"
    )]
    Import(kb::ImportArgs),
    /// Show an object (the latest version, or every version).
    #[command(
        after_help = "Example:\n  liaison get malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b --versions"
    )]
    Get(kb::GetArgs),
    /// Full-text search (words by prefix, Chinese by substring), ranked.
    #[command(after_help = "Example:\n  liaison search --type malware --limit 5 'poison ivy'")]
    Search(kb::SearchArgs),
    /// Walk relationships and references around an object.
    #[command(
        after_help = "Example:\n  liaison graph intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29 --depth 2 --dot | dot -Tsvg > g.svg"
    )]
    Graph(kb::GraphArgs),
    /// Export what you may read as a STIX 2.1 bundle.
    #[command(
        after_help = "Examples:\n  liaison export --type indicator --since 2026-01-01T00:00:00Z --out indicators.json\n  liaison export --format misp --out events.json"
    )]
    Export(kb::ExportArgs),
    /// Counts of what you may read, by type and classification.
    #[command(after_help = "Example:\n  liaison stats --json")]
    Stats(kb::StatsArgs),
    /// Build a demo platform from a generated scenario and show what to try.
    #[command(
        after_help = "Examples:\n  liaison demo                      (builds ./liaison-demo, serves http://127.0.0.1:8080)\n  LIAISON_DEMO_PASSWORD=s3cret liaison demo --port 9000   (the demo users' password, for scripts)\n  liaison demo --no-serve --seed 7  (only build the data directory)"
    )]
    Demo(demo::DemoArgs),
    /// Generate test and benchmark data.
    #[command(subcommand)]
    Gen(gen::GenCommand),
    /// STIX patterns: check syntax and semantics, or match against observations.
    #[command(subcommand)]
    Pattern(pattern_cmd::PatternCommand),
    /// Screen text streams against watchlists, extracted indicators and STIX indicators.
    Screen(cmd::screen::ScreenArgs),
    /// Configuration.
    #[command(subcommand)]
    Config(kb::ConfigCommand),
    /// Serve TAXII 2.1, the REST API and metrics over HTTP(S); manage passwords and API tokens.
    #[command(
        after_help = "Examples:\n  liaison serve --data /srv/liaison --listen 0.0.0.0:8443\n  liaison serve token create --user alice --scope read\n  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/taxii2/\n\nRequest logs (one structured line per request) go to stderr; LIAISON_LOG=warn silences them."
    )]
    Serve(cmd::serve::ServeArgs),
    /// Tasks between organizations: new, list, show, assign, accept, answer, close, stats.
    #[command(subcommand)]
    Task(cmd::task::TaskCommand),
    /// Alerts from `liaison screen --store`: list, show, ack, dismiss, escalate, promote.
    #[command(subcommand)]
    Alert(cmd::alert::AlertCommand),
    /// Watchlists kept in the store, for `liaison screen --from-store`: add, list, show, remove.
    #[command(subcommand)]
    Watchlist(cmd::watchlist::WatchlistCommand),
    /// Collection feeds (RSS/Atom, CSV, lists, MISP, TAXII, Suricata EVE): add, list, run, pause, resume, status.
    #[command(subcommand)]
    Feed(cmd::feed::FeedCommand),
    /// Measure search and graph latency on a data directory.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`liaison export | head`), as Unix tools do,
    // instead of panicking in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        // Request logs of the server by default; `LIAISON_LOG` (EnvFilter syntax) overrides.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,liaison_server=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("liaison: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = kb::Ctx {
        data: cli.data,
        as_user: cli.as_user,
    };
    match cli.command {
        Command::Keys(c) => cmd::keys::run(&ctx, c),
        Command::Audit(c) => cmd::audit::run(&ctx, c),
        Command::Sign(c) => cmd::sign::run(&ctx, c),
        Command::Init(a) => kb::init(&ctx, a),
        Command::Import(a) => kb::import(&ctx, a),
        Command::Get(a) => kb::get(&ctx, a),
        Command::Search(a) => kb::search(&ctx, a),
        Command::Graph(a) => kb::graph(&ctx, a),
        Command::Export(a) => kb::export(&ctx, a),
        Command::Stats(a) => kb::stats(&ctx, a),
        Command::Config(c) => kb::config(&ctx, c),
        Command::Demo(a) => demo::run(&ctx, a),
        Command::Gen(g) => gen::run(g),
        Command::Pattern(p) => pattern_cmd::run(p),
        Command::Screen(a) => cmd::alert::screen(&ctx, a),
        Command::Bench(b) => bench::run(&ctx, b),
        Command::Serve(a) => cmd::serve::run(&ctx, a),
        Command::Task(c) => cmd::task::run(&ctx, c),
        Command::Alert(c) => cmd::alert::run(&ctx, c),
        Command::Feed(c) => cmd::feed::run(&ctx, c),
        Command::Watchlist(c) => cmd::watchlist::run(&ctx, c),
    }
}
