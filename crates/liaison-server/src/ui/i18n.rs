//! Every string the web UI shows, by key. English now; a Chinese column is the next
//! step, so pages never hold literal text: they ask [`t`] for a [`M`] key.

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
}

macro_rules! messages {
    ($($key:ident => $en:expr,)*) => {
        /// A message key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        // Some keys wait for pages being built; a translation covers them all.
        #[allow(missing_docs, dead_code)]
        pub enum M { $($key),* }

        #[allow(dead_code)]
        impl M {
            /// Every key, for completeness checks of a translation.
            pub const ALL: &'static [M] = &[$(M::$key),*];

            fn en(self) -> &'static str {
                match self { $(M::$key => $en),* }
            }
        }
    };
}

messages! {
    AppName => "Liaison",
    SignIn => "Sign in",
    SignOut => "Sign out",
    User => "User name",
    Password => "Password",
    BadLogin => "Wrong user name or password.",
    TooManyAttempts => "Too many failed attempts; wait a minute.",
    SessionExpired => "Your form expired; please try again.",
    Dashboard => "Dashboard",
    Search => "Search",
    SearchPlaceholder => "Search intelligence (press / to focus)",
    Tasks => "Tasks",
    Alerts => "Alerts",
    Feeds => "Feeds",
    Upload => "Upload",
    Export => "Export",
    Admin => "Admin",
    NotFound => "Not found",
    NotFoundText => "There is no such page or object.",
    Forbidden => "Not allowed",
    Error => "Something went wrong",
    Results => "results",
    AtLeast => "at least",
    NoResults => "No results.",
    Type => "Type",
    Types => "Types",
    AllTypes => "all types",
    LabelFacet => "Labels",
    SourceFacet => "Sources",
    TimeFacet => "Modified (month)",
    Name => "Name",
    Id => "Id",
    Score => "Score",
    Previous => "Previous",
    Next => "Next",
    Properties => "Properties",
    Property => "Property",
    Value => "Value",
    Relationships => "Relationships",
    NoRelationships => "No relationships you may see.",
    Direction => "Direction",
    Kind => "Kind",
    Object => "Object",
    Outgoing => "→",
    Incoming => "←",
    Versions => "Versions",
    Version => "Version",
    Added => "Added",
    Changes => "Changes",
    FirstVersion => "first version",
    NoChange => "no property changed",
    Graph => "Graph",
    GraphHelp => "Click a node to expand its neighbourhood; double-click to open it; drag to move; wheel to zoom.",
    Depth => "Depth",
    MaxNodes => "Max nodes",
    OpenAlerts => "Open alerts by severity",
    TasksDue => "Tasks due and overdue",
    Mine => "Mine",
    MyUnit => "My unit",
    Overdue => "Overdue",
    DueIn24h => "Due within 24 h",
    Open => "Open",
    FeedHealth => "Feed health",
    NoFeeds => "No feeds you may see.",
    Health => "Health",
    LastRun => "Last run",
    LastSuccess => "Last success",
    NextRun => "Next run",
    Failures => "Failures",
    LastError => "Last error",
    Counts => "Runs · items · stored · rejected",
    RecentIntel => "Recent intelligence",
    Nothing => "Nothing yet.",
    Severity => "Severity",
    State => "State",
    Hits => "Hits",
    LastSeen => "Last seen",
    Status => "Status",
    Priority => "Priority",
    Deadline => "Deadline",
    DueInCol => "Due in",
    Title => "Title",
    Description => "Description",
    Requester => "Requester",
    Assignees => "Assignees",
    About => "About",
    Answer => "Answer",
    Reason => "Reason",
    History => "History",
    List => "List",
    Board => "Board",
    All => "All",
    NewTask => "New task",
    Create => "Create",
    Assign => "Assign",
    AssignHelp => "org, org/unit or org/unit:user; several separated by commas",
    RefsHelp => "object ids, separated by commas",
    DeadlineHelp => "RFC 3339 time or a duration from now (24h, 3d); empty: the template",
    Accept => "Accept",
    Reject => "Reject",
    Start => "Start",
    Pause => "Pause",
    Resume => "Resume",
    Close => "Close",
    Reopen => "Reopen",
    Cancel => "Cancel",
    AnswerRef => "Answer: id of a report or note (optional)",
    NoTasks => "No tasks.",
    TriageQueue => "Triage queue",
    TriageHelp => "j/k move · a acknowledge · d dismiss · e escalate · p promote · Enter open",
    Acknowledge => "Acknowledge",
    Dismiss => "Dismiss",
    Escalate => "Escalate",
    Promote => "Promote",
    DismissReason => "Why is it a false positive?",
    NoAlerts => "No alerts to triage.",
    UploadHelp => "A STIX 2.1 bundle (JSON). It is imported in one transaction: an invalid object is reported and skipped.",
    UploadStart => "Upload",
    ExportHelp => "A STIX 2.1 bundle of what you may read, labels written in.",
    ExportTypes => "Types (comma separated, empty: all)",
    ExportSince => "Modified since (RFC 3339, optional)",
    AllVersions => "Every version",
    Download => "Download",
    ExportSelected => "Export selected",
    Orgs => "Organizations",
    Units => "Units",
    Users => "Users",
    Tokens => "API tokens",
    Compartments => "Compartments",
    Levels => "Classification levels",
    Clearance => "Clearance",
    Roles => "Roles",
    Org => "Organization",
    Unit => "Unit",
    Scope => "Scope",
    Created => "Created",
    Revoked => "Revoked",
    Revoke => "Revoke",
    TokenOnce => "Copy the secret now: it is not shown again. Token",
    KeyHelp => "Keys: / search · g d dashboard · g s search · g t tasks · g a alerts · j/k move · Enter open · ? help",
    Done => "Done",
    ExpandAll => "Expand",
    Nodes => "nodes",
    Edges => "edges",
    Truncated => "truncated at the node limit",
    TaskCreated => "Task created.",
    Signed => "Signed in as",
}

/// The text of `key` in `lang`.
pub fn t(lang: Lang, key: M) -> &'static str {
    match lang {
        Lang::En => key.en(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_english_text() {
        for k in M::ALL {
            assert!(!t(Lang::En, *k).trim().is_empty(), "{k:?} has no text");
        }
    }
}
