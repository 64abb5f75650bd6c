//! The strided gram filter finds exactly what one Aho-Corasick automaton over
//! every byte finds (the engine's earlier matcher), and what a naive search
//! finds, on random terms and texts: case-sensitive and -insensitive, whole
//! word and not, short terms (the filter's automaton tier) and long ones.

use liaison_screen::{Engine, EngineBuilder, Rule, Scratch, Term, Watchlist};
use proptest::prelude::*;

/// Characters chosen to collide: ASCII letters of both cases, word and
/// non-word separators, Latin-1, Greek with final sigma, Cyrillic, Chinese,
/// characters whose fold has another length (left alone by the fold), and
/// characters with forms whose bytes differ in more than the case bits
/// (`ϑ ϴ` of `θ`, `ϱ` of `ρ`, Armenian: indexed as variant grams, or merged
/// into the byte classes when a gram would have too many).
const ALPHABET: &[&str] = &[
    "a", "b", "c", "A", "B", "k", "K", " ", "_", ".", "é", "É", "σ", "Σ", "ς", "д", "Д", "中",
    "文", "ß", "\u{212A}", "İ", "ǅ", "ǆ", "Ǆ", "Ａ", "ａ", "𐐀", "𐐨", "θ", "Θ", "ϑ", "ϴ", "α", "ρ",
    "ϱ", "ա", "Ա",
];

/// `t` with its letters replaced by other forms that fold to the same
/// letter (not its upper case).
fn odd_forms(t: &str) -> String {
    t.chars()
        .map(|c| match c {
            'θ' => 'ϑ',
            'Θ' => 'ϴ',
            'ρ' => 'ϱ',
            'σ' => 'ς',
            other => other,
        })
        .collect()
}

fn piece() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..12).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Case {
    terms: Vec<(String, bool, bool)>,
    text: String,
    ignore_case: bool,
    whole_word: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let term = (piece(), any::<bool>(), any::<bool>(), 0u8..4);
    (
        prop::collection::vec(term, 1..24),
        prop::collection::vec((0u8..7, piece(), 0usize..24), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(terms, parts, ignore_case, whole_word)| {
            // Long terms: repeat a piece so the stride is more than one.
            let terms: Vec<(String, bool, bool)> = terms
                .into_iter()
                .map(|(p, ci, ww, rep)| (p.repeat(rep as usize + 1), ci, ww))
                .collect();
            // The text: pieces and terms (some with their case changed), on
            // a few lines.
            let mut text = String::new();
            for (kind, p, ti) in parts {
                let t = &terms[ti % terms.len()].0;
                match kind {
                    0 => text.push_str(&p),
                    1 => text.push_str(t),
                    2 => text.push_str(&t.to_uppercase()),
                    3 => text.push_str(&t.to_lowercase()),
                    4 => text.push('\n'),
                    6 => text.push_str(&odd_forms(t)),
                    _ => {
                        text.push_str(&p);
                        text.push_str(t);
                        text.push_str(&p);
                    }
                }
            }
            Case {
                terms,
                text,
                ignore_case,
                whole_word,
            }
        })
}

fn engine(c: &Case, strided: bool) -> Engine {
    let list = Watchlist {
        terms: c
            .terms
            .iter()
            .map(|(t, ci, ww)| Term::new(t.clone()).ignore_case(*ci).whole_word(*ww))
            .collect(),
    };
    EngineBuilder::new()
        .extract(None)
        .ignore_case(c.ignore_case)
        .whole_word(c.whole_word)
        .strided(strided)
        .watchlist(list)
        .build()
        .unwrap()
}

type Found = Vec<(u64, u64, u64, String, String)>;

fn hits(e: &Engine, text: &str) -> Found {
    let mut v: Found = e
        .scan("t", text.as_bytes(), 1, 0, &mut Scratch::default())
        .into_iter()
        .map(|h| {
            let term = match h.rule {
                Rule::Term { term } => term.to_string(),
                other => panic!("unexpected rule {other:?}"),
            };
            (h.line, h.offset, h.column, h.matched, term)
        })
        .collect();
    v.sort();
    v
}

/// Every (start, term) where the term's bytes stand in the text.
fn naive(terms: &[String], text: &str) -> Vec<(u64, String)> {
    let mut v = Vec::new();
    for t in terms {
        let (tb, xb) = (t.as_bytes(), text.as_bytes());
        for s in 0..xb.len().saturating_sub(tb.len() - 1) {
            if xb[s..].starts_with(tb) {
                v.push((s as u64, t.clone()));
            }
        }
    }
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn strided_finds_what_the_automaton_finds(c in case()) {
        let fast = hits(&engine(&c, true), &c.text);
        let reference = hits(&engine(&c, false), &c.text);
        prop_assert_eq!(&fast, &reference);
    }

    #[test]
    fn case_sensitive_substrings_are_exactly_the_naive_ones(c in case()) {
        let c = Case {
            terms: c.terms.iter().map(|(t, _, _)| (t.clone(), false, false)).collect(),
            ignore_case: false,
            whole_word: false,
            ..c
        };
        let fast: Vec<(u64, String)> =
            hits(&engine(&c, true), &c.text).into_iter().map(|h| (h.1, h.4)).collect();
        let mut terms: Vec<String> = c.terms.iter().map(|t| t.0.clone()).collect();
        terms.sort();
        terms.dedup();
        let mut want = naive(&terms, &c.text);
        // The engine reports a term listed twice twice.
        for (t, _, _) in &c.terms {
            let n = c.terms.iter().filter(|x| &x.0 == t).count();
            if n > 1 && terms.contains(t) {
                let extra: Vec<_> = want.iter().filter(|w| &w.1 == t).cloned().collect();
                for _ in 1..n {
                    want.extend(extra.iter().cloned());
                }
                terms.retain(|x| x != t);
            }
        }
        want.sort();
        prop_assert_eq!(fast, want);
    }
}

/// A list with one stride for most terms, a short term in the automaton tier,
/// and a long case-insensitive Greek term found in upper case.
#[test]
fn tiers_and_folds_together() {
    let c = Case {
        terms: vec![
            ("ab".into(), false, false),
            ("Οδυσσεύς".into(), true, false),
            ("cobaltstrike".into(), false, true),
            ("中文中文".into(), false, false),
        ],
        text: "xab ΟΔΥΣΣΕΎΣ cobaltstrike xcobaltstrike\n中文中文中文".into(),
        ignore_case: false,
        whole_word: false,
    };
    let got: Vec<(u64, String)> = hits(&engine(&c, true), &c.text)
        .into_iter()
        .map(|h| (h.0, h.3))
        .collect();
    assert_eq!(
        got,
        [
            (1, "ab".to_string()),
            (1, "ΟΔΥΣΣΕΎΣ".to_string()),
            (1, "cobaltstrike".to_string()),
            (2, "中文中文".to_string()),
            (2, "中文中文".to_string()),
        ]
    );
}

/// A case-insensitive Greek term is found in text written with the other
/// forms of its letters (`ϑ` and `ϴ` for `θ`, `ϱ` for `ρ`, `ς` for `σ`),
/// which the byte classes keep apart from the letter, and not in text with
/// other letters whose bytes the merged classes used to join (`α` for `θ`).
#[test]
fn odd_forms_of_greek_letters_are_found() {
    let term = "θεωρητικόςθρόνος";
    let c = Case {
        terms: vec![(term.into(), true, false)],
        text: [
            "ϑεωρητικόςϑρόνος",
            "ϴΕΩΡΗΤΙΚΌΣϴΡΌΝΟΣ",
            "θεωϱητικόςθϱόνος",
            "ΘΕΩΡΗΤΙΚΌΣΘΡΌΝΟΣ",
            "αεωρητικόςθρόνος",
            "θεωρητικόςδρόνος",
            "θεωαητικόςθρόνος",
        ]
        .join("\n"),
        ignore_case: false,
        whole_word: false,
    };
    let lines: Vec<u64> = hits(&engine(&c, true), &c.text)
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    assert_eq!(
        hits(&engine(&c, true), &c.text),
        hits(&engine(&c, false), &c.text)
    );
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Terms of 2 to 24 characters from `alphabet`.
fn random_terms(rng: &mut Rng, alphabet: &[&str], n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let len = 2 + rng.below(23);
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        })
        .collect()
}

