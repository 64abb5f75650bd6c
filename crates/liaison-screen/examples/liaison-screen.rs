//! A stand-in binary that runs the real `liaison screen` and `liaison gen
//! corpus` command modules (compiled from the binary crate's sources), for
//! end-to-end tests and benchmarks before they are wired into `liaison`.
//!
//! ```text
//! cargo run --release -p liaison-screen --example liaison-screen -- screen --watchlist w.txt corpus.txt
//! cargo run --release -p liaison-screen --example liaison-screen -- gen-corpus --size 10MB --out /tmp/c
//! ```

#[path = "../../liaison/src/cmd/gen_corpus.rs"]
mod gen_corpus;
#[path = "../../liaison/src/cmd/screen.rs"]
mod screen;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "liaison-screen")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

// Parsed once: the size of the screen arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Screen text (as `liaison screen`).
    Screen(screen::ScreenArgs),
    /// Generate a corpus (as `liaison gen corpus`).
    GenCorpus(gen_corpus::GenCorpusArgs),
}

fn main() -> ExitCode {
    let r = match Cli::parse().command {
        Cmd::Screen(a) => screen::run(a),
        Cmd::GenCorpus(a) => gen_corpus::run(a).map(|()| ExitCode::SUCCESS),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("liaison: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
