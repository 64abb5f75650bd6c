//! Length-preserving Unicode simple case folding.
//!
//! Case-insensitive terms are folded once when the automaton is built, and the
//! text is folded per chunk with the same function, so the automaton itself
//! stays case-sensitive (and fast). The fold keeps every byte offset: a
//! character is replaced only by a folded character of the same UTF-8 length.
//! That covers ASCII, Latin-1, Latin Extended, Greek (final sigma included),
//! Cyrillic, Armenian, Georgian and the fullwidth forms. The few characters
//! whose fold has another UTF-8 length (KELVIN SIGN, OHM SIGN, U+0130 `İ`,
//! U+1E9E `ẞ`, long s `ſ`, …) are left as they are; multi-character folds
//! (`ß` → `ss`, `ﬁ` → `fi`, `ŉ` → `ʼn`) are not done, so `straße` and
//! `STRASSE` do not match each other. Handled: every character whose
//! lowercase is one character of the same UTF-8 length (the blocks that hold
//! them are `CASED_RANGES`, checked against all code points by a test; plus the
//! simple folds of `ς ϐ ϑ ϕ ϖ ϰ ϱ ϵ ᲀ`), and titlecase digraphs (`ǅ` → `ǆ`).
//! The test `case_folds_handled_and_not` (tests/engine.rs) pins both lists.
//!
//! Invalid UTF-8 is copied through unchanged.

use std::sync::OnceLock;

/// ASCII lowercase table.
static ASCII_LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i >= b'A' as usize && i <= b'Z' as usize {
            (i as u8) + 32
        } else {
            i as u8
        };
        i += 1;
    }
    t
};

/// Fold one character, if its fold has the same UTF-8 length.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    // Simple case folding differs from lowercasing for these.
    let f = match c {
        'ς' => 'σ',
        'ϐ' => 'β',
        'ϑ' => 'θ',
        'ϕ' => 'φ',
        'ϖ' => 'π',
        'ϰ' => 'κ',
        'ϱ' => 'ρ',
        'ϵ' => 'ε',
        'ᲀ' => 'в',
        _ => {
            let mut it = c.to_lowercase();
            match (it.next(), it.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    };
    if f.len_utf8() == c.len_utf8() {
        f
    } else {
        c
    }
}

/// Folds of the two-byte code points U+0080..U+07FF (Latin-1, Latin
/// Extended, IPA, Greek, Cyrillic, Armenian, Hebrew, Arabic, …).
fn fold2_table() -> &'static [u16; 0x780] {
    static T: OnceLock<Box<[u16; 0x780]>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Box::new([0u16; 0x780]);
        for (i, e) in t.iter_mut().enumerate() {
            let cp = i as u32 + 0x80;
            *e = char::from_u32(cp).map_or(cp, |c| fold_char(c) as u32) as u16;
        }
        t
    })
}

/// Fold only the ASCII letters of `text` into `out` (cleared first): enough
/// when every pattern searched for is ASCII, since no other character folds
/// to ASCII here.
pub fn fold_ascii_into(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(
        text.iter()
            .map(|&b| b + (((b.wrapping_sub(b'A') < 26) as u8) << 5)),
    );
}

/// Fold `text` into `out` (cleared first). `out.len() == text.len()` afterwards,
/// and every byte offset in `out` is the same character's offset in `text`.
///
/// The text is copied, ASCII letters are lowercased in one vectorisable
/// pass, and only the lead bytes of non-ASCII characters that can have a
/// case are visited after that (CJK text is skipped over).
pub fn fold_into(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // Copy and lowercase ASCII in one vectorisable pass.
    out.extend(
        text.iter()
            .map(|&b| b + (((b.wrapping_sub(b'A') < 26) as u8) << 5)),
    );
    if !text.is_ascii() {
        fold_non_ascii(out);
    }
    debug_assert_eq!(out.len(), text.len());
}

