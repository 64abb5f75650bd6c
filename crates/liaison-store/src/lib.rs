//! The knowledge store: every version of every STIX object, under its security label.
//!
//! [`Store`] is the trait every backend implements; [`SqliteStore`] is the embedded
//! default. Every read takes a [`Subject`] and filters inside the query (results,
//! counts and facets alike) by the set of label ids the policy lets that subject
//! read, so no caller can forget to. Every import batch is one transaction.
//!
//! ```
//! use liaison_store::{SqliteStore, Store, ImportOptions, SearchQuery};
//! use liaison_policy::{Policy, Role};
//! use liaison_stix::StixObject;
//!
//! let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
//! let store = SqliteStore::open_in_memory(policy.clone()).unwrap();
//! let admin = policy.subject("admin", "cert", "SECRET", ["GRID"], [Role::Admin]).unwrap();
//! let obj = StixObject::from_json(r#"{"type":"malware","spec_version":"2.1",
//!   "id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2016-04-06T20:07:09.000Z",
//!   "modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}"#).unwrap();
//! let report = store.import(&admin, &mut std::iter::once(Ok(obj.into())), &ImportOptions::default(), &mut |_| {}).unwrap();
//! assert_eq!(report.new, 1);
//! let found = store.search(&admin, &SearchQuery::text("poison")).unwrap();
//! assert_eq!(found.total, 1);
//! ```

pub mod audit;
mod search_text;
mod sqlite;
pub mod testsuite;

pub use search_text::{fts_query, segment_for_index};
pub use sqlite::collections::{
    version_key_of, Ceiling, Collection, CollectionAdd, CollectionEntry, CollectionPage,
    CollectionQuery, VersionMatch,
};
pub use sqlite::crypt;
pub use sqlite::feeds::{FeedPut, FeedRecord, FeedWrite};
pub use sqlite::work::{Delivery, NewDelivery, NewNotification, Notification};
pub use sqlite::SqliteStore;

use liaison_policy::{Label, PolicyError, Subject};
use liaison_stix::StixObject;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The objects every store ships with, readable by all: Liaison's identity, the
/// extension definition of its label extension, and the five TLP 2.0 marking definitions.
pub fn built_in_objects() -> Vec<serde_json::Value> {
    std::iter::once(liaison_stix::label::liaison_identity())
        .chain(std::iter::once(
            liaison_stix::label::label_extension_definition(),
        ))
        .chain(
            liaison_stix::tlp::ALL
                .iter()
                .map(|t| t.marking_definition()),
        )
        .collect()
}

/// Whether an id is one of the [`built_in_objects`].
pub fn is_built_in(id: &str) -> bool {
    id == liaison_stix::label::LIAISON_IDENTITY_ID
        || id == liaison_stix::LABEL_EXTENSION_ID
        || liaison_stix::tlp::ALL.iter().any(|t| t.marking_id() == id)
}

/// How many objects [`built_in_objects`] puts in every store.
pub const BUILT_IN_OBJECTS: u64 = 7;

/// A stored version of an object, with its label and bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// The object, verbatim as imported.
    pub object: StixObject,
    /// Its security label.
    pub label: Label,
    /// When this version entered the store (Unix ms): TAXII's `date_added`.
    pub added_ms: i64,
    /// Whether this is the newest version.
    pub latest: bool,
}

/// An input object that could not be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the object in the input (0-based).
    pub index: u64,
    /// The object's id, when it had one.
    pub id: Option<String>,
    /// JSON path of the fault, relative to the input (`$.objects[12].created`).
    pub path: String,
    /// What was wrong and what was expected.
    pub reason: String,
    /// The input itself is broken (truncated or not JSON): the whole batch is abandoned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
}

/// One item handed to [`Store::import`]: a prepared object, or what the parser said about a bad one.
pub type ImportItem = Result<Prepared, Rejection>;

