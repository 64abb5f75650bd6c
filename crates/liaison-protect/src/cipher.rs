//! The versioned AEAD envelope and key derivation.
//!
//! Every encrypted item is `version (1 byte) ‖ nonce ‖ ciphertext ‖ tag`. Version 1 is
//! AES-256-GCM with a random 96-bit nonce; a later algorithm gets a new tag and old
//! items stay readable until they are re-encrypted. The associated data binds an
//! item to its place (which key, which object, which field), so a ciphertext moved
//! elsewhere fails to open.

use crate::{malformed, ProtectError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Version tag of AES-256-GCM with a 96-bit random nonce.
pub const V1_AES256_GCM: u8 = 1;
const NONCE: usize = 12;
const TAG: usize = 16;

/// A 256-bit symmetric key, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.fingerprint())
    }
}

impl Key {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key(k)
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Key(b)
    }

    /// The raw bytes (for handing to SQLCipher).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parse 64 hex digits or standard base64 of 32 bytes (surrounding whitespace allowed).
    pub fn parse(text: &str, what: &str) -> Result<Self, ProtectError> {
        let t = text.trim();
        let mut bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|e| malformed(what, e.to_string()))?
        } else {
            use base64::Engine;
            crate::b64().decode(t).map_err(|_| {
                malformed(
                    what,
                    "expected a 256-bit key: 64 hex digits or base64 of 32 bytes",
                )
            })?
        };
        if bytes.len() != 32 {
            let n = bytes.len();
            bytes.zeroize();
            return Err(malformed(
                what,
                format!("expected a 256-bit key (32 bytes), got {n} bytes"),
            ));
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(Key(k))
    }

    /// Hex of the key, for SQLCipher's raw-key syntax. The caller wipes it.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }

    /// A short public fingerprint (first 8 bytes of a domain-separated SHA-256), which
    /// tells keys apart in errors and history without revealing them.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"liaison key fingerprint\0");
        h.update(self.0);
        hex::encode(&h.finalize()[..8])
    }
}

/// argon2id cost parameters and salt, kept beside what the derived key protects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub alg: String,
    /// Salt (base64).
    pub salt: String,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl KdfParams {
    /// Fresh parameters: a random salt and OWASP's argon2id recommendation (64 MiB, 3 passes).
    pub fn generate() -> Self {
        use base64::Engine;
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        KdfParams {
            alg: "argon2id".into(),
            salt: crate::b64().encode(salt),
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }

    /// Cheap parameters for tests (never for real keys).
    pub fn insecure_for_tests() -> Self {
        KdfParams {
            m_kib: 64,
            t: 1,
            ..Self::generate()
        }
    }

    /// Derive the key of a passphrase.
    pub fn derive(&self, passphrase: &[u8]) -> Result<Key, ProtectError> {
        use base64::Engine;
        if self.alg != "argon2id" {
            return Err(malformed(
                "kdf.alg",
                format!("unknown key derivation '{}', expected argon2id", self.alg),
            ));
        }
        let salt = crate::b64()
            .decode(&self.salt)
            .map_err(|e| malformed("kdf.salt", e.to_string()))?;
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| malformed("kdf", e.to_string()))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        a.hash_password_into(passphrase, &salt, &mut out)
            .map_err(|e| malformed("kdf", e.to_string()))?;
        Ok(Key(out))
    }
}

/// Encrypt `plain` under `key`, bound to `aad`, as a version-1 envelope.
pub fn seal(key: &Key, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, ProtectError> {
    let cipher = Aes256Gcm::new_from_slice(&key.0).map_err(|e| malformed("key", e.to_string()))?;
    let mut nonce = [0u8; NONCE];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| malformed("plaintext", "too long to encrypt"))?;
    let mut out = Vec::with_capacity(1 + NONCE + ct.len());
    out.push(V1_AES256_GCM);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The version tag of an envelope.
pub fn version_of(item: &[u8]) -> Option<u8> {
    item.first().copied()
}

/// Decrypt an envelope made by [`seal`] with the same key and `aad`.
pub fn open(key: &Key, aad: &[u8], item: &[u8]) -> Result<Vec<u8>, ProtectError> {
    open_named(key, aad, item, "encrypted item")
}

/// [`open`], naming `what` in errors.
pub fn open_named(key: &Key, aad: &[u8], item: &[u8], what: &str) -> Result<Vec<u8>, ProtectError> {
    match item.first() {
        None => Err(malformed(what, "empty")),
        Some(&V1_AES256_GCM) => {
            if item.len() < 1 + NONCE + TAG {
                return Err(malformed(what, "shorter than nonce and tag"));
            }
            let cipher =
                Aes256Gcm::new_from_slice(&key.0).map_err(|e| malformed("key", e.to_string()))?;
            cipher
                .decrypt(
                    Nonce::from_slice(&item[1..1 + NONCE]),
                    Payload {
                        msg: &item[1 + NONCE..],
                        aad,
                    },
                )
                .map_err(|_| ProtectError::Decrypt { what: what.into() })
        }
        Some(&v) => Err(ProtectError::UnknownVersion {
            what: what.into(),
            version: v,
        }),
    }
}

/// An AES-256-GCM key made ready once, for sealing many small items fast (audit
/// records): the key schedule is computed once and nonces come from the thread's
/// CSPRNG instead of a system call per item. Items are the same version-1 envelopes
/// as [`seal`] makes, so [`open`] reads them too.
pub struct Sealer {
    cipher: Aes256Gcm,
    fingerprint: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.fingerprint)
    }
}

