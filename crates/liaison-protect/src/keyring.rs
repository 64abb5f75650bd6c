//! The keyring: the store's data keys, the compartment keys of sealed fields and the
//! audit signing key, each wrapped (encrypted) by the master key.
//!
//! The master key comes from a key file, an environment variable or a passphrase
//! (argon2id); it never touches the database. Rotation re-wraps every key under a new
//! master key (the data is not touched); a rekey makes a new data key, which the store
//! re-encrypts the database with, the old one kept as `retired` so older backups stay
//! readable. Every change is written to `history`.

use crate::cipher::{self, KdfParams, Key};
use crate::{b64, malformed, ProtectError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The keyring format this build writes.
pub const FORMAT: u32 = 1;

/// Where a data key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Encrypts the database now.
    Current,
    /// Made by a rekey that has not finished: the database may already use it.
    Pending,
    /// Replaced; kept so that backups made before the rekey still open.
    Retired,
}

/// A key wrapped by the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Number, unique within its purpose.
    pub id: u32,
    /// When it was made (RFC 3339).
    pub created: String,
    /// Its state (data keys; compartment keys are always current or retired).
    pub state: KeyState,
    /// The versioned envelope (base64).
    pub wrapped: String,
}

/// What the keyring knows of the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// Fingerprint of the master key, to tell a wrong key from damage.
    pub fingerprint: String,
    /// Present when the master key is derived from a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
}

/// One line of the key history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When (RFC 3339).
    pub at: String,
    /// `init`, `rotate`, `rekey-start`, `rekey-done`, `compartment-key`.
    pub event: String,
    /// Fingerprints and key ids involved.
    pub detail: String,
}

/// The audit signing key: the public half in clear, the private half wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningEntry {
    /// Ed25519 public key (base64).
    pub public: String,
    /// The 32-byte seed, wrapped.
    pub wrapped: String,
}

/// The keyring, as stored next to the database (`keyring.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// Format version.
    pub format: u32,
    /// The master key's fingerprint and derivation.
    pub master: MasterInfo,
    /// Data keys of the database, oldest first.
    pub data_keys: Vec<WrappedKey>,
    /// Keys of sealed fields, per compartment (`_` for objects without compartment).
    #[serde(default)]
    pub compartment_keys: BTreeMap<String, Vec<WrappedKey>>,
    /// The audit log's checkpoint signing key.
    pub signing_key: SigningEntry,
    /// Every change to the keyring.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

fn aad(purpose: &str, id: u32) -> Vec<u8> {
    format!("liaison keyring v1 {purpose} {id}").into_bytes()
}

fn wrap(master: &Key, purpose: &str, id: u32, key: &[u8]) -> Result<String, ProtectError> {
    Ok(b64().encode(cipher::seal(master, &aad(purpose, id), key)?))
}

