//! HTML building: escaping, the page shell, label banners.

use super::i18n::{t, Lang, M};
use liaison_policy::{Label, Policy};
use std::fmt::Write;

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Percent-encode a query or path component.
pub fn url(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// The colour class of a level: by the usual names where the deployment uses them
/// (green unclassified, blue confidential, red secret, orange top secret), otherwise by
/// rank among the deployment's levels.
pub fn level_class(policy: &Policy, label: &Label) -> &'static str {
    let name = policy.level_name(label.level).to_ascii_uppercase();
    match name.as_str() {
        "UNCLASSIFIED" | "PUBLIC" | "OFFICIAL" => "lvl-u",
        "RESTRICTED" => "lvl-r",
        "CONFIDENTIAL" => "lvl-c",
        "SECRET" => "lvl-s",
        "TOP SECRET" => "lvl-ts",
        _ => {
            let n = policy.levels().len().max(1);
            match label.level.0 as usize * 4 / n {
                0 => "lvl-u",
                1 => "lvl-c",
                2 => "lvl-s",
                _ => "lvl-ts",
            }
        }
    }
}

/// A classification banner (classification//compartments//releasability//TLP).
pub fn banner(policy: &Policy, label: &Label) -> String {
    format!(
        "<div class=\"banner {}\" role=\"note\">{}</div>",
        level_class(policy, label),
        esc(&policy.banner(label))
    )
}

/// The page banner: the join of every label whose content the page shows (the
/// highest level, every compartment, only the organizations all may go to), as
/// classified systems mark a page by its most restrictive part. `None` when the page
/// shows no labelled content.
pub fn high_water<'a>(
    policy: &Policy,
    labels: impl IntoIterator<Item = &'a Label>,
) -> Option<String> {
    liaison_policy::join_all(labels).map(|l| banner(policy, &l))
}

/// A portion mark: one item's own label, small, beside it.
pub fn portion(policy: &Policy, label: &Label) -> String {
    format!(
        "<span class=\"mini {}\" title=\"{}\">{}</span>",
        level_class(policy, label),
        esc(&policy.banner(label)),
        esc(&policy.banner(label))
    )
}

/// What the page shell needs to know about the viewer.
pub struct Shell<'a> {
    /// Language.
    pub lang: Lang,
    /// Signed-in user, if any.
    pub user: Option<&'a str>,
    /// Whether to show the admin link.
    pub admin: bool,
    /// CSRF token for the sign-out form.
    pub csrf: &'a str,
    /// Which nav entry is current.
    pub nav: &'a str,
    /// The page's own address (path and query, without `lang`), which the language
    /// switcher links to; `None` for an answer to a form post.
    pub here: Option<&'a str>,
}

/// The language switcher: the same page in each language, each language named in
/// itself. Plain links, so the keyboard reaches them with Tab.
fn lang_switch(o: &mut String, shell: &Shell<'_>) {
    let here = shell.here.unwrap_or("/ui/");
    let sep = if here.contains('?') { "&amp;" } else { "?" };
    let _ = write!(
        o,
        "<nav class=\"langs\" aria-label=\"{}\">",
        t(shell.lang, M::Language)
    );
    for (l, name) in [(Lang::En, "English"), (Lang::Zh, "中文")] {
        let _ = write!(
            o,
            "<a href=\"{}{sep}lang={}\" lang=\"{}\" hreflang=\"{}\" id=\"lang-{}\"{}>{name}</a>",
            esc(here),
            l.code(),
            l.code(),
            l.code(),
            l.code(),
            if l == shell.lang {
                " aria-current=\"true\""
            } else {
                ""
            }
        );
    }
    o.push_str("</nav>");
}

/// A page address without its `lang` parameter (the switcher adds its own).
pub fn without_lang(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        None => path_and_query.to_string(),
        Some((path, q)) => {
            let rest: Vec<&str> = q
                .split('&')
                .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
                .collect();
            if rest.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", rest.join("&"))
            }
        }
    }
}

