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
//! (`ß` → `ss`) are not done.
//!
//! Invalid UTF-8 is copied through unchanged.

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

/// Fold `text` into `out` (cleared first). `out.len() == text.len()` afterwards,
/// and every byte offset in `out` is the same character's offset in `text`.
pub fn fold_into(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len());
    if text.is_ascii() {
        out.extend(text.iter().map(|&b| ASCII_LOWER[b as usize]));
        return;
    }
    for chunk in text.utf8_chunks() {
        fold_str(chunk.valid(), out);
        out.extend_from_slice(chunk.invalid());
    }
    debug_assert_eq!(out.len(), text.len());
}

fn fold_str(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // ASCII run fast path.
        let start = i;
        while i < bytes.len() && bytes[i] < 0x80 {
            i += 1;
        }
        out.extend(bytes[start..i].iter().map(|&b| ASCII_LOWER[b as usize]));
        if i >= bytes.len() {
            break;
        }
        // Non-ASCII run: per char. `i` is on a char boundary of a valid str.
        let rest = &s[i..];
        let mut consumed = 0;
        for c in rest.chars() {
            if c.is_ascii() {
                break;
            }
            let f = fold_char(c);
            let mut buf = [0u8; 4];
            out.extend_from_slice(f.encode_utf8(&mut buf).as_bytes());
            consumed += c.len_utf8();
        }
        i += consumed;
    }
}

/// Fold a string (for terms).
pub fn fold_str_owned(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    fold_str(s, &mut out);
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
    }

    #[test]
    fn chinese_unchanged() {
        assert_eq!(f("勒索软件 APT"), "勒索软件 apt");
    }
}
