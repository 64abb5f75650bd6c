//! The audit log: an append-only hash chain with Ed25519-signed checkpoints.
//!
//! Each record holds its sequence number, the hash of the record before it and its
//! own hash. A checkpoint signs `(seq, hash)` of a record; the *head* kept apart from
//! the log vouches for `(seq, hash, length of the log in bytes)` and is renewed after
//! every append, so cutting anything off the end shows — a whole record, the checkpoint
//! line after it, or half a line. The head ([`Head`], format 3) has two parts: a
//! [`MacHead`] (HMAC-SHA256 under a [`HeadKey`] derived from the signing seed), renewed
//! after every append for about a microsecond, and an Ed25519-signed head renewed less
//! often (the writer decides; at close always). A verifier with the head key checks the
//! whole log; one with only the public key checks up to the newest signature and counts
//! what only the MAC covers as [`Report::mac_tail`], never as intact. A version-2 head
//! (the signed part alone) still verifies. The log is JSON lines, one record or
//! checkpoint a line, so ordinary tools read it.
//!
//! Record lines (version 2) are written in a fixed field order and the record's hash is
//! SHA-256 over the line's own bytes up to `,"hash":`: a verifier checks a record by
//! hashing bytes it already holds, without parsing JSON or re-serialising anything,
//! and any changed byte shows (also formatting the JSON would not change). A sealed
//! record keeps only `seq` and `prev` in clear; who, what, which and when are one
//! AES-256-GCM envelope (`enc`, with its version byte first) bound to the record's
//! number. The chain runs over the line as stored, ciphertext included: verifying
//! needs no decryption key (an auditor holds only the public key), costs no
//! decryption, and a flipped ciphertext byte breaks the hash like any other byte.
//! Version-1 lines (fields re-encoded and hashed) written before still verify.
//!
//! [`Verifier`] reads the lines in order and names what is wrong: a record whose
//! contents no longer match its hash (altered), a gap in the numbering (deleted), a
//! record out of order (reordered), one that does not belong in the chain (inserted),
//! a record whose successor chains to a different hash (altered and re-hashed, or
//! replaced), a checkpoint whose signature or hash does not hold, a log shorter than
//! its head (truncated) and a missing head. Records after the head are covered by
//! the chain but by no signature (a crash between appending and re-signing the head,
//! or a writer without the signing key): the report counts them apart from tampering
//! and does not call the log intact.

use crate::cipher::{Key, Sealer};
use crate::{b64, malformed, ProtectError};
use base64::Engine;
use ed25519_dalek::{Signer, Verifier as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// Actions Liaison records (the field is free text; these are the ones it writes).
pub mod action {
    /// Labelled content read (get, versions, graph, collection reads).
    pub const READ: &str = "read";
    /// A search (the object field holds the query).
    pub const SEARCH: &str = "search";
    /// Objects written (import, revoke, task and alert changes).
    pub const WRITE: &str = "write";
    /// A bundle exported.
    pub const EXPORT: &str = "export";
    /// Content shared with a partner (signed export, TAXII push).
    pub const SHARE: &str = "share";
    /// A login (password, token, certificate), successful or not.
    pub const LOGIN: &str = "login";
    /// A key operation (init, rotate, rekey, sign, seal).
    pub const KEY: &str = "key";
    /// A permission change (users, roles, clearances, tokens).
    pub const PERMISSION: &str = "permission";
    /// A refused operation (wrong key, bad signature, denied).
    pub const DENIED: &str = "denied";
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let t: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        // Lower case only: an upper-case digit decodes the same, and a changed byte must show.
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom("upper-case hex"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(t.as_bytes(), &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When (Unix ms).
    pub ts: i64,
    /// Who (user name, token owner, certificate's organization, or `system`).
    pub user: String,
    /// What (see [`action`]).
    pub action: String,
    /// Which object (id), query or file, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// More about it (counts, outcome, route).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Hash of the record before (zeros for the first).
    #[serde(with = "hex32")]
    pub prev: Hash,
    /// Hash of this record.
    #[serde(with = "hex32")]
    pub hash: Hash,
}

fn put(h: &mut Sha256, s: &[u8]) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s);
}

impl Record {
    /// The hash this record's contents give (version 2: over its line, see [`Record::to_line`]).
    pub fn compute_hash(&self) -> Hash {
        v2_hash(self.body().as_bytes())
    }

    /// The line up to its hash: what the hash covers.
    fn body(&self) -> String {
        let mut out = String::with_capacity(256);
        write_body(
            &mut out,
            self.seq,
            &self.prev,
            self.ts,
            &self.user,
            &self.action,
            self.object.as_deref(),
            &self.detail,
        );
        out
    }

    /// The record as one plain (version-2) JSON line, no newline: the line a plain log
    /// holds for it. For a record read from a sealed log it is the decrypted view.
    pub fn to_line(&self) -> String {
        let mut out = self.body();
        push_hash_tail(&mut out, &self.hash);
        out
    }
}

/// Start of every version-2 record line.
const V2_PREFIX: &[u8] = b"{\"v\":2,\"seq\":";
/// `,"hash":"` + 64 hex digits + `"}`: how every version-2 record line ends.
const HASH_TAIL: usize = 9 + 64 + 2;
const V2_DOMAIN: &[u8] = b"liaison-audit-v2\0";

fn v2_hash(body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(V2_DOMAIN);
    h.update(body);
    h.finalize().into()
}

fn push_hex(out: &mut String, h: &Hash) {
    let mut buf = [0u8; 64];
    // Cannot fail: the buffer is exactly twice the input.
    let _ = hex::encode_to_slice(h, &mut buf);
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

fn push_hash_tail(out: &mut String, h: &Hash) {
    out.push_str(",\"hash\":\"");
    push_hex(out, h);
    out.push_str("\"}");
}

/// A JSON string, escaped as serde_json escapes it (quotes, backslashes, controls).
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// `"ts":…,"user":…,"action":…[,"object":…][,"detail":…]`
fn push_fields(
    out: &mut String,
    ts: i64,
    user: &str,
    action: &str,
    object: Option<&str>,
    detail: &str,
) {
    use std::fmt::Write;
    let _ = write!(out, "\"ts\":{ts},\"user\":");
    push_json_str(out, user);
    out.push_str(",\"action\":");
    push_json_str(out, action);
    if let Some(o) = object {
        out.push_str(",\"object\":");
        push_json_str(out, o);
    }
    if !detail.is_empty() {
        out.push_str(",\"detail\":");
        push_json_str(out, detail);
    }
}

fn push_head(out: &mut String, seq: u64, prev: &Hash) {
    use std::fmt::Write;
    let _ = write!(out, "{{\"v\":2,\"seq\":{seq},\"prev\":\"");
    push_hex(out, prev);
    out.push('"');
}

/// The plain line up to (not including) its hash.
#[allow(clippy::too_many_arguments)]
fn write_body(
    out: &mut String,
    seq: u64,
    prev: &Hash,
    ts: i64,
    user: &str,
    action: &str,
    object: Option<&str>,
    detail: &str,
) {
    push_head(out, seq, prev);
    out.push(',');
    push_fields(out, ts, user, action, object, detail);
}

fn seal_aad(seq: u64) -> [u8; 25] {
    let mut a = [0u8; 25];
    a[..17].copy_from_slice(V2_DOMAIN);
    a[17..].copy_from_slice(&seq.to_le_bytes());
    a
}

/// The key that seals audit records of an encrypted deployment.
///
/// Derived one-way from the audit signing key's seed (which the keyring keeps wrapped
/// by the master key): it survives master-key rotation (a re-wrap) and data-key rekeys
/// untouched, which an append-only log needs, since its old records are never
/// rewritten. Knowing it reveals nothing of the signing key.
#[derive(Debug)]
pub struct AuditKey(Sealer);

impl AuditKey {
    /// The sealing key belonging to an audit signing key.
    pub fn derive(signing: &ed25519_dalek::SigningKey) -> Self {
        let seed = zeroize::Zeroizing::new(signing.to_bytes());
        let mut h = Sha256::new();
        h.update(b"liaison audit record key v1\0");
        h.update(seed.as_slice());
        AuditKey(Sealer::new(&Key::from_bytes(h.finalize().into())))
    }

    /// A sealing key given directly.
    pub fn from_key(key: &Key) -> Self {
        AuditKey(Sealer::new(key))
    }

    /// Its public fingerprint.
    pub fn fingerprint(&self) -> &str {
        self.0.fingerprint()
    }
}

fn hash_fields(
    seq: u64,
    ts: i64,
    user: &str,
    action: &str,
    object: Option<&str>,
    detail: &str,
    prev: &Hash,
) -> Hash {
    let mut h = Sha256::new();
    h.update(b"liaison-audit-v1\0");
    h.update(seq.to_le_bytes());
    h.update(ts.to_le_bytes());
    put(&mut h, user.as_bytes());
    put(&mut h, action.as_bytes());
    match object {
        None => h.update([0u8]),
        Some(o) => {
            h.update([1u8]);
            put(&mut h, o.as_bytes());
        }
    }
    put(&mut h, detail.as_bytes());
    h.update(prev);
    h.finalize().into()
}

/// A record as read by the verifier: strings borrowed from the line (no copies).
#[derive(Deserialize)]
struct RecordRef<'a> {
    seq: u64,
    ts: i64,
    #[serde(borrow)]
    user: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    object: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    detail: std::borrow::Cow<'a, str>,
    #[serde(with = "hex32")]
    prev: Hash,
    #[serde(with = "hex32")]
    hash: Hash,
}

/// The head of a chain: what the next record needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    next: u64,
    prev: Hash,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            next: 1,
            prev: [0; 32],
        }
    }
}

