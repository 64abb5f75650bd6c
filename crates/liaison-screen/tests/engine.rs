//! Engine behaviour: Unicode, whole words, bad input, indicators.

use liaison_screen::{EngineBuilder, IndicatorRule, Rule, Scratch, Severity, Term, Watchlist};

fn terms(ts: Vec<Term>) -> Watchlist {
    Watchlist { terms: ts }
}

fn matches(engine: &liaison_screen::Engine, text: &str) -> Vec<(u64, String)> {
    engine
        .scan("t", text.as_bytes(), 1, 0, &mut Scratch::default())
        .into_iter()
        .filter(|h| matches!(h.rule, Rule::Term { .. }))
        .map(|h| (h.line, h.matched))
        .collect()
}

#[test]
fn substring_by_default_like_grep_f() {
    let e = EngineBuilder::new()
        .extract(None)
        .watchlist(terms(vec![Term::new("lock")]))
        .build()
        .unwrap();
    assert_eq!(
        matches(&e, "unlocked lock LOCK"),
        [(1, "lock".into()), (1, "lock".into())]
    );
}

#[test]
fn overlapping_terms_all_reported() {
    let e = EngineBuilder::new()
        .extract(None)
        .watchlist(terms(vec![
            Term::new("cobalt"),
            Term::new("cobalt strike"),
            Term::new("strike"),
        ]))
        .build()
        .unwrap();
    let got: Vec<_> = e
        .scan("t", b"cobalt strike", 1, 0, &mut Scratch::default())
        .into_iter()
        .map(|h| h.matched)
        .collect();
    assert_eq!(got, ["cobalt", "cobalt strike", "strike"]);
}

#[test]
fn unicode_case_folding_greek_cyrillic_latin1() {
    let e = EngineBuilder::new()
        .extract(None)
        .ignore_case(true)
        .watchlist(terms(vec![
            Term::new("Οδυσσεύς"),
            Term::new("москва"),
            Term::new("ÉCOLE"),
        ]))
        .build()
        .unwrap();
    let got = matches(&e, "ΟΔΥΣΣΕΎΣ in МОСКВА\nl'école");
    assert_eq!(
        got,
        [
            (1, "ΟΔΥΣΣΕΎΣ".into()),
            (1, "МОСКВА".into()),
            (2, "école".into())
        ]
    );
}

#[test]
fn per_term_options_mix() {
    // One case-sensitive, one insensitive: the mixed mode verifies on raw text.
    let e = EngineBuilder::new()
        .extract(None)
        .watchlist(terms(vec![
            Term::new("Emotet"),
            Term::new("qakbot").ignore_case(true).whole_word(true),
        ]))
        .build()
        .unwrap();
    let got = matches(&e, "emotet Emotet QAKBOT qakbots");
    assert_eq!(got, [(1, "Emotet".into()), (1, "QAKBOT".into())]);
}

#[test]
fn chinese_terms_in_chinese_text() {
    let e = EngineBuilder::new()
        .extract(None)
        .watchlist(terms(vec![Term::new("勒索"), Term::new("钓鱼邮件")]))
        .build()
        .unwrap();
    let got = matches(&e, "该组织利用钓鱼邮件传播勒索软件。");
    assert_eq!(got, [(1, "钓鱼邮件".into()), (1, "勒索".into())]);
    // Whole word: Chinese characters are word characters, as in `rg -w`.
    let ww = EngineBuilder::new()
        .extract(None)
        .whole_word(true)
        .watchlist(terms(vec![Term::new("勒索")]))
        .build()
        .unwrap();
    assert!(matches(&ww, "勒索软件").is_empty());
    assert_eq!(matches(&ww, "« 勒索 »").len(), 1);
}

#[test]
fn whole_word_unicode_boundaries() {
    let e = EngineBuilder::new()
        .extract(None)
        .whole_word(true)
        .watchlist(terms(vec![Term::new("rat")]))
        .build()
        .unwrap();
    assert!(matches(&e, "pirate ratés érat").is_empty());
    assert_eq!(matches(&e, "a rat, (rat) rat_x rat").len(), 3);
}

#[test]
fn bad_input_never_panics() {
    let e = EngineBuilder::new()
        .watchlist(terms(vec![Term::new("evil").ignore_case(true)]))
        .build()
        .unwrap();
    let mut s = Scratch::default();
    // Invalid UTF-8 and NUL bytes: scanned as bytes.
    let hits = e.scan("t", b"\xff\xfeEVIL\x00 1.2.3.4\xc3\n\x00\x00", 1, 0, &mut s);
    assert_eq!(hits[0].matched, "EVIL");
    assert!(hits.iter().any(|h| h.matched == "1.2.3.4"));
    // Empty.
    assert!(e.scan("t", b"", 1, 0, &mut s).is_empty());
    // A 10 MB single line.
    let mut big = vec![b'a'; 10 << 20];
    big.extend_from_slice(b" evil 8.8.8.8 ");
    big.extend(std::iter::repeat_n(b'f', 5000));
    let hits = e.scan("t", &big, 1, 0, &mut s);
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].column, 10 << 20 | 1);
}