fn unwrap32(master: &Key, purpose: &str, id: u32, wrapped: &str) -> Result<Key, ProtectError> {
    let what = format!("keyring {purpose} key {id}");
    let raw = b64()
        .decode(wrapped)
        .map_err(|e| malformed(&what, e.to_string()))?;
    let mut plain =
        zeroize::Zeroizing::new(cipher::open_named(master, &aad(purpose, id), &raw, &what)?);
    if plain.len() != 32 {
        return Err(malformed(&what, "not 32 bytes"));
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(&plain);
    zeroize::Zeroize::zeroize(&mut *plain);
    Ok(Key::from_bytes(k))
}

fn comp_purpose(c: &str) -> String {
    format!("compartment:{c}")
}

impl Keyring {
    /// A new keyring with one data key and an audit signing key; returns the data key.
    pub fn create(
        master: &Key,
        kdf: Option<KdfParams>,
        now: &str,
    ) -> Result<(Keyring, Key), ProtectError> {
        let data = Key::generate();
        let seed = Key::generate();
        let signing = ed25519_dalek::SigningKey::from_bytes(seed.as_bytes());
        let ring = Keyring {
            format: FORMAT,
            master: MasterInfo {
                fingerprint: master.fingerprint(),
                kdf,
            },
            data_keys: vec![WrappedKey {
                id: 1,
                created: now.into(),
                state: KeyState::Current,
                wrapped: wrap(master, "data", 1, data.as_bytes())?,
            }],
            compartment_keys: BTreeMap::new(),
            signing_key: SigningEntry {
                public: b64().encode(signing.verifying_key().as_bytes()),
                wrapped: wrap(master, "signing", 1, seed.as_bytes())?,
            },
            history: vec![HistoryEntry {
                at: now.into(),
                event: "init".into(),
                detail: format!(
                    "master {}, data key 1 ({})",
                    master.fingerprint(),
                    data.fingerprint()
                ),
            }],
        };
        Ok((ring, data))
    }

    /// Parse a keyring file's text.
    pub fn from_json(text: &str) -> Result<Keyring, ProtectError> {
        let k: Keyring =
            serde_json::from_str(text).map_err(|e| malformed("keyring", e.to_string()))?;
        if k.format != FORMAT {
            return Err(malformed(
                "keyring.format",
                format!("format {} (this build reads {FORMAT})", k.format),
            ));
        }
        Ok(k)
    }

    /// The keyring as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Check that `master` is this keyring's master key (a clear error when not).
    pub fn check_master(&self, master: &Key) -> Result<(), ProtectError> {
        if master.fingerprint() != self.master.fingerprint {
            return Err(ProtectError::Decrypt {
                what: format!(
                    "the keyring: the master key given (fingerprint {}) is not the keyring's (fingerprint {}); wrong key file, variable or passphrase",
                    master.fingerprint(),
                    self.master.fingerprint
                ),
            });
        }
        Ok(())
    }

    fn data_in(&self, master: &Key, state: KeyState) -> Result<Option<(u32, Key)>, ProtectError> {
        self.check_master(master)?;
        match self.data_keys.iter().rev().find(|k| k.state == state) {
            None => Ok(None),
            Some(k) => Ok(Some((k.id, unwrap32(master, "data", k.id, &k.wrapped)?))),
        }
    }

    /// The current data key and its id.
    pub fn data_key(&self, master: &Key) -> Result<(u32, Key), ProtectError> {
        self.data_in(master, KeyState::Current)?
            .ok_or_else(|| ProtectError::NoKey("the keyring has no current data key".into()))
    }

    /// The data key of an unfinished rekey, if any.
    pub fn pending_data_key(&self, master: &Key) -> Result<Option<(u32, Key)>, ProtectError> {
        self.data_in(master, KeyState::Pending)
    }

    /// Start a rekey: a new pending data key, or the pending one of an interrupted rekey.
    pub fn begin_rekey(&mut self, master: &Key, now: &str) -> Result<(u32, Key), ProtectError> {
        if let Some(p) = self.pending_data_key(master)? {
            return Ok(p);
        }
        let id = self.data_keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        let key = Key::generate();
        self.data_keys.push(WrappedKey {
            id,
            created: now.into(),
            state: KeyState::Pending,
            wrapped: wrap(master, "data", id, key.as_bytes())?,
        });
        self.history.push(HistoryEntry {
            at: now.into(),
            event: "rekey-start".into(),
            detail: format!("data key {id} ({}) pending", key.fingerprint()),
        });
        Ok((id, key))
    }

    /// Finish a rekey: the pending key becomes current, the current one retired.
    pub fn finish_rekey(&mut self, now: &str) -> Result<u32, ProtectError> {
        let Some(new) = self
            .data_keys
            .iter()
            .position(|k| k.state == KeyState::Pending)
        else {
            return Err(ProtectError::NoKey("no rekey in progress".into()));
        };
        let mut old = Vec::new();
        for k in &mut self.data_keys {
            if k.state == KeyState::Current {
                k.state = KeyState::Retired;
                old.push(k.id);
            }
        }
        self.data_keys[new].state = KeyState::Current;
        let id = self.data_keys[new].id;
        self.history.push(HistoryEntry {
            at: now.into(),
            event: "rekey-done".into(),
            detail: format!("data key {id} current; retired {old:?}"),
        });
        Ok(id)
    }

    /// Re-wrap every key under a new master key. The data is not touched.
    pub fn rotate(
        &mut self,
        old: &Key,
        new: &Key,
        kdf: Option<KdfParams>,
        now: &str,
    ) -> Result<(), ProtectError> {
        self.check_master(old)?;
        let mut next = self.clone();
        for k in &mut next.data_keys {
            let key = unwrap32(old, "data", k.id, &k.wrapped)?;
            k.wrapped = wrap(new, "data", k.id, key.as_bytes())?;
        }
        for (c, keys) in &mut next.compartment_keys {
            let p = comp_purpose(c);
            for k in keys {
                let key = unwrap32(old, &p, k.id, &k.wrapped)?;
                k.wrapped = wrap(new, &p, k.id, key.as_bytes())?;
            }
        }
        let seed = unwrap32(old, "signing", 1, &next.signing_key.wrapped)?;
        next.signing_key.wrapped = wrap(new, "signing", 1, seed.as_bytes())?;
        next.master = MasterInfo {
            fingerprint: new.fingerprint(),
            kdf,
        };
        next.history.push(HistoryEntry {
            at: now.into(),
            event: "rotate".into(),
            detail: format!("master {} -> {}", old.fingerprint(), new.fingerprint()),
        });
        *self = next;
        Ok(())
    }

    /// The current key of a compartment, made when the compartment has none yet
    /// (the keyring then changed and must be saved).
    pub fn compartment_key(
        &mut self,
        master: &Key,
        compartment: &str,
        now: &str,
    ) -> Result<(u32, Key), ProtectError> {
        self.check_master(master)?;
        let p = comp_purpose(compartment);
        if let Some(k) = self
            .compartment_keys
            .get(compartment)
            .and_then(|ks| ks.iter().rev().find(|k| k.state == KeyState::Current))
        {
            return Ok((k.id, unwrap32(master, &p, k.id, &k.wrapped)?));
        }
        let key = Key::generate();
        let list = self
            .compartment_keys
            .entry(compartment.to_string())
            .or_default();
        let id = list.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        list.push(WrappedKey {
            id,
            created: now.into(),
            state: KeyState::Current,
            wrapped: wrap(master, &p, id, key.as_bytes())?,
        });
        self.history.push(HistoryEntry {
            at: now.into(),
            event: "compartment-key".into(),
            detail: format!("compartment {compartment} key {id} ({})", key.fingerprint()),
        });
        Ok((id, key))
    }

    /// A compartment key by id, for opening sealed fields.
    pub fn compartment_key_by_id(
        &self,
        master: &Key,
        compartment: &str,
        id: u32,
    ) -> Result<Key, ProtectError> {
        self.check_master(master)?;
        let k = self
            .compartment_keys
            .get(compartment)
            .and_then(|ks| ks.iter().find(|k| k.id == id))
            .ok_or_else(|| {
                ProtectError::NoKey(format!("compartment {compartment} has no key {id}"))
            })?;
        unwrap32(master, &comp_purpose(compartment), id, &k.wrapped)
    }

    /// The audit signing key.
    pub fn signing_key(&self, master: &Key) -> Result<ed25519_dalek::SigningKey, ProtectError> {
        self.check_master(master)?;
        let seed = unwrap32(master, "signing", 1, &self.signing_key.wrapped)?;
        Ok(ed25519_dalek::SigningKey::from_bytes(seed.as_bytes()))
    }

    /// The audit verifying key (public).
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, ProtectError> {
        crate::jws::parse_public_key(&self.signing_key.public, "keyring.signing_key.public")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_rotate_rekey() {
        let m1 = Key::generate();
        let (mut ring, data) = Keyring::create(&m1, None, "t0").unwrap();
        assert_eq!(ring.data_key(&m1).unwrap(), (1, data.clone()));
        let (cid, ck) = ring.compartment_key(&m1, "GRID", "t0").unwrap();
        let sk = ring.signing_key(&m1).unwrap();

        let m2 = Key::generate();
        let err = ring.rotate(&m2, &m1, None, "t1").unwrap_err();
        assert!(err.to_string().contains("wrong key"), "{err}");
        ring.rotate(&m1, &m2, None, "t1").unwrap();
        assert!(ring.data_key(&m1).is_err(), "old master no longer opens");
        assert_eq!(ring.data_key(&m2).unwrap(), (1, data.clone()));
        assert_eq!(ring.compartment_key_by_id(&m2, "GRID", cid).unwrap(), ck);
        assert_eq!(ring.signing_key(&m2).unwrap().to_bytes(), sk.to_bytes());

        // A rekey interrupted and restarted hands back the same pending key.
        let json = {
            let mut r = ring.clone();
            let (id, k) = r.begin_rekey(&m2, "t2").unwrap();
            assert_eq!(id, 2);
            let again = Keyring::from_json(&r.to_json())
                .unwrap()
                .begin_rekey(&m2, "t3")
                .unwrap();
            assert_eq!(again, (2, k));
            r.to_json()
        };
        let mut r = Keyring::from_json(&json).unwrap();
        assert_eq!(r.data_key(&m2).unwrap().0, 1, "still key 1 until done");
        r.finish_rekey("t4").unwrap();
        assert_eq!(r.data_key(&m2).unwrap().0, 2);
        assert_eq!(r.data_keys[0].state, KeyState::Retired);
        let events: Vec<_> = r.history.iter().map(|h| h.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "init",
                "compartment-key",
                "rotate",
                "rekey-start",
                "rekey-done"
            ]
        );
    }

    #[test]
    fn wrapped_keys_cannot_be_swapped() {
        let m = Key::generate();
        let (mut ring, _) = Keyring::create(&m, None, "t").unwrap();
        ring.compartment_key(&m, "GRID", "t").unwrap();
        // Put the compartment key where the data key was: its binding refuses it.
        ring.data_keys[0].wrapped = ring.compartment_keys["GRID"][0].wrapped.clone();
        assert!(matches!(
            ring.data_key(&m),
            Err(ProtectError::Decrypt { .. })
        ));
    }
}