/// An object made ready for storing: validated (every STIX MUST), its version key,
/// index text and references worked out. Building it is the CPU-heavy part of an
/// import and touches no database, so callers do it on another thread while the
/// store writes. Only [`Prepared::new`] builds one, so nothing reaches the store
/// unvalidated.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(crate) obj: StixObject,
    pub(crate) json: String,
    pub(crate) version: i64,
    pub(crate) fault: Option<(String, String)>,
    pub(crate) text: (String, String, String),
    pub(crate) refs: Vec<liaison_stix::Reference>,
}

impl Prepared {
    /// Validate and prepare an object.
    pub fn new(obj: StixObject) -> Self {
        let mut fault = validate_for_store(&obj).err();
        let version = match sqlite::version_key(&obj) {
            Ok(v) => v,
            Err(e) => {
                fault.get_or_insert(e);
                0
            }
        };
        let (json, text, refs) = if fault.is_none() {
            (obj.to_json(), sqlite::index_text(&obj), obj.references())
        } else {
            (String::new(), Default::default(), Vec::new())
        };
        Prepared {
            obj,
            json,
            version,
            fault,
            text,
            refs,
        }
    }

    /// The object.
    pub fn object(&self) -> &StixObject {
        &self.obj
    }
}

impl From<StixObject> for Prepared {
    fn from(obj: StixObject) -> Self {
        Prepared::new(obj)
    }
}

/// Options of an import batch.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Label for objects that carry none; when `None`, the lowest level, releasable to
    /// all, owned by the importer's organization.
    pub default_label: Option<Label>,
    /// Stop at the first invalid object and store nothing.
    pub strict: bool,
    /// About how many objects the batch holds, when known (from the file size): a
    /// batch large against the store is written in bulk mode.
    pub expected_objects: Option<u64>,
}

/// What one import batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Objects whose id was not in the store.
    pub new: u64,
    /// New versions of objects already stored.
    pub updated: u64,
    /// Versions already stored with the same content.
    pub unchanged: u64,
    /// Objects refused, each with its reason.
    pub invalid: Vec<Rejection>,
}

/// A full-text query.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words or CJK text; every term must match (prefix match for words,
    /// substring match of two characters or more for CJK). Matches in names and
    /// aliases come first, ranked by BM25; other matches follow, newest first.
    pub text: String,
    /// Only these types, when not empty.
    pub types: Vec<String>,
    /// Page size (default 20).
    pub limit: usize,
    /// Results to skip.
    pub offset: usize,
}

impl SearchQuery {
    /// A query for `text` with default paging.
    pub fn text(text: &str) -> Self {
        SearchQuery {
            text: text.to_string(),
            types: vec![],
            limit: 20,
            offset: 0,
        }
    }
}

/// Restrictions of a search to the facet values a user picked, beyond its text and
/// types. Every field narrows; an empty field does not restrict.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Only objects under a label whose banner ([`liaison_policy::Policy::banner`]) is
    /// one of these: the values of [`SearchResults::label_facets`].
    pub labels: Vec<String>,
    /// Only objects created by one of these identities (`created_by_ref`): the values
    /// of [`SearchResults::source_facets`].
    pub sources: Vec<String>,
    /// Only objects modified (created, when they have no `modified`) at or after this
    /// time: RFC 3339, or a prefix of one (`2024`, `2024-05`, `2024-05-17`), compared
    /// as text, as STIX timestamps sort.
    pub modified_from: Option<String>,
    /// Only objects modified strictly before this time (same forms as `modified_from`).
    pub modified_before: Option<String>,
    /// Also count the label, source and month facets. They are columns of the search
    /// row each match already reads, but grouping them still costs time per match (up to
    /// the count cap), so a page that shows them (the web UI's search) asks for them;
    /// plain searches (CLI, REST, TAXII) get the type facets only.
    pub facets: bool,
    /// Leave [`SearchHit::score`] at 0 for the matches outside names and aliases (their
    /// order is newest first either way; name matches are ranked and scored as always).
    /// BM25 of even one row makes SQLite count every match of each term first: for two
    /// common prefixes at 1M objects that is ~40 % of the page. A page that shows no
    /// score (the web UI's search) need not pay it.
    pub unscored: bool,
}

