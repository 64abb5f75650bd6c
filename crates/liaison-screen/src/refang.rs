//! Refanging: turn defanged indicators (`hxxp://evil[.]com`, `user[@]x(dot)org`)
//! back into their real form, keeping a map to the original byte offsets.

use aho_corasick::{AhoCorasick, MatchKind};
use std::sync::OnceLock;

/// Defang markers and what they stand for.
const MARKERS: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    (" [dot] ", "."),
    (" (dot) ", "."),
    ("\\.", "."),
    ("[@]", "@"),
    ("(@)", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    (" [at] ", "@"),
    (" (at) ", "@"),
    ("[:]", ":"),
    ("[://]", "://"),
    ("[:]//", "://"),
    ("[/]", "/"),
    ("hxxp", "http"),
    ("hxxps", "https"),
    ("fxp://", "ftp://"),
];

/// The marker automaton, built once.
pub(crate) fn markers() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(MARKERS.iter().map(|(m, _)| m))
            .expect("static defang markers build")
    })
}

/// Does `text` contain any defang marker?
pub fn is_defanged(text: &[u8]) -> bool {
    markers().is_match(text)
}

/// Refang `text` into `out`, filling `map` so that `map[i]` is the offset in
/// `text` of byte `i` of `out` (`map` has one more entry, for the end).
/// Returns whether anything was replaced.
pub fn refang_into(text: &[u8], out: &mut Vec<u8>, map: &mut Vec<u32>) -> bool {
    out.clear();
    map.clear();
    let mut last = 0;
    let mut any = false;
    for m in markers().find_iter(text) {
        any = true;
        for i in last..m.start() {
            out.push(text[i]);
            map.push(i as u32);
        }
        let repl = MARKERS[m.pattern().as_usize()].1.as_bytes();
        // Keep the case of `hXXp` → `hTTp`? No: schemes are case-insensitive; use lowercase.
        for (k, &b) in repl.iter().enumerate() {
            out.push(b);
            // Spread the replacement over the marker's span, clamped.
            map.push((m.start() + k.min(m.len().saturating_sub(1))) as u32);
        }
        last = m.end();
    }
    for i in last..text.len() {
        out.push(text[i]);
        map.push(i as u32);
    }
    map.push(text.len() as u32);
    any
}

/// Refang a string (convenience for tests and callers).
///
/// ```
/// assert_eq!(liaison_screen::refang::refang("hxxps://evil[.]example(dot)com/a"), "https://evil.example.com/a");
/// assert_eq!(liaison_screen::refang::refang("bob[@]corp[.]org"), "bob@corp.org");
/// ```
pub fn refang(text: &str) -> String {
    let mut out = Vec::new();
    let mut map = Vec::new();
    refang_into(text.as_bytes(), &mut out, &mut map);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(refang("hxxp://a[.]b"), "http://a.b");
        assert_eq!(refang("HXXPS://a(.)b"), "https://a.b");
        assert_eq!(refang("a [dot] b (dot) c"), "a.b.c");
        assert_eq!(refang("x[at]y[.]com"), "x@y.com");
        assert_eq!(refang("1[.]2[.]3[.]4"), "1.2.3.4");
        assert_eq!(refang("http[:]//x[.]com"), "http://x.com");
        assert_eq!(refang("plain text"), "plain text");
    }

    #[test]
    fn map_points_back() {
        let t = b"see evil[.]com now";
        let mut out = Vec::new();
        let mut map = Vec::new();
        assert!(refang_into(t, &mut out, &mut map));
        assert_eq!(out, b"see evil.com now");
        let s = out.windows(8).position(|w| w == b"evil.com").unwrap();
        let e = s + 8;
        assert_eq!(&t[map[s] as usize..map[e] as usize], b"evil[.]com");
        assert_eq!(map.len(), out.len() + 1);
    }
}
