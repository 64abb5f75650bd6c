//! Property: every tampering of an audit log is detected, and the report names it.

use liaison_protect::audit::{verify_text, AuditKey, Chain, Checkpoint, Problem, Record};
use proptest::prelude::*;

struct Log {
    lines: Vec<String>,
    /// Indexes (into `lines`) of record lines.
    records: Vec<usize>,
    head: Checkpoint,
    key: ed25519_dalek::VerifyingKey,
}

fn make(n: usize, every: usize, users: &[String]) -> Log {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let mut c = Chain::new();
    let mut lines = Vec::new();
    let mut records = Vec::new();
    let mut last = None;
    for i in 0..n {
        let user = &users[i % users.len()];
        let obj = format!("report--{i:08}-0000-4000-8000-000000000000");
        let r = c.append(1_700_000_000_000 + i as i64, user, "read", Some(&obj), "");
        records.push(lines.len());
        lines.push(r.to_line());
        if (i + 1) % every == 0 || i + 1 == n {
            lines.push(Checkpoint::sign(&sk, r.seq, r.hash).to_line());
        }
        last = Some(r);
    }
    let last = last.expect("n > 0");
    Log {
        lines,
        records,
        head: Checkpoint::sign(&sk, last.seq, last.hash),
        key: sk.verifying_key(),
    }
}

/// A log as `AuditLog` writes it: records sealed (or not), a checkpoint line every
/// `every`, and a head signing the last record and the log's length.
fn make_live(
    n: usize,
    every: usize,
    sealed: bool,
) -> (String, Checkpoint, ed25519_dalek::VerifyingKey) {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[6; 32]);
    let seal = sealed.then(|| AuditKey::derive(&sk));
    let mut c = Chain::new();
    let mut out = String::new();
    for i in 0..n {
        let obj = format!("report--{i:08}-0000-4000-8000-000000000000");
        let (seq, hash) = c
            .append_to(
                &mut out,
                1_700_000_000_000 + i as i64,
                "alice",
                "read",
                Some(&obj),
                "",
                seal.as_ref(),
            )
            .unwrap();
        out.push('\n');
        if (i + 1) % every == 0 {
            out.push_str(&Checkpoint::sign(&sk, seq, hash).to_line());
            out.push('\n');
        }
    }
    let (seq, hash) = c.last();
    let head = Checkpoint::sign_head(&sk, seq, hash, out.len() as u64);
    (out, head, sk.verifying_key())
}

fn text(lines: &[String]) -> String {
    let mut t = lines.join("\n");
    t.push('\n');
    t
}

fn names_line(problems: &[Problem], line: u64) -> bool {
    problems.iter().any(|p| match p {
        Problem::Unreadable { line: l, .. }
        | Problem::Altered { line: l, .. }
        | Problem::Replaced { line: l, .. }
        | Problem::Inserted { line: l, .. }
        | Problem::Reordered { line: l, .. }
        | Problem::BadCheckpoint { line: l, .. }
        | Problem::Deleted { line: l, .. }
        | Problem::IncompleteLine { line: l } => *l == line,
        Problem::Truncated { .. } | Problem::Shortened { .. } | Problem::HeadMissing { .. } => {
            false
        }
    })
}