impl Chain {
    /// A new, empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Continue after `last`.
    pub fn after(last: &Record) -> Self {
        Chain {
            next: last.seq + 1,
            prev: last.hash,
        }
    }

    /// Continue after the record numbered `seq` with hash `hash`.
    pub fn resume(seq: u64, hash: Hash) -> Self {
        Chain {
            next: seq + 1,
            prev: hash,
        }
    }

    /// The last record's sequence number and hash (`0`, zeros when empty).
    pub fn last(&self) -> (u64, Hash) {
        (self.next - 1, self.prev)
    }

    /// Append a record (plain).
    pub fn append(
        &mut self,
        ts: i64,
        user: &str,
        action: &str,
        object: Option<&str>,
        detail: &str,
    ) -> Record {
        let mut r = Record {
            seq: self.next,
            ts,
            user: user.to_string(),
            action: action.to_string(),
            object: object.map(str::to_string),
            detail: detail.to_string(),
            prev: self.prev,
            hash: [0; 32],
        };
        r.hash = r.compute_hash();
        self.next += 1;
        self.prev = r.hash;
        r
    }

    /// Append a record's line (no newline) to `out`, sealed under `seal` when given,
    /// and return its number and hash. The writer's fast path: no [`Record`] is built.
    #[allow(clippy::too_many_arguments)]
    pub fn append_to(
        &mut self,
        out: &mut String,
        ts: i64,
        user: &str,
        action: &str,
        object: Option<&str>,
        detail: &str,
        seal: Option<&AuditKey>,
    ) -> Result<(u64, Hash), ProtectError> {
        let seq = self.next;
        let start = out.len();
        match seal {
            None => write_body(out, seq, &self.prev, ts, user, action, object, detail),
            Some(k) => {
                let mut payload = String::with_capacity(160);
                payload.push('{');
                push_fields(&mut payload, ts, user, action, object, detail);
                payload.push('}');
                let env = k.0.seal(&seal_aad(seq), payload.as_bytes())?;
                push_head(out, seq, &self.prev);
                out.push_str(",\"enc\":\"");
                b64().encode_string(&env, out);
                out.push('"');
            }
        }
        let hash = v2_hash(&out.as_bytes()[start..]);
        push_hash_tail(out, &hash);
        self.next += 1;
        self.prev = hash;
        Ok((seq, hash))
    }
}

/// A signed checkpoint: the signer vouches that record `seq` has hash `hash` and, for
/// a head, that the log is `len` bytes long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The record vouched for.
    pub seq: u64,
    /// Its hash.
    #[serde(with = "hex32")]
    pub hash: Hash,
    /// The log's length in bytes when signed (heads only): nothing may be cut off it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u64>,
    /// Fingerprint of the signing key.
    pub key: String,
    /// Ed25519 signature (base64).
    pub sig: String,
    /// Head format: absent for checkpoints and version-2 heads; 3 for a head that is
    /// always written beside a [`MacHead`] (signed, so that removing the MAC part shows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
}

fn checkpoint_message(seq: u64, hash: &Hash, len: Option<u64>, v: Option<u32>) -> Vec<u8> {
    let mut m = match (len, v) {
        (None, _) => b"liaison-audit-checkpoint-v1\0".to_vec(),
        (Some(_), None) => b"liaison-audit-head-v2\0".to_vec(),
        (Some(_), Some(v)) => format!("liaison-audit-head-v{v}\0").into_bytes(),
    };
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(hash);
    if let Some(l) = len {
        m.extend_from_slice(&l.to_le_bytes());
    }
    m
}

/// Fingerprint of a public key (first 8 bytes of its SHA-256, hex).
pub fn key_fingerprint(k: &ed25519_dalek::VerifyingKey) -> String {
    hex::encode(&Sha256::digest(k.as_bytes())[..8])
}

impl Checkpoint {
    /// Sign `(seq, hash)`.
    pub fn sign(key: &ed25519_dalek::SigningKey, seq: u64, hash: Hash) -> Self {
        Self::sign_inner(key, seq, hash, None, None)
    }

    /// Sign a head: `(seq, hash)` of the last record and the log's length in bytes.
    pub fn sign_head(key: &ed25519_dalek::SigningKey, seq: u64, hash: Hash, len: u64) -> Self {
        Self::sign_inner(key, seq, hash, Some(len), None)
    }

    /// Sign a version-3 head: like [`Checkpoint::sign_head`], and the signature also
    /// says that a [`MacHead`] goes with it.
    pub fn sign_head_v3(key: &ed25519_dalek::SigningKey, seq: u64, hash: Hash, len: u64) -> Self {
        Self::sign_inner(key, seq, hash, Some(len), Some(3))
    }

    fn sign_inner(
        key: &ed25519_dalek::SigningKey,
        seq: u64,
        hash: Hash,
        len: Option<u64>,
        v: Option<u32>,
    ) -> Self {
        let sig = key.sign(&checkpoint_message(seq, &hash, len, v));
        Checkpoint {
            seq,
            hash,
            len,
            key: key_fingerprint(&key.verifying_key()),
            sig: b64().encode(sig.to_bytes()),
            v,
        }
    }

