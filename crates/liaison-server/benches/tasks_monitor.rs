//! The deadline monitor's tick end to end on a store of 100,000 open tasks (and as many
//! closed ones, which the tick must not pay for): read the open tasks through the
//! label-filtered store, check them, record. Run with
//! `cargo bench -p liaison-server --bench tasks_monitor`.

use criterion::{criterion_group, criterion_main, Criterion};
use liaison_policy::{Label, Policy, Releasability, Role, Tlp};
use liaison_server::monitor;
use liaison_server::tasks_api::TasksSetup;
use liaison_stix::StixObject;
use liaison_store::{ImportOptions, Prepared, SqliteStore, Store};
use liaison_tasks::directory::{OrgEntry, UnitEntry};
use liaison_tasks::ops::task_object;
use liaison_tasks::{apply, Action, Party, Priority, Task, TaskType};
use std::time::{Duration, Instant};

const H: i64 = 3_600_000;
const OPEN: usize = 100_000;
const CLOSED: usize = 100_000;

fn setup() -> (tempfile::TempDir, SqliteStore, TasksSetup) {
    let policy = Policy::new(["UNCLASSIFIED", "RESTRICTED", "SECRET"], ["GRID"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("liaison.db"), policy.clone()).unwrap();
    let orgs = ["ministry", "cert", "isac", "telco"];
    let mut users = Vec::new();
    for o in orgs {
        let mut s = policy
            .subject(&format!("{o}-head"), o, "SECRET", ["GRID"], [Role::Analyst])
            .unwrap();
        s.unit = Some("ops".into());
        users.push(s);
    }
    let setup = TasksSetup {
        directory: liaison_tasks::Directory {
            orgs: orgs
                .iter()
                .map(|o| OrgEntry {
                    id: o.to_string(),
                    units: vec![UnitEntry {
                        id: "ops".into(),
                        head: Some(format!("{o}-head")),
                    }],
                })
                .collect(),
            users: users.clone(),
        },
        ..TasksSetup::default()
    };
    let now = liaison_stix::Timestamp::now().millis();
    let types = [
        TaskType::Rfi,
        TaskType::Collection,
        TaskType::Analysis,
        TaskType::JointResponse,
    ];
    let prios = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];
    let t0 = Instant::now();
    for (k, org) in orgs.iter().enumerate() {
        let writer = &users[k];
        let label = if k % 2 == 0 {
            Label::public(Some(org.to_string()))
        } else {
            policy
                .label(
                    "SECRET",
                    ["GRID"],
                    Tlp::Amber,
                    org,
                    Releasability::to(["cert"]),
                )
                .unwrap()
        };
        let req = Party::new(org, Some("ops"), Some(&writer.name));
        let assignee = Party::new(orgs[(k + 1) % orgs.len()], Some("ops"), None);
        let per_org = (OPEN + CLOSED) / orgs.len();
        let mut batch: Vec<StixObject> =
            vec![StixObject::from_value(liaison_tasks::task_extension_definition()).unwrap()];
        for i in 0..per_org {
            let n = k * per_org + i;
            // Created over the last 48 h with 24-30 h budgets: most have crossed 50 %,
            // 80 % or the deadline.
            let created = now - ((n as i64 * 7919) % (48 * H));
            let t = Task::draft(
                format!("x-liaison-task--00000000-0000-4000-8000-{n:012}"),
                created,
                "Bench task",
                types[n % 4],
                prios[(n / 4) % 4],
                req.clone(),
                created + 24 * H + (n as i64 % 6) * H,
            )
            .unwrap();
            let mut t = apply(&t, &req, Action::Assign(vec![assignee.clone()]), created).unwrap();
            if i % 2 == 1 {
                t = apply(&t, &req, Action::Cancel("bench".into()), created + 1).unwrap();
            }
            batch.push(task_object(&t, None, &label, &policy).unwrap());
        }
        let opts = ImportOptions {
            default_label: Some(Label::public(None)),
            strict: true,
            expected_objects: Some(batch.len() as u64),
        };
        store
            .import(
                writer,
                &mut batch.into_iter().map(|o| Ok(Prepared::new(o))),
                &opts,
                &mut |_| {},
            )
            .unwrap();
    }
    eprintln!(
        "stored {} open and {} cancelled tasks in {:.1} s",
        OPEN,
        CLOSED,
        t0.elapsed().as_secs_f64()
    );
    (dir, store, setup)
}

fn bench(c: &mut Criterion) {
    let (_dir, store, setup) = setup();
    let now = liaison_stix::Timestamp::now().millis();
    // The first tick after a start with nothing reported: most tasks emit an event and
    // every event writes notifications. Once, timed by hand (it changes the store).
    let mut m = monitor::restore(&store, &setup).unwrap();
    let t = Instant::now();
    let r = monitor::tick(&store, &setup, &mut m, now).unwrap();
    eprintln!(
        "first tick: {:.0} ms wall; {r:?}",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut g = c.benchmark_group("monitor_tick");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    // A check with nothing changed since the last one: the common case, every minute.
    g.bench_function("tick_100k_open_steady", |b| {
        b.iter(|| monitor::tick(&store, &setup, &mut m, now).unwrap().events)
    });
    // A start: the reported levels and every open task read from the store, checked.
    g.bench_function("restore_and_first_tick_100k_open_of_200k", |b| {
        b.iter(|| {
            let mut m = monitor::restore(&store, &setup).unwrap();
            monitor::tick(&store, &setup, &mut m, now).unwrap().events
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
