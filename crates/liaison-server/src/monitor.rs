//! The deadline monitor inside the server: every `interval` it reads the open tasks,
//! asks [`liaison_tasks::Monitor::check`] which warnings and breaches are due, and
//! records the notifications (in the app, and queued for webhooks) together with the
//! levels reported, in one transaction, so a restart does not notify twice.
//!
//! **Who reads.** The tasks are read with one system subject per organization of the
//! directory: that organization, the highest clearance, every compartment, the reader
//! role only. A task belongs to its requester's organization, so the union sees every
//! task of a known organization — more than any one user. That is safe because nothing
//! read is shown to a system subject's reader: each notification goes to a user only
//! when `liaison_policy::can_read(user, task label)` holds, and the stored notification
//! is read back through the label filter (`SqliteStore::notifications`). A webhook gets
//! the notification of a user it serves only when the task's level is at or below the
//! webhook's `max_level`.

use crate::tasks_api::{TasksSetup, Webhook};
use crate::AppState;
use liaison_policy::{can_read, Label, Level, Policy, Role, Subject};
use liaison_store::{NewDelivery, NewNotification, SqliteStore, StoreError};
use liaison_tasks::monitor::recipients;
use liaison_tasks::time::fmt_ms;
use liaison_tasks::{EventKind, Monitor, Task, TASK_TYPE};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// What one tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// Open tasks read.
    pub open_tasks: usize,
    /// Warnings and breaches due.
    pub events: usize,
    /// In-app notifications made.
    pub notifications: usize,
    /// Webhook deliveries queued.
    pub deliveries: usize,
    /// Milliseconds reading the open tasks.
    pub load_ms: f64,
    /// Milliseconds in `Monitor::check`.
    pub check_ms: f64,
    /// Milliseconds choosing recipients and recording.
    pub record_ms: f64,
}

/// The subject the monitor reads an organization's tasks as (see the module docs).
pub fn system_subject(policy: &Policy, org: &str) -> Subject {
    Subject {
        name: format!("liaison-monitor@{org}"),
        org: org.to_string(),
        unit: None,
        clearance: Level(policy.levels().len().saturating_sub(1) as u16),
        compartments: policy.compartments().clone(),
        roles: [Role::Reader].into(),
    }
}

/// The monitor's memory: the levels reported (restored from the store at start) and the
/// open tasks, kept up to date by reading only the task versions stored since the last
/// check (the first check reads them all).
#[derive(Debug, Default)]
pub struct Watch {
    monitor: Monitor,
    open: HashMap<String, (Label, Task)>,
    after: i64,
}

impl Watch {
    /// Open tasks known.
    pub fn open_tasks(&self) -> usize {
        self.open.len()
    }

    /// Read the task versions stored since the last refresh, with one system subject
    /// per organization of the directory; returns how many were read.
    pub fn refresh(
        &mut self,
        store: &SqliteStore,
        setup: &TasksSetup,
    ) -> Result<usize, StoreError> {
        let mut upto = i64::MAX;
        let mut read = 0;
        for org in &setup.directory.orgs {
            let sys = system_subject(store.policy(), &org.id);
            let (rows, u) = store.latest_since(&sys, TASK_TYPE, self.after)?;
            // The smallest snapshot of the organizations' reads: a row stored between
            // two of them is read again next time, never skipped.
            upto = upto.min(u);
            read += rows.len();
            for (json, label, revoked) in rows {
                match serde_json::from_str::<Task>(&json) {
                    Ok(t) if !revoked && t.status.is_open() => {
                        self.open.insert(t.id.clone(), (label, t));
                    }
                    Ok(t) => {
                        self.open.remove(&t.id);
                    }
                    Err(e) => tracing::warn!(error = %e, "monitor skipped a malformed task"),
                }
            }
        }
        if upto != i64::MAX {
            self.after = upto;
        }
        Ok(read)
    }
}

/// The most specific webhook for a user: its unit's, its organization's, the catch-all.
fn webhook_for<'a>(hooks: &'a [Webhook], user: &Subject) -> Option<&'a Webhook> {
    let unit = user.unit.as_ref().map(|u| format!("{}/{u}", user.org));
    hooks
        .iter()
        .find(|h| h.target.is_some() && h.target == unit)
        .or_else(|| {
            hooks
                .iter()
                .find(|h| h.target.as_deref() == Some(&user.org))
        })
        .or_else(|| hooks.iter().find(|h| h.target.is_none()))
}

/// A watch that remembers the levels the store says were reported and knows no open
/// task yet (the first [`tick`] reads them all).
pub fn restore(store: &SqliteStore, setup: &TasksSetup) -> Result<Watch, StoreError> {
    Ok(Watch {
        monitor: Monitor::with_reported(&setup.templates.warn_fractions, store.reported_levels()?),
        open: HashMap::new(),
        after: 0,
    })
}

