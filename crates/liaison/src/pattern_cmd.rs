//! `liaison pattern check | match`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use liaison_pattern::cli::{self, Outcome};
use liaison_pattern::StixVersion;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum PatternCommand {
    /// Check a pattern's syntax and semantics; errors give line:column and what was expected.
    #[command(
        after_help = "Example:\n  liaison pattern check \"[ipv4-addr:value = '198.51.100.7'] WITHIN 300 SECONDS\""
    )]
    Check(CheckArgs),
    /// Match a pattern against observations: a JSON list of observed-data (2.0) or of bundles (2.1).
    #[command(
        after_help = "Example:\n  liaison pattern match \"[file:name = 'a.exe']\" --observations obs.json --json"
    )]
    Match(MatchArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The pattern.
    pattern: String,
    /// STIX version whose rules apply.
    #[arg(long, value_enum, default_value = "2.1")]
    stix_version: Version,
    /// Print `{"result": …, "message": …}`.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct MatchArgs {
    /// The pattern.
    pattern: String,
    /// JSON file of observations.
    #[arg(long)]
    observations: PathBuf,
    /// STIX version of the observations.
    #[arg(long, value_enum, default_value = "2.1")]
    stix_version: Version,
    /// Print `{"result": …, "message": …}`.
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Version {
    #[value(name = "2.0")]
    V20,
    #[value(name = "2.1")]
    V21,
}

impl From<Version> for StixVersion {
    fn from(v: Version) -> Self {
        match v {
            Version::V20 => StixVersion::V20,
            Version::V21 => StixVersion::V21,
        }
    }
}

fn print(o: &Outcome, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(o)?);
    } else {
        println!("{o}");
    }
    Ok(ExitCode::from(o.exit_code() as u8))
}

pub fn run(c: PatternCommand) -> Result<ExitCode> {
    match c {
        PatternCommand::Check(a) => print(
            &cli::check_version(&a.pattern, a.stix_version.into()),
            a.json,
        ),
        PatternCommand::Match(a) => {
            let text = std::fs::read_to_string(&a.observations)
                .with_context(|| format!("reading {}", a.observations.display()))?;
            print(
                &cli::match_observations(&a.pattern, &text, a.stix_version.into()),
                a.json,
            )
        }
    }
}
