//! `liaison sign`: Ed25519 keys for signed sharing, detached JWS over bundle files,
//! and the check import runs against the partners pinned in config.toml:
//!
//! ```toml
//! [[partners]]
//! kid = "cert-eu-2026"          # the JWS key id the partner signs with
//! org = "cert-eu"
//! key = "base64 Ed25519 public key"
//! ```

use crate::kb::Ctx;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_protect::jws;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `liaison sign …`
#[derive(Subcommand, Debug)]
pub enum SignCommand {
    /// Make an Ed25519 signing key (file, mode 0600) and print its public key for partners to pin.
    #[command(after_help = "Example:\n  liaison sign keygen --out /etc/liaison/share.key")]
    Keygen(KeygenArgs),
    /// Sign a bundle file: writes FILE.jws (detached JWS, EdDSA, unencoded payload).
    #[command(
        after_help = "Example:\n  liaison sign bundle out.json --key /etc/liaison/share.key --kid cert-2026"
    )]
    Bundle(BundleArgs),
    /// Check FILE.jws against the partners pinned in config.toml.
    #[command(after_help = "Example:\n  liaison sign verify partner-bundle.json")]
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    /// The bundle file.
    file: PathBuf,
    /// Private key file (from `liaison sign keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Key id partners pinned this key under.
    #[arg(long)]
    kid: String,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The bundle file (its signature is FILE.jws).
    file: PathBuf,
}

/// The signature file of a bundle.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".jws");
    PathBuf::from(p)
}

/// Read a private key file (64 hex digits of the Ed25519 seed).
pub fn read_signing_key(p: &Path) -> Result<ed25519_dalek::SigningKey> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let k = liaison_protect::cipher::Key::parse(&text, &p.display().to_string())?;
    Ok(ed25519_dalek::SigningKey::from_bytes(k.as_bytes()))
}

/// Sign `file`, writing FILE.jws; returns the signature path.
pub fn sign_file(file: &Path, key: &Path, kid: &str) -> Result<PathBuf> {
    let sk = read_signing_key(key)?;
    let payload = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let sig = jws::sign_detached(&payload, &sk, kid)?;
    let out = signature_path(file);
    std::fs::write(&out, sig + "\n").with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// The partner keys pinned in config.toml: `(kid, key)`.
pub fn pinned_partners(data: &Path) -> Result<Vec<(String, ed25519_dalek::VerifyingKey)>> {
    let path = crate::config::Config::path(data);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: toml::Value =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    if let Some(list) = v.get("partners").and_then(|p| p.as_array()) {
        for (i, p) in list.iter().enumerate() {
            let at = format!("{}: partners[{i}]", path.display());
            let kid = p
                .get("kid")
                .and_then(|k| k.as_str())
                .with_context(|| format!("{at}.kid: missing"))?;
            let key = p
                .get("key")
                .and_then(|k| k.as_str())
                .with_context(|| format!("{at}.key: missing"))?;
            out.push((
                kid.to_string(),
                jws::parse_public_key(key, &format!("{at}.key"))?,
            ));
        }
    }
    Ok(out)
}

/// Verify `file` against FILE.jws and the pinned partners; returns the signer's kid.
pub fn verify_file(data: &Path, file: &Path) -> Result<String> {
    let sigp = signature_path(file);
    let sig =
        std::fs::read_to_string(&sigp).with_context(|| format!("reading {}", sigp.display()))?;
    let pinned = pinned_partners(data)?;
    if pinned.is_empty() {
        bail!(
            "{}: no partner keys pinned ([[partners]] in config.toml): cannot check {}",
            file.display(),
            sigp.display()
        );
    }
    let payload = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    jws::verify_detached(&sig, &payload, &pinned)
        .with_context(|| format!("{}: signature {} refused", file.display(), sigp.display()))
}

/// Run `liaison sign …`.
pub fn run(ctx: &Ctx, c: SignCommand) -> Result<ExitCode> {
    match c {
        SignCommand::Keygen(a) => {
            if a.out.exists() {
                bail!("{} exists: refusing to overwrite a key", a.out.display());
            }
            let seed = liaison_protect::cipher::Key::generate();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            use std::io::Write;
            let mut f = opts
                .open(&a.out)
                .with_context(|| format!("creating {}", a.out.display()))?;
            writeln!(f, "{}", seed.to_hex().as_str())?;
            let sk = ed25519_dalek::SigningKey::from_bytes(seed.as_bytes());
            println!("{}", jws::public_key_text(&sk.verifying_key()));
            eprintln!(
                "private key in {}; give partners the public key above to pin",
                a.out.display()
            );
        }
        SignCommand::Bundle(a) => {
            let out = sign_file(&a.file, &a.key, &a.kid)?;
            let audit = crate::cmd::keys::audit_log(&ctx.data)?;
            let user = crate::config::Config::load(&ctx.data)?
                .subject(ctx.as_user.as_deref())?
                .name;
            audit.record(
                &user,
                liaison_protect::audit::action::SHARE,
                Some(&a.file.display().to_string()),
                &format!("signed as {}", a.kid),
            )?;
            println!("{}", out.display());
        }
        SignCommand::Verify(a) => {
            let kid = verify_file(&ctx.data, &a.file)?;
            println!("{}: good signature by pinned key '{kid}'", a.file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
