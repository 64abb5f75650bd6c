//! Detached JWS over bundles: RFC 7515 compact serialization with the payload left
//! out, and RFC 7797's unencoded payload (`"b64": false`, listed in `crit`), so the
//! signature covers the bundle file's bytes as they are and the file stays plain
//! STIX. The algorithm is `EdDSA` (RFC 8037) with Ed25519.
//!
//! ```
//! use liaison_protect::jws;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
//! let sig = jws::sign_detached(b"{\"type\":\"bundle\"}", &key, "cert-2026").unwrap();
//! assert!(sig.contains(".."));
//! let pinned = [("cert-2026".to_string(), key.verifying_key())];
//! assert_eq!(jws::verify_detached(&sig, b"{\"type\":\"bundle\"}", &pinned).unwrap(), "cert-2026");
//! assert!(jws::verify_detached(&sig, b"{\"type\":\"bundlf\"}", &pinned).is_err());
//! ```

use crate::{b64, b64url, malformed, ProtectError};
use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use serde_json::{json, Value};

/// Parse a base64 (standard or URL-safe) Ed25519 public key.
pub fn parse_public_key(
    text: &str,
    what: &str,
) -> Result<ed25519_dalek::VerifyingKey, ProtectError> {
    let t = text.trim();
    let raw = b64()
        .decode(t)
        .or_else(|_| b64url().decode(t.trim_end_matches('=')))
        .map_err(|e| malformed(what, format!("not base64: {e}")))?;
    let arr: [u8; 32] = raw
        .try_into()
        .map_err(|_| malformed(what, "an Ed25519 public key is 32 bytes"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&arr)
        .map_err(|e| malformed(what, format!("not an Ed25519 public key: {e}")))
}

/// A public key as standard base64, the form the config pins.
pub fn public_key_text(k: &ed25519_dalek::VerifyingKey) -> String {
    b64().encode(k.as_bytes())
}

fn signing_input(header_b64: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(header_b64.len() + 1 + payload.len());
    m.extend_from_slice(header_b64.as_bytes());
    m.push(b'.');
    m.extend_from_slice(payload);
    m
}

/// Sign `payload`, returning `header..signature` (the empty middle is the detached payload).
pub fn sign_detached(
    payload: &[u8],
    key: &ed25519_dalek::SigningKey,
    kid: &str,
) -> Result<String, ProtectError> {
    let header = json!({"alg": "EdDSA", "b64": false, "crit": ["b64"], "kid": kid});
    let h = b64url().encode(header.to_string());
    let sig = key.sign(&signing_input(&h, payload));
    Ok(format!("{h}..{}", b64url().encode(sig.to_bytes())))
}

/// Verify a detached JWS over `payload` against pinned `(kid, key)` pairs; returns
/// the `kid` that signed. Refuses other algorithms, an encoded payload, unknown
/// critical headers and keys not pinned.
pub fn verify_detached(
    jws: &str,
    payload: &[u8],
    pinned: &[(String, ed25519_dalek::VerifyingKey)],
) -> Result<String, ProtectError> {
    let jws = jws.trim();
    let mut parts = jws.split('.');
    let (Some(h), Some(mid), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "signature",
            "expected a detached JWS: header..signature",
        ));
    };
    if !mid.is_empty() {
        return Err(malformed(
            "signature",
            "the payload part is not empty: not a detached JWS",
        ));
    }
    let header: Value = b64url()
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("signature header", "not base64url JSON"))?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(malformed(
            "signature header alg",
            format!(
                "{} (expected EdDSA)",
                header.get("alg").unwrap_or(&Value::Null)
            ),
        ));
    }
    if header.get("b64") != Some(&Value::Bool(false)) {
        return Err(malformed(
            "signature header b64",
            "expected false (unencoded detached payload, RFC 7797)",
        ));
    }
    let crit: Vec<&str> = header
        .get("crit")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(c) = crit.iter().find(|c| **c != "b64") {
        return Err(malformed(
            "signature header crit",
            format!("unknown critical header '{c}'"),
        ));
    }
    if !crit.contains(&"b64") {
        return Err(malformed(
            "signature header crit",
            "must list b64 (RFC 7797)",
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("signature header kid", "missing"))?;
    let Some((_, key)) = pinned.iter().find(|(k, _)| k == kid) else {
        return Err(ProtectError::BadSignature(format!(
            "signed with key '{kid}', which is not pinned (pinned: {})",
            pinned
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let raw = b64url()
        .decode(s)
        .map_err(|e| malformed("signature", e.to_string()))?;
    let sig = ed25519_dalek::Signature::from_slice(&raw)
        .map_err(|e| malformed("signature", e.to_string()))?;
    key.verify(&signing_input(h, payload), &sig).map_err(|_| {
        ProtectError::BadSignature(format!(
            "the bundle does not match the signature of key '{kid}': it was changed after signing, or signed by another key"
        ))
    })?;
    Ok(kid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_should() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let sig = sign_detached(b"data", &k, "a").unwrap();
        let pinned = vec![("a".to_string(), k.verifying_key())];
        assert_eq!(verify_detached(&sig, b"data", &pinned).unwrap(), "a");
        let e = verify_detached(&sig, b"data", &[("b".into(), k.verifying_key())]).unwrap_err();
        assert!(e.to_string().contains("not pinned"), "{e}");
        let e = verify_detached(&sig, b"data", &[("a".into(), other.verifying_key())]).unwrap_err();
        assert!(matches!(e, ProtectError::BadSignature(_)), "{e}");
        // An attached (non-detached) form is refused.
        let parts: Vec<&str> = sig.split('.').collect();
        let attached = format!("{}.ZGF0YQ.{}", parts[0], parts[2]);
        assert!(verify_detached(&attached, b"data", &pinned).is_err());
        // A header claiming another algorithm is refused before any key is used.
        let h = b64url().encode(r#"{"alg":"none","b64":false,"crit":["b64"],"kid":"a"}"#);
        let e = verify_detached(&format!("{h}..{}", parts[2]), b"data", &pinned).unwrap_err();
        assert!(e.to_string().contains("EdDSA"), "{e}");
        assert_eq!(
            parse_public_key(&public_key_text(&k.verifying_key()), "k").unwrap(),
            k.verifying_key()
        );
        assert!(parse_public_key("AAAA", "partners[0].key")
            .unwrap_err()
            .to_string()
            .contains("partners[0].key"));
    }
}
