//! Text decoding: feeds arrive in UTF-8, UTF-16 (with BOM) or a legacy encoding
//! named in the feed's options (`windows-1252`, `iso-8859-1`, `gbk`, `shift_jis`…).

use crate::{Error, ErrorKind};
use encoding_rs::Encoding;
use std::borrow::Cow;

/// The encoding an option names (`None`: UTF-8, with BOM sniffing).
pub fn encoding_for(name: Option<&str>) -> Result<&'static Encoding, Error> {
    match name {
        None => Ok(encoding_rs::UTF_8),
        Some(n) => Encoding::for_label(n.trim().as_bytes()).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "encoding",
                format!("unknown encoding '{n}' (expected a WHATWG label: utf-8, windows-1252, iso-8859-1, gbk, shift_jis, utf-16le…)"),
            )
        }),
    }
}

/// Decode a body. A BOM wins over the configured encoding. Invalid bytes are an
/// error naming the line, not silently replaced: a feed in the wrong encoding
/// should show in its status rather than store mangled indicators.
pub fn decode<'a>(body: &'a [u8], encoding: Option<&str>) -> Result<Cow<'a, str>, Error> {
    let enc = encoding_for(encoding)?;
    let (enc, skip) = Encoding::for_bom(body).unwrap_or((enc, 0));
    let bytes = &body[skip..];
    if enc == encoding_rs::UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                Err(Error::new(
                    ErrorKind::Encoding,
                    format!("line {line}"),
                    format!(
                        "invalid UTF-8 at byte {} (set the feed's encoding, e.g. --encoding windows-1252)",
                        skip + e.valid_up_to()
                    ),
                ))
            }
        };
    }
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors {
        let line = text
            .find('\u{FFFD}')
            .map(|i| text[..i].matches('\n').count() + 1)
            .unwrap_or(1);
        return Err(Error::new(
            ErrorKind::Encoding,
            format!("line {line}"),
            format!("bytes that are not valid {}", enc.name()),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_bom() {
        assert_eq!(decode(b"caf\xe9", Some("windows-1252")).unwrap(), "café");
        assert_eq!(decode(b"\xef\xbb\xbfabc", None).unwrap(), "abc");
        assert_eq!(decode(b"\xff\xfea\x00b\x00", None).unwrap(), "ab");
        let e = decode(b"ok\ncaf\xe9\n", None).unwrap_err();
        assert_eq!(e.at(), "line 2");
        assert!(decode(b"x", Some("klingon")).is_err());
    }
}