/// Fold the non-ASCII characters of `out` in place (its ASCII is folded
/// already): only the lead bytes of characters that can have a case are
/// visited.
fn fold_non_ascii(out: &mut [u8]) {
    let t2 = fold2_table();
    let n = out.len();
    let mut i = 0;
    while i < n {
        // Skip ASCII eight bytes at a time.
        while i + 8 <= n {
            let w = u64::from_le_bytes([
                out[i],
                out[i + 1],
                out[i + 2],
                out[i + 3],
                out[i + 4],
                out[i + 5],
                out[i + 6],
                out[i + 7],
            ]);
            if w & 0x8080_8080_8080_8080 != 0 {
                break;
            }
            i += 8;
        }
        if i >= n {
            break;
        }
        let b = out[i];
        match b {
            0xC2..=0xDF if i + 1 < n && out[i + 1] & 0xC0 == 0x80 => {
                let cp = ((b as u32 & 0x1F) << 6) | (out[i + 1] as u32 & 0x3F);
                let f = t2[(cp - 0x80) as usize] as u32;
                if f != cp {
                    out[i] = 0xC0 | (f >> 6) as u8;
                    out[i + 1] = 0x80 | (f & 0x3F) as u8;
                }
                i += 2;
            }
            // Three- and four-byte ranges with cased letters: U+1xxx (Georgian,
            // Cherokee, Latin Extended Additional, Greek Extended), U+2xxx
            // (letterlike symbols, Glagolitic, Coptic), U+Axxx (Cyrillic and
            // Latin Extended), U+FFxx (fullwidth), U+1xxxx (Deseret, …).
            0xE1 | 0xE2 | 0xEA | 0xEF | 0xF0 => {
                let len = if b == 0xF0 { 4 } else { 3 };
                match out
                    .get(i..i + len)
                    .and_then(|s| std::str::from_utf8(s).ok())
                {
                    Some(s) => {
                        if let Some(c) = s.chars().next() {
                            let f = fold_char(c);
                            if f != c {
                                f.encode_utf8(&mut out[i..i + len]);
                            }
                        }
                        i += len;
                    }
                    None => i += 1,
                }
            }
            // Lead bytes of ranges without case (CJK, Hangul, …): skip the
            // character, if it is one. A lead byte not followed by its
            // continuation bytes (invalid UTF-8) is passed alone: skipping
            // three or four bytes hid the cased character after it (`\xE3Ǆ`
            // kept its `Ǆ`).
            0xE0 | 0xE3..=0xE9 | 0xEB..=0xEE => i += continued(out, i, 3),
            0xF1..=0xF4 => i += continued(out, i, 4),
            _ => i += 1,
        }
    }
}

/// `len` if the lead byte at `i` is followed by `len - 1` continuation
/// bytes, else 1.
#[inline]
fn continued(out: &[u8], i: usize, len: usize) -> usize {
    match out.get(i + 1..i + len) {
        Some(rest) if rest.iter().all(|&b| b & 0xC0 == 0x80) => len,
        _ => 1,
    }
}