impl SearchFilter {
    /// Whether the filter restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
            && self.sources.is_empty()
            && self.modified_from.is_none()
            && self.modified_before.is_none()
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// Object id.
    pub id: String,
    /// Object type.
    pub r#type: String,
    /// Name, if the type has one.
    pub name: Option<String>,
    /// Rank score (higher is better).
    pub score: f64,
}

/// Search results with the total and per-type facets, all label-filtered.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchResults {
    /// The requested page.
    pub hits: Vec<SearchHit>,
    /// Matches the subject may read, in all.
    pub total: u64,
    /// Matches per type the subject may read (whatever types the query names, so that
    /// a user can switch type).
    pub facets: BTreeMap<String, u64>,
    /// Matches of the query's types per label banner, over the labels the subject may
    /// read only.
    pub label_facets: BTreeMap<String, u64>,
    /// Matches of the query's types per creating identity (`created_by_ref` id), the
    /// [`SOURCE_FACETS`] most frequent.
    pub source_facets: BTreeMap<String, u64>,
    /// Matches of the query's types per month of `modified` (`created` when absent),
    /// as `YYYY-MM`; objects with neither (most cyber observables) are in no bucket.
    pub time_facets: BTreeMap<String, u64>,
    /// The counts stopped at 10,000 readable matches: `total` and every facet are lower
    /// bounds (counted over the newest matches).
    pub capped: bool,
}

/// How many sources [`SearchResults::source_facets`] lists at most.
pub const SOURCE_FACETS: usize = 50;

/// A node of a graph walk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphNode {
    /// Object id.
    pub id: String,
    /// Object type.
    pub r#type: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Hops from the start.
    pub depth: u32,
}

/// An edge of a graph walk: a relationship or an embedded reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphEdge {
    /// Source id.
    pub source: String,
    /// Target id.
    pub target: String,
    /// `relationship_type` for relationships, the property name for references.
    pub kind: String,
    /// The relationship's id, for relationship edges.
    pub via: Option<String>,
}

/// The readable neighbourhood of an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    /// Nodes, the start first.
    pub nodes: Vec<GraphNode>,
    /// Edges between those nodes.
    pub edges: Vec<GraphEdge>,
    /// Whether the walk stopped at the node limit.
    pub truncated: bool,
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only these types, when not empty.
    pub types: Vec<String>,
    /// Only versions modified at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Every version, not only the latest.
    pub all_versions: bool,
}

/// Counts the subject may see.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Objects (latest versions).
    pub objects: u64,
    /// Versions in all.
    pub versions: u64,
    /// Objects per type.
    pub by_type: BTreeMap<String, u64>,
    /// Objects per classification level name.
    pub by_level: BTreeMap<String, u64>,
    /// Graph edges.
    pub edges: u64,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A label names something the deployment does not define.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The import stopped (strict mode, or broken input); nothing of the batch was stored.
    #[error("import stopped at object {} ({}): {}: {}; nothing of this batch was stored", .0.index, .0.id.as_deref().unwrap_or("no id"), .0.path, .0.reason)]
    Aborted(Rejection),
    /// The subject may not do this.
    #[error("not permitted: {0}")]
    Denied(String),
    /// No such object (or none the subject may see).
    #[error("no object with id {0}")]
    NotFound(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The caller's sink failed during export.
    #[error("export aborted: {0}")]
    Sink(String),
}