/// A whole page: head, navigation, `banner` (top and bottom, when given) around `body`.
pub fn page(shell: &Shell<'_>, title: &str, banner_html: Option<&str>, body: &str) -> String {
    let l = shell.lang;
    let mut o = String::with_capacity(body.len() + 2048);
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {}</title><link rel=\"stylesheet\" href=\"/ui/assets/ui.css\">\
         <script src=\"/ui/assets/ui.js\" defer></script></head><body>",
        l.code(),
        esc(title),
        t(l, M::AppName)
    );
    if let Some(b) = banner_html {
        o.push_str(b);
    }
    if let Some(user) = shell.user {
        let nav = |o: &mut String, key: &str, href: &str, m: M, hot: &str| {
            let cur = if shell.nav == key {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(
                o,
                "<a href=\"{href}\"{cur} data-key=\"{hot}\">{}</a>",
                t(l, m)
            );
        };
        o.push_str("<header class=\"top\"><a class=\"brand\" href=\"/ui/\">");
        o.push_str(t(l, M::AppName));
        o.push_str("</a><nav>");
        nav(&mut o, "dash", "/ui/", M::Dashboard, "d");
        nav(&mut o, "search", "/ui/search", M::Search, "s");
        nav(&mut o, "tasks", "/ui/tasks", M::Tasks, "t");
        nav(&mut o, "alerts", "/ui/alerts", M::Alerts, "a");
        nav(&mut o, "feeds", "/ui/feeds", M::Feeds, "f");
        nav(&mut o, "upload", "/ui/upload", M::Upload, "u");
        nav(&mut o, "export", "/ui/export", M::Export, "x");
        if shell.admin {
            nav(&mut o, "admin", "/ui/admin", M::Admin, "m");
        }
        let _ = write!(
            o,
            "</nav><form class=\"qs\" action=\"/ui/search\" method=\"get\" role=\"search\">\
             <input id=\"q\" name=\"q\" type=\"search\" placeholder=\"{}\" autocomplete=\"off\"></form>\
             <form class=\"out\" action=\"/ui/logout\" method=\"post\"><span class=\"who\">{} <b id=\"whoami\">{}</b></span>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>{}</button></form>",
            esc(t(l, M::SearchPlaceholder)),
            t(l, M::Signed),
            esc(user),
            esc(shell.csrf),
            t(l, M::SignOut)
        );
        lang_switch(&mut o, shell);
        o.push_str("</header>");
    } else {
        o.push_str("<header class=\"top bare\">");
        lang_switch(&mut o, shell);
        o.push_str("</header>");
    }
    o.push_str("<main>");
    o.push_str(body);
    o.push_str("</main>");
    if shell.user.is_some() {
        let _ = write!(o, "<footer class=\"keys\">{}</footer>", t(l, M::KeyHelp));
    }
    if let Some(b) = banner_html {
        o.push_str(b);
    }
    o.push_str("</body></html>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switcher_keeps_the_page_and_drops_an_old_language() {
        assert_eq!(
            without_lang("/ui/search?q=x&lang=zh&type=y"),
            "/ui/search?q=x&type=y"
        );
        assert_eq!(without_lang("/ui/?lang=en"), "/ui/");
        assert_eq!(without_lang("/ui/tasks"), "/ui/tasks");
        let shell = Shell {
            lang: Lang::Zh,
            user: None,
            admin: false,
            csrf: "",
            nav: "",
            here: Some("/ui/search?q=a&b"),
        };
        let html = page(&shell, "t", None, "");
        assert!(
            html.contains("href=\"/ui/search?q=a&amp;b&amp;lang=en\""),
            "{html}"
        );
        assert!(
            html.contains("id=\"lang-zh\" aria-current=\"true\""),
            "{html}"
        );
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url("a b/c--d"), "a%20b%2Fc--d");
    }

    #[test]
    fn banner_names_every_part_and_colours_by_level() {
        let p = Policy::new(
            ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET"],
            ["GRID"],
        )
        .unwrap();
        let l = p
            .label(
                "SECRET",
                ["GRID"],
                liaison_policy::Tlp::Amber,
                "cert",
                liaison_policy::Releasability::to(["ministry"]),
            )
            .unwrap();
        let b = banner(&p, &l);
        assert!(b.contains("lvl-s"), "{b}");
        assert!(
            b.contains("SECRET//GRID//REL TO cert, ministry//TLP:AMBER"),
            "{b}"
        );
    }
}