fn users() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z]{1,8}", 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn intact_logs_verify(n in 1usize..60, every in 1usize..20, users in users()) {
        let log = make(n, every, &users);
        let r = verify_text(&text(&log.lines), &log.key, Some(&log.head));
        prop_assert!(r.ok(), "{:?}", r.problems);
        prop_assert_eq!(r.records, n as u64);
    }

    #[test]
    fn a_flipped_byte_is_detected(n in 1usize..40, every in 1usize..10, users in users(),
                                  pick in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(),
                                  bit in 0u8..8) {
        let log = make(n, every, &users);
        let t = text(&log.lines);
        let mut bytes = t.into_bytes();
        let at = pos.index(bytes.len());
        bytes[at] ^= 1 << bit;
        let _ = pick;
        // A flip may make invalid UTF-8: the log reader sees that as an unreadable line too.
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        let r = verify_text(&tampered, &log.key, Some(&log.head));
        prop_assert!(!r.ok(), "flip at byte {} bit {} not detected", at, bit);
        // The line of the flipped byte is named (a flipped newline names one of its two lines).
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        prop_assert!(names_line(&r.problems, line) || names_line(&r.problems, line + 1)
            || r.problems.iter().any(|p| matches!(p, Problem::Truncated { .. } | Problem::IncompleteLine { .. })),
            "line {} not named: {:?}", line, r.problems);
    }

    #[test]
    fn a_deleted_record_is_named(n in 2usize..40, every in 1usize..10, users in users(),
                                 pick in any::<prop::sample::Index>()) {
        let log = make(n, every, &users);
        let k = pick.index(n);
        let mut lines = log.lines.clone();
        lines.remove(log.records[k]);
        let r = verify_text(&text(&lines), &log.key, Some(&log.head));
        let seq = k as u64 + 1;
        prop_assert!(r.problems.iter().any(|p| match p {
            Problem::Deleted { from, to, .. } => *from <= seq && seq <= *to,
            // The last record deleted: the head vouches for it.
            Problem::Truncated { .. } => seq == n as u64,
            _ => false,
        }), "record {} deleted, got {:?}", seq, r.problems);
    }

    #[test]
    fn an_inserted_record_is_named(n in 1usize..40, every in 1usize..10, users in users(),
                                   at in any::<prop::sample::Index>(), src in any::<prop::sample::Index>(),
                                   forged in any::<bool>()) {
        let log = make(n, every, &users);
        // Not after the last checkpoint: a record appended there is indistinguishable from
        // one written after the newest signature (the report counts it as unsigned tail).
        let pos = at.index(log.lines.len());
        let mut lines = log.lines.clone();
        let src_seq = src.index(n) as u64 + 1;
        let new_line = if forged {
            // A well-formed record, chained to the record before it and numbered as the next.
            let before: Option<Record> = lines[..pos].iter().rev()
                .find_map(|l| serde_json::from_str::<Record>(l).ok());
            let mut c = before.as_ref().map(Chain::after).unwrap_or_default();
            c.append(1, "mallory", "read", Some("identity--secret"), "").to_line()
        } else {
            lines[log.records[src_seq as usize - 1]].clone()
        };
        lines.insert(pos, new_line);
        let r = verify_text(&text(&lines), &log.key, Some(&log.head));
        prop_assert!(!r.ok());
        if forged {
            prop_assert!(r.problems.iter().any(|p| matches!(p,
                Problem::Inserted { line, .. } | Problem::Replaced { line, .. } if *line == pos as u64 + 1)),
                "forged record inserted at line {}, got {:?}", pos + 1, r.problems);
        } else {
            // A byte-for-byte copy: the report names the record that appears twice (which of
            // the two identical lines is the extra one cannot be told from their contents).
            prop_assert!(r.problems.iter().any(|p| matches!(p,
                Problem::Inserted { seq, .. } if *seq == src_seq)),
                "copy of record {} inserted at line {}, got {:?}", src_seq, pos + 1, r.problems);
        }
    }

    #[test]
    fn reordered_records_are_named(n in 2usize..40, every in 1usize..10, users in users(),
                                   a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let log = make(n, every, &users);
        let (i, j) = (a.index(n), b.index(n));
        prop_assume!(i != j);
        let mut lines = log.lines.clone();
        lines.swap(log.records[i], log.records[j]);
        let r = verify_text(&text(&lines), &log.key, Some(&log.head));
        prop_assert!(!r.ok());
        let (lo, hi) = (i.min(j) as u64 + 1, i.max(j) as u64 + 1);
        prop_assert!(r.problems.iter().any(|p| matches!(p,
            Problem::Reordered { seq, .. } if *seq == lo || *seq == hi)),
            "swapped {} and {}, got {:?}", lo, hi, r.problems);
    }

    #[test]
    fn a_truncated_log_is_detected(n in 1usize..40, every in 1usize..10, users in users(),
                                   cut in any::<prop::sample::Index>()) {
        let log = make(n, every, &users);
        let t = text(&log.lines);
        let keep = cut.index(t.len());
        let r = verify_text(&t[..keep], &log.key, Some(&log.head));
        prop_assert!(r.problems.iter().any(|p| matches!(p,
            Problem::Truncated { .. } | Problem::IncompleteLine { .. })),
            "cut at {} of {}: {:?}", keep, t.len(), r.problems);
    }

    #[test]
    fn live_logs_verify(n in 1usize..60, every in 1usize..20, sealed in any::<bool>()) {
        let (t, head, key) = make_live(n, every, sealed);
        let r = verify_text(&t, &key, Some(&head));
        prop_assert!(r.ok(), "{:?}", r.problems);
        prop_assert_eq!((r.records, r.unsigned_tail), (n as u64, 0));
    }

    /// With a head that signs the log's length, any cut shows: a whole record, the
    /// checkpoint line after the last record, or part of a line.
    #[test]
    fn any_cut_is_detected_with_a_length_head(n in 1usize..40, every in 1usize..10,
                                              sealed in any::<bool>(), cut in any::<prop::sample::Index>()) {
        let (t, head, key) = make_live(n, every, sealed);
        let keep = cut.index(t.len());
        let r = verify_text(&t[..keep], &key, Some(&head));
        prop_assert!(r.problems.iter().any(|p| matches!(p, Problem::Shortened { .. })),
            "cut at {} of {}: {:?}", keep, t.len(), r.problems);
    }

    #[test]
    fn a_flipped_byte_in_a_sealed_log_is_detected(n in 1usize..30, every in 1usize..10,
                                                  pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (t, head, key) = make_live(n, every, true);
        let mut bytes = t.into_bytes();
        let at = pos.index(bytes.len());
        bytes[at] ^= 1 << bit;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        let r = verify_text(&tampered, &key, Some(&head));
        prop_assert!(!r.ok(), "flip at byte {} bit {} not detected", at, bit);
    }
}

#[test]
fn records_after_the_head_are_an_unsigned_tail_not_a_cut() {
    // The head signed after 10 records; 3 more appended, then a crash before re-signing.
    let (t10, head, key) = make_live(10, 100, false);
    let (t13, _, _) = make_live(13, 100, false);
    assert!(
        t13.starts_with(&t10),
        "the same key and input give the same chain prefix"
    );
    let r = verify_text(&t13, &key, Some(&head));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (r.unsigned_tail, r.signed_through, r.status()),
        (3, 10, "unsigned_tail")
    );
    assert!(!r.ok(), "an unsigned tail is not called intact");
    // Cutting one signed record is a cut.
    let cut = &t10[..t10[..t10.len() - 1].rfind('\n').unwrap() + 1];
    let r = verify_text(cut, &key, Some(&head));
    assert_eq!(r.status(), "tampered");
    assert!(
        r.problems.iter().any(|p| matches!(
            p,
            Problem::Truncated {
                last_seq: 9,
                expected_seq: 10
            }
        )),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_missing_head_is_named() {
    let (t, _, key) = make_live(5, 100, false);
    let r = verify_text(&t, &key, None);
    assert_eq!(r.problems, vec![Problem::HeadMissing { records: 5 }]);
}