/// Large lists take the matcher's two-thread build (tiers of thousands of
/// terms): on text made of the terms in changed case, of their pieces and
/// of filler, it finds what one automaton finds, case-sensitive and not,
/// with ASCII-only lists (a byte map of one OR) and with Greek and Cyrillic
/// ones (a byte table).
#[test]
fn large_lists_find_what_the_automaton_finds() {
    let ascii: &[&str] = &[
        "a", "b", "c", "d", "e", "K", "Q", "x", "Y", "z", " ", "-", "0",
    ];
    let mixed: &[&str] = &[
        "a", "b", "c", "D", "e", "k", " ", "σ", "Σ", "ς", "д", "Д", "р", "Р", "ϴ", "θ", "中", "é",
        "É", "Ā", "ā", "ϑ", "α", "κ", "ϰ",
    ];
    for (seed, alphabet) in [(7u64, ascii), (11, mixed)] {
        let mut rng = Rng(seed);
        let terms = random_terms(&mut rng, alphabet, 12_000);
        let mut text = String::new();
        for _ in 0..6_000 {
            let t = &terms[rng.below(terms.len())];
            match rng.below(6) {
                0 => text.push_str(t),
                1 => text.push_str(&t.to_uppercase()),
                2 => text.push_str(&t.to_lowercase()),
                3 => text.push('\n'),
                4 => {
                    let cut = t
                        .char_indices()
                        .nth(t.chars().count() / 2)
                        .map_or(0, |c| c.0);
                    text.push_str(&t[cut..]);
                }
                _ => {
                    for _ in 0..rng.below(12) {
                        text.push_str(alphabet[rng.below(alphabet.len())]);
                    }
                }
            }
        }
        for ignore_case in [false, true] {
            let c = Case {
                terms: terms
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.clone(), i % 5 == 0, false))
                    .collect(),
                text: text.clone(),
                ignore_case,
                whole_word: false,
            };
            let fast = hits(&engine(&c, true), &c.text);
            let reference = hits(&engine(&c, false), &c.text);
            assert!(
                reference.len() > 1000,
                "{seed} {ignore_case}: {}",
                reference.len()
            );
            assert_eq!(fast.len(), reference.len(), "{seed} {ignore_case}");
            assert!(fast == reference, "{seed} {ignore_case}: the hits differ");
        }
    }
}
