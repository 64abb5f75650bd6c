//! Every string the web UI shows, by key, in English and Chinese: pages never hold
//! literal text, they ask [`t`] for an [`M`] key. The page language comes from
//! `?lang=`, then the `liaison_lang` cookie (which `?lang=` sets), then Accept-Language.

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

/// The cookie that keeps a language chosen with `?lang=`.
pub const LANG_COOKIE: &str = "liaison_lang";

impl Lang {
    /// The language of a code (`en`, `zh`, `zh-CN`, `en-GB` …), if the UI has it.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The language an Accept-Language header prefers among the UI's (highest
    /// q-value; the first listed among equals), if any.
    pub fn from_accept(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let Some(lang) = it.next().and_then(Lang::from_code) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            let Some(q) = q.filter(|q| *q > 0.0) else {
                continue;
            };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The page language: `?lang=` in the query, else the cookie, else Accept-Language,
    /// else English.
    pub fn choose(query: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Lang {
        query
            .and_then(Lang::from_code)
            .or_else(|| cookie.and_then(Lang::from_code))
            .or_else(|| accept.and_then(Lang::from_accept))
            .unwrap_or_default()
    }
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
    UploadHelp => "A STIX 2.1 (or 2.0) bundle, or a MISP event as MISP exports it (JSON). It is imported in one transaction: an invalid object is reported with its JSON path and skipped.",
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
    ImportNew => "New",
    ImportUpdated => "Updated",
    ImportUnchanged => "Unchanged",
    ImportRefused => "Refused",
    ImportWarnings => "Conversion warnings",
    ImportFormat => "Format",
    JsonPath => "JSON path",
    UploadFailed => "Upload refused",
    Importing => "Uploaded; importing…",
    OpenImported => "Open the imported event",
    File => "File",
    UploadLabel => "Label of objects that carry none",
    UploadLabelHelp => "A banner, as pages show them: LEVEL//COMPARTMENTS//REL TO …//TLP:…; empty: the lowest level, your organization, releasable to all. Never above your clearance.",
    Format => "Format",
    FormatAuto => "detect (STIX bundle or MISP event)",
    Language => "Language",
    Paused => "paused",
    RevokedMark => "revoked",
    Select => "select",
    AlertTitle => "Alert",
    Members => "Members",
    Holders => "Read in",
    Nobody => "nobody",
    SetPassword => "Set password",
    NewPassword => "New password (at least 8 characters)",
    PasswordSet => "Password set; the user's sessions stay valid until they sign out.",
    AdminDirHelp => "Organizations, units, users, their clearances and compartments come from the deployment configuration (config.toml), which the security officer keeps under change control; the server reads it at start. Passwords and API tokens are managed here.",
    Overview => "Overview",
}

/// The text of `key` in `lang`. A key missing from a translation (the test below
/// fails on that) falls back to English rather than show nothing.
pub fn t(lang: Lang, key: M) -> &'static str {
    match lang {
        Lang::En => key.en(),
        Lang::Zh => zh(key).unwrap_or_else(|| key.en()),
    }
}

fn zh(key: M) -> Option<&'static str> {
    ZH.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The Chinese table, apart from the English one so that a missing key is found by the
/// test rather than hidden by the compiler's exhaustiveness demand being met with English.
const ZH: &[(M, &str)] = &[
    (M::AppName, "Liaison"),
    (M::SignIn, "登录"),
    (M::SignOut, "退出"),
    (M::User, "用户名"),
    (M::Password, "密码"),
    (M::BadLogin, "用户名或密码错误。"),
    (M::TooManyAttempts, "失败次数过多，请稍候一分钟。"),
    (M::SessionExpired, "表单已过期，请重试。"),
    (M::Dashboard, "仪表板"),
    (M::Search, "搜索"),
    (M::SearchPlaceholder, "搜索情报（按 / 聚焦）"),
    (M::Tasks, "任务"),
    (M::Alerts, "告警"),
    (M::Feeds, "情报源"),
    (M::Upload, "上传"),
    (M::Export, "导出"),
    (M::Admin, "管理"),
    (M::NotFound, "未找到"),
    (M::NotFoundText, "没有这个页面或对象。"),
    (M::Forbidden, "不允许"),
    (M::Error, "出错了"),
    (M::Results, "条结果"),
    (M::AtLeast, "至少"),
    (M::NoResults, "没有结果。"),
    (M::Type, "类型"),
    (M::Types, "类型"),
    (M::AllTypes, "所有类型"),
    (M::LabelFacet, "标签"),
    (M::SourceFacet, "来源"),
    (M::TimeFacet, "修改时间（月）"),
    (M::Name, "名称"),
    (M::Id, "标识"),
    (M::Score, "得分"),
    (M::Previous, "上一页"),
    (M::Next, "下一页"),
    (M::Properties, "属性"),
    (M::Property, "属性"),
    (M::Value, "值"),
    (M::Relationships, "关系"),
    (M::NoRelationships, "没有您可查看的关系。"),
    (M::Direction, "方向"),
    (M::Kind, "种类"),
    (M::Object, "对象"),
    (M::Outgoing, "→"),
    (M::Incoming, "←"),
    (M::Versions, "版本"),
    (M::Version, "版本"),
    (M::Added, "入库时间"),
    (M::Changes, "变更"),
    (M::FirstVersion, "首个版本"),
    (M::NoChange, "没有属性变更"),
    (M::Graph, "关系图"),
    (M::GraphHelp, "单击节点展开其邻域；双击打开；拖动移动；滚轮缩放。"),
    (M::Depth, "深度"),
    (M::MaxNodes, "最多节点"),
    (M::OpenAlerts, "按严重程度的未处理告警"),
    (M::TasksDue, "即将到期和逾期的任务"),
    (M::Mine, "我的"),
    (M::MyUnit, "我的单位"),
    (M::Overdue, "已逾期"),
    (M::DueIn24h, "24 小时内到期"),
    (M::Open, "未处理"),
    (M::FeedHealth, "情报源状态"),
    (M::NoFeeds, "没有您可查看的情报源。"),
    (M::Health, "状态"),
    (M::LastRun, "上次运行"),
    (M::LastSuccess, "上次成功"),
    (M::NextRun, "下次运行"),
    (M::Failures, "失败次数"),
    (M::LastError, "最近错误"),
    (M::Counts, "运行 · 条目 · 入库 · 拒收"),
    (M::RecentIntel, "最新情报"),
    (M::Nothing, "暂无内容。"),
    (M::Severity, "严重程度"),
    (M::State, "状态"),
    (M::Hits, "命中"),
    (M::LastSeen, "最近出现"),
    (M::Status, "状态"),
    (M::Priority, "优先级"),
    (M::Deadline, "截止时间"),
    (M::DueInCol, "剩余时间"),
    (M::Title, "标题"),
    (M::Description, "描述"),
    (M::Requester, "发起人"),
    (M::Assignees, "承办人"),
    (M::About, "相关对象"),
    (M::Answer, "答复"),
    (M::Reason, "原因"),
    (M::History, "历史"),
    (M::List, "列表"),
    (M::Board, "看板"),
    (M::All, "全部"),
    (M::NewTask, "新建任务"),
    (M::Create, "创建"),
    (M::Assign, "指派"),
    (M::AssignHelp, "组织、组织/单位或组织/单位:用户；多个用逗号分隔"),
    (M::RefsHelp, "对象标识，用逗号分隔"),
    (M::DeadlineHelp, "RFC 3339 时间或从现在起的时长（24h、3d）；留空：使用模板"),
    (M::Accept, "接受"),
    (M::Reject, "拒绝"),
    (M::Start, "开始"),
    (M::Pause, "暂停"),
    (M::Resume, "继续"),
    (M::Close, "关闭"),
    (M::Reopen, "重新打开"),
    (M::Cancel, "取消"),
    (M::AnswerRef, "答复：报告或备注的标识（可选）"),
    (M::NoTasks, "没有任务。"),
    (M::TriageQueue, "研判队列"),
    (M::TriageHelp, "j/k 移动 · a 确认 · d 驳回 · e 升级 · p 转为情报 · Enter 打开"),
    (M::Acknowledge, "确认"),
    (M::Dismiss, "驳回"),
    (M::Escalate, "升级"),
    (M::Promote, "转为情报"),
    (M::DismissReason, "为什么是误报？"),
    (M::NoAlerts, "没有待研判的告警。"),
    (M::UploadHelp, "STIX 2.1（或 2.0）数据包，或 MISP 导出的 MISP 事件（JSON）。在一个事务中导入：无效对象会连同其 JSON 路径被报告并跳过。"),
    (M::UploadStart, "上传"),
    (M::ExportHelp, "您可读取内容的 STIX 2.1 数据包，附带标签。"),
    (M::ExportTypes, "类型（逗号分隔，留空：全部）"),
    (M::ExportSince, "修改时间起（RFC 3339，可选）"),
    (M::AllVersions, "所有版本"),
    (M::Download, "下载"),
    (M::ExportSelected, "导出所选"),
    (M::Orgs, "组织"),
    (M::Units, "单位"),
    (M::Users, "用户"),
    (M::Tokens, "API 令牌"),
    (M::Compartments, "隔离分区"),
    (M::Levels, "密级"),
    (M::Clearance, "许可级别"),
    (M::Roles, "角色"),
    (M::Org, "组织"),
    (M::Unit, "单位"),
    (M::Scope, "权限范围"),
    (M::Created, "创建时间"),
    (M::Revoked, "已撤销"),
    (M::Revoke, "撤销"),
    (M::TokenOnce, "请立即复制密钥：之后不再显示。令牌"),
    (M::KeyHelp, "快捷键：/ 搜索 · g d 仪表板 · g s 搜索 · g t 任务 · g a 告警 · j/k 移动 · Enter 打开 · ? 帮助"),
    (M::Done, "完成"),
    (M::ExpandAll, "展开"),
    (M::Nodes, "个节点"),
    (M::Edges, "条边"),
    (M::Truncated, "已在节点上限处截断"),
    (M::TaskCreated, "任务已创建。"),
    (M::Signed, "当前用户"),
    (M::ImportNew, "新增"),
    (M::ImportUpdated, "更新"),
    (M::ImportUnchanged, "未变"),
    (M::ImportRefused, "拒收"),
    (M::ImportWarnings, "转换警告"),
    (M::ImportFormat, "格式"),
    (M::JsonPath, "JSON 路径"),
    (M::UploadFailed, "上传被拒绝"),
    (M::Importing, "已上传，正在导入…"),
    (M::OpenImported, "打开导入的事件"),
    (M::File, "文件"),
    (M::UploadLabel, "未带标签对象的标签"),
    (M::UploadLabelHelp, "标识格式与页面横幅相同：密级//隔离分区//REL TO …//TLP:…；留空：最低密级、您的组织、向所有人发布。不得高于您的许可级别。"),
    (M::Format, "格式"),
    (M::FormatAuto, "自动识别（STIX 数据包或 MISP 事件）"),
    (M::Language, "语言"),
    (M::Paused, "已暂停"),
    (M::RevokedMark, "已撤销"),
    (M::Select, "选择"),
    (M::AlertTitle, "告警"),
    (M::Members, "成员"),
    (M::Holders, "已授权人员"),
    (M::Nobody, "无"),
    (M::SetPassword, "设置密码"),
    (M::NewPassword, "新密码（至少 8 个字符）"),
    (M::PasswordSet, "密码已设置；该用户现有会话在退出前仍然有效。"),
    (M::AdminDirHelp, "组织、单位、用户及其许可级别和隔离分区来自部署配置（config.toml），由安全官按变更管理维护；服务器启动时读取。密码和 API 令牌在此管理。"),
    (M::Overview, "概览"),
];

/// Words of the data vocabularies the pages show (task status, type and priority,
/// alert severity and triage state, feed health): English shows the word as stored,
/// other languages a translation.
const TERMS_ZH: &[(&str, &str)] = &[
    ("draft", "草稿"),
    ("assigned", "已指派"),
    ("accepted", "已接受"),
    ("in_progress", "进行中"),
    ("answered", "已答复"),
    ("closed", "已关闭"),
    ("rejected", "已拒绝"),
    ("cancelled", "已取消"),
    ("rfi", "情报需求"),
    ("collection", "搜集"),
    ("analysis", "分析"),
    ("joint_response", "联合处置"),
    ("urgent", "紧急"),
    ("high", "高"),
    ("normal", "一般"),
    ("low", "低"),
    ("info", "信息"),
    ("medium", "中"),
    ("critical", "严重"),
    ("new", "新"),
    ("acknowledged", "已确认"),
    ("dismissed", "已驳回"),
    ("escalated", "已升级"),
    ("promoted", "已转为情报"),
    ("ok", "正常"),
    ("failing", "失败"),
    ("paused", "已暂停"),
    ("never run", "从未运行"),
    ("read", "只读"),
    ("write", "读写"),
    ("admin", "管理员"),
    ("analyst", "分析员"),
    ("reader", "读者"),
];

/// A vocabulary word (`in_progress`, `high`, `failing` …) in `lang`; an unknown word
/// is shown as it is.
pub fn term(lang: Lang, word: &str) -> &str {
    match lang {
        Lang::En => word,
        Lang::Zh => TERMS_ZH
            .iter()
            .find(|(w, _)| *w == word)
            .map_or(word, |(_, z)| *z),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_english_and_chinese_text() {
        for k in M::ALL {
            assert!(
                !t(Lang::En, *k).trim().is_empty(),
                "{k:?} has no English text"
            );
            let n = ZH.iter().filter(|(z, _)| z == k).count();
            assert_eq!(n, 1, "{k:?} is in the Chinese table {n} times");
            assert!(
                !zh(*k).unwrap_or("").trim().is_empty(),
                "{k:?} has no Chinese text"
            );
        }
        assert_eq!(
            ZH.len(),
            M::ALL.len(),
            "the Chinese table has keys English lacks"
        );
        // Symbols and the product name aside, a translated text is not the English one.
        let same: Vec<_> = M::ALL
            .iter()
            .filter(|k| t(Lang::Zh, **k) == t(Lang::En, **k))
            .collect();
        assert_eq!(same, [&M::AppName, &M::Outgoing, &M::Incoming]);
    }

    #[test]
    fn every_word_of_the_shown_vocabularies_has_chinese_text() {
        use liaison_tasks::alert::Severity;
        use liaison_tasks::{Priority, Status, TaskType};
        let mut words: Vec<&str> = Vec::new();
        words.extend(Status::ALL.iter().map(|s| s.as_str()));
        words.extend(Priority::ALL.iter().map(|s| s.as_str()));
        words.extend(TaskType::ALL.iter().map(|s| s.as_str()));
        words.extend(
            [
                Severity::Info,
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ]
            .map(Severity::as_str),
        );
        words.extend(["new", "acknowledged", "dismissed", "escalated", "promoted"]);
        words.extend(["ok", "failing", "paused", "never run"]);
        words.extend(["read", "write", "admin", "reader", "analyst"]);
        for w in words {
            assert_eq!(term(Lang::En, w), w, "English shows the stored word");
            let z = term(Lang::Zh, w);
            assert!(
                z != w && !z.is_ascii(),
                "'{w}' has no Chinese text in TERMS_ZH"
            );
        }
    }

    #[test]
    fn language_is_chosen_by_query_then_cookie_then_accept_language() {
        assert_eq!(Lang::choose(None, None, None), Lang::En);
        assert_eq!(
            Lang::choose(None, None, Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::choose(None, None, Some("fr-FR, en;q=0.5, zh;q=0.7")),
            Lang::Zh
        );
        assert_eq!(Lang::choose(None, None, Some("zh;q=0, en-GB")), Lang::En);
        assert_eq!(Lang::choose(None, None, Some("de, fr")), Lang::En);
        assert_eq!(Lang::choose(None, Some("zh"), Some("en")), Lang::Zh);
        assert_eq!(Lang::choose(Some("en"), Some("zh"), Some("zh")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), Some("zh"), None), Lang::Zh);
        assert_eq!(t(Lang::Zh, M::Search), "搜索");
    }
}