/// Does `text` fold (as [`fold_into`] folds it, from a character boundary)
/// to `folded`? Both have the same length; used to verify candidates without
/// folding a copy of the text.
pub(crate) fn eq_folded(text: &[u8], folded: &[u8]) -> bool {
    if text.len() != folded.len() {
        return false;
    }
    let n = text.len();
    let mut i = 0;
    while i < n {
        let b = text[i];
        if b < 0x80 {
            if ASCII_LOWER[b as usize] != folded[i] {
                return false;
            }
            i += 1;
            continue;
        }
        match b {
            0xC2..=0xDF if i + 1 < n && text[i + 1] & 0xC0 == 0x80 => {
                let cp = ((b as u32 & 0x1F) << 6) | (text[i + 1] as u32 & 0x3F);
                let f = fold2_table()[(cp - 0x80) as usize] as u32;
                if folded[i] != 0xC0 | (f >> 6) as u8 || folded[i + 1] != 0x80 | (f & 0x3F) as u8 {
                    return false;
                }
                i += 2;
            }
            0xE1 | 0xE2 | 0xEA | 0xEF | 0xF0 => {
                let len = if b == 0xF0 { 4 } else { 3 };
                match text
                    .get(i..i + len)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.chars().next())
                {
                    Some(c) => {
                        let mut buf = [0u8; 4];
                        if fold_char(c).encode_utf8(&mut buf).as_bytes() != &folded[i..i + len] {
                            return false;
                        }
                        i += len;
                    }
                    None => {
                        if b != folded[i] {
                            return false;
                        }
                        i += 1;
                    }
                }
            }
            _ => {
                // No case: compare as they are.
                let len = match b {
                    0xE0 | 0xE3..=0xE9 | 0xEB..=0xEE => 3,
                    0xF1..=0xF4 => 4,
                    _ => 1,
                }
                .min(n - i);
                if text[i..i + len] != folded[i..i + len] {
                    return false;
                }
                i += len;
            }
        }
    }
    true
}

/// The code points that hold every character with a case fold of its own
/// length (checked against all of Unicode by a test). In the supplementary
/// planes only the blocks of cased scripts: Deseret, Osage, Vithkuqi (to
/// U+105FF), Old Hungarian, Garay (U+10C80..U+10DFF), Warang Citi,
/// Medefaidrin and its neighbour (to U+16EFF), Adlam. Scanning
/// U+10000..U+1F000 whole, a `to_lowercase` each, was most of the time of
/// the first case-insensitive build.
const CASED_RANGES: [std::ops::Range<u32>; 10] = [
    0x41..0x5B,
    0x80..0x800,
    0x1000..0x3000,
    0xA000..0xB000,
    0xF000..0x10000,
    0x10400..0x10600,
    0x10C80..0x10E00,
    0x118A0..0x11900,
    0x16E40..0x16F00,
    0x1E900..0x1E960,
];

/// Every character that [`fold_into`] changes, with its fold: the ASCII
/// capitals and the non-ASCII characters in the ranges the fold visits.
pub(crate) fn case_pairs() -> &'static [(char, char)] {
    static P: OnceLock<Vec<(char, char)>> = OnceLock::new();
    P.get_or_init(|| {
        let mut v = Vec::new();
        for r in CASED_RANGES {
            for cp in r {
                if let Some(c) = char::from_u32(cp) {
                    let f = fold_char(c);
                    if f != c {
                        v.push((c, f));
                    }
                }
            }
        }
        v
    })
}

/// Fold valid UTF-8 in place, as [`fold_into`] folds it: for many keys
/// appended to one buffer and folded in one pass (a call of
/// [`fold_str_into`] for each of 100,000 terms cost a case-insensitive build
/// two milliseconds).
pub(crate) fn fold_in_place(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        *b += ((b.wrapping_sub(b'A') < 26) as u8) << 5;
    }
    if !buf.is_ascii() {
        fold_non_ascii(buf);
    }
}

/// Append the fold of `s` to `out` (for terms: many keys in one buffer), as
/// [`fold_into`] folds it.
pub(crate) fn fold_str_into(s: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend(
        s.bytes()
            .map(|b| b + (((b.wrapping_sub(b'A') < 26) as u8) << 5)),
    );
    if !s.is_ascii() {
        fold_non_ascii(&mut out[start..]);
    }
}