/// One check at `now`: read what changed, check, notify, record. On a store failure
/// nothing is recorded and the watch is restored from the store, so the events come
/// again next time.
pub fn tick(
    store: &SqliteStore,
    setup: &TasksSetup,
    watch: &mut Watch,
    now: i64,
) -> Result<TickReport, StoreError> {
    let t0 = Instant::now();
    if let Err(e) = watch.refresh(store, setup) {
        *watch = restore(store, setup).unwrap_or_default();
        return Err(e);
    }
    let t1 = Instant::now();
    let Watch { monitor, open, .. } = &mut *watch;
    let events = monitor.check(open.values().map(|(_, t)| t), now);
    let t2 = Instant::now();
    let ids: HashSet<&str> = open.keys().map(String::as_str).collect();
    let forget = monitor.forget_others(&ids);
    let by_id = &*open;
    let dir = &setup.directory;
    let mut notes = Vec::new();
    let mut deliveries = Vec::new();
    let mut levels = Vec::new();
    for ev in &events {
        let Some((label, task)) = by_id.get(ev.task_id.as_str()) else {
            continue;
        };
        if let Some((d, l)) = monitor.reported_for(&task.id) {
            levels.push((task.id.clone(), d, l));
        }
        let kind = match ev.kind {
            EventKind::Warn { .. } => "warn",
            EventKind::Breach => "breach",
        };
        let parties = recipients(task, ev.kind, &|o, u| dir.unit_head(o, u));
        let mut users: BTreeMap<&str, &Subject> = BTreeMap::new();
        for p in &parties {
            for u in dir.users_of(p) {
                // Labels first: a user who cannot read the task hears nothing of it.
                if can_read(u, label) {
                    users.insert(u.name.as_str(), u);
                }
            }
        }
        let body = |to: &[&str]| {
            json!({
                "event": format!("task.deadline.{kind}"),
                "task_id": task.id,
                "title": task.title,
                "status": task.status,
                "priority": task.priority,
                "fraction": match ev.kind { EventKind::Warn { fraction } => Some(fraction), EventKind::Breach => None },
                "used": (ev.used * 1000.0).round() / 1000.0,
                "deadline": fmt_ms(ev.deadline_ms),
                "at": fmt_ms(now),
                "recipients": to,
            })
        };
        let mut per_hook: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, u) in &users {
            notes.push(NewNotification {
                recipient: name.to_string(),
                task_id: task.id.clone(),
                label: label.clone(),
                kind: kind.into(),
                body: body(&[name]),
            });
            if let Some(h) = webhook_for(&setup.monitor.webhooks, u) {
                if label.level <= h.max_level {
                    per_hook.entry(h.url.as_str()).or_default().push(name);
                }
            }
        }
        for (url, to) in per_hook {
            deliveries.push(NewDelivery {
                url: url.to_string(),
                body: body(&to).to_string(),
            });
        }
    }
    let open_tasks = open.len();
    let recorded = store.record_tick(&levels, &forget, &notes, &deliveries, now);
    if let Err(e) = recorded {
        *watch = restore(store, setup).unwrap_or_default();
        return Err(e);
    }
    let t3 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
    Ok(TickReport {
        open_tasks,
        events: events.len(),
        notifications: notes.len(),
        deliveries: deliveries.len(),
        load_ms: ms(t0, t1),
        check_ms: ms(t1, t2),
        record_ms: ms(t2, t3),
    })
}

/// Start the monitor and the webhook sender on the current tokio runtime: a check at
/// once and then every `interval`, and due webhook deliveries every second.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let setup = state.tasks();
    let sender = crate::notify::spawn_sender(state.clone());
    tokio::spawn(async move {
        let _sender = AbortOnDrop(sender);
        let st = state.clone();
        let s2 = setup.clone();
        let restored = crate::blocking(move || Ok(restore(&st.0.store, &s2)?)).await;
        let mut monitor = match restored {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "deadline monitor: cannot read reported levels; not started");
                return;
            }
        };
        let mut every = tokio::time::interval(setup.monitor.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let st = state.clone();
            let s2 = setup.clone();
            let mut m = std::mem::take(&mut monitor);
            let out = crate::blocking(move || {
                let now = liaison_stix::Timestamp::now().millis();
                let r = tick(&st.0.store, &s2, &mut m, now);
                Ok((m, r))
            })
            .await;
            match out {
                Ok((m, Ok(r))) => {
                    monitor = m;
                    if r.events > 0 {
                        tracing::info!(
                            open = r.open_tasks,
                            events = r.events,
                            notifications = r.notifications,
                            webhooks = r.deliveries,
                            "deadline monitor"
                        );
                    }
                }
                Ok((m, Err(e))) => {
                    monitor = m;
                    tracing::error!(error = %e, "deadline monitor tick failed; retrying next tick");
                }
                Err(e) => {
                    tracing::error!(error = %e, "deadline monitor tick failed");
                    let st = state.clone();
                    let s2 = setup.clone();
                    if let Ok(m) = crate::blocking(move || Ok(restore(&st.0.store, &s2)?)).await {
                        monitor = m;
                    }
                }
            }
        }
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
