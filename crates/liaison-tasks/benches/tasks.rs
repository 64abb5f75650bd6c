//! The deadline monitor over 100,000 open tasks; alert aggregation of screening hits.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use liaison_policy::Label;
use liaison_tasks::alert::{Aggregator, BurstConfig, BurstDetector, HitRef, Severity};
use liaison_tasks::{apply, Action, Monitor, Party, Priority, Task, TaskType};

const H: i64 = 3_600_000;

fn open_tasks(n: usize, now: i64) -> Vec<Task> {
    let req = Party::new("ministry", Some("cyber"), Some("dana"));
    (0..n)
        .map(|i| {
            let created = now - (i as i64 % 48) * H;
            let t = Task::draft(
                format!("x-liaison-task--00000000-0000-4000-8000-{i:012}"),
                created,
                "bench",
                TaskType::ALL[i % 4],
                Priority::ALL[i % 4],
                req.clone(),
                created + 24 * H + (i as i64 % 7) * H,
            )
            .expect("draft");
            let unit = Party::new("cert", Some(["analysis", "soc", "ops"][i % 3]), None);
            let mut t = apply(&t, &req, Action::Assign(vec![unit]), created).expect("assign");
            if i % 10 == 0 {
                t.paused.push(liaison_tasks::Pause {
                    from: created + H,
                    to: Some(created + 2 * H),
                    reason: "waiting".into(),
                });
            }
            t
        })
        .collect()
}

fn monitor(c: &mut Criterion) {
    let now = 1_790_000_000_000;
    let tasks = open_tasks(100_000, now);
    let mut g = c.benchmark_group("monitor");
    g.throughput(Throughput::Elements(tasks.len() as u64));
    // A first pass: every task is new to the monitor (most cross a level and emit).
    g.bench_function("check_100k_first_pass", |b| {
        b.iter(|| {
            let mut m = Monitor::new(&[0.5, 0.8]);
            black_box(m.check(&tasks, now).len())
        })
    });
    // The steady state: levels already reported, nothing new to say.
    let mut warm = Monitor::new(&[0.5, 0.8]);
    warm.check(&tasks, now);
    g.bench_function("check_100k_steady", |b| {
        b.iter(|| black_box(warm.check(&tasks, now).len()))
    });
    g.finish();
}

/// One million screening hits, as the screener emits them in a minute at the target
/// rate: 5,000 rules (skewed: a few rules make most hits), `n_sources` sources, one day.
/// (rule index, source index, time, severity).
type Hit = (u32, u32, i64, Severity);

fn hits(n_sources: u32) -> (Vec<String>, Vec<String>, Vec<Hit>) {
    let rules: Vec<String> = (0..5_000)
        .map(|i| format!("indicator--00000000-0000-4000-8000-{i:012}"))
        .collect();
    let sources: Vec<String> = (0..n_sources)
        .map(|i| format!("feeds/source-{i}"))
        .collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let day = 1_790_000_000_000;
    let hits = (0..1_000_000)
        .map(|i| {
            let r = next();
            // Squaring a uniform value skews towards the first rules.
            let u = (r % 10_000) as f64 / 10_000.0;
            let rule = ((u * u) * 5_000.0) as u32;
            let source = ((r >> 20) % u64::from(n_sources)) as u32;
            let sev = [Severity::Low, Severity::Medium, Severity::High][((r >> 40) % 3) as usize];
            (rule, source, day + i as i64 * 60, sev)
        })
        .collect();
    (rules, sources, hits)
}

fn aggregate(
    rules: &[String],
    sources: &[String],
    hits: &[Hit],
) -> Aggregator<impl FnMut(&str) -> Label, impl FnMut(&str) -> Label> {
    let mut agg = Aggregator::new(
        |_: &str| Label::public(Some("cert".into())),
        |_: &str| Label::public(Some("cert".into())),
    );
    for &(r, s, at, sev) in hits {
        agg.push(&HitRef {
            rule: &rules[r as usize],
            source: &sources[s as usize],
            at_ms: at,
            severity: sev,
        });
    }
    agg
}

fn alerts(c: &mut Criterion) {
    let mut g = c.benchmark_group("alerts");
    g.sample_size(10);
    for n_sources in [20, 200] {
        let (rules, sources, hits) = hits(n_sources);
        g.throughput(Throughput::Elements(hits.len() as u64));
        // Folding the hits in: the per-hit cost the screener's rate meets.
        g.bench_function(format!("push_1m_hits_{n_sources}_sources"), |b| {
            b.iter(|| black_box(aggregate(&rules, &sources, &hits).hits()))
        });
        // Folding in, then producing every sighting and alert (labels joined): what a
        // flush to the store costs on top, once per interval.
        g.bench_function(format!("push_and_drain_1m_hits_{n_sources}_sources"), |b| {
            b.iter(|| {
                let agg = aggregate(&rules, &sources, &hits);
                black_box((agg.sightings().len(), agg.alerts().len()))
            })
        });
        if n_sources == 20 {
            let agg = aggregate(&rules, &sources, &hits);
            eprintln!(
                "{n_sources} sources: {} sightings, {} alerts from {} hits",
                agg.sightings().len(),
                agg.alerts().len(),
                agg.hits()
            );
            g.bench_function("burst_observe_1m_hits", |b| {
                b.iter(|| {
                    let mut d = BurstDetector::new(BurstConfig::default());
                    let mut n = 0usize;
                    for &(r, _, at, _) in &hits {
                        n += usize::from(d.observe(&rules[r as usize], at).is_some());
                    }
                    black_box(n)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, monitor, alerts);
criterion_main!(benches);