/// Fold a string (for terms).
pub fn fold_str_owned(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    fold_str_into(s, &mut out);
    // fold_str maps valid UTF-8 to valid UTF-8 char by char.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> String {
        let mut out = Vec::new();
        fold_into(s.as_bytes(), &mut out);
        assert_eq!(out.len(), s.len());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ascii_and_latin1() {
        assert_eq!(f("Hello WORLD"), "hello world");
        assert_eq!(f("ÉCOLE Ÿ Ä Ö Ü Ñ"), "école ÿ ä ö ü ñ");
    }

    #[test]
    fn greek_and_cyrillic() {
        assert_eq!(f("ΟΔΥΣΣΕΥΣ"), "οδυσσευσ");
        assert_eq!(f("Οδυσσεύς"), "οδυσσεύσ");
        assert_eq!(f("МОСКВА Москва"), "москва москва");
    }

    #[test]
    fn length_changing_folds_are_left_alone() {
        // KELVIN SIGN (3 bytes) would fold to 'k' (1 byte).
        assert_eq!(f("\u{212A}"), "\u{212A}");
        assert_eq!(f("İ"), "İ");
    }

    #[test]
    fn invalid_utf8_passes_through() {
        let mut out = Vec::new();
        fold_into(b"AB\xffC\xc3", &mut out);
        assert_eq!(out, b"ab\xffc\xc3");
        // A lead byte without its continuation bytes is passed alone, and
        // what follows it is folded.
        for (text, want) in [
            (&b"\xe3\xc7\x84"[..], &b"\xe3\xc7\x86"[..]),
            (b"\xf1\xc3\x89", b"\xf1\xc3\xa9"),
            (b"\xf1a\xce\xa3", b"\xf1a\xcf\x83"),
            (b"\xe3\x80", b"\xe3\x80"),
            (b"\xe4\xb8\xad\xd0\x94", "中д".as_bytes()),
        ] {
            fold_into(text, &mut out);
            assert_eq!(out, want, "{text:x?}");
        }
    }

    #[test]
    fn agrees_with_char_by_char_folding() {
        let s = "Ωmega ΣΊΣΥΦΟΣ Ärger ŒUVRE Ǆ ДОМ Ԁ Ⴀ Ḁ Ἀ Ａ ＺＺ 𐐀 勒索 ẞ \u{212A} İ ǅ x";
        let mut a = Vec::new();
        fold_into(s.as_bytes(), &mut a);
        let b: String = s.chars().map(fold_char).collect();
        assert_eq!(String::from_utf8(a).unwrap(), b);
        assert_eq!(fold_str_owned(s), b);
    }

    #[test]
    fn terms_fold_into_one_buffer() {
        let mut keys = b"Keep".to_vec();
        fold_str_into("ΑβΓ ДОМ abC 中文", &mut keys);
        fold_str_into("Ǆ", &mut keys);
        assert_eq!(String::from_utf8(keys).unwrap(), "Keepαβγ дом abc 中文ǆ");
    }

    #[test]
    fn case_pairs_hold_every_folded_character() {
        let all: Vec<(char, char)> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter_map(|c| {
                let f = fold_char(c);
                (f != c).then_some((c, f))
            })
            .collect();
        assert!(all.len() > 1400, "{}", all.len());
        let missing: Vec<_> = all.iter().filter(|p| !case_pairs().contains(p)).collect();
        assert!(missing.is_empty(), "not in CASED_RANGES: {missing:?}");
        assert_eq!(case_pairs(), &all[..]);
    }

    #[test]
    fn in_place_as_one_term_at_a_time() {
        let terms = ["Straße", "ΣΊΣΥΦΟΣ", "Москва", "雷狼", "ϱϑ", "ABC", "ǅemal"];
        let mut each = Vec::new();
        for t in terms {
            fold_str_into(t, &mut each);
        }
        let mut all = terms.concat().into_bytes();
        fold_in_place(&mut all);
        assert_eq!(all, each);
        assert_eq!(
            String::from_utf8(all).unwrap(),
            "straßeσίσυφοσмосква雷狼ρθabcǆemal"
        );
    }

    #[test]
    fn chinese_unchanged() {
        assert_eq!(f("勒索软件 APT"), "勒索软件 apt");
    }
}