#[test]
fn indicator_literals_are_bounded_by_type() {
    let rules = vec![
        IndicatorRule {
            id: "indicator--d".into(),
            pattern: "[domain-name:value = 'example-bad.com']".into(),
            label: Some("bad domain".into()),
            severity: Severity::High,
        },
        IndicatorRule {
            id: "indicator--i".into(),
            pattern: "[ipv4-addr:value = '1.2.3.4']".into(),
            label: None,
            severity: Severity::Critical,
        },
        IndicatorRule {
            id: "indicator--n".into(),
            pattern: "[ipv4-addr:value ISSUBSET '5.6.7.0/24']".into(),
            label: None,
            severity: Severity::Low,
        },
        IndicatorRule {
            id: "indicator--x".into(),
            pattern: "[a:b = 'x'] FOLLOWEDBY [c:d = 'y']".into(),
            label: None,
            severity: Severity::Low,
        },
        IndicatorRule {
            id: "indicator--bad".into(),
            pattern: "[file:name = 'x' AND]".into(),
            label: None,
            severity: Severity::Low,
        },
    ];
    let e = EngineBuilder::new().indicators(rules).build().unwrap();
    // The syntax error is reported with its position; FOLLOWEDBY goes to the full matcher.
    assert_eq!(e.skipped().len(), 1);
    assert!(
        e.skipped()[0].to_string().contains("indicator--bad: 1:21:"),
        "{}",
        e.skipped()[0]
    );
    assert_eq!(e.matcher_count(), 2);
    let ids = |t: &str| -> Vec<String> {
        e.scan("t", t.as_bytes(), 1, 0, &mut Scratch::default())
            .into_iter()
            .filter_map(|h| match h.rule {
                Rule::Indicator { id } => Some(format!("{id}@{}", h.matched)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        ids("notexample-bad.com sub.example-bad.com 1.2.3.4.5 11.2.3.4"),
        Vec::<String>::new()
    );
    assert_eq!(
        ids("EXAMPLE-BAD.COM. 1.2.3.4:80"),
        ["indicator--d@EXAMPLE-BAD.COM", "indicator--i@1.2.3.4"]
    );
    assert_eq!(
        ids("x 1[.]2[.]3[.]4 y example-bad(dot)com"),
        [
            "indicator--i@1[.]2[.]3[.]4",
            "indicator--d@example-bad(dot)com"
        ]
    );
    assert_eq!(ids("from 5.6.7.8 and 5.6.8.1"), ["indicator--n@5.6.7.8"]);
}

#[test]
fn hits_serialize_as_json_lines() {
    let e = EngineBuilder::new()
        .watchlist(terms(vec![Term::new("apt")
            .label("actors")
            .severity(Severity::High)]))
        .build()
        .unwrap();
    let hits = e.scan(
        "feed",
        b"x\nthe apt group",
        10,
        100,
        &mut Scratch::default(),
    );
    let v: serde_json::Value = serde_json::to_value(&hits[0]).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"source":"feed","line":11,"offset":106,"column":4,"matched":"apt",
            "rule":{"type":"term","term":"apt"},"severity":"high","label":"actors"})
    );
}

