//! HMAC-SHA256 signing of webhook bodies (RFC 2104 over SHA-256).
//!
//! The server sends `X-Liaison-Signature: sha256=<hex>` with every webhook; the
//! receiver recomputes it over the raw body with the shared secret.

use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Liaison-Signature";

/// HMAC-SHA256 of `body` under `key`.
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes keys of any length; this cannot fail.
    let mut m = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The value of the `X-Liaison-Signature` header for `body`: `sha256=<lowercase hex>`.
pub fn signature_header(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, body)))
}

/// Check a received header value against the body, in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hexsig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hexsig) else {
        return false;
    };
    let want = hmac_sha256(secret, body);
    given.len() == want.len()
        && given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_cases() {
        // Test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn header_round_trip() {
        let h = signature_header(b"s3cret", b"{\"a\":1}");
        assert!(h.starts_with("sha256="));
        assert!(verify_signature(b"s3cret", b"{\"a\":1}", &h));
        assert!(!verify_signature(b"s3cret", b"{\"a\":2}", &h));
        assert!(!verify_signature(b"other", b"{\"a\":1}", &h));
        assert!(!verify_signature(b"s3cret", b"{\"a\":1}", "md5=00"));
    }
}
