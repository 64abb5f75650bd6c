//! `liaison bench …`: end-to-end latency figures on a real data directory.

use crate::kb::Ctx;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use liaison_store::{SearchQuery, Store};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Latency of full-text search with realistic queries (words, prefixes, CJK, indicators).
    #[command(
        after_help = "Example:\n  liaison bench search --data bench-1m --queries 500 --json"
    )]
    Search(SearchBench),
    /// Latency of graph walks from the most connected objects.
    #[command(
        after_help = "Example:\n  liaison bench graph --data bench-1m --depth 2 --starts 200"
    )]
    Graph(GraphBench),
}

#[derive(Args, Debug)]
pub struct SearchBench {
    /// Number of queries.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Results per query.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Seed for the query mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct GraphBench {
    /// Hops.
    #[arg(long, default_value_t = 2)]
    depth: u32,
    /// Number of start objects (the most connected first).
    #[arg(long, default_value_t = 200)]
    starts: usize,
    /// Node limit per walk.
    #[arg(long, default_value_t = 1000)]
    max_nodes: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Percentiles of durations in milliseconds.
fn summary(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    json!({"n": ms.len(), "p50_ms": p(0.5), "p90_ms": p(0.9), "p99_ms": p(0.99), "max_ms": p(1.0),
        "mean_ms": ms.iter().sum::<f64>() / ms.len() as f64})
}

fn print(what: &str, s: &serde_json::Value, extra: serde_json::Value, as_json: bool) {
    if as_json {
        let mut v = s.clone();
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        println!("{v}");
    } else {
        println!(
            "{what}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms {extra}",
            s["n"],
            s["p50_ms"].as_f64().unwrap_or(0.0),
            s["p90_ms"].as_f64().unwrap_or(0.0),
            s["p99_ms"].as_f64().unwrap_or(0.0),
            s["max_ms"].as_f64().unwrap_or(0.0)
        );
    }
}

pub fn run(ctx: &Ctx, c: BenchCommand) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    match c {
        BenchCommand::Search(a) => {
            // The query mix analysts type: names and name prefixes, techniques, sectors,
            // CVE ids, Chinese words of two and four characters, and indicator values.
            let pool = [
                "volt",
                "lantern",
                "gridspike",
                "granite typhoon",
                "operation",
                "backdoor",
                "phishing",
                "credential",
                "lateral movement",
                "energy",
                "telecommunications",
                "finance",
                "CVE-2024",
                "spearphishing",
                "tunnel",
                "電網",
                "电网",
                "木马",
                "恶意软件",
                "漏洞",
                "凭据",
                "update-sync",
                "cdn",
                "beacon",
                "wiper",
                "supply-chain",
                "web shells",
                "APT2",
                "UNC3",
                "obsidian",
                "relay",
                "scada",
                "historian",
                "ransom",
                "exfiltration",
                "persistence",
                "power",
                "vpn appliances",
                "implant",
                "loader",
            ];
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
            let mut times = Vec::with_capacity(a.queries);
            let mut hits = 0u64;
            // Warm the page cache once, as a running server would be.
            for q in &pool {
                store.search(
                    &subject,
                    &SearchQuery {
                        text: q.to_string(),
                        types: vec![],
                        limit: a.limit,
                        offset: 0,
                    },
                )?;
            }
            for _ in 0..a.queries {
                let q = pool.choose(&mut rng).copied().unwrap_or("grid");
                let t = Instant::now();
                let r = store.search(
                    &subject,
                    &SearchQuery {
                        text: q.to_string(),
                        types: vec![],
                        limit: a.limit,
                        offset: 0,
                    },
                )?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                hits += r.total;
            }
            let objects = store.stats(&subject)?.objects;
            print(
                "search",
                &summary(times),
                json!({"objects": objects, "mean_total_hits": hits / a.queries.max(1) as u64}),
                a.json,
            );
        }
        BenchCommand::Graph(a) => {
            let starts = store.hubs(&subject, a.starts)?;
            if starts.is_empty() {
                bail!("no object with graph edges to start from");
            }
            let mut times = Vec::with_capacity(starts.len());
            let mut nodes = 0usize;
            for id in &starts {
                store.graph(&subject, id, a.depth, a.max_nodes)?;
            }
            for id in &starts {
                let t = Instant::now();
                let g = store.graph(&subject, id, a.depth, a.max_nodes)?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                nodes += g.map(|g| g.nodes.len()).unwrap_or(0);
            }
            let objects = store.stats(&subject)?.objects;
            print(
                &format!("graph depth {}", a.depth),
                &summary(times),
                json!({"objects": objects, "mean_nodes": nodes / starts.len(), "start": "the most connected objects"}),
                a.json,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
