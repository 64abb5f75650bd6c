//! Each connector on the fixture feeds, driven as the IO side drives it (requests
//! answered from the fixtures directory), and the STIX objects the builder makes.

use liaison_collect::stix::{Builder, FeedContext};
use liaison_collect::{connector_for, FeedConfig, Format, Item, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fx(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// Run a feed whose URL is `base/...` against the fixtures, collecting items.
fn drive(cfg: &FeedConfig, cursor: Option<&Value>) -> (Vec<Item>, Vec<String>, Option<Value>) {
    let mut c = connector_for(cfg, cursor).unwrap();
    let mut items = Vec::new();
    let mut asked = Vec::new();
    while let Some(req) = c.next_request() {
        let path = req.url.strip_prefix("fx:").unwrap().to_string();
        asked.push(path.clone());
        let body = std::fs::read(fx(&path)).unwrap();
        c.take(&Response::ok(&body), &mut |i| items.push(i))
            .unwrap();
    }
    (items, asked, c.cursor())
}

fn build(cfg: &FeedConfig, items: Vec<Item>) -> Vec<Value> {
    let mut b = Builder::new(FeedContext::new(
        cfg,
        "UNCLASSIFIED//REL TO ALL",
        "2026-11-29T00:00:00.000Z",
    ));
    for i in items {
        b.add(i);
    }
    b.finish()
}

fn validate_all(objs: &[Value]) {
    for o in objs {
        let obj = liaison_stix::StixObject::from_value(o.clone()).unwrap();
        let errors: Vec<_> = liaison_stix::validate(&obj)
            .into_iter()
            .filter(|e| e.severity == liaison_stix::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{o}: {errors:?}");
    }
}

#[test]
fn plain_list() {
    let cfg = FeedConfig::new("ips", "fx:ips.txt", Format::List);
    let (items, _, _) = drive(&cfg, None);
    let skipped: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Skipped { at, reason } => Some((at.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        skipped,
        [("line 8", "'this' is not an IP, domain, URL, e-mail or hash")]
    );
    let objs = build(&cfg, items);
    validate_all(&objs);
    let patterns: Vec<&str> = objs.iter().filter_map(|o| o["pattern"].as_str()).collect();
    assert_eq!(
        patterns,
        [
            "[ipv4-addr:value = '198.51.100.7']",
            "[ipv4-addr:value = '203.0.113.0/24']",
            "[domain-name:value = 'evil-cdn.example.net']",
            "[url:value = 'http://phish.example.org/login.php']",
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            "[ipv6-addr:value = '2001:db8::66']",
        ]
    );
    // Provenance on each, the feed's identity first.
    assert_eq!(objs[0]["type"], "identity");
    for o in &objs[1..] {
        assert_eq!(o["created_by_ref"], objs[0]["id"]);
        assert_eq!(
            o["external_references"][0]["source_name"],
            "liaison-feed:ips"
        );
    }
}

#[test]
fn csv_with_mapping() {
    let mut cfg = FeedConfig::new("iocs", "fx:iocs.csv", Format::Csv);
    cfg.csv.header = true;
    cfg.csv.value = "ioc".into();
    cfg.csv.r#type = Some("ioc_type".into());
    cfg.csv.labels = vec!["threat".into()];
    cfg.csv.first_seen = Some("dateadded".into());
    let (items, _, _) = drive(&cfg, None);
    assert_eq!(items.len(), 5);
    assert!(
        matches!(&items[4], Item::Skipped { at, reason } if at == "line 7" && reason.contains("carrier-pigeon"))
    );
    let objs = build(&cfg, items);
    validate_all(&objs);
    let first = &objs[1];
    assert_eq!(first["labels"], serde_json::json!(["botnet_cc"]));
    assert_eq!(first["valid_from"], "2026-11-27T08:00:01.000Z");
    assert_eq!(first["external_references"][0]["external_id"], "line 3");
    // A header naming no such column is an error naming the column.
    cfg.csv.value = "indicator".into();
    let mut c = connector_for(&cfg, None).unwrap();
    c.next_request();
    let body = std::fs::read(fx("iocs.csv")).unwrap();
    let e = c.take(&Response::ok(&body), &mut |_| {}).unwrap_err();
    assert!(e.message().contains("no column 'indicator'"), "{e}");
}

#[test]
fn news_rss_and_atom_are_valid_reports() {
    for f in ["news.rss", "news.atom"] {
        let cfg = FeedConfig::new("news", &format!("fx:{f}"), Format::News);
        let (items, _, _) = drive(&cfg, None);
        let objs = build(&cfg, items);
        validate_all(&objs);
        assert!(objs.iter().any(|o| o["type"] == "report"), "{f}");
    }
}

#[test]
fn eve_events() {
    let cfg = FeedConfig::new("sensor", "fx:eve.json", Format::Eve);
    let (items, _, _) = drive(&cfg, None);
    // 5 useful events; the flow event is ignored; the cut last line is skipped.
    let obs = items
        .iter()
        .filter(|i| matches!(i, Item::Observation(_)))
        .count();
    assert_eq!(obs, 5);
    assert!(matches!(items.last(), Some(Item::Skipped { at, .. }) if at == "line 7"));
    let objs = build(&cfg, items);
    validate_all(&objs);
}

#[test]
fn misp_feed_fetches_changed_events_only() {
    let cfg = FeedConfig::new("misp", "fx:misp-feed/", Format::Misp);
    let (items, asked, cursor) = drive(&cfg, None);
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked[0], "misp-feed/manifest.json");
    let objs: Vec<Value> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Stix(v) => Some(v),
            _ => None,
        })
        .collect();
    assert!(objs
        .iter()
        .any(|o| o["pattern"] == "[domain-name:value = 'circl.lu']"));
    // Next run: the manifest says nothing changed, so no event file is fetched.
    let (items, asked, _) = drive(&cfg, cursor.as_ref());
    assert_eq!(asked, ["misp-feed/manifest.json"]);
    assert!(items.is_empty());
    // A broken manifest names itself.
    let mut c = connector_for(&cfg, None).unwrap();
    c.next_request();
    let e = c.take(&Response::ok(b"[1,2]"), &mut |_| {}).unwrap_err();
    assert_eq!(e.at(), "manifest.json $");
}