    /// Check the signature with the pinned public key.
    pub fn verify(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), ProtectError> {
        if self.key != key_fingerprint(key) {
            return Err(ProtectError::BadSignature(format!(
                "checkpoint of record {} names key {}, the pinned key is {}",
                self.seq,
                self.key,
                key_fingerprint(key)
            )));
        }
        let raw = b64()
            .decode(&self.sig)
            .map_err(|e| malformed("checkpoint.sig", e.to_string()))?;
        let sig = ed25519_dalek::Signature::from_slice(&raw)
            .map_err(|e| malformed("checkpoint.sig", e.to_string()))?;
        key.verify(
            &checkpoint_message(self.seq, &self.hash, self.len, self.v),
            &sig,
        )
        .map_err(|_| {
            ProtectError::BadSignature(format!(
                "checkpoint of record {} (signed by key {}, pinned key is {})",
                self.seq,
                self.key,
                key_fingerprint(key)
            ))
        })
    }

    /// The checkpoint as one JSON line (no newline).
    pub fn to_line(&self) -> String {
        serde_json::json!({ "checkpoint": self }).to_string()
    }
}

/// The key that authenticates the head between two signatures (HMAC-SHA256).
///
/// Derived one-way from the audit signing key's seed, under a label of its own (so it
/// is neither the record sealing key nor anything that reveals the signing key): whoever
/// may sign the head may MAC it, and a verifier holding the master key (which unwraps
/// the seed) checks it. A MAC costs two SHA-256 compressions where an Ed25519 signature
/// costs a scalar multiplication, which is what lets one writer append a record per
/// call and still keep a head over the whole log.
#[derive(Clone)]
pub struct HeadKey {
    /// The keyed HMAC state (key XOR ipad/opad already absorbed), cloned per MAC.
    mac: hmac::Hmac<Sha256>,
}

impl std::fmt::Debug for HeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadKey(..)")
    }
}

const MAC_HEAD_DOMAIN: &[u8] = b"liaison-audit-head-mac-v3\0";

impl HeadKey {
    /// The head key belonging to an audit signing key.
    pub fn derive(signing: &ed25519_dalek::SigningKey) -> Self {
        let seed = zeroize::Zeroizing::new(signing.to_bytes());
        let mut h = Sha256::new();
        h.update(b"liaison audit head mac key v1\0");
        h.update(seed.as_slice());
        let k = zeroize::Zeroizing::new(<[u8; 32]>::from(h.finalize()));
        Self::from_bytes(k.as_slice())
    }

    /// An HMAC-SHA256 key given directly (RFC 2104: any length).
    pub fn from_bytes(key: &[u8]) -> Self {
        use hmac::Mac;
        HeadKey {
            // HMAC takes keys of any length; this cannot fail.
            mac: hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length"),
        }
    }

    /// HMAC-SHA256 of `msg`.
    pub fn mac(&self, msg: &[u8]) -> Hash {
        use hmac::Mac;
        let mut m = self.mac.clone();
        m.update(msg);
        m.finalize().into_bytes().into()
    }
}

/// The head's MAC part: the key holder vouches that record `seq` has hash `hash` and
/// that the log is `len` bytes long. Renewed after every append (cheap); the
/// Ed25519-signed part of the head is renewed less often (see `liaison_store::audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacHead {
    /// Format (3).
    pub v: u32,
    /// The last record.
    pub seq: u64,
    /// Its hash.
    #[serde(with = "hex32")]
    pub hash: Hash,
    /// The log's length in bytes.
    pub len: u64,
    /// HMAC-SHA256 under the [`HeadKey`] (hex).
    #[serde(with = "hex32")]
    pub tag: Hash,
}

fn mac_message(seq: u64, hash: &Hash, len: u64) -> [u8; 26 + 8 + 32 + 8] {
    let mut m = [0u8; 26 + 8 + 32 + 8];
    m[..26].copy_from_slice(MAC_HEAD_DOMAIN);
    m[26..34].copy_from_slice(&seq.to_le_bytes());
    m[34..66].copy_from_slice(hash);
    m[66..].copy_from_slice(&len.to_le_bytes());
    m
}

impl MacHead {
    /// MAC `(seq, hash, len)`.
    pub fn new(key: &HeadKey, seq: u64, hash: Hash, len: u64) -> Self {
        MacHead {
            v: 3,
            seq,
            hash,
            len,
            tag: key.mac(&mac_message(seq, &hash, len)),
        }
    }

