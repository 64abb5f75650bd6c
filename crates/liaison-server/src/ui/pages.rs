//! Dashboard, search, object and graph pages.

use super::html::{banner, esc, url};
use super::i18n::{t, term, M};
use super::work::{self, ALERT_TYPE};
use super::Viewer;
use crate::{blocking, AppError, AppState, Path, Query};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use liaison_policy::Label;
use liaison_store::{SearchFilter, SearchQuery, Store, StoredObject};
use liaison_tasks::alert::{state_of, Severity, Triage};
use liaison_tasks::{TaskFilter, TASK_TYPE};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Types shown as "recent intelligence" on the dashboard: finished products, not the
/// observables and relationships beneath them.
const RECENT_TYPES: &[&str] = &["report", "note", "campaign", "intrusion-set"];
const RECENT_MAX: usize = 10;

/// Whether a string is a STIX identifier (`type--uuid`), to link it.
pub(crate) fn is_stix_id(s: &str) -> bool {
    match s.split_once("--") {
        Some((ty, rest)) => {
            !ty.is_empty()
                && ty
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && rest.len() == 36
                && rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        }
        None => false,
    }
}

pub(crate) fn obj_link(id: &str, text: Option<&str>) -> String {
    format!(
        "<a href=\"/ui/object/{}\">{}</a>",
        url(id),
        esc(text.unwrap_or(id))
    )
}

