//! Liaison's protection primitives, free of IO: the store and the binary do the
//! reading and writing, this crate does the cryptography and the rules.
//!
//! - [`cipher`]: the versioned AEAD envelope every encrypted item uses (a version
//!   byte first, so the algorithm can change later without guessing), and
//!   passphrase → key through argon2id.
//! - [`keyring`]: the data key of the store and the per-compartment keys of sealed
//!   fields, wrapped by a master key; rotation (re-wrap) and rekey bookkeeping.
//! - [`sealed`]: identities and contact details of human sources, encrypted per
//!   compartment inside the STIX object.
//! - [`admiralty`]: source reliability A–F and information credibility 1–6, and the
//!   STIX 2.1 confidence mapping of the specification's appendix.
//! - [`audit`]: the append-only hash chain, Ed25519-signed checkpoints, and a verifier
//!   that names the altered, deleted, inserted or reordered record or the truncation.
//! - [`jws`]: detached JWS (RFC 7515 with RFC 7797 unencoded payload), Ed25519.
//!
//! ```
//! use liaison_protect::cipher::{seal, open, Key};
//! let key = Key::generate();
//! let sealed = seal(&key, b"context", b"secret").unwrap();
//! assert_eq!(open(&key, b"context", &sealed).unwrap(), b"secret");
//! assert!(open(&key, b"other context", &sealed).is_err());
//! ```

pub mod admiralty;
pub mod audit;
pub mod cipher;
pub mod jws;
pub mod keyring;
pub mod sealed;

/// Errors of the protection primitives.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectError {
    /// Decryption failed: wrong key, or the data was altered.
    #[error("cannot decrypt {what}: wrong key or altered data")]
    Decrypt {
        /// What was being decrypted.
        what: String,
    },
    /// An encrypted item carries a version tag this build does not know.
    #[error("{what}: unknown encryption version {version} (this build knows 1 = AES-256-GCM)")]
    UnknownVersion {
        /// What was being decrypted.
        what: String,
        /// The tag found.
        version: u8,
    },
    /// Input was malformed.
    #[error("{what}: {reason}")]
    Malformed {
        /// Where.
        what: String,
        /// What was expected.
        reason: String,
    },
    /// A signature did not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// A key is missing.
    #[error("no key: {0}")]
    NoKey(String),
}

pub(crate) fn malformed(what: impl Into<String>, reason: impl Into<String>) -> ProtectError {
    ProtectError::Malformed {
        what: what.into(),
        reason: reason.into(),
    }
}

pub(crate) fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

pub(crate) fn b64url() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}