    /// Whether the tag holds under `key` (compared in constant time).
    pub fn check(&self, key: &HeadKey) -> bool {
        let want = key.mac(&mac_message(self.seq, &self.hash, self.len));
        want.iter()
            .zip(self.tag.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// As JSON (the object, no newline), written by hand: it is written after every append.
    pub fn push_json(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{{\"v\":{},\"seq\":{},\"hash\":\"", self.v, self.seq);
        push_hex(out, &self.hash);
        let _ = write!(out, "\",\"len\":{},\"tag\":\"", self.len);
        push_hex(out, &self.tag);
        out.push_str("\"}");
    }
}

/// What the head file holds: the Ed25519-signed head and, from format 3, the MAC head
/// renewed after every append. A version-2 head file holds only the signed part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Head {
    /// The signed head (`checkpoint` with `len`).
    #[serde(rename = "checkpoint")]
    pub signed: Option<Checkpoint>,
    /// The MAC head.
    #[serde(default)]
    pub mac: Option<MacHead>,
}

impl Head {
    /// Only a signed head (version 2, or a head made in memory).
    pub fn signed(c: Checkpoint) -> Self {
        Head {
            signed: Some(c),
            mac: None,
        }
    }

    /// The head as one JSON line (no newline).
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push('{');
        if let Some(c) = &self.signed {
            out.push_str("\"checkpoint\":");
            out.push_str(&serde_json::to_string(c).unwrap_or_default());
        }
        if let Some(m) = &self.mac {
            if self.signed.is_some() {
                out.push(',');
            }
            out.push_str("\"mac\":");
            m.push_json(&mut out);
        }
        out.push('}');
        out
    }
}

/// Parse the head file's text (either format).
pub fn parse_head(text: &str) -> Result<Head, String> {
    let h: Head = serde_json::from_str(text.trim()).map_err(|e| e.to_string())?;
    if h.signed.is_none() && h.mac.is_none() {
        return Err("neither a signed head nor a MAC head".into());
    }
    if h.mac.as_ref().is_some_and(|m| m.v != 3) {
        return Err("unknown MAC head version".into());
    }
    Ok(h)
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A record.
    Record(Record),
    /// A checkpoint.
    Checkpoint(Checkpoint),
}

#[derive(Deserialize)]
struct CheckpointLine {
    checkpoint: Checkpoint,
}

/// Parse a line of a plain log (a sealed record is an error: see [`parse_line_with`]).
pub fn parse_line(text: &str) -> Result<Line, String> {
    parse_line_with(text, None)
}

/// A stored record line, plain or sealed.
#[derive(Deserialize)]
struct Stored {
    seq: u64,
    #[serde(default)]
    ts: i64,
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    enc: Option<String>,
    #[serde(with = "hex32")]
    prev: Hash,
    #[serde(with = "hex32")]
    hash: Hash,
}

#[derive(Deserialize)]
struct Sealed {
    ts: i64,
    user: String,
    action: String,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    detail: String,
}

/// Parse a line of the log, opening a sealed record with `key`.
pub fn parse_line_with(text: &str, key: Option<&AuditKey>) -> Result<Line, String> {
    if text.starts_with("{\"checkpoint\"") {
        return serde_json::from_str::<CheckpointLine>(text)
            .map(|c| Line::Checkpoint(c.checkpoint))
            .map_err(|e| e.to_string());
    }
    let st = serde_json::from_str::<Stored>(text).map_err(|e| e.to_string())?;
    let mut r = Record {
        seq: st.seq,
        ts: st.ts,
        user: st.user,
        action: st.action,
        object: st.object,
        detail: st.detail,
        prev: st.prev,
        hash: st.hash,
    };
    if let Some(enc) = st.enc {
        let Some(k) = key else {
            return Err(format!(
                "record {} is sealed: reading it needs the audit key (give the master key)",
                r.seq
            ));
        };
        let what = format!("audit record {}", r.seq);
        let env = b64()
            .decode(enc.as_bytes())
            .map_err(|e| format!("{what}: enc: {e}"))?;
        let plain =
            k.0.open(&seal_aad(r.seq), &env, &what)
                .map_err(|e| e.to_string())?;
        let p: Sealed =
            serde_json::from_slice(&plain).map_err(|e| format!("{what}: sealed fields: {e}"))?;
        r.ts = p.ts;
        r.user = p.user;
        r.action = p.action;
        r.object = p.object;
        r.detail = p.detail;
    }
    Ok(Line::Record(r))
}

/// The number and hash of a record line, without opening it (continuing a chain).
pub fn chain_position(line: &[u8]) -> Option<(u64, Hash)> {
    if line.starts_with(V2_PREFIX) {
        match scan_v2(line) {
            Scanned::Record { seq, hash, .. } => Some((seq, hash)),
            _ => None,
        }
    } else {
        let st = serde_json::from_slice::<Stored>(line).ok()?;
        Some((st.seq, st.hash))
    }
}

/// One line as the verifier needs it: what can be worked out of the line alone (and so
/// in parallel, on any thread), before the in-order checks.
#[derive(Debug, Clone)]
pub enum Scanned {
    /// A record: its number, the hash it chains to, its hash and whether its contents
    /// give that hash.
    Record {
        /// Number.
        seq: u64,
        /// Previous hash.
        prev: Hash,
        /// Hash written.
        hash: Hash,
        /// Contents match the hash.
        ok: bool,
    },
    /// A checkpoint and whether its signature holds under the pinned key.
    Checkpoint(Checkpoint, Result<(), String>),
    /// Not a record or checkpoint.
    Unreadable(String),
}

/// Nibble of each lower-case hex digit; 0xff for every other byte.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn lower_hex32(b: &[u8]) -> Option<Hash> {
    // Lower case only: an upper-case digit decodes the same, and a changed byte must show.
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

/// A version-2 record line: its hash is checked over its own bytes, nothing is parsed
/// but the number and the previous hash at their fixed places.
fn scan_v2(line: &[u8]) -> Scanned {
    let bad = |why: &str| Scanned::Unreadable(why.to_string());
    if line.len() < V2_PREFIX.len() + 1 + 9 + 64 + 1 + HASH_TAIL {
        return bad("record line too short");
    }
    let (body, tail) = line.split_at(line.len() - HASH_TAIL);
    if !tail.starts_with(b",\"hash\":\"") || !tail.ends_with(b"\"}") {
        return bad("record line does not end with its hash");
    }
    let Some(hash) = lower_hex32(&tail[9..73]) else {
        return bad("hash is not 64 lower-case hex digits");
    };
    let rest = &body[V2_PREFIX.len()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let seq = std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|d| d.parse::<u64>().ok());
    let Some(seq) = seq else {
        return bad("seq is not a number");
    };
    let rest = &rest[digits..];
    if rest.len() < 9 + 64 + 1 || !rest.starts_with(b",\"prev\":\"") || rest[73] != b'"' {
        return bad("no prev after seq");
    }
    let Some(prev) = lower_hex32(&rest[9..73]) else {
        return bad("prev is not 64 lower-case hex digits");
    };
    Scanned::Record {
        seq,
        prev,
        hash,
        ok: v2_hash(body) == hash,
    }
}

fn check_signature(c: &Checkpoint, key: &ed25519_dalek::VerifyingKey) -> Result<(), String> {
    if c.key != key_fingerprint(key) {
        return Err(format!(
            "names signing key {}, the pinned key is {}",
            c.key,
            key_fingerprint(key)
        ));
    }
    c.verify(key).map_err(|e| e.to_string())
}

/// Work out what one line (without its newline) is, checking a record's hash or a
/// checkpoint's signature.
pub fn scan_line(line: &[u8], key: &ed25519_dalek::VerifyingKey) -> Scanned {
    if line.starts_with(b"{\"checkpoint\"") {
        return match serde_json::from_slice::<CheckpointLine>(line) {
            Ok(c) => {
                let sig = check_signature(&c.checkpoint, key);
                Scanned::Checkpoint(c.checkpoint, sig)
            }
            Err(e) => Scanned::Unreadable(e.to_string()),
        };
    }
    if line.starts_with(V2_PREFIX) {
        return scan_v2(line);
    }
    if line.starts_with(b"{\"v\":") {
        return Scanned::Unreadable("unknown record version".into());
    }
    // Version 1: the fields re-encoded and hashed.
    match serde_json::from_slice::<RecordRef>(line) {
        Ok(r) => Scanned::Record {
            seq: r.seq,
            prev: r.prev,
            hash: r.hash,
            ok: hash_fields(
                r.seq,
                r.ts,
                &r.user,
                &r.action,
                r.object.as_deref(),
                &r.detail,
                &r.prev,
            ) == r.hash,
        },
        Err(e) => Scanned::Unreadable(e.to_string()),
    }
}

/// Scan the lines of `block` (each ended by a newline; a last line without one is
/// scanned too) on up to `threads` threads, in order.
pub fn scan_block(block: &[u8], key: &ed25519_dalek::VerifyingKey, threads: usize) -> Vec<Scanned> {
    fn scan_part(part: &[u8], key: &ed25519_dalek::VerifyingKey) -> Vec<Scanned> {
        let mut out = Vec::with_capacity(part.len() / 200 + 1);
        if part.is_empty() {
            return out;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', part) {
            out.push(scan_line(&part[start..end], key));
            start = end + 1;
        }
        if start < part.len() {
            out.push(scan_line(&part[start..], key));
        }
        out
    }
    let threads = threads.max(1);
    if threads == 1 || block.len() < 64 * 1024 {
        return scan_part(block, key);
    }
    // Cut the block into `threads` parts at line ends.
    let mut parts = Vec::with_capacity(threads);
    let mut start = 0;
    for i in 1..threads {
        let target = (block.len() * i / threads).max(start);
        let end = match block[target..].iter().position(|&b| b == b'\n') {
            Some(p) => target + p + 1,
            None => block.len(),
        };
        parts.push(&block[start..end]);
        start = end;
    }
    parts.push(&block[start..]);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts[1..]
            .iter()
            .map(|p| s.spawn(move || scan_part(p, key)))
            .collect();
        let mut out = scan_part(parts[0], key);
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

/// What a verification found wrong. `line` is the 1-based line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The line is not a record or checkpoint any more.
    Unreadable {
        /// Line.
        line: u64,
        /// The parse error.
        reason: String,
    },
    /// The record's contents do not give its hash.
    Altered {
        /// Line.
        line: u64,
        /// Its sequence number (as written, which may itself be altered).
        seq: u64,
    },
    /// The next record chains to a different hash: this record was altered and
    /// re-hashed, or replaced.
    Replaced {
        /// Line.
        line: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// Records missing from the chain.
    Deleted {
        /// First missing sequence number.
        from: u64,
        /// Last missing sequence number.
        to: u64,
        /// The line where the gap shows (the record after it).
        line: u64,
    },
    /// A record that does not belong to the chain.
    Inserted {
        /// Line.
        line: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// A record found after records that follow it.
    Reordered {
        /// Line.
        line: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// A checkpoint whose signature fails, or whose hash is not the record's.
    BadCheckpoint {
        /// Line (0: the head kept apart).
        line: u64,
        /// The record it vouches for.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The log ends before the record the newest checkpoint vouches for.
    Truncated {
        /// The last record found.
        last_seq: u64,
        /// The record the head vouches for.
        expected_seq: u64,
    },
    /// The last line is cut short (a crash while writing, or a cut).
    IncompleteLine {
        /// Line.
        line: u64,
    },
    /// The log is shorter than the signed head says: something was cut off its end.
    Shortened {
        /// Bytes found.
        len: u64,
        /// Bytes the head vouches for.
        expected_len: u64,
    },
    /// The log holds records but no signed head is there (`head.json` removed).
    HeadMissing {
        /// Records found.
        records: u64,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unreadable { line, reason } => {
                write!(f, "line {line}: unreadable record (altered): {reason}")
            }
            Problem::Altered { line, seq } => write!(
                f,
                "line {line}: record {seq} altered (its contents do not match its hash)"
            ),
            Problem::Replaced { line, seq } => write!(
                f,
                "line {line}: record {seq} altered and re-hashed, or replaced (the next record chains to another hash)"
            ),
            Problem::Deleted { from, to, line } if from == to => {
                write!(f, "line {line}: record {from} deleted")
            }
            Problem::Deleted { from, to, line } => {
                write!(f, "line {line}: records {from} to {to} deleted")
            }
            Problem::Inserted { line, seq } => write!(
                f,
                "line {line}: record numbered {seq} inserted (it does not belong to the chain)"
            ),
            Problem::Reordered { line, seq } => write!(
                f,
                "line {line}: record {seq} reordered (found after records that follow it)"
            ),
            Problem::BadCheckpoint { line: 0, seq, reason } => {
                write!(f, "head checkpoint of record {seq}: {reason}")
            }
            Problem::BadCheckpoint { line, seq, reason } => {
                write!(f, "line {line}: checkpoint of record {seq}: {reason}")
            }
            Problem::Truncated {
                last_seq,
                expected_seq,
            } => write!(
                f,
                "log truncated: it ends at record {last_seq}, but a signed checkpoint vouches for record {expected_seq}"
            ),
            Problem::IncompleteLine { line } => {
                write!(f, "line {line}: cut short (truncated mid-record)")
            }
            Problem::Shortened { len, expected_len } => write!(
                f,
                "log truncated: it is {len} bytes long, the head vouches for {expected_len} bytes"
            ),
            Problem::HeadMissing { records } => write!(
                f,
                "signed head missing (head.json): the log's end ({records} records) cannot be checked, so a cut would not show"
            ),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// Checkpoints read (and verified).
    pub checkpoints: u64,
    /// Highest sequence number in the chain.
    pub last_seq: u64,
    /// Records after the newest signature (head or checkpoint): chained but signed by
    /// nothing, so cutting them off would not show. A crash between an append and the
    /// head's re-signing leaves some; so does a writer without the signing key.
    pub unsigned_tail: u64,
    /// The newest record a valid head vouches for: an Ed25519 signature, or the head's
    /// MAC when the verifier holds the head key.
    pub signed_through: u64,
    /// The newest record a valid Ed25519 signature vouches for (what a verifier holding
    /// only the public key can check).
    pub signature_through: u64,
    /// Records after the newest signature that only the head's MAC vouches for, which
    /// this verifier could not check (it holds only the public key): counted in
    /// `unsigned_tail` too, so the log is not called intact. Verifying with the head
    /// key (the master key) checks them.
    pub mac_tail: u64,
    /// Everything found wrong, in log order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the whole log is intact and signed: nothing wrong, no unsigned tail.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.unsigned_tail == 0
    }

    /// `ok`, `unsigned_tail` (nothing wrong, but the last records are signed by
    /// nothing) or `tampered`.
    pub fn status(&self) -> &'static str {
        if !self.problems.is_empty() {
            "tampered"
        } else if self.unsigned_tail > 0 {
            "unsigned_tail"
        } else {
            "ok"
        }
    }
}

struct Accepted {
    line: u64,
    seq: u64,
    hash: Hash,
}

/// Streaming verifier: feed the lines in order, then [`Verifier::finish`].
pub struct Verifier {
    key: ed25519_dalek::VerifyingKey,
    report: Report,
    next: u64,
    prev: Hash,
    last: Option<Accepted>,
    /// The previous record was already reported: do not blame it twice.
    prev_flagged: bool,
    /// A second record with the last accepted number; the next record decides which is genuine.
    twin: Option<Accepted>,
    /// Numbers skipped, with the line where the gap showed; they may still turn up (reordered).
    missing: BTreeMap<u64, u64>,
    recent: VecDeque<(u64, Hash, u64)>,
    last_checkpoint: u64,
    /// Lines fed.
    lines: u64,
    /// Bytes fed (newlines included).
    bytes: u64,
    /// The head's record number, told before feeding, and the hash found for it.
    head_seq: Option<u64>,
    head_hash: Option<Hash>,
    /// The same for the MAC head.
    mac_seq: Option<u64>,
    mac_hash: Option<Hash>,
    /// Checks the MAC head when given.
    head_key: Option<HeadKey>,
    threads: usize,
}

impl Verifier {
    /// A verifier trusting `key` for checkpoints.
    pub fn new(key: ed25519_dalek::VerifyingKey) -> Self {
        Verifier {
            key,
            report: Report::default(),
            next: 1,
            prev: [0; 32],
            last: None,
            prev_flagged: false,
            twin: None,
            missing: BTreeMap::new(),
            recent: VecDeque::with_capacity(64),
            last_checkpoint: 0,
            lines: 0,
            bytes: 0,
            head_seq: None,
            head_hash: None,
            mac_seq: None,
            mac_hash: None,
            head_key: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }

    /// Tell the verifier which record the head vouches for before feeding, so the
    /// record's hash is kept however far from the end it lies.
    pub fn expect_head(&mut self, head: Option<&Checkpoint>) {
        self.head_seq = head.map(|h| h.seq);
    }

    /// [`Verifier::expect_head`] for a whole head file (signed and MAC parts).
    pub fn expect(&mut self, head: &Head) {
        self.head_seq = head.signed.as_ref().map(|h| h.seq);
        self.mac_seq = head.mac.as_ref().map(|m| m.seq);
    }

    /// Check the head's MAC with this key (without it, records only the MAC head
    /// vouches for are reported as [`Report::mac_tail`]).
    pub fn head_key(&mut self, key: Option<HeadKey>) {
        self.head_key = key;
    }

    /// Lines fed so far.
    pub fn lines_fed(&self) -> u64 {
        self.lines
    }

    /// Scan on at most this many threads (default: the machine's cores, up to 8).
    pub fn threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// Feed a block of whole lines (each ended by a newline) following those fed so far.
    pub fn feed_block(&mut self, block: &[u8]) {
        for s in scan_block(block, &self.key, self.threads) {
            let line = self.lines + 1;
            self.feed_scanned(line, s);
        }
        // Counted as if every line had its newline; `finish` takes off a missing last one.
        self.bytes += block.len() as u64 + u64::from(!block.is_empty() && !block.ends_with(b"\n"));
    }

    fn problem(&mut self, p: Problem) {
        self.report.problems.push(p);
    }

    fn accept(&mut self, line: u64, seq: u64, hash: Hash, flagged: bool) {
        self.next = seq + 1;
        self.prev = hash;
        self.last = Some(Accepted { line, seq, hash });
        self.prev_flagged = flagged;
        self.report.last_seq = self.report.last_seq.max(seq);
        if self.head_seq == Some(seq) {
            self.head_hash = Some(hash);
        }
        if self.mac_seq == Some(seq) {
            self.mac_hash = Some(hash);
        }
        if self.recent.len() == 64 {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, hash, line));
    }

    /// Feed line number `line` (1-based) of the log, without its newline.
    pub fn feed(&mut self, line: u64, text: &str) {
        self.bytes += text.len() as u64 + 1;
        let s = scan_line(text.as_bytes(), &self.key);
        self.feed_scanned(line, s);
    }

    /// Feed line number `line`, already scanned (see [`scan_line`]).
    pub fn feed_scanned(&mut self, line: u64, s: Scanned) {
        self.lines = line;
        match s {
            Scanned::Record {
                seq,
                prev,
                hash,
                ok,
            } => self.record(line, seq, prev, hash, ok),
            Scanned::Checkpoint(c, sig) => self.checkpoint(line, &c, sig),
            Scanned::Unreadable(reason) => {
                self.problem(Problem::Unreadable { line, reason });
                // Take it as the record expected here, so its successors are judged normally.
                self.report.records += 1;
                let seq = self.next;
                self.accept(line, seq, [0; 32], true);
            }
        }
    }

    fn record(&mut self, line: u64, seq: u64, prev: Hash, hash: Hash, self_ok: bool) {
        struct R {
            seq: u64,
            prev: Hash,
            hash: Hash,
        }
        let r = R { seq, prev, hash };
        self.report.records += 1;
        if !self_ok {
            self.problem(Problem::Altered { line, seq: r.seq });
            // An altered number would otherwise read as a gap or a reordering.
            let seq = if self.missing.contains_key(&r.seq) || r.seq < self.next {
                self.next
            } else {
                r.seq.min(self.next)
            };
            self.accept(line, seq, r.hash, true);
            return;
        }
        if r.seq == self.next {
            let twin = self.twin.take();
            if r.prev != self.prev {
                match (&twin, &self.last) {
                    (Some(t), Some(last)) if t.hash == r.prev => {
                        // The chain goes on from the twin: the record taken first was inserted.
                        let (l, s) = (last.line, last.seq);
                        self.problem(Problem::Inserted { line: l, seq: s });
                    }
                    (_, Some(last)) if !self.prev_flagged => {
                        let (l, s) = (last.line, last.seq);
                        self.problem(Problem::Replaced { line: l, seq: s });
                    }
                    _ => {}
                }
            } else if let Some(t) = twin {
                self.problem(Problem::Inserted {
                    line: t.line,
                    seq: t.seq,
                });
            }
            self.accept(line, r.seq, r.hash, false);
        } else if r.seq > self.next {
            for s in self.next..r.seq.min(self.next.saturating_add(1_000_000)) {
                self.missing.insert(s, line);
            }
            if let Some(t) = self.twin.take() {
                self.problem(Problem::Inserted {
                    line: t.line,
                    seq: t.seq,
                });
            }
            self.accept(line, r.seq, r.hash, false);
        } else if self.missing.remove(&r.seq).is_some() {
            self.problem(Problem::Reordered { line, seq: r.seq });
        } else if r.seq + 1 == self.next && self.twin.is_none() && self.last.is_some() {
            self.twin = Some(Accepted {
                line,
                seq: r.seq,
                hash: r.hash,
            });
        } else {
            self.problem(Problem::Inserted { line, seq: r.seq });
        }
    }

    fn checkpoint(&mut self, line: u64, c: &Checkpoint, sig: Result<(), String>) {
        self.report.checkpoints += 1;
        if let Err(reason) = sig {
            self.problem(Problem::BadCheckpoint {
                line,
                seq: c.seq,
                reason,
            });
            return;
        }
        if self.resolve_twin(c) {
            self.last_checkpoint = self.last_checkpoint.max(c.seq);
            return;
        }
        match self.recent.iter().rev().find(|(s, _, _)| *s == c.seq) {
            Some((_, h, _)) if *h == c.hash => {
                // Checkpoints are written right after the record they vouch for: records
                // between the two were put there later.
                let extra: Vec<(u64, u64)> = self
                    .recent
                    .iter()
                    .filter(|(s, _, _)| *s > c.seq)
                    .map(|(s, _, l)| (*l, *s))
                    .collect();
                for (line, seq) in extra {
                    self.problem(Problem::Inserted { line, seq });
                }
            }
            Some(_) => {
                if !self.prev_flagged {
                    self.problem(Problem::BadCheckpoint {
                        line,
                        seq: c.seq,
                        reason: "the record's hash is not the one signed: records up to it were rewritten".into(),
                    });
                }
            }
            None => self.problem(Problem::BadCheckpoint {
                line,
                seq: c.seq,
                reason: "vouches for a record not found just before it".into(),
            }),
        }
        self.last_checkpoint = self.last_checkpoint.max(c.seq);
    }

    /// A signed checkpoint decides between twins: the one it vouches for is genuine.
    fn resolve_twin(&mut self, c: &Checkpoint) -> bool {
        let Some(t) = self.twin.take() else {
            return false;
        };
        let Some(last) = self.last.as_ref() else {
            self.twin = Some(t);
            return false;
        };
        if t.seq != c.seq {
            self.twin = Some(t);
            return false;
        }
        if c.hash == t.hash {
            let (l, s) = (last.line, last.seq);
            self.problem(Problem::Inserted { line: l, seq: s });
            self.recent.retain(|(s, _, _)| *s != t.seq);
            self.accept(t.line, t.seq, t.hash, false);
            true
        } else if c.hash == last.hash {
            self.problem(Problem::Inserted {
                line: t.line,
                seq: t.seq,
            });
            true
        } else {
            self.twin = Some(t);
            false
        }
    }

    /// Finish: `head` is the newest checkpoint kept apart from the log, if any;
    /// `incomplete_last` that the log's last line had no newline.
    pub fn finish(self, head: Option<&Checkpoint>, incomplete_last: Option<u64>) -> Report {
        let h = Head {
            signed: head.cloned(),
            mac: None,
        };
        self.finish_head(&h, incomplete_last)
    }

    /// [`Verifier::finish`] with a whole head file: the signed head and the MAC head.
    pub fn finish_head(mut self, full: &Head, incomplete_last: Option<u64>) -> Report {
        let head = full.signed.as_ref();
        let mac_ok = match (&full.mac, &self.head_key) {
            (Some(m), Some(k)) => Some(m.check(k)),
            _ => None,
        };
        let mac_verified = full.mac.as_ref().filter(|_| mac_ok == Some(true));
        // A verified MAC head at or past the signed head speaks for the log's length.
        let length_by_mac = |h: &Checkpoint| {
            mac_verified.is_some_and(|m| m.seq >= h.seq && h.len.is_none_or(|l| m.len >= l))
        };
        let head_ok = head.map(|h| check_signature(h, &self.key));
        if let (Some(h), Some(Ok(()))) = (head, &head_ok) {
            self.resolve_twin(h);
        }
        if let Some(t) = self.twin.take() {
            self.problem(Problem::Inserted {
                line: t.line,
                seq: t.seq,
            });
        }
        if let Some(line) = incomplete_last {
            self.problem(Problem::IncompleteLine { line });
            self.bytes = self.bytes.saturating_sub(1);
        }
        // Contiguous missing numbers become one problem.
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        for (&s, &line) in &self.missing {
            match runs.last_mut() {
                Some((_, to, l)) if *to + 1 == s && *l == line => *to = s,
                _ => runs.push((s, s, line)),
            }
        }
        for (from, to, line) in runs {
            self.problem(Problem::Deleted { from, to, line });
        }
        match (head, head_ok) {
            (None, _) => {
                if self.report.records > 0 {
                    let records = self.report.records;
                    self.problem(Problem::HeadMissing { records });
                }
            }
            (Some(h), Some(Err(reason))) => self.problem(Problem::BadCheckpoint {
                line: 0,
                seq: h.seq,
                reason,
            }),
            (Some(h), _) => {
                let short_by_records = self.report.last_seq < h.seq;
                let by_mac = length_by_mac(h);
                match h.len {
                    _ if by_mac && short_by_records => {}
                    Some(len) if !by_mac && (short_by_records || self.bytes < len) => {
                        if short_by_records {
                            self.problem(Problem::Truncated {
                                last_seq: self.report.last_seq,
                                expected_seq: h.seq,
                            });
                        }
                        if self.bytes < len {
                            self.problem(Problem::Shortened {
                                len: self.bytes,
                                expected_len: len,
                            });
                        }
                    }
                    // A head without a length (written before heads carried one): the
                    // log must reach the record and hold the checkpoint line for it.
                    None if short_by_records || self.last_checkpoint < h.seq => {
                        self.problem(Problem::Truncated {
                            last_seq: self.report.last_seq,
                            expected_seq: h.seq,
                        })
                    }
                    _ => {
                        let found = self.head_hash.or_else(|| {
                            self.recent
                                .iter()
                                .rev()
                                .find(|(s, _, _)| *s == h.seq)
                                .map(|(_, hash, _)| *hash)
                        });
                        if found.is_some_and(|f| f != h.hash) && self.report.problems.is_empty() {
                            self.problem(Problem::BadCheckpoint {
                                line: 0,
                                seq: h.seq,
                                reason: "the log's record differs from the one signed".into(),
                            });
                        }
                    }
                }
                self.last_checkpoint = self.last_checkpoint.max(h.seq);
            }
        }
        if let Some(h) = head.filter(|h| h.v.is_some() && full.mac.is_none()) {
            self.problem(Problem::BadCheckpoint {
                line: 0,
                seq: h.seq,
                reason: format!(
                    "the head's MAC part is missing (removed from head.json): a cut after record {} would not show",
                    h.seq
                ),
            });
        }
        let mut covered = self.last_checkpoint;
        let mut unchecked = 0;
        match (&full.mac, mac_ok) {
            (Some(m), Some(false)) => self.problem(Problem::BadCheckpoint {
                line: 0,
                seq: m.seq,
                reason: "the head's MAC does not hold (head altered, or written under another key)"
                    .into(),
            }),
            (Some(m), Some(true)) => {
                let short_by_records = self.report.last_seq < m.seq;
                if short_by_records {
                    self.problem(Problem::Truncated {
                        last_seq: self.report.last_seq,
                        expected_seq: m.seq,
                    });
                }
                if self.bytes < m.len {
                    self.problem(Problem::Shortened {
                        len: self.bytes,
                        expected_len: m.len,
                    });
                }
                if !short_by_records && self.bytes >= m.len {
                    let found = self.mac_hash.or_else(|| {
                        self.recent
                            .iter()
                            .rev()
                            .find(|(s, _, _)| *s == m.seq)
                            .map(|(_, hash, _)| *hash)
                    });
                    if found.is_some_and(|f| f != m.hash) && self.report.problems.is_empty() {
                        self.problem(Problem::BadCheckpoint {
                            line: 0,
                            seq: m.seq,
                            reason:
                                "the log's record differs from the one the head's MAC vouches for"
                                    .into(),
                        });
                    }
                }
                covered = covered.max(m.seq);
            }
            // No key: the MAC head's claim cannot be checked, so what it covers past the
            // newest signature is not called intact (a cut there would not show).
            (Some(m), None) => unchecked = m.seq,
            (None, _) => {}
        }
        let last = self.report.last_seq;
        self.report.signature_through = self.last_checkpoint.min(last);
        self.report.signed_through = covered.min(last);
        self.report.mac_tail = unchecked.saturating_sub(self.last_checkpoint);
        self.report.unsigned_tail = last.max(unchecked).saturating_sub(covered);
        self.report.problems.sort_by_key(problem_line);
        self.report
    }
}

fn problem_line(p: &Problem) -> u64 {
    match p {
        Problem::Unreadable { line, .. }
        | Problem::Altered { line, .. }
        | Problem::Replaced { line, .. }
        | Problem::Deleted { line, .. }
        | Problem::Inserted { line, .. }
        | Problem::Reordered { line, .. }
        | Problem::BadCheckpoint { line, .. }
        | Problem::IncompleteLine { line } => *line,
        Problem::Truncated { .. } | Problem::Shortened { .. } | Problem::HeadMissing { .. } => {
            u64::MAX
        }
    }
}

/// Verify a whole log held in memory (tests, small logs); `text` as read from the file.
pub fn verify_text(
    text: &str,
    key: &ed25519_dalek::VerifyingKey,
    head: Option<&Checkpoint>,
) -> Report {
    let h = Head {
        signed: head.cloned(),
        mac: None,
    };
    verify_text_head(text, key, &h, None)
}

/// [`verify_text`] with a whole head file, checking its MAC part with `head_key` when given.
pub fn verify_text_head(
    text: &str,
    key: &ed25519_dalek::VerifyingKey,
    head: &Head,
    head_key: Option<&HeadKey>,
) -> Report {
    let mut v = Verifier::new(*key);
    v.expect(head);
    v.head_key(head_key.cloned());
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    v.feed_block(&text.as_bytes()[..whole]);
    let incomplete = if whole < text.len() {
        let n = v.lines + 1;
        v.feed(n, &text[whole..]);
        Some(n)
    } else {
        None
    };
    v.finish_head(head, incomplete)
}

/// A filter for audit queries.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only this user.
    pub user: Option<String>,
    /// Only records whose object contains this.
    pub object: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From this time (Unix ms, inclusive).
    pub since_ms: Option<i64>,
    /// Up to this time (Unix ms, exclusive).
    pub until_ms: Option<i64>,
}

impl Query {
    /// Whether `r` passes the filter.
    pub fn matches(&self, r: &Record) -> bool {
        self.user.as_ref().is_none_or(|u| &r.user == u)
            && self.action.as_ref().is_none_or(|a| &r.action == a)
            && self
                .object
                .as_ref()
                .is_none_or(|o| r.object.as_deref().is_some_and(|x| x.contains(o.as_str())))
            && self.since_ms.is_none_or(|t| r.ts >= t)
            && self.until_ms.is_none_or(|t| r.ts < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64) -> (String, ed25519_dalek::SigningKey, Checkpoint) {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut c = Chain::new();
        let mut out = String::new();
        let mut last = None;
        for i in 0..n {
            let r = c.append(1_000 + i as i64, "alice", action::READ, Some("x"), "");
            out.push_str(&r.to_line());
            out.push('\n');
            if i % 4 == 3 {
                out.push_str(&Checkpoint::sign(&sk, r.seq, r.hash).to_line());
                out.push('\n');
            }
            last = Some(r);
        }
        let last = last.unwrap();
        let head = Checkpoint::sign(&sk, last.seq, last.hash);
        out.push_str(&head.to_line());
        out.push('\n');
        (out, sk, head)
    }

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn intact_log_verifies() {
        let (text, sk, head) = log(10);
        let r = verify_text(&text, &sk.verifying_key(), Some(&head));
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.records, r.last_seq, r.unsigned_tail), (10, 10, 0));
    }

    #[test]
    fn each_tamper_is_named() {
        let (text, sk, head) = log(10);
        let vk = sk.verifying_key();
        let ls = lines(&text);
        let check = |ls: &[String], want: Problem| {
            let t = ls.join("\n") + "\n";
            let r = verify_text(&t, &vk, Some(&head));
            assert!(
                r.problems.contains(&want),
                "want {want:?}, got {:?}",
                r.problems
            );
        };
        // Record 3 is line 3 (checkpoints follow records 4 and 8).
        let mut altered = ls.clone();
        altered[2] = altered[2].replace("alice", "alicf");
        check(&altered, Problem::Altered { line: 3, seq: 3 });

        let mut deleted = ls.clone();
        deleted.remove(2);
        check(
            &deleted,
            Problem::Deleted {
                from: 3,
                to: 3,
                line: 3,
            },
        );

        let mut swapped = ls.clone();
        swapped.swap(1, 2);
        check(&swapped, Problem::Reordered { line: 3, seq: 2 });

        let mut dup = ls.clone();
        dup.insert(3, ls[1].clone());
        check(&dup, Problem::Inserted { line: 4, seq: 2 });

        // A forged record numbered like the next one, chained and hashed correctly.
        let r2: Record = serde_json::from_str(&ls[1]).unwrap();
        let mut c = Chain::after(&r2);
        let forged = c.append(5, "mallory", "read", None, "");
        let mut ins = ls.clone();
        ins.insert(2, forged.to_line());
        check(&ins, Problem::Inserted { line: 3, seq: 3 });

        // Altered and re-hashed: the successor no longer chains to it.
        let mut rehashed = ls.clone();
        let mut r3: Record = serde_json::from_str(&ls[2]).unwrap();
        r3.user = "mallory".into();
        r3.hash = r3.compute_hash();
        rehashed[2] = r3.to_line();
        check(&rehashed, Problem::Replaced { line: 3, seq: 3 });

        let truncated = &ls[..ls.len() - 4];
        check(
            truncated,
            Problem::Truncated {
                last_seq: 8,
                expected_seq: 10,
            },
        );
    }

    #[test]
    fn head_key_is_hmac_sha256() {
        // RFC 4231, test case 2.
        let k = HeadKey::from_bytes(b"Jefe");
        assert_eq!(
            hex::encode(k.mac(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The head key is not the sealing key's material, and depends on the seed.
        let a = HeadKey::derive(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let b = HeadKey::derive(&ed25519_dalek::SigningKey::from_bytes(&[8; 32]));
        assert_ne!(a.mac(b"x"), b.mac(b"x"));
    }

    #[test]
    fn a_mac_head_covers_records_after_the_signed_head() {
        let (text, sk, head) = log(10);
        let hk = HeadKey::derive(&sk);
        let vk = sk.verifying_key();
        // Three more records after the signed head, covered by a MAC head.
        let last: Record = serde_json::from_str(text.lines().rev().nth(1).unwrap()).unwrap();
        let mut c = Chain::after(&last);
        let mut more = text.clone();
        let mut starts = Vec::new();
        let mut r = last;
        for i in 0..3 {
            starts.push(more.len());
            r = c.append(2_000 + i, "bob", action::WRITE, None, "");
            more.push_str(&r.to_line());
            more.push('\n');
        }
        let full = Head {
            signed: Some(head),
            mac: Some(MacHead::new(&hk, r.seq, r.hash, more.len() as u64)),
        };
        let keyed = verify_text_head(&more, &vk, &full, Some(&hk));
        assert!(keyed.ok(), "{:?}", keyed.problems);
        assert_eq!((keyed.signed_through, keyed.signature_through), (13, 10));
        let public = verify_text_head(&more, &vk, &full, None);
        assert_eq!(
            (public.mac_tail, public.unsigned_tail, public.status()),
            (3, 3, "unsigned_tail")
        );
        // Record 13 cut off: the keyed verify names it, the public one does not call it ok.
        let cut = &more[..starts[2]];
        let keyed = verify_text_head(cut, &vk, &full, Some(&hk));
        assert!(
            keyed.problems.contains(&Problem::Truncated {
                last_seq: 12,
                expected_seq: 13
            }),
            "{:?}",
            keyed.problems
        );
        let public = verify_text_head(cut, &vk, &full, None);
        assert!(!public.ok());
        assert_eq!(public.status(), "unsigned_tail");
        // A MAC head under another key does not hold.
        let other = HeadKey::derive(&ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
        let r = verify_text_head(&more, &vk, &full, Some(&other));
        assert!(
            matches!(
                &r.problems[..],
                [Problem::BadCheckpoint {
                    line: 0,
                    seq: 13,
                    ..
                }]
            ),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_foreign_key_does_not_verify() {
        let (text, _, head) = log(4);
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key();
        let r = verify_text(&text, &other, Some(&head));
        assert!(r
            .problems
            .iter()
            .all(|p| matches!(p, Problem::BadCheckpoint { .. })));
        // Two checkpoint lines in the log (after record 4, and the head's copy) and the head.
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
    }

    #[test]
    fn query_filters() {
        let mut c = Chain::new();
        let r = c.append(
            100,
            "bob",
            action::EXPORT,
            Some("bundle.json"),
            "12 objects",
        );
        let q = |f: Query| f.matches(&r);
        assert!(q(Query::default()));
        assert!(q(Query {
            user: Some("bob".into()),
            action: Some("export".into()),
            object: Some("bundle".into()),
            since_ms: Some(100),
            until_ms: Some(101),
        }));
        assert!(!q(Query {
            user: Some("alice".into()),
            ..Default::default()
        }));
        assert!(!q(Query {
            until_ms: Some(100),
            ..Default::default()
        }));
    }
}