/// A property value as HTML: identifiers become links, lists become lists, anything
/// else is shown as JSON.
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) if is_stix_id(s) => obj_link(s, None),
        Value::String(s) => esc(s),
        Value::Array(a) if a.iter().all(|x| x.is_string()) => {
            let mut o = String::from("<ul class=\"plain\">");
            for x in a {
                let _ = write!(o, "<li>{}</li>", render_value(x));
            }
            o.push_str("</ul>");
            o
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => esc(&v.to_string()),
        _ => format!(
            "<pre>{}</pre>",
            esc(&serde_json::to_string_pretty(v).unwrap_or_default())
        ),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// Differences of top-level properties between two versions.
pub(crate) fn diff(old: &Value, new: &Value) -> Vec<(String, Option<Value>, Option<Value>)> {
    let empty = serde_json::Map::new();
    let a = old.as_object().unwrap_or(&empty);
    let b = new.as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    for (k, vb) in b {
        match a.get(k) {
            Some(va) if va == vb => {}
            va => out.push((k.clone(), va.cloned(), Some(vb.clone()))),
        }
    }
    for (k, va) in a {
        if !b.contains_key(k) {
            out.push((k.clone(), Some(va.clone()), None));
        }
    }
    out
}

fn added_text(ms: i64) -> String {
    liaison_stix::Timestamp::from_millis(ms).to_string()
}

// ------------------------------------------------------------------------- dashboard

struct Dash {
    alerts: BTreeMap<Severity, (u64, u64)>,
    mine: Vec<(StoredObject, liaison_tasks::Task)>,
    unit: Vec<(StoredObject, liaison_tasks::Task)>,
    recent: Vec<StoredObject>,
    feeds: Vec<(String, &'static str, liaison_policy::Label)>,
}

pub(crate) async fn dashboard(State(state): State<AppState>, v: Viewer) -> Response {
    let subject = v.caller.subject.clone();
    let now = liaison_stix::Timestamp::now().millis();
    let data = work::with_work(&state, subject.clone(), move |w| {
        let store = w.store;
        let mut alerts: BTreeMap<Severity, (u64, u64)> = BTreeMap::new();
        for a in w.all_alerts()? {
            let val = a.object.to_value();
            let sev = work::severity_of(&val);
            let e = alerts.entry(sev).or_default();
            match state_of(&val) {
                Triage::New => e.0 += 1,
                Triage::Acknowledged { .. } => e.1 += 1,
                _ => {}
            }
        }
        // One read of the tasks, two views of it.
        let due = |mine: bool, unit: bool| TaskFilter {
            mine,
            my_unit: unit,
            due_within: Some(24),
            ..TaskFilter::default()
        };
        let me = liaison_tasks::actor_of(w.subject);
        let (fm, fu) = (due(true, false), due(false, true));
        let mut mine = Vec::new();
        let mut unit = Vec::new();
        for (o, t) in w.all_tasks()? {
            let in_unit = fu.matches(&t, &me, w.now);
            if fm.matches(&t, &me, w.now) {
                if in_unit {
                    unit.push((o.clone(), t.clone()));
                }
                mine.push((o, t));
            } else if in_unit {
                unit.push((o, t));
            }
        }
        let soonest = |x: &(StoredObject, liaison_tasks::Task)| {
            (
                liaison_tasks::clock::effective_deadline(&x.1, w.now),
                x.1.id.clone(),
            )
        };
        mine.sort_by_key(soonest);
        unit.sort_by_key(soonest);
        // The newest finished products, newest first, at the cost of a page.
        let recent = store.recent(w.subject, RECENT_TYPES, RECENT_MAX)?;
        let feeds = store
            .feeds(w.subject)?
            .into_iter()
            .map(|f| {
                let h = crate::feeds_api::health(&f.config, &f.state);
                (f.name, h, f.label)
            })
            .collect();
        Ok(Dash {
            alerts,
            mine,
            unit,
            recent,
            feeds,
        })
    })
    .await;
    let d = match data {
        Ok(d) => d,
        Err(e) => return v.error(e),
    };
    let l = v.lang;
    let mut b = String::new();
    let _ = write!(b, "<h1>{}</h1><div class=\"cards\">", t(l, M::Dashboard));
    // Alerts by severity.
    let _ = write!(
        b,
        "<section class=\"card\" id=\"dash-alerts\"><h2><a href=\"/ui/alerts\">{}</a></h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::OpenAlerts),
        t(l, M::Severity),
        term(l, "new"),
        term(l, "acknowledged")
    );
    let mut any = false;
    for (sev, (n, a)) in d.alerts.iter().rev() {
        if n + a == 0 {
            continue;
        }
        any = true;
        let _ = write!(
            b,
            "<tr class=\"sev-{s}\"><td><span class=\"sev sev-{s}\">{}</span></td><td class=\"num\">{n}</td><td class=\"num\">{a}</td></tr>",
            term(l, sev.as_str()),
            s = sev.as_str()
        );
    }
    if !any {
        let _ = write!(b, "<tr><td colspan=\"3\">{}</td></tr>", t(l, M::NoAlerts));
    }
    b.push_str("</tbody></table></section>");
    // Tasks due.
    let _ = write!(
        b,
        "<section class=\"card\" id=\"dash-tasks\"><h2><a href=\"/ui/tasks\">{}</a></h2>",
        t(l, M::TasksDue)
    );
    for (title, list) in [(M::Mine, &d.mine), (M::MyUnit, &d.unit)] {
        let overdue = list.iter().filter(|x| x.1.is_overdue(now)).count();
        let _ = write!(
            b,
            "<h3>{} <span class=\"count\">{}</span> · {} <span class=\"count overdue\">{}</span></h3><ul class=\"plain\">",
            t(l, title),
            list.len(),
            t(l, M::Overdue),
            overdue
        );
        for (_, task) in list.iter().take(8) {
            let _ = write!(
                b,
                "<li class=\"nav-row\"><a href=\"/ui/task/{}\">{}</a> {}</li>",
                url(&task.id),
                esc(&task.title),
                work::countdown(task, now)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
    // Feeds: how many are in each health, the failing ones by name.
    let _ = write!(
        b,
        "<section class=\"card\" id=\"dash-feeds\"><h2><a href=\"/ui/feeds\">{}</a></h2>",
        t(l, M::FeedHealth)
    );
    if d.feeds.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(l, M::NoFeeds));
    } else {
        b.push_str("<ul class=\"plain\">");
        for h in ["ok", "failing", "paused", "never run"] {
            let names: Vec<&str> = d
                .feeds
                .iter()
                .filter(|f| f.1 == h)
                .map(|f| f.0.as_str())
                .collect();
            if names.is_empty() {
                continue;
            }
            let _ =
                write!(
                b,
                "<li><span class=\"health h-{}\">{}</span> <span class=\"count\">{}</span> {}</li>",
                h.replace(' ', "-"),
                term(l, h),
                names.len(),
                if h == "ok" { String::new() } else { esc(&names.join(", ")) }
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
    // Recent intelligence.
    let _ = write!(
        b,
        "<section class=\"card wide\" id=\"dash-recent\"><h2>{}</h2><ul class=\"plain\">",
        t(l, M::RecentIntel)
    );
    if d.recent.is_empty() {
        let _ = write!(b, "<li>{}</li>", t(l, M::Nothing));
    }
    let policy = state.0.store.policy();
    for o in &d.recent {
        let _ = write!(
            b,
            "<li class=\"nav-row\"><span class=\"type\">{}</span> {} {}</li>",
            esc(o.object.type_name()),
            obj_link(o.object.id(), o.object.name()),
            super::html::portion(policy, &o.label)
        );
    }
    b.push_str("</ul></section></div>");
    let shown = d
        .recent
        .iter()
        .map(|o| &o.label)
        .chain(d.mine.iter().take(8).map(|x| &x.0.label))
        .chain(d.unit.iter().take(8).map(|x| &x.0.label))
        .chain(d.feeds.iter().filter(|f| f.1 != "ok").map(|f| &f.2));
    let top = super::html::high_water(policy, shown);
    v.page("dash", t(l, M::Dashboard), top.as_deref(), &b)
}

// ---------------------------------------------------------------------------- search

#[derive(Deserialize, Default)]
pub(crate) struct SearchParams {
    #[serde(default)]
    q: Option<String>,
    #[serde(default, rename = "type")]
    types: Option<String>,
    /// A label banner (a value of the label facet).
    #[serde(default)]
    label: Option<String>,
    /// A creating identity's id (a value of the source facet).
    #[serde(default)]
    source: Option<String>,
    /// A month, `YYYY-MM` (a value of the time facet).
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    offset: Option<usize>,
}

const PAGE: usize = 25;
/// Sources listed on the page (of the store's most frequent), each named by a look-up.
const SOURCES_SHOWN: usize = 10;

/// The month after `YYYY-MM`, for the end of a time bucket; `None` for anything else.
fn next_month(m: &str) -> Option<String> {
    let (y, mo) = m.split_once('-')?;
    if y.len() != 4 || mo.len() != 2 {
        return None;
    }
    let (y, mo): (u32, u32) = (y.parse().ok()?, mo.parse().ok()?);
    match mo {
        1..=11 => Some(format!("{y:04}-{:02}", mo + 1)),
        12 => Some(format!("{:04}-01", y + 1)),
        _ => None,
    }
}

/// The facets a search page is restricted to, carried by every link it makes.
#[derive(Clone, Default)]
struct Picked {
    types: Vec<String>,
    label: Option<String>,
    source: Option<String>,
    month: Option<String>,
}

impl Picked {
    fn link(&self, q: &str, offset: usize) -> String {
        let mut s = format!("/ui/search?q={}", url(q));
        if !self.types.is_empty() {
            let _ = write!(s, "&type={}", url(&self.types.join(",")));
        }
        for (k, v) in [
            ("label", &self.label),
            ("source", &self.source),
            ("month", &self.month),
        ] {
            if let Some(v) = v {
                let _ = write!(s, "&{k}={}", url(v));
            }
        }
        if offset > 0 {
            let _ = write!(s, "&offset={offset}");
        }
        s
    }
}

/// One facet list: every value a link that picks it (or, when picked, drops it).
fn facet_list<'a>(
    b: &mut String,
    title: &str,
    data: &str,
    values: impl Iterator<Item = (&'a String, String, u64)>,
    picked: &Option<String>,
    with: impl Fn(Option<String>) -> String,
) {
    let _ = write!(
        b,
        "<h2>{}</h2><ul class=\"plain\" data-facets=\"{data}\">",
        esc(title)
    );
    let mut any = false;
    for (value, text, n) in values {
        any = true;
        let on = picked.as_deref() == Some(value.as_str());
        let _ = write!(
            b,
            "<li{}><a href=\"{}\" data-facet=\"{}\" title=\"{}\">{}</a> <span class=\"count\">{n}</span></li>",
            if on { " class=\"on\"" } else { "" },
            esc(&with(if on { None } else { Some(value.clone()) })),
            esc(value),
            esc(value),
            esc(&text),
        );
    }
    if !any {
        b.push_str("<li>—</li>");
    }
    b.push_str("</ul>");
}

pub(crate) async fn search(
    State(state): State<AppState>,
    v: Viewer,
    Query(p): Query<SearchParams>,
) -> Response {
    let l = v.lang;
    let q = p.q.unwrap_or_default();
    let types: Vec<String> = p
        .types
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let picked = Picked {
        types: types.clone(),
        label: nonempty(p.label),
        source: nonempty(p.source),
        month: nonempty(p.month),
    };
    let offset = p.offset.unwrap_or(0).min(10_000);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><form class=\"bigsearch\" action=\"/ui/search\" method=\"get\"><input name=\"q\" value=\"{}\" type=\"search\" placeholder=\"{}\"><button>{}</button></form>",
        t(l, M::Search),
        esc(&q),
        esc(t(l, M::SearchPlaceholder)),
        t(l, M::Search)
    );
    if q.trim().is_empty() {
        return v.page("search", t(l, M::Search), None, &b);
    }
    let until = match picked.month.as_deref().map(next_month) {
        Some(None) => {
            return v.error(AppError::BadRequest(
                "month: expected a month as YYYY-MM (a value of the time facet)".into(),
            ))
        }
        Some(Some(m)) => Some(m),
        None => None,
    };
    let query = SearchQuery {
        text: q.clone(),
        types: types.clone(),
        limit: PAGE,
        offset,
    };
    let filter = SearchFilter {
        labels: picked.label.iter().cloned().collect(),
        sources: picked.source.iter().cloned().collect(),
        modified_from: picked.month.clone(),
        modified_before: until,
        facets: true,
        // The page shows no score: matches outside names need no BM25.
        unscored: true,
    };
    let st = state.clone();
    let subject = v.caller.subject.clone();
    let found = blocking(move || {
        let store = &st.0.store;
        let r = store.search_filtered(&subject, &query, &filter)?;
        // Each hit's label, for its portion mark and the page banner: one look-up.
        let ids: Vec<String> = r.hits.iter().map(|h| h.id.clone()).collect();
        let labels = store.labels_of(&subject, &ids)?;
        // The most frequent sources, named when the viewer may read the identity.
        let mut sources: Vec<(&String, &u64)> = r.source_facets.iter().collect();
        sources.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let mut names = HashMap::new();
        for (id, _) in sources.into_iter().take(SOURCES_SHOWN) {
            let name = store
                .get(&subject, id)?
                .and_then(|o| o.object.name().map(str::to_string));
            names.insert(id.clone(), name);
        }
        Ok((r, labels, names))
    })
    .await;
    let (r, labels, names) = match found {
        Ok(x) => x,
        Err(e) => return v.error(e),
    };
    let policy = state.0.store.policy();
    // Facets: the store's label-filtered counts per type, label, source and month.
    let _ = write!(
        b,
        "<div class=\"searchgrid\"><aside class=\"facets\" id=\"facets\"><h2>{}</h2><ul class=\"plain\" data-facets=\"type\">",
        t(l, M::Types)
    );
    let cur = if types.is_empty() {
        " class=\"on\""
    } else {
        ""
    };
    let _ = write!(
        b,
        "<li{cur}><a href=\"{}\">{}</a></li>",
        esc(&Picked {
            types: vec![],
            ..picked.clone()
        }
        .link(&q, 0)),
        t(l, M::AllTypes)
    );
    for (ty, n) in &r.facets {
        let on = types.contains(ty);
        let next: Vec<String> = if on {
            types.iter().filter(|x| *x != ty).cloned().collect()
        } else {
            let mut x = types.clone();
            x.push(ty.clone());
            x
        };
        let _ =
            write!(
            b,
            "<li{}><a href=\"{}\" data-facet=\"{}\">{}</a> <span class=\"count\">{}</span></li>",
            if on { " class=\"on\"" } else { "" },
            esc(&Picked { types: next, ..picked.clone() }.link(&q, 0)),
            esc(ty),
            esc(ty),
            n
        );
    }
    b.push_str("</ul>");
    // Most frequent first, as a reader scans them.
    let by_count = |m: &'_ BTreeMap<String, u64>| {
        let mut v: Vec<(String, u64)> = m.iter().map(|(k, n)| (k.clone(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let label_values = by_count(&r.label_facets);
    facet_list(
        &mut b,
        t(l, M::LabelFacet),
        "label",
        label_values.iter().map(|(k, n)| (k, k.clone(), *n)),
        &picked.label,
        |x| {
            Picked {
                label: x,
                ..picked.clone()
            }
            .link(&q, 0)
        },
    );
    let source_values: Vec<(String, u64)> = by_count(&r.source_facets)
        .into_iter()
        .take(SOURCES_SHOWN)
        .collect();
    facet_list(
        &mut b,
        t(l, M::SourceFacet),
        "source",
        source_values.iter().map(|(k, n)| {
            let text = names.get(k).cloned().flatten().unwrap_or_else(|| k.clone());
            (k, text, *n)
        }),
        &picked.source,
        |x| {
            Picked {
                source: x,
                ..picked.clone()
            }
            .link(&q, 0)
        },
    );
    // Months newest first: recent intelligence is what analysts look for.
    let months: Vec<(String, u64)> = r
        .time_facets
        .iter()
        .rev()
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    facet_list(
        &mut b,
        t(l, M::TimeFacet),
        "month",
        months.iter().map(|(k, n)| (k, k.clone(), *n)),
        &picked.month,
        |x| {
            Picked {
                month: x,
                ..picked.clone()
            }
            .link(&q, 0)
        },
    );
    b.push_str("</aside><section class=\"results\">");
    let _ = write!(
        b,
        "<p class=\"total\" id=\"total\">{}{} {}</p>",
        if r.capped {
            format!("{} ", t(l, M::AtLeast))
        } else {
            String::new()
        },
        r.total,
        t(l, M::Results)
    );
    if r.hits.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(l, M::NoResults));
    } else {
        let _ = write!(
            b,
            "<form method=\"get\" action=\"/ui/export/selection\" id=\"selection\"><table class=\"list\" id=\"hits\"><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(l, M::Name),
            t(l, M::Type),
            t(l, M::Id)
        );
        for h in &r.hits {
            let _ = write!(
                b,
                "<tr class=\"nav-row\"><td><input type=\"checkbox\" name=\"id\" value=\"{}\" aria-label=\"{}\"></td><td>{} {}</td><td><span class=\"type\">{}</span></td><td class=\"id\">{}</td></tr>",
                esc(&h.id),
                t(l, M::Select),
                obj_link(&h.id, Some(h.name.as_deref().unwrap_or(&h.id))),
                labels
                    .get(&h.id)
                    .map(|l| super::html::portion(policy, l))
                    .unwrap_or_default(),
                esc(&h.r#type),
                esc(&h.id)
            );
        }
        let _ = write!(
            b,
            "</tbody></table><button id=\"export-selected\">{}</button></form>",
            t(l, M::ExportSelected)
        );
    }
    b.push_str("<nav class=\"pager\">");
    if offset > 0 {
        let _ = write!(
            b,
            "<a rel=\"prev\" href=\"{}\">{}</a>",
            esc(&picked.link(&q, offset.saturating_sub(PAGE))),
            t(l, M::Previous)
        );
    }
    if (offset + PAGE) < r.total as usize {
        let _ = write!(
            b,
            "<a rel=\"next\" href=\"{}\">{}</a>",
            esc(&picked.link(&q, offset + PAGE)),
            t(l, M::Next)
        );
    }
    b.push_str("</nav></section></div>");
    let top = super::html::high_water(policy, labels.values());
    v.page("search", t(l, M::Search), top.as_deref(), &b)
}

// ---------------------------------------------------------------------------- object

pub(crate) async fn object(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let st = state.clone();
    let subject = v.caller.subject.clone();
    let found = blocking(move || {
        let store = &st.0.store;
        let Some(cur) = store.get(&subject, &id)? else {
            return Ok(None);
        };
        let versions = store.versions(&subject, &id)?;
        let graph = store.graph(&subject, &id, 1, 200)?;
        // Labels of what the relationships table names: the neighbours and the
        // relationship objects (for portion marks and the page's high-water banner).
        let mut named: Vec<String> = Vec::new();
        if let Some(g) = &graph {
            for e in g.edges.iter().filter(|e| e.source == id || e.target == id) {
                let other = if e.source == id { &e.target } else { &e.source };
                named.extend(std::iter::once(other).chain(e.via.as_ref()).cloned());
            }
        }
        named.sort();
        named.dedup();
        let labels = store.labels_of(&subject, &named)?;
        Ok(Some((cur, versions, graph, labels)))
    })
    .await;
    let (cur, versions, graph, labels) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return super::not_found(v.lang),
        Err(e) => return v.error(e),
    };
    let l = v.lang;
    let policy = state.0.store.policy();
    let top = super::html::high_water(policy, std::iter::once(&cur.label).chain(labels.values()))
        .unwrap_or_else(|| banner(policy, &cur.label));
    let id = cur.object.id().to_string();
    let val = cur.object.to_value();
    // Cyber-observables have no name: their value (a domain, an address, a URL) is
    // what an analyst reads them by.
    let title = cur
        .object
        .name()
        .or_else(|| val.get("value").and_then(Value::as_str))
        .unwrap_or(&id)
        .to_string();
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1><span class=\"type\">{}</span> {} {}</h1><p class=\"id\">{}{}</p>",
        esc(cur.object.type_name()),
        esc(&title),
        super::html::portion(policy, &cur.label),
        esc(&id),
        if cur.object.revoked() {
            format!(
                " <span class=\"sev sev-high\">{}</span>",
                t(v.lang, M::RevokedMark)
            )
        } else {
            String::new()
        }
    );
    let ty = cur.object.type_name();
    let _ = write!(
        b,
        "<p class=\"actions\"><a class=\"button\" href=\"/ui/graph/{}\" data-key=\"g\">{}</a>",
        url(&id),
        t(l, M::Graph)
    );
    if ty == TASK_TYPE {
        let _ = write!(
            b,
            " <a class=\"button\" href=\"/ui/task/{}\">{}</a>",
            url(&id),
            t(l, M::Tasks)
        );
    } else if ty == ALERT_TYPE {
        let _ = write!(
            b,
            " <a class=\"button\" href=\"/ui/alert/{}\">{}</a>",
            url(&id),
            t(l, M::Alerts)
        );
    }
    b.push_str("</p>");
    // Properties.
    let _ = write!(
        b,
        "<section><h2>{}</h2><table class=\"props\" id=\"props\"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Properties),
        t(l, M::Property),
        t(l, M::Value)
    );
    if let Some(m) = val.as_object() {
        for (k, x) in m {
            let _ = write!(
                b,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                esc(k),
                render_value(x)
            );
        }
    }
    b.push_str("</tbody></table></section>");
    // Relationships: the store's walk of one hop, label-filtered.
    let _ = write!(b, "<section><h2>{}</h2>", t(l, M::Relationships));
    let names: HashMap<&str, (&str, Option<&str>)> = graph
        .as_ref()
        .map(|g| {
            g.nodes
                .iter()
                .map(|n| (n.id.as_str(), (n.r#type.as_str(), n.name.as_deref())))
                .collect()
        })
        .unwrap_or_default();
    let edges: Vec<_> = graph
        .as_ref()
        .map(|g| {
            g.edges
                .iter()
                .filter(|e| e.source == id || e.target == id)
                .collect()
        })
        .unwrap_or_default();
    if edges.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(l, M::NoRelationships));
    } else {
        let _ = write!(
            b,
            "<table class=\"list\" id=\"rels\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(l, M::Direction),
            t(l, M::Kind),
            t(l, M::Type),
            t(l, M::Object)
        );
        for e in edges {
            let (dir, other) = if e.source == id {
                (t(l, M::Outgoing), e.target.as_str())
            } else {
                (t(l, M::Incoming), e.source.as_str())
            };
            let (oty, oname) = names.get(other).copied().unwrap_or(("", None));
            let kind = match &e.via {
                Some(r) => obj_link(r, Some(&e.kind)),
                None => esc(&e.kind),
            };
            let _ = write!(
                b,
                "<tr class=\"nav-row\"><td>{dir}</td><td>{kind}</td><td><span class=\"type\">{}</span></td><td>{} {}</td></tr>",
                esc(oty),
                obj_link(other, oname),
                labels
                    .get(other)
                    .map(|l| super::html::portion(policy, l))
                    .unwrap_or_default()
            );
        }
        b.push_str("</tbody></table>");
        if graph.as_ref().is_some_and(|g| g.truncated) {
            let _ = write!(b, "<p class=\"note\">{}</p>", t(l, M::Truncated));
        }
    }
    b.push_str("</section>");
    // Versions, newest first, each with what changed from the one before.
    let _ = write!(
        b,
        "<section><h2>{} <span class=\"count\">{}</span></h2><ol class=\"versions\" id=\"versions\" reversed>",
        t(l, M::Versions),
        versions.len()
    );
    let vals: Vec<Value> = versions.iter().map(|s| s.object.to_value()).collect();
    for (i, s) in versions.iter().enumerate().rev() {
        let _ = write!(
            b,
            "<li><div class=\"vhead\"><b>{}</b> <span class=\"muted\">{} {}</span></div>",
            esc(s.object.version()),
            t(l, M::Added),
            esc(&added_text(s.added_ms))
        );
        if i == 0 {
            let _ = write!(b, "<p class=\"muted\">{}</p>", t(l, M::FirstVersion));
        } else {
            let changes = diff(&vals[i - 1], &vals[i]);
            let changes: Vec<_> = changes.into_iter().filter(|c| c.0 != "modified").collect();
            if changes.is_empty() {
                let _ = write!(b, "<p class=\"muted\">{}</p>", t(l, M::NoChange));
            } else {
                b.push_str("<table class=\"diff\"><tbody>");
                for (k, old, new) in changes {
                    let _ = write!(
                        b,
                        "<tr><th>{}</th><td class=\"del\">{}</td><td class=\"ins\">{}</td></tr>",
                        esc(&k),
                        old.as_ref().map(|x| esc(&short(x))).unwrap_or_default(),
                        new.as_ref().map(|x| esc(&short(x))).unwrap_or_default()
                    );
                }
                b.push_str("</tbody></table>");
            }
        }
        b.push_str("</li>");
    }
    b.push_str("</ol></section>");
    v.page("search", &title, Some(&top), &b)
}

// ----------------------------------------------------------------------------- graph

#[derive(Deserialize, Default)]
pub(crate) struct GraphParams {
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    max: Option<usize>,
}

pub(crate) async fn graph(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(p): Query<GraphParams>,
) -> Response {
    let st = state.clone();
    let subject = v.caller.subject.clone();
    let lookup = id.clone();
    let found = blocking(move || Ok(st.0.store.get(&subject, &lookup)?)).await;
    let cur = match found {
        Ok(Some(c)) => c,
        Ok(None) => return super::not_found(v.lang),
        Err(e) => return v.error(e),
    };
    let l = v.lang;
    let policy = state.0.store.policy();
    let top = banner(policy, &cur.label);
    let depth = p.depth.unwrap_or(2).clamp(1, 5);
    let max = p.max.unwrap_or(300).clamp(1, 5000);
    let title = format!("{} · {}", t(l, M::Graph), cur.object.name().unwrap_or(&id));
    let b = format!(
        "<h1>{}</h1><p class=\"muted\">{} <span id=\"gstat\"></span></p>\
         <form class=\"inline\" method=\"get\"><label>{} <input name=\"depth\" type=\"number\" min=\"1\" max=\"5\" value=\"{depth}\"></label>\
         <label>{} <input name=\"max\" type=\"number\" min=\"1\" max=\"5000\" value=\"{max}\"></label><button>{}</button></form>\
         <div class=\"graphbox\"><canvas id=\"graph\" data-start=\"{}\" data-depth=\"{depth}\" data-max=\"{max}\" data-t-nodes=\"{}\" data-t-edges=\"{}\" data-t-truncated=\"{}\"></canvas>\
         <div id=\"ginfo\" class=\"ginfo\"></div></div><script src=\"/ui/assets/graph.js\" defer></script>",
        esc(&title),
        t(l, M::GraphHelp),
        t(l, M::Depth),
        t(l, M::MaxNodes),
        t(l, M::ExpandAll),
        esc(&id),
        t(l, M::Nodes),
        t(l, M::Edges),
        t(l, M::Truncated),
    );
    // The start's label banners the page; the labels of other nodes are the store's
    // business (it only returns readable ones), and each node's page shows its own.
    v.page("search", &title, Some(&top), &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_recognised_strictly() {
        assert!(is_stix_id("malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
        assert!(is_stix_id(
            "x-liaison-task--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        ));
        assert!(!is_stix_id("see malware--8a3b"));
        assert!(!is_stix_id("<b>--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
    }

    #[test]
    fn diff_lists_changed_added_and_removed_properties() {
        let a = json!({"name": "A", "x": 1, "gone": true});
        let b = json!({"name": "B", "x": 1, "new": [1]});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.contains(&("name".into(), Some(json!("A")), Some(json!("B")))));
        assert!(d.contains(&("new".into(), None, Some(json!([1])))));
        assert!(d.contains(&("gone".into(), Some(json!(true)), None)));
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct GraphDataParams {
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    max: Option<usize>,
    /// The joined label of what the page already shows (from an earlier answer).
    #[serde(default)]
    with: Option<String>,
}

/// The neighbourhood for the graph script: the store's walk, and the page banner
/// joined over every node and relationship drawn so far.
pub(crate) async fn graph_data(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(p): Query<GraphDataParams>,
) -> Response {
    let policy = state.0.store.policy();
    let prev: Option<Label> = match p.with.as_deref().filter(|w| !w.is_empty()) {
        None => None,
        Some(w) => match serde_json::from_str::<Label>(w) {
            Ok(l) if (l.level.0 as usize) < policy.levels().len() => Some(l),
            _ => {
                return AppError::BadRequest("with: expected a label from an earlier answer".into())
                    .into_response()
            }
        },
    };
    let depth = p.depth.unwrap_or(1).clamp(1, 5);
    let max = p.max.unwrap_or(200).clamp(1, 5000);
    let st = state.clone();
    let subject = v.caller.subject.clone();
    let r = blocking(move || {
        let store = &st.0.store;
        let Some(g) = store.graph(&subject, &id, depth, max)? else {
            return Ok(None);
        };
        // Labels only, in one look-up: reading every body (a thousand nodes) to learn
        // its label was most of this answer's time.
        let ids: Vec<String> = g
            .nodes
            .iter()
            .map(|n| n.id.clone())
            .chain(g.edges.iter().filter_map(|e| e.via.clone()))
            .collect();
        let labels = store.labels_of(&subject, &ids)?;
        let joined = liaison_policy::join_all(prev.iter().chain(labels.values()));
        Ok(Some((g, joined)))
    })
    .await;
    match r {
        Ok(Some((g, joined))) => {
            let (text, class) = joined
                .as_ref()
                .map(|l| (policy.banner(l), super::html::level_class(policy, l)))
                .unwrap_or_default();
            let body = serde_json::json!({
                "nodes": g.nodes, "edges": g.edges, "truncated": g.truncated,
                "joined": joined, "banner": text, "banner_class": class,
            });
            let mut r = (axum::http::StatusCode::OK, body.to_string()).into_response();
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Ok(None) => AppError::NotFound.into_response(),
        Err(e) => e.into_response(),
    }
}
