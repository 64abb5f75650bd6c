//! The deadline monitor over 100,000 open tasks; alert aggregation of screening hits.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
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
    let heads = |_: &str, u: &str| Some(format!("head-{u}"));
    let mut g = c.benchmark_group("monitor");
    g.throughput(Throughput::Elements(tasks.len() as u64));
    // A first pass: every task is new to the monitor (most cross a level and emit).
    g.bench_function("check_100k_first_pass", |b| {
        b.iter(|| {
            let mut m = Monitor::new(&[0.5, 0.8]);
            black_box(m.check(&tasks, now, &heads).len())
        })
    });
    // The steady state: levels already reported, nothing new to say.
    let mut warm = Monitor::new(&[0.5, 0.8]);
    warm.check(&tasks, now, &heads);
    g.bench_function("check_100k_steady", |b| {
        b.iter(|| black_box(warm.check(&tasks, now, &heads).len()))
    });
    g.finish();
}

criterion_group!(benches, monitor);
criterion_main!(benches);