impl Sealer {
    /// A sealer for `key`.
    pub fn new(key: &Key) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(key.0.as_ref().into()),
            fingerprint: key.fingerprint(),
        }
    }

    /// The key's public fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypt `plain` bound to `aad` as a version-1 envelope.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, ProtectError> {
        let mut nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| malformed("plaintext", "too long to encrypt"))?;
        let mut out = Vec::with_capacity(1 + NONCE + ct.len());
        out.push(V1_AES256_GCM);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypt an envelope sealed under this key and `aad`, naming `what` in errors.
    pub fn open(&self, aad: &[u8], item: &[u8], what: &str) -> Result<Vec<u8>, ProtectError> {
        match item.first() {
            None => Err(malformed(what, "empty")),
            Some(&V1_AES256_GCM) => {
                if item.len() < 1 + NONCE + TAG {
                    return Err(malformed(what, "shorter than nonce and tag"));
                }
                self.cipher
                    .decrypt(
                        Nonce::from_slice(&item[1..1 + NONCE]),
                        Payload {
                            msg: &item[1 + NONCE..],
                            aad,
                        },
                    )
                    .map_err(|_| ProtectError::Decrypt { what: what.into() })
            }
            Some(&v) => Err(ProtectError::UnknownVersion {
                what: what.into(),
                version: v,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let k = Key::generate();
        let s = seal(&k, b"a", b"hello").unwrap();
        assert_eq!(s[0], V1_AES256_GCM);
        assert_eq!(open(&k, b"a", &s).unwrap(), b"hello");
        assert!(matches!(
            open(&k, b"b", &s),
            Err(ProtectError::Decrypt { .. })
        ));
        assert!(matches!(
            open(&Key::generate(), b"a", &s),
            Err(ProtectError::Decrypt { .. })
        ));
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(open(&k, b"a", &t).is_err());
        let mut v = s;
        v[0] = 9;
        assert_eq!(
            open(&k, b"a", &v),
            Err(ProtectError::UnknownVersion {
                what: "encrypted item".into(),
                version: 9
            })
        );
    }

    #[test]
    fn sealer_items_are_ordinary_envelopes() {
        let k = Key::generate();
        let s = Sealer::new(&k);
        let item = s.seal(b"ctx", b"payload").unwrap();
        assert_eq!(open(&k, b"ctx", &item).unwrap(), b"payload");
        assert_eq!(s.open(b"ctx", &item, "x").unwrap(), b"payload");
        assert!(s.open(b"other", &item, "x").is_err());
        assert_ne!(
            s.seal(b"ctx", b"payload").unwrap(),
            item,
            "fresh nonce each time"
        );
    }

    #[test]
    fn parse_keys() {
        let k = Key::generate();
        assert_eq!(Key::parse(&hex::encode(k.as_bytes()), "k").unwrap(), k);
        use base64::Engine;
        assert_eq!(
            Key::parse(&crate::b64().encode(k.as_bytes()), "k").unwrap(),
            k
        );
        let e = Key::parse("abcd", "LIAISON_MASTER_KEY").unwrap_err();
        assert!(e.to_string().contains("LIAISON_MASTER_KEY"), "{e}");
        assert!(e.to_string().contains("32 bytes"), "{e}");
    }

    #[test]
    fn passphrase_derivation_depends_on_salt_and_passphrase() {
        let p = KdfParams::insecure_for_tests();
        let a = p.derive(b"correct horse").unwrap();
        assert_eq!(a, p.derive(b"correct horse").unwrap());
        assert_ne!(a, p.derive(b"correct horsf").unwrap());
        let q = KdfParams::insecure_for_tests();
        assert_ne!(a, q.derive(b"correct horse").unwrap());
    }
}
