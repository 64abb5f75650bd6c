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
    let mut any = false;
    for_each_marker(text, |_, _| {
        any = true;
        false
    });
    any
}

/// Call `f(start, end)` for defang markers in `text`, in order, until it
/// returns false. Candidates are found with memchr (`[ ( { \ x X`) and only
/// confirmed with the marker automaton around them, which is much cheaper
/// than running the automaton over all the text.
pub(crate) fn for_each_marker(text: &[u8], mut f: impl FnMut(usize, usize) -> bool) {
    let ac = markers();
    let mut next = 0;
    let mut check = |pos: usize, next: &mut usize| -> bool {
        if pos < *next {
            return true;
        }
        let b = text[pos];
        let after = text.get(pos + 1).copied().unwrap_or(0);
        let plausible = match b {
            b'[' | b'(' | b'{' => {
                matches!(after, b'.' | b'@' | b':' | b'/' | b'd' | b'D' | b'a' | b'A')
            }
            b'\\' => after == b'.',
            // hxxp / fxp: at the first x.
            _ => {
                pos > 0
                    && matches!(text[pos - 1], b'h' | b'H' | b'f' | b'F')
                    && matches!(after, b'x' | b'X' | b'p' | b'P')
            }
        };
        if !plausible {
            return true;
        }
        let lo = pos.saturating_sub(1);
        let hi = (pos + 8).min(text.len());
        match ac.find(&text[lo..hi]) {
            Some(m) => {
                *next = lo + m.end();
                f(lo + m.start(), lo + m.end())
            }
            None => true,
        }
    };
    // Merge the two candidate streams in order.
    let mut a = memchr::memchr3_iter(b'[', b'(', b'{', text).peekable();
    let mut b = memchr::memchr3_iter(b'\\', b'x', b'X', text).peekable();
    loop {
        let pos = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        let Some(pos) = pos else { break };
        if !check(pos, &mut next) {
            break;
        }
    }
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
        out.extend_from_slice(&text[last..m.start()]);
        map.extend((last..m.start()).map(|i| i as u32));
        let repl = MARKERS[m.pattern().as_usize()].1.as_bytes();
        // Keep the case of `hXXp` → `hTTp`? No: schemes are case-insensitive; use lowercase.
        for (k, &b) in repl.iter().enumerate() {
            out.push(b);
            // Spread the replacement over the marker's span, clamped.
            map.push((m.start() + k.min(m.len().saturating_sub(1))) as u32);
        }
        last = m.end();
    }
    out.extend_from_slice(&text[last..]);
    map.extend((last..text.len()).map(|i| i as u32));
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
        for t in [
            "a[.]b",
            "x (dot) y",
            "hXXps://a",
            "fxp://x",
            "a\\.b",
            "u[@]x",
            "a[:]b",
            "x [at] y",
        ] {
            assert!(is_defanged(t.as_bytes()), "{t}");
        }
        for t in ["sshd[123]: x", "f(x) = [a, b]", "box of xxl", "plain"] {
            assert!(!is_defanged(t.as_bytes()), "{t}");
        }
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
