//! Text preparation for the full-text index.
//!
//! The index tokenizes words with SQLite's `unicode61`; CJK text has no spaces, so
//! before indexing each run of CJK characters is rewritten as its overlapping
//! bigrams plus its last character (`恶意软件` → `恶意 意软 软件 件`). A query
//! of two CJK characters or more becomes the phrase of its bigrams, which matches
//! exactly where the query is a substring; a single character matches as a prefix.
//! This is what makes two-character Chinese words findable, which a trigram index
//! alone cannot do.

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x3400..=0x4DBF      // CJK Extension A
        | 0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B–F, compatibility supplement
}

/// Rewrite text for indexing: CJK runs become overlapping bigrams, the rest is kept.
///
/// ```
/// assert_eq!(liaison_store::segment_for_index("APT 恶意软件 x"), "APT  恶意 意软 软件 件  x");
/// ```
pub fn segment_for_index(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 3);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        out.push(' ');
        for w in run.windows(2) {
            out.push(w[0]);
            out.push(w[1]);
            out.push(' ');
        }
        if let Some(last) = run.last() {
            out.push(*last);
        }
        out.push(' ');
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Turn user text into an FTS5 query: every term must match; words match as
/// prefixes, CJK as substrings. Returns `None` when no term is left.
///
/// ```
/// assert_eq!(liaison_store::fts_query("poison ivy").as_deref(), Some(r#""poison"* AND "ivy"*"#));
/// assert_eq!(liaison_store::fts_query("软件").as_deref(), Some(r#""软件""#));
/// assert_eq!(liaison_store::fts_query("恶意软件").as_deref(), Some(r#""恶意 意软 软件""#));
/// ```
pub fn fts_query(text: &str) -> Option<String> {
    let mut parts = Vec::new();
    for term in text.split_whitespace() {
        // Split a term into its CJK and non-CJK pieces: "APT攻击" is two pieces.
        let mut pieces: Vec<(bool, String)> = Vec::new();
        for c in term.chars() {
            let cjk = is_cjk(c);
            match pieces.last_mut() {
                Some((k, s)) if *k == cjk => s.push(c),
                _ => pieces.push((cjk, c.to_string())),
            }
        }
        for (cjk, piece) in pieces {
            if cjk {
                let chars: Vec<char> = piece.chars().collect();
                if chars.len() == 1 {
                    parts.push(format!("\"{}\"*", chars[0]));
                } else {
                    let grams: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
                    parts.push(format!("\"{}\"", grams.join(" ")));
                }
            } else {
                // Keep letters and digits; the tokenizer splits on the rest anyway, and
                // stray quotes or operators must not reach FTS5's query syntax.
                let cleaned: String = piece
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                    .collect();
                let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
                if !cleaned.is_empty() {
                    parts.push(format!("\"{cleaned}\"*"));
                }
            }
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_neutralised() {
        assert_eq!(
            fts_query("a\"b OR c*").as_deref(),
            Some(r#""a b"* AND "OR"* AND "c"*"#)
        );
        assert_eq!(fts_query("  \"*  "), None);
    }

    #[test]
    fn dotted_values_become_phrases() {
        assert_eq!(
            fts_query("evil.example.com").as_deref(),
            Some(r#""evil example com"*"#)
        );
    }

    #[test]
    fn mixed_term_splits() {
        assert_eq!(
            fts_query("APT攻击").as_deref(),
            Some(r#""APT"* AND "攻击""#)
        );
    }
}
