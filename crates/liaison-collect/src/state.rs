//! What a feed remembers between runs (persisted by the store, so it survives restarts).

use serde::{Deserialize, Serialize};

/// A feed's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    /// `ETag` of the last successful fetch of the main document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `Last-Modified` of the last successful fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The connector's cursor (TAXII `added_after`, MISP event timestamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
    /// Log tailing: where reading stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<crate::tail::TailState>,
    /// Tailing a directory: where reading stopped in each file, by inode, so a file
    /// renamed by rotation keeps its place and the new file is read from its start.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tails: std::collections::BTreeMap<String, crate::tail::TailState>,
    /// Last run start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// Last successful run (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// The last error, when the last run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Consecutive failures (0 after a success).
    #[serde(default)]
    pub failures: u32,
    /// Next scheduled run (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
    /// Runs in all.
    #[serde(default)]
    pub runs: u64,
    /// Items read in all.
    #[serde(default)]
    pub items: u64,
    /// Objects stored new or as new versions, in all.
    #[serde(default)]
    pub stored: u64,
    /// Items refused (invalid), in all.
    #[serde(default)]
    pub rejected: u64,
    /// Items of the last successful run.
    #[serde(default)]
    pub last_items: u64,
    /// The first items the last run skipped or the store refused, with where and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Items the connector produced.
    pub items: u64,
    /// Objects new to the store.
    pub new: u64,
    /// New versions (provenance added, counts updated).
    pub updated: u64,
    /// Already stored unchanged.
    pub unchanged: u64,
    /// Refused, with reasons in the log.
    pub rejected: u64,
    /// The source said nothing changed (HTTP 304).
    pub not_modified: bool,
}

impl FeedState {
    /// Record a successful run.
    pub fn succeeded(&mut self, now: &str, out: &RunOutcome) {
        self.last_success = Some(now.to_string());
        self.last_error = None;
        self.failures = 0;
        self.runs += 1;
        self.items += out.items;
        self.stored += out.new + out.updated;
        self.rejected += out.rejected;
        self.last_items = out.items;
    }

    /// Record a failed run.
    pub fn failed(&mut self, error: &str) {
        self.last_error = Some(error.to_string());
        self.failures = self.failures.saturating_add(1);
        self.runs += 1;
    }
}
