//! RSS 2.0 and Atom news feeds into [`Article`]s.
//!
//! The root element tells the two apart (`<rss>` or `<feed>`). The encoding comes
//! from a BOM or the XML declaration. Markup in summaries is stripped to text; an
//! item larger than [`crate::csvfeed::MAX_ITEM_BYTES`] is skipped and counted, and
//! broken XML fails the run with its line.

use crate::csvfeed::{parse_time, skipped, MAX_ITEM_BYTES};
use crate::decode::decode;
use crate::{Article, Error, Item};
use quick_xml::events::Event;
use quick_xml::Reader;

fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(200)];
    let head = std::str::from_utf8(head).ok().or_else(|| {
        // A cut inside a multi-byte character: the declaration is ASCII anyway.
        let end = head.iter().position(|b| *b == b'>')?;
        std::str::from_utf8(&head[..=end]).ok()
    })?;
    let decl = head.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let i = decl.find("encoding")?;
    let rest = decl[i + 8..].trim_start().strip_prefix('=')?.trim_start();
    let q = rest.chars().next()?;
    let rest = &rest[1..];
    Some(rest[..rest.find(q)?].to_string())
}

fn line_of(text: &str, pos: u64) -> usize {
    let pos = (pos as usize).min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Line numbers of positions met in increasing order, counted incrementally (counting
/// from the start for each item made a 10,000-item feed quadratic).
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> usize {
        let pos = (pos as usize).min(self.text.len());
        if pos < self.pos {
            return line_of(self.text, pos as u64);
        }
        self.line += self.text.as_bytes()[self.pos..pos]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.pos = pos;
        self.line
    }
}

/// Strip markup from an HTML fragment (as feeds put in `description`), keeping text.
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RSS `pubDate` (RFC 2822) or Atom times (RFC 3339) as STIX timestamps.
fn feed_time(s: &str) -> Option<String> {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc2822(s)
        .ok()
        .map(|t| liaison_stix::Timestamp::from_millis(t.timestamp_millis()).to_string())
        .or_else(|| parse_time(s))
}

#[derive(Default)]
struct Current {
    art: Article,
    size: usize,
    start_line: usize,
}

/// Parse an RSS 2.0 or Atom document.
pub fn parse(body: &[u8], sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
    let enc = declared_encoding(body).filter(|e| !e.eq_ignore_ascii_case("utf-8"));
    let text = decode(body, enc.as_deref())?;
    let mut r = Reader::from_str(&text);
    r.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut cur: Option<Current> = None;
    let mut root: Option<String> = None;
    let mut n = 0usize;
    let mut lines = Lines {
        text: &text,
        pos: 0,
        line: 1,
    };
    loop {
        let pos = r.buffer_position();
        let ev = r.read_event().map_err(|e| {
            Error::syntax(
                format!("line {}", line_of(&text, r.error_position())),
                format!("bad XML: {e}"),
            )
        })?;
        let empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_none() {
                    if name != "rss" && name != "feed" && name != "RDF" {
                        return Err(Error::syntax(
                            format!("line {}", line_of(&text, pos)),
                            format!("<{name}> is not a news feed (expected <rss> or Atom <feed>)"),
                        ));
                    }
                    root = Some(name.clone());
                }
                if (name == "item" || name == "entry") && cur.is_none() {
                    cur = Some(Current {
                        start_line: lines.at(pos),
                        ..Default::default()
                    });
                }
                if let Some(c) = cur.as_mut() {
                    // Atom: <link href="…" rel="alternate"/>, <category term="…"/>.
                    if name == "link" {
                        let mut href = None;
                        let mut rel = None;
                        for a in e.attributes().flatten() {
                            let v = a
                                .unescape_value()
                                .map(|v| v.into_owned())
                                .unwrap_or_default();
                            match a.key.local_name().as_ref() {
                                b"href" => href = Some(v),
                                b"rel" => rel = Some(v),
                                _ => {}
                            }
                        }
                        if let Some(h) = href {
                            if rel.as_deref().is_none_or(|r| r == "alternate")
                                && c.art.link.is_none()
                            {
                                c.art.link = Some(h);
                            }
                        }
                    }
                    if name == "category" {
                        for a in e.attributes().flatten() {
                            if a.key.local_name().as_ref() == b"term" {
                                if let Ok(v) = a.unescape_value() {
                                    c.art.categories.push(v.into_owned());
                                }
                            }
                        }
                    }
                }
                if !empty {
                    path.push(name);
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if name == "item" || name == "entry" {
                    if let Some(c) = cur.take() {
                        n += 1;
                        let at = format!("item {n} (line {})", c.start_line);
                        if c.size > MAX_ITEM_BYTES {
                            sink(skipped(
                                at,
                                format!("item of {} bytes, more than {MAX_ITEM_BYTES}", c.size),
                            ));
                        } else if c.art.title.is_empty() && c.art.link.is_none() {
                            sink(skipped(at, "item without title or link".into()));
                        } else {
                            sink(Item::Article(c.art));
                        }
                    }
                }
            }
            Event::Text(t) => {
                let v = t.unescape().map_err(|e| {
                    Error::syntax(
                        format!("line {}", line_of(&text, pos)),
                        format!("bad XML text: {e}"),
                    )
                })?;
                text_into(&mut cur, &path, &v);
            }
            Event::CData(t) => {
                let v = String::from_utf8_lossy(&t.into_inner()).into_owned();
                text_into(&mut cur, &path, &v);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if root.is_none() {
        return Err(Error::syntax(
            "line 1",
            "empty document (expected <rss> or Atom <feed>)",
        ));
    }
    if !path.is_empty() {
        return Err(Error::syntax(
            format!("line {}", line_of(&text, text.len() as u64)),
            format!("truncated XML: <{}> is not closed", path.join("><")),
        ));
    }
    Ok(())
}

fn text_into(cur: &mut Option<Current>, path: &[String], v: &str) {
    let Some(c) = cur.as_mut() else { return };
    c.size += v.len();
    if c.size > MAX_ITEM_BYTES {
        return;
    }
    let Some(field) = path.last() else { return };
    // Only the item's own children, not nested elements of other vocabularies.
    let depth_ok = path
        .iter()
        .rposition(|p| p == "item" || p == "entry")
        .is_some_and(|i| i + 2 == path.len());
    if !depth_ok {
        return;
    }
    let a = &mut c.art;
    match field.as_str() {
        "title" => a.title.push_str(v.trim()),
        "link" if a.link.is_none() && !v.trim().is_empty() => {
            a.link = Some(v.trim().to_string());
        }
        "description" | "summary" | "content" | "encoded" if a.summary.is_none() => {
            let s = strip_html(v);
            if !s.is_empty() {
                a.summary = Some(s);
            }
        }
        "pubDate" | "published" | "updated" | "date" if a.published.is_none() => {
            a.published = feed_time(v);
        }
        "guid" | "id" => a.guid = Some(v.trim().to_string()),
        "category" => a.categories.push(v.trim().to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arts(xml: &[u8]) -> Result<Vec<Item>, Error> {
        let mut v = Vec::new();
        parse(xml, &mut |i| v.push(i))?;
        Ok(v)
    }

    #[test]
    fn rss_items() {
        let x = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>C</title>
<item><title>Patch now</title><link>https://n.example/1</link><description><![CDATA[<p>CVE-2026-1 &amp; more</p>]]></description>
<pubDate>Sat, 28 Nov 2026 10:00:00 +0100</pubDate><guid>g1</guid><category>vuln</category></item>
</channel></rss>"#;
        let v = arts(x).unwrap();
        let Item::Article(a) = &v[0] else { panic!() };
        assert_eq!(a.title, "Patch now");
        assert_eq!(a.link.as_deref(), Some("https://n.example/1"));
        assert_eq!(a.summary.as_deref(), Some("CVE-2026-1 & more"));
        assert_eq!(a.published.as_deref(), Some("2026-11-28T09:00:00.000Z"));
        assert_eq!(a.categories, ["vuln"]);
    }

    #[test]
    fn atom_entries() {
        let x = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><title type="html">Wiper</title><link rel="alternate" href="https://a.example/w"/><id>urn:x:1</id>
<updated>2026-11-28T10:00:00Z</updated><summary>New wiper</summary><category term="malware"/></entry></feed>"#;
        let v = arts(x).unwrap();
        let Item::Article(a) = &v[0] else { panic!() };
        assert_eq!(a.link.as_deref(), Some("https://a.example/w"));
        assert_eq!(a.guid.as_deref(), Some("urn:x:1"));
        assert_eq!(a.categories, ["malware"]);
        assert_eq!(a.published.as_deref(), Some("2026-11-28T10:00:00.000Z"));
    }

    #[test]
    fn broken_xml_names_line() {
        let e = arts(b"<rss><channel>\n<item><title>x</titl></item></channel></rss>").unwrap_err();
        assert_eq!(e.at(), "line 2", "{e}");
        let e = arts(b"<html><body/></html>").unwrap_err();
        assert!(e.message().contains("not a news feed"));
        let e = arts(b"<rss><channel><item><title>x</title>").unwrap_err();
        assert!(e.message().contains("truncated"), "{e}");
    }

    #[test]
    fn declared_latin1() {
        let x = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><item><title>caf\xe9</title></item></channel></rss>";
        let v = arts(x).unwrap();
        let Item::Article(a) = &v[0] else { panic!() };
        assert_eq!(a.title, "café");
    }
}