/// The knowledge store. Every read takes the reading [`Subject`] and returns only
/// what the label rules let it read; every write checks the write rule.
pub trait Store: Send + Sync {
    /// Import a batch in one transaction. Invalid objects are reported and skipped
    /// (or, with `strict`, abort the batch with nothing stored). `progress` is called
    /// with the number of objects handled so far.
    fn import(
        &self,
        subject: &Subject,
        items: &mut dyn Iterator<Item = ImportItem>,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, StoreError>;

    /// The latest version of an object, if the subject may read it.
    fn get(&self, subject: &Subject, id: &str) -> Result<Option<StoredObject>, StoreError>;

    /// Every version the subject may read, oldest first.
    fn versions(&self, subject: &Subject, id: &str) -> Result<Vec<StoredObject>, StoreError>;

    /// Revoke an object: a new version with `revoked: true`.
    fn revoke(&self, subject: &Subject, id: &str) -> Result<StoredObject, StoreError>;

    /// Ranked full-text search over the latest, unrevoked versions.
    fn search(&self, subject: &Subject, query: &SearchQuery) -> Result<SearchResults, StoreError> {
        self.search_filtered(subject, query, &SearchFilter::default())
    }

    /// [`Store::search`] restricted to labels, sources and a time range (the facets a
    /// user clicked). Totals and facets count the restricted matches.
    fn search_filtered(
        &self,
        subject: &Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
    ) -> Result<SearchResults, StoreError>;

    /// The label of each of `ids` as [`Store::get`] would return it (its latest version
    /// the subject may read), for pages that mark many objects without reading their
    /// bodies. Ids absent or unreadable are left out, alike.
    fn labels_of(
        &self,
        subject: &Subject,
        ids: &[String],
    ) -> Result<HashMap<String, Label>, StoreError> {
        let mut out = HashMap::new();
        for id in ids {
            if let Some(o) = self.get(subject, id)? {
                out.insert(id.clone(), o.label);
            }
        }
        Ok(out)
    }

    /// Walk relationships and references from `id` up to `depth` hops, at most `max_nodes` nodes.
    /// `None` when the start is absent or unreadable (the two are indistinguishable).
    fn graph(
        &self,
        subject: &Subject,
        id: &str,
        depth: u32,
        max_nodes: usize,
    ) -> Result<Option<Graph>, StoreError>;

    /// Stream what the subject may read to `sink`, returning the count.
    fn export(
        &self,
        subject: &Subject,
        filter: &ExportFilter,
        sink: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    /// Counts the subject may see.
    fn stats(&self, subject: &Subject) -> Result<Stats, StoreError>;
}

/// The checks every object passes before it is stored: the STIX 2.1 MUSTs.
/// Returns the JSON path and reason of the first violation (warnings pass).
pub(crate) fn validate_for_store(obj: &StixObject) -> Result<(), (String, String)> {
    use liaison_stix::validate::{validate, Severity};
    check_known_type(obj)?;
    let errors: Vec<_> = validate(obj)
        .into_iter()
        .filter(|e| e.severity == Severity::Error)
        .collect();
    match errors.first() {
        None => Ok(()),
        Some(first) => {
            let more = if errors.len() > 1 {
                format!(" (and {} more)", errors.len() - 1)
            } else {
                String::new()
            };
            Err((first.path.clone(), format!("{}{more}", first.message)))
        }
    }
}

/// STIX 2.1 lets tools define object types, but a type that is neither a STIX type, nor
/// `x-` prefixed (the 2.0-era custom objects), nor declared by an extension definition
/// of type `new-sdo` / `new-sco` / `new-sro` is most likely a typo (`threat_actor`,
/// `ipv4`), and a knowledge base that took it would hold objects no tool can read.
fn check_known_type(obj: &StixObject) -> Result<(), (String, String)> {
    let t = obj.type_name();
    if obj.category() != liaison_stix::Category::Custom || t.starts_with("x-") {
        return Ok(());
    }
    let declared = obj.extensions().is_some_and(|exts| {
        exts.iter().any(|(k, v)| {
            k.starts_with("extension-definition--")
                && matches!(
                    v.get("extension_type").and_then(|e| e.as_str()),
                    Some("new-sdo" | "new-sco" | "new-sro")
                )
        })
    });
    if declared {
        return Ok(());
    }
    Err((
        "$.type".into(),
        format!("unknown object type '{t}': not a STIX 2.1 type; a custom type must start with 'x-' or declare an extension-definition of extension_type new-sdo, new-sco or new-sro"),
    ))
}