#[test]
fn indicator_literals_without_extraction_use_the_automaton() {
    let rules = vec![
        IndicatorRule {
            id: "indicator--d".into(),
            pattern: "[domain-name:value = 'evil-site.com']".into(),
            label: None,
            severity: Severity::High,
        },
        IndicatorRule {
            id: "indicator--h".into(),
            pattern: "[file:hashes.MD5 = '0cc175b9c0f1b6a831c399e269772661']".into(),
            label: None,
            severity: Severity::High,
        },
        // Not something the extractors produce (a file name): the automaton either way.
        IndicatorRule {
            id: "indicator--f".into(),
            pattern: "[file:name = 'invoice.pdf.exe']".into(),
            label: None,
            severity: Severity::High,
        },
    ];
    for extract in [None, Some(liaison_screen::Extractors::default())] {
        let e = EngineBuilder::new()
            .extract(extract)
            .indicators(rules.clone())
            .build()
            .unwrap();
        let ids: Vec<String> = e
            .scan(
                "t",
                b"EVIL-SITE.COM notevil-site.com 0CC175B9C0F1B6A831C399E269772661 x0cc175b9c0f1b6a831c399e269772661 got invoice.pdf.exe!",
                1,
                0,
                &mut Scratch::default(),
            )
            .into_iter()
            .filter_map(|h| match h.rule {
                Rule::Indicator { id } => Some(format!("{id}@{}", h.matched)),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            [
                "indicator--d@EVIL-SITE.COM",
                "indicator--h@0CC175B9C0F1B6A831C399E269772661",
                "indicator--f@invoice.pdf.exe"
            ],
            "extract: {extract:?}"
        );
    }
}

#[test]
fn ascii_terms_case_insensitive_in_non_ascii_text() {
    // Only ASCII patterns: the text's non-ASCII part needs no folding.
    let e = EngineBuilder::new()
        .extract(None)
        .ignore_case(true)
        .watchlist(terms(vec![Term::new("apt28")]))
        .build()
        .unwrap();
    assert_eq!(
        matches(&e, "ΑΠΤ28 и APT28, Апт28 apt28"),
        [(1, "APT28".into()), (1, "apt28".into())]
    );
}

/// Exactly which case folds `--ignore-case` applies (see `fold`): simple,
/// length-keeping folds, final sigma and titlecase digraphs included; not the
/// folds that change a character's UTF-8 length or expand it (ß ↔ ss,
/// U+1E9E ẞ, KELVIN SIGN, U+0130 İ).
#[test]
fn case_folds_handled_and_not() {
    let found = |term: &str, text: &str| {
        let e = EngineBuilder::new()
            .extract(None)
            .ignore_case(true)
            .watchlist(terms(vec![Term::new(term)]))
            .build()
            .unwrap();
        !matches(&e, text).is_empty()
    };
    // Handled, in both directions.
    for (a, b) in [
        ("σίσυφος", "ΣΊΣΥΦΟΣ"),
        ("σίσυφος", "σίσυφοσ"),
        ("ǆungla", "ǅungla"),
        ("ǆungla", "Ǆungla"),
        ("ｆｕｌｌｗｉｄｔｈ", "ＦＵＬＬＷＩＤＴＨ"),
        ("𐐨𐐯𐐻", "𐐀𐐇𐐓"),
        ("ёлка", "ЁЛКА"),
        ("ωμέγα", "ΩΜΈΓΑ"),
        ("ĳssel", "Ĳssel"),
    ] {
        assert!(found(a, b), "{a} in {b}");
        assert!(found(b, a), "{b} in {a}");
    }
    // Not handled (documented): expansions and length-changing folds.
    for (a, b) in [
        ("strasse", "straße"),
        ("straße", "STRASSE"),
        ("straße", "STRAẞE"),
        ("kelvin", "\u{212A}elvin"),
        ("istanbul", "İstanbul"),
    ] {
        assert!(!found(a, b), "{a} in {b}");
    }
}

/// Counting sees each line with a hit once, however many hits it has and
/// wherever they are (first and last byte of a line, a last line without a
/// line end), and counts every hit.
#[test]
fn count_of_hits_and_lines_with_a_hit() {
    let e = EngineBuilder::new()
        .extract(None)
        .watchlist(terms(vec![Term::new("xyzzy"), Term::new("zzy")]))
        .build()
        .unwrap();
    let mut s = Scratch::default();
    let text = "xyzzy at the start\nnone here\n\nend: xyzzy\nxyzzy xyzzy\nlast xyzzy";
    let c = e.count(text.as_bytes(), &mut s);
    // Each "xyzzy" is also a "zzy": 5 places, 10 hits, on 4 lines.
    assert_eq!((c.hits, c.hit_lines), (10, 4));
    let hits = e.scan("t", text.as_bytes(), 1, 0, &mut s);
    let lines: std::collections::BTreeSet<u64> = hits.iter().map(|h| h.line).collect();
    assert_eq!(
        (hits.len(), lines.into_iter().collect::<Vec<_>>()),
        (10, vec![1, 4, 5, 6])
    );
    let c = e.count(b"nothing\n", &mut s);
    assert_eq!((c.hits, c.hit_lines), (0, 0));
    let c = e.count(b"", &mut s);
    assert_eq!((c.hits, c.hit_lines), (0, 0));
}

/// A long term whose first and last eight bytes match but whose middle does
/// not is no hit, with and without case folding, wherever the difference
/// is (the matcher settles short terms on their ends alone; long ones must
/// be compared whole). A six-byte term keeps the probe stride small, so that
/// the indexed grams of the long term do not cover all of it.
#[test]
fn long_terms_differing_inside_are_not_hits() {
    let long = "abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
    for ignore_case in [false, true] {
        let e = EngineBuilder::new()
            .extract(None)
            .ignore_case(ignore_case)
            .watchlist(terms(vec![Term::new(long), Term::new("zzqzzq")]))
            .build()
            .unwrap();
        let whole = if ignore_case {
            long.to_uppercase()
        } else {
            long.to_string()
        };
        assert_eq!(matches(&e, &format!("x {whole} y")), [(1, whole.clone())]);
        for i in 8..long.len() - 8 {
            let mut v = whole.clone().into_bytes();
            v[i] = if v[i] == b'0' { b'1' } else { b'0' };
            let text = format!("x {} y", String::from_utf8(v).unwrap());
            assert_eq!(matches(&e, &text), [], "ignore_case {ignore_case}, {text}");
        }
    }
}
