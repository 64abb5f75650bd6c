//! `liaison keys`: encryption at rest (init, rotate, rekey, status), and the one
//! place the binary opens the store with its key and the audit log with its signer.
//!
//! The master key comes from, in order: `LIAISON_MASTER_KEY` (64 hex digits or
//! base64 of 32 bytes), `LIAISON_MASTER_KEY_FILE` (a file holding such a key), or
//! `LIAISON_PASSPHRASE` (argon2id with the salt kept in `keyring.json`). A rotation
//! reads the new master key from the same variables prefixed `LIAISON_NEW_`.

use crate::config::Config;
use crate::kb::Ctx;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::Policy;
use liaison_protect::audit::action;
use liaison_protect::cipher::{KdfParams, Key};
use liaison_protect::keyring::Keyring;
use liaison_store::audit::AuditLog;
use liaison_store::crypt::{self, DbKey};
use liaison_store::{SqliteStore, StoreError};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The keyring file of a data directory.
pub fn keyring_path(data: &Path) -> PathBuf {
    data.join("keyring.json")
}

/// The store file of a data directory.
pub fn store_path(data: &Path) -> PathBuf {
    data.join("liaison.db")
}

/// The audit directory of a data directory.
pub fn audit_dir(data: &Path) -> PathBuf {
    data.join("audit")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The keyring, if the data directory has one.
pub fn load_keyring(data: &Path) -> Result<Option<Keyring>> {
    let p = keyring_path(data);
    match std::fs::read_to_string(&p) {
        Ok(t) => Ok(Some(
            Keyring::from_json(&t).with_context(|| format!("reading {}", p.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Write the keyring atomically (a crash leaves the old or the new one, never half).
pub fn save_keyring(data: &Path, ring: &Keyring) -> Result<()> {
    use std::io::Write;
    let p = keyring_path(data);
    let tmp = data.join("keyring.json.tmp");
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(ring.to_json().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &p).with_context(|| format!("replacing {}", p.display()))?;
    Ok(())
}

/// The master key from the environment (`prefix` is `LIAISON_` or `LIAISON_NEW_`);
/// `kdf` is the keyring's derivation for passphrases (a new one is made when `None`).
/// Returns the key and the derivation parameters when a passphrase was used.
fn master_from_env(
    prefix: &str,
    kdf: Option<&KdfParams>,
) -> Result<Option<(Key, Option<KdfParams>)>> {
    let var = |name: &str| std::env::var(format!("{prefix}{name}")).ok();
    if let Some(k) = var("MASTER_KEY") {
        return Ok(Some((
            Key::parse(&k, &format!("{prefix}MASTER_KEY"))?,
            None,
        )));
    }
    if let Some(f) = var("MASTER_KEY_FILE") {
        let text = std::fs::read_to_string(&f)
            .with_context(|| format!("{prefix}MASTER_KEY_FILE: reading {f}"))?;
        return Ok(Some((Key::parse(&text, &f)?, None)));
    }
    if let Some(p) = var("PASSPHRASE") {
        let params = kdf.cloned().unwrap_or_else(KdfParams::generate);
        let key = params.derive(p.as_bytes())?;
        return Ok(Some((key, Some(params))));
    }
    Ok(None)
}

/// The master key of an existing keyring, checked against it.
pub fn master_key(ring: &Keyring) -> Result<Key> {
    let Some((key, _)) = master_from_env("LIAISON_", ring.master.kdf.as_ref())? else {
        bail!(
            "the store is encrypted: set LIAISON_MASTER_KEY, LIAISON_MASTER_KEY_FILE or LIAISON_PASSPHRASE"
        );
    };
    ring.check_master(&key)?;
    Ok(key)
}

/// Open the store of a data directory: with its data key when it has a keyring,
/// finishing a rekey a crash interrupted; refused with a clear error without the key.
pub fn open_store(data: &Path, policy: Policy) -> Result<SqliteStore> {
    open_store_inner(data, policy).inspect_err(|e| {
        // A refused open is a key event too. The log takes the record unsigned (no
        // master key here); the next checkpoint of a keyed process covers it.
        if load_keyring(data).ok().flatten().is_some() {
            if let Ok(log) = AuditLog::open(&audit_dir(data), None) {
                let _ = log.record(
                    "-",
                    action::DENIED,
                    Some("store"),
                    &format!("open refused: {e:#}"),
                );
            }
        }
    })
}

fn open_store_inner(data: &Path, policy: Policy) -> Result<SqliteStore> {
    let path = store_path(data);
    let marker = crypt::rekey_marker_path(&path);
    if marker.exists() {
        bail!(
            "a rekey of {} is in progress ({} exists): wait for it; if it was interrupted, run `liaison keys rekey` again",
            path.display(),
            marker.display()
        );
    }
    let Some(mut ring) = load_keyring(data)? else {
        if crypt::is_encrypted(&path).unwrap_or(false) {
            bail!(
                "{} is encrypted but {} is missing: the store cannot be opened without its keyring",
                path.display(),
                keyring_path(data).display()
            );
        }
        return Ok(SqliteStore::open(&path, policy)?);
    };
    let master = master_key(&ring)?;
    if path.exists() && !crypt::is_encrypted(&path)? {
        bail!(
            "{} is not encrypted yet although {} exists (`liaison keys init` was interrupted): run `liaison keys rekey` to finish",
            path.display(),
            keyring_path(data).display()
        );
    }
    let (_, key) = ring.data_key(&master)?;
    match SqliteStore::open_encrypted(&path, policy.clone(), DbKey::from_bytes(key.as_bytes())) {
        Ok(s) => Ok(s),
        Err(StoreError::Denied(why)) => {
            // A rekey that renamed the new file in but crashed before the keyring said so.
            if let Some((_, pending)) = ring.pending_data_key(&master)? {
                if let Ok(s) = SqliteStore::open_encrypted(
                    &path,
                    policy,
                    DbKey::from_bytes(pending.as_bytes()),
                ) {
                    ring.finish_rekey(&now())?;
                    save_keyring(data, &ring)?;
                    eprintln!("liaison: finished an interrupted rekey (the store already used the new key)");
                    return Ok(s);
                }
            }
            bail!("{}: {why}", path.display())
        }
        Err(e) => Err(e.into()),
    }
}

/// The audit log of a data directory, signing checkpoints with the keyring's key
/// and sealing records when there is a keyring (and the master key is given).
pub fn audit_log(data: &Path) -> Result<AuditLog> {
    match load_keyring(data)? {
        Some(ring) => keyed_audit_log(data, ring.signing_key(&master_key(&ring)?)?),
        None => Ok(AuditLog::open(&audit_dir(data), None)?),
    }
}

/// The audit log of an encrypted deployment: checkpoints signed by `signer`, records
/// sealed under the key derived from it (the store is encrypted, so the log beside it
/// must not name users and objects in clear).
fn keyed_audit_log(data: &Path, signer: ed25519_dalek::SigningKey) -> Result<AuditLog> {
    let seal = liaison_protect::audit::AuditKey::derive(&signer);
    Ok(AuditLog::open_sealed(
        &audit_dir(data),
        Some(signer),
        Some(seal),
    )?)
}

/// The key that opens sealed audit records, when the data directory has a keyring
/// (the master key must be given).
pub fn audit_key(data: &Path) -> Result<Option<liaison_protect::audit::AuditKey>> {
    match load_keyring(data)? {
        Some(ring) => Ok(Some(liaison_protect::audit::AuditKey::derive(
            &ring.signing_key(&master_key(&ring)?)?,
        ))),
        None => Ok(None),
    }
}

/// `liaison keys …`
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Encrypt the store: make a keyring (data key, audit signing key) under the master key.
    #[command(
        after_help = "Examples:\n  liaison keys init --generate-key-file /etc/liaison/master.key\n  LIAISON_PASSPHRASE='…' liaison keys init"
    )]
    Init(InitArgs),
    /// Re-wrap every key under a new master key (the data is not touched; safe while serving).
    #[command(
        after_help = "Example:\n  LIAISON_MASTER_KEY_FILE=old.key LIAISON_NEW_MASTER_KEY_FILE=new.key liaison keys rotate"
    )]
    Rotate(RotateArgs),
    /// Re-encrypt the store with a new data key (stop the server first; resumable after a crash).
    #[command(after_help = "Example:\n  LIAISON_MASTER_KEY_FILE=master.key liaison keys rekey")]
    Rekey(JsonArg),
    /// Key fingerprints, states and history.
    #[command(after_help = "Example:\n  liaison keys status --json")]
    Status(JsonArg),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Write a new random master key to this file (mode 0600) and use it.
    #[arg(long)]
    generate_key_file: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// Write a new random master key to this file and rotate to it.
    #[arg(long)]
    generate_key_file: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

fn write_key_file(p: &Path) -> Result<Key> {
    use std::io::Write;
    if p.exists() {
        bail!("{} exists: refusing to overwrite a key file", p.display());
    }
    let key = Key::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(p)
        .with_context(|| format!("creating {}", p.display()))?;
    writeln!(f, "{}", key.to_hex().as_str())?;
    f.sync_all()?;
    Ok(key)
}

fn bar(what: &str) -> indicatif::ProgressBar {
    crate::ui::bytes_bar(0, what)
}

fn encrypt_with(data: &Path, old: Option<&Key>, new: &Key) -> Result<()> {
    let path = store_path(data);
    if !path.exists() {
        return Ok(());
    }
    let pb = bar("re-encrypting");
    let old = old.map(|k| DbKey::from_bytes(k.as_bytes()));
    crypt::rekey_file(
        &path,
        old.as_ref(),
        &DbKey::from_bytes(new.as_bytes()),
        &mut |done, total| {
            pb.set_length(total);
            pb.set_position(done);
        },
    )
    .with_context(|| format!("re-encrypting {}", path.display()))?;
    pb.finish_and_clear();
    Ok(())
}

/// Run `liaison keys …`.
pub fn run(ctx: &Ctx, c: KeysCommand) -> Result<ExitCode> {
    let data = &ctx.data;
    let cfg = Config::load(data)?;
    let user = cfg.subject(ctx.as_user.as_deref())?.name;
    match c {
        KeysCommand::Init(a) => {
            if keyring_path(data).exists() {
                bail!(
                    "{} exists: the store is already encrypted (use `liaison keys rotate` or `rekey`)",
                    keyring_path(data).display()
                );
            }
            let (master, kdf) = match &a.generate_key_file {
                Some(p) => (write_key_file(p)?, None),
                None => master_from_env("LIAISON_", None)?.ok_or_else(|| {
                    anyhow::anyhow!("no master key: pass --generate-key-file PATH, or set LIAISON_MASTER_KEY, LIAISON_MASTER_KEY_FILE or LIAISON_PASSPHRASE")
                })?,
            };
            let (mut ring, data_key) = Keyring::create(&master, kdf, &now())?;
            // The plain store is copied under the key; until that ends the keyring says
            // "pending", so an interrupted init is finished by `keys rekey`.
            ring.data_keys[0].state = liaison_protect::keyring::KeyState::Pending;
            save_keyring(data, &ring)?;
            if let Err(e) = encrypt_with(data, None, &data_key) {
                // Nothing was encrypted (the copy replaces the store only at its end):
                // take the keyring back so the store stays usable as it was.
                if !crypt::is_encrypted(&store_path(data)).unwrap_or(true) {
                    let _ = std::fs::remove_file(keyring_path(data));
                }
                return Err(e);
            }
            ring.data_keys[0].state = liaison_protect::keyring::KeyState::Current;
            save_keyring(data, &ring)?;
            let audit = keyed_audit_log(data, ring.signing_key(&master)?)?;
            audit.record(
                &user,
                action::KEY,
                None,
                &format!("init: master {}, data key 1", master.fingerprint()),
            )?;
            report(a.json, &ring, "store encrypted; keyring written")?;
        }
        KeysCommand::Rotate(a) => {
            let Some(mut ring) = load_keyring(data)? else {
                bail!(
                    "no keyring in {}: run `liaison keys init` first",
                    data.display()
                );
            };
            let old = master_key(&ring)?;
            let (new, kdf) = match &a.generate_key_file {
                Some(p) => (write_key_file(p)?, None),
                None => master_from_env("LIAISON_NEW_", None)?.ok_or_else(|| {
                    anyhow::anyhow!("no new master key: pass --generate-key-file PATH, or set LIAISON_NEW_MASTER_KEY, LIAISON_NEW_MASTER_KEY_FILE or LIAISON_NEW_PASSPHRASE")
                })?,
            };
            ring.rotate(&old, &new, kdf, &now())?;
            save_keyring(data, &ring)?;
            // The audit signer is unchanged; open the log with the new master key.
            let audit = keyed_audit_log(data, ring.signing_key(&new)?)?;
            audit.record(
                &user,
                action::KEY,
                None,
                &format!(
                    "rotate: master {} -> {}",
                    old.fingerprint(),
                    new.fingerprint()
                ),
            )?;
            report(
                a.json,
                &ring,
                "master key rotated: every key re-wrapped, data untouched",
            )?;
        }
        KeysCommand::Rekey(a) => {
            let Some(mut ring) = load_keyring(data)? else {
                bail!(
                    "no keyring in {}: run `liaison keys init` first",
                    data.display()
                );
            };
            let master = master_key(&ring)?;
            let path = store_path(data);
            let (new_id, new) = ring.begin_rekey(&master, &now())?;
            save_keyring(data, &ring)?;
            let plain = path.exists() && !crypt::is_encrypted(&path)?;
            let current = ring.data_key(&master).ok();
            // Where a crash left things: the store under the old key (copy again), or
            // already under the new one (only the keyring needs finishing).
            let already = !plain && rusqlite_opens(&path, &new);
            if !already {
                let old = if plain {
                    None
                } else {
                    current.as_ref().map(|(_, k)| k)
                };
                encrypt_with(data, old, &new)?;
            }
            if ring
                .data_keys
                .iter()
                .any(|k| k.state == liaison_protect::keyring::KeyState::Pending)
            {
                ring.finish_rekey(&now())?;
            }
            save_keyring(data, &ring)?;
            let audit = audit_log(data)?;
            audit.record(
                &user,
                action::KEY,
                None,
                &format!("rekey: data key {new_id} ({})", new.fingerprint()),
            )?;
            report(
                a.json,
                &ring,
                &format!("store re-encrypted with data key {new_id}"),
            )?;
        }
        KeysCommand::Status(a) => {
            let Some(ring) = load_keyring(data)? else {
                if a.json {
                    println!("{}", json!({"encrypted": false}));
                } else {
                    println!("{}: not encrypted (no keyring)", data.display());
                }
                return Ok(ExitCode::SUCCESS);
            };
            report(a.json, &ring, "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rusqlite_opens(path: &Path, key: &Key) -> bool {
    crypt::probe(path, &DbKey::from_bytes(key.as_bytes())).unwrap_or(false)
}

fn report(as_json: bool, ring: &Keyring, msg: &str) -> Result<()> {
    if as_json {
        let v = json!({
            "encrypted": true,
            "master_fingerprint": ring.master.fingerprint,
            "passphrase": ring.master.kdf.is_some(),
            "data_keys": ring.data_keys.iter().map(|k| json!({"id": k.id, "state": k.state, "created": k.created})).collect::<Vec<_>>(),
            "compartments": ring.compartment_keys.keys().collect::<Vec<_>>(),
            "audit_public_key": ring.signing_key.public,
            "history": ring.history,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if !msg.is_empty() {
        println!("{msg}");
    }
    println!(
        "master key {}{}",
        ring.master.fingerprint,
        if ring.master.kdf.is_some() {
            " (from a passphrase, argon2id)"
        } else {
            ""
        }
    );
    for k in &ring.data_keys {
        println!("data key {} {:?} (created {})", k.id, k.state, k.created);
    }
    for (c, ks) in &ring.compartment_keys {
        println!("sealing key of {c}: {} version(s)", ks.len());
    }
    println!("audit public key {}", ring.signing_key.public);
    println!("history:");
    for h in &ring.history {
        println!("  {}  {:<16} {}", h.at, h.event, h.detail);
    }
    Ok(())
}

/// What import does to objects before they reach the store: seal human sources
/// (keyring needed) and grade (Admiralty).
pub struct Protect {
    data: PathBuf,
    seal: Option<(Keyring, Key)>,
    default_compartment: String,
    grade: Option<liaison_protect::admiralty::Grade>,
}

impl Protect {
    /// `grade` from `--grade`; sealing is on when the data directory has a keyring.
    /// `default_compartments` are those of `--label` (the first seals objects whose
    /// own label names none; without any, the deployment-wide `_` key).
    pub fn new(
        data: &Path,
        grade: Option<&str>,
        default_compartments: &[String],
    ) -> Result<Protect> {
        let seal = match load_keyring(data)? {
            Some(ring) => {
                let m = master_key(&ring)?;
                Some((ring, m))
            }
            None => None,
        };
        Ok(Protect {
            data: data.to_path_buf(),
            seal,
            default_compartment: default_compartments
                .first()
                .cloned()
                .unwrap_or_else(|| liaison_protect::sealed::NO_COMPARTMENT.to_string()),
            grade: grade
                .map(liaison_protect::admiralty::Grade::parse)
                .transpose()?,
        })
    }

    /// Whether `file` needs a pass: a grade to apply, or source details to seal.
    pub fn wanted(&self, file: &Path) -> bool {
        if self.grade.is_some() {
            return true;
        }
        // Scanned in chunks: import files can be far larger than memory should hold.
        let Ok(mut f) = std::fs::File::open(file) else {
            return false;
        };
        let needles: [&[u8]; 2] = [b"\"individual\"", b"\"contact_information\""];
        let mut found = [false; 2];
        let mut buf = vec![0u8; 1 << 20];
        let mut keep = 0;
        loop {
            let n = match std::io::Read::read(&mut f, &mut buf[keep..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let window = &buf[..keep + n];
            for (i, nd) in needles.iter().enumerate() {
                found[i] |= memchr::memmem::find(window, nd).is_some();
            }
            // Keep a tail so that a needle split across two reads is still seen.
            keep = window.len().min(32);
            let start = window.len() - keep;
            buf.copy_within(start..start + keep, 0);
        }
        let sensitive = found[0] || found[1];
        if sensitive && self.seal.is_none() {
            eprintln!(
                "warning: {}: source identities or contact details are stored in clear (no keyring: `liaison keys init` seals them)",
                file.display()
            );
        }
        sensitive && self.seal.is_some()
    }

    fn object(&mut self, o: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        if let Some(g) = self.grade {
            let t = o.get("type").and_then(|t| t.as_str()).unwrap_or_default();
            if matches!(
                t,
                "report" | "identity" | "note" | "opinion" | "indicator" | "sighting"
            ) {
                liaison_protect::admiralty::grade_object(o, g);
            }
        }
        if let Some((ring, master)) = &mut self.seal {
            if liaison_protect::sealed::fields_to_seal(o).is_empty()
                || o.contains_key(liaison_protect::sealed::SEALED_PROP)
            {
                return Ok(());
            }
            let comp = o
                .get("extensions")
                .and_then(|e| e.get(liaison_stix::LABEL_EXTENSION_ID))
                .and_then(|l| l.get("compartments"))
                .and_then(|c| c.as_array())
                .and_then(|c| c.first())
                .and_then(|c| c.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| self.default_compartment.clone());
            let before = ring.compartment_keys.get(&comp).map(Vec::len);
            let (id, key) = ring.compartment_key(master, &comp, &now())?;
            if ring.compartment_keys.get(&comp).map(Vec::len) != before {
                save_keyring(&self.data, ring)?;
            }
            liaison_protect::sealed::seal_object(o, &comp, id, &key)?;
        }
        Ok(())
    }

    /// Stream `file`, protected, through a FIFO (so the clear source details never
    /// touch the disk) and return its path; the FIFO's directory goes when dropped.
    pub fn through_fifo(mut self, file: &Path) -> Result<ProtectedInput> {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let mut v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not JSON (sealing and grading read whole files)",
                file.display()
            )
        })?;
        match &mut v {
            serde_json::Value::Object(m)
                if m.get("type").and_then(|t| t.as_str()) == Some("bundle") =>
            {
                if let Some(serde_json::Value::Array(objs)) = m.get_mut("objects") {
                    for o in objs.iter_mut().filter_map(|o| o.as_object_mut()) {
                        self.object(o)?;
                    }
                }
            }
            serde_json::Value::Object(o) => self.object(o)?,
            serde_json::Value::Array(objs) => {
                for o in objs.iter_mut().filter_map(|o| o.as_object_mut()) {
                    self.object(o)?;
                }
            }
            _ => {}
        }
        let dir = std::env::temp_dir().join(format!("liaison-protect-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let fifo = dir.join(file.file_name().unwrap_or_default());
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())?;
        // SAFETY: mkfifo with a valid NUL-terminated path.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("mkfifo {}", fifo.display()));
        }
        let path = fifo.clone();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            let f = std::fs::OpenOptions::new().write(true).open(&path)?;
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer(&mut w, &v).map_err(std::io::Error::other)?;
            std::io::Write::flush(&mut w)
        });
        Ok(ProtectedInput {
            dir,
            fifo,
            writer: Some(writer),
        })
    }
}

/// A protected copy of an import file, readable once through a FIFO.
pub struct ProtectedInput {
    dir: PathBuf,
    /// Where to read it.
    pub fifo: PathBuf,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Drop for ProtectedInput {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            if !w.is_finished() {
                // Unblock a writer whose reader gave up early.
                let _ = std::fs::File::open(&self.fifo);
            }
            let _ = w.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Open the sealed fields of `v` when `subject` holds their compartment (`_`: anyone
/// who may read the object, which the store has checked) and the keyring is at hand.
pub fn unseal_for(
    data: &Path,
    subject: &liaison_policy::Subject,
    v: &mut serde_json::Value,
) -> Result<()> {
    Unsealer::new(data, subject).unseal(v).map(|_| ())
}

/// Opens sealed fields for one reader across many objects (an export): the keyring
/// and master key are read once, on the first sealed object the reader holds the
/// compartment of, and each compartment key is unwrapped once.
pub struct Unsealer<'a> {
    data: &'a Path,
    subject: &'a liaison_policy::Subject,
    /// `None` until needed; then the keyring and master key, if there is a keyring.
    ring: Option<Option<(Keyring, Key)>>,
    keys: std::collections::HashMap<(String, u32), Key>,
    /// Objects whose sealed fields were opened.
    pub opened: u64,
}

impl<'a> Unsealer<'a> {
    /// An unsealer for `subject` in the data directory `data`.
    pub fn new(data: &'a Path, subject: &'a liaison_policy::Subject) -> Self {
        Unsealer {
            data,
            subject,
            ring: None,
            keys: Default::default(),
            opened: 0,
        }
    }

    /// Open `v`'s sealed fields if the reader holds their compartment; returns
    /// whether it did. Objects of other compartments stay sealed (only ciphertext).
    pub fn unseal(&mut self, v: &mut serde_json::Value) -> Result<bool> {
        let Some(o) = v.as_object_mut() else {
            return Ok(false);
        };
        let Some((comp, id)) = liaison_protect::sealed::sealed_under(o) else {
            return Ok(false);
        };
        if comp != liaison_protect::sealed::NO_COMPARTMENT
            && !self.subject.compartments.contains(&comp)
        {
            return Ok(false);
        }
        if self.ring.is_none() {
            self.ring = Some(match load_keyring(self.data)? {
                Some(ring) => {
                    let master = master_key(&ring)?;
                    Some((ring, master))
                }
                None => None,
            });
        }
        let Some(Some((ring, master))) = &self.ring else {
            return Ok(false);
        };
        let key = match self.keys.entry((comp, id)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let k = ring.compartment_key_by_id(master, &e.key().0, id)?;
                e.insert(k)
            }
        };
        liaison_protect::sealed::unseal_object(o, key)?;
        self.opened += 1;
        Ok(true)
    }
}
