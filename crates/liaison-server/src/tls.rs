//! HTTPS through rustls: a certificate chain and key in PEM files, and mutual TLS
//! for Liaison-to-Liaison links and API clients that present certificates.
//!
//! With mTLS, client certificates must chain to a configured CA (rustls' WebPKI
//! verifier). A certificate is mapped to an organization (and user) in two ways:
//!
//! - by its SHA-256 fingerprint (`[[server.client_certs]]`): pinning one certificate,
//!   so that a CA issuing a second one with the same name does not get its rights;
//! - by its issuing CA (`[[server.client_cas]]`): a partner's own CA stands for the
//!   partner's organization, so the partner rotates its leaf certificates without
//!   telling anyone. The certificate's names (DNS and URI subject alternative names,
//!   then the subject common name) pick the user from the mapping's `users` table, or
//!   the mapping's `default_user` (a service account). Names are only looked up in
//!   that table, never taken as user names directly: a partner CA can issue any name,
//!   and must not be able to name one of our users.
//!
//! A pinned fingerprint wins over a CA mapping; the chain is checked against each
//! mapped CA alone, so a certificate from another trusted CA that carries a partner's
//! names does not map to the partner.
//!
//! Handshakes run on their own tasks, so a slow or stalled client never holds up
//! the accept loop; failed handshakes are logged and dropped.

use crate::{app, AppState};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds no certificate or key.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA could not be used to verify clients.
    #[error("{path}: client CA: {reason}")]
    ClientCa {
        /// The CA file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem("no certificate found".into()));
    }
    Ok(certs)
}

/// A TLS acceptor that asks clients for a certificate chaining to `client_ca` (PEM);
/// with `required`, a client without one is refused in the handshake, otherwise it
/// goes on to password or token authentication.
pub fn mtls_acceptor(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
    required: bool,
) -> Result<TlsAcceptor, TlsError> {
    mtls_acceptor_with(cert, key, &[client_ca], required)
}

/// [`mtls_acceptor`] trusting the CAs of several PEM files (the client CA and the
/// partner CAs of [`CaMapping`]s).
pub fn mtls_acceptor_with(
    cert: &Path,
    key: &Path,
    client_cas: &[&Path],
    required: bool,
) -> Result<TlsAcceptor, TlsError> {
    let certs = read_certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let first = client_cas.first().map(|p| p.display().to_string());
    let ca_err = |reason: String| TlsError::ClientCa {
        path: first.clone().unwrap_or_else(|| "(no client CA)".into()),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for path in client_cas {
        for c in read_certs(path)? {
            roots.add(c).map_err(|e| TlsError::ClientCa {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let verifier = if required {
        builder.build()
    } else {
        builder.allow_unauthenticated().build()
    }
    .map_err(|e| ca_err(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The SHA-256 fingerprint of a certificate (lower-case hex, no separators).
pub fn certificate_fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// One entry of the certificate-to-organization mapping (`[[server.client_certs]]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertMapping {
    /// SHA-256 fingerprint of the client certificate (hex; `:` separators and case ignored).
    pub fingerprint: String,
    /// The organization the certificate stands for.
    pub org: String,
    /// The user it acts as, when one is fixed (a Liaison peer's sync account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What a request authenticated by this certificate may do (default: read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::Scope>,
}

/// What a request's client certificate maps to (a request extension set by [`serve_mtls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertOrg {
    /// The organization.
    pub org: String,
    /// The user, when the mapping fixes one.
    pub user: Option<String>,
    /// The certificate's fingerprint.
    pub fingerprint: String,
    /// The scope the mapping grants (`None`: read).
    pub scope: Option<crate::Scope>,
}

fn normalize_fingerprint(f: &str) -> String {
    f.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The mapping entry of a certificate fingerprint.
pub fn map_certificate(map: &[CertMapping], fingerprint: &str) -> Option<CertOrg> {
    let f = normalize_fingerprint(fingerprint);
    map.iter()
        .find(|m| normalize_fingerprint(&m.fingerprint) == f)
        .map(|m| CertOrg {
            org: m.org.clone(),
            user: m.user.clone(),
            fingerprint: f.clone(),
            scope: m.scope,
        })
}

/// A partner CA whose certificates stand for one organization (`[[server.client_cas]]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaMapping {
    /// The partner's issuing CA certificate (PEM); trusted for the handshake too.
    pub ca: PathBuf,
    /// The organization its certificates stand for.
    pub org: String,
    /// Certificate names (DNS or URI subject alternative name, or subject common
    /// name) and the user each acts as.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, String>,
    /// The user a certificate whose names are not in `users` acts as (a service
    /// account); without one such a certificate maps to the organization only and a
    /// credential is still needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_user: Option<String>,
    /// What a request authenticated by such a certificate may do (default: read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::Scope>,
}

struct LoadedCa {
    mapping: CaMapping,
    certs: Vec<CertificateDer<'static>>,
}

/// The certificate-to-organization mapping: pinned fingerprints, then issuing CAs.
#[derive(Clone, Default)]
pub struct CertMap {
    fingerprints: Vec<CertMapping>,
    cas: Arc<Vec<LoadedCa>>,
    /// Chains already checked against the CAs (a signature check each), by the
    /// SHA-256 of the chain, for a few minutes: requests of one connection, and one
    /// client's next connections, do not pay again.
    seen: Arc<std::sync::Mutex<SeenChains>>,
}

/// Chains checked against the partner CAs: what each mapped to, and when.
type SeenChains = std::collections::HashMap<String, (Option<CertOrg>, std::time::Instant)>;

/// How long a chain's CA mapping is remembered (certificate expiry is checked again after).
const SEEN_FOR: Duration = Duration::from_secs(300);
const SEEN_MAX: usize = 4096;

impl From<Vec<CertMapping>> for CertMap {
    fn from(fingerprints: Vec<CertMapping>) -> Self {
        CertMap {
            fingerprints,
            ..Default::default()
        }
    }
}

impl CertMap {
    /// The mapping of pinned `fingerprints` and partner `cas` (their PEM files are
    /// read now: a missing or empty file is an error naming it).
    pub fn new(fingerprints: Vec<CertMapping>, cas: &[CaMapping]) -> Result<Self, TlsError> {
        let mut loaded = Vec::with_capacity(cas.len());
        for m in cas {
            let certs = read_certs(&m.ca)?;
            for c in &certs {
                webpki::anchor_from_trusted_cert(c).map_err(|e| TlsError::ClientCa {
                    path: m.ca.display().to_string(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
            }
            loaded.push(LoadedCa {
                mapping: m.clone(),
                certs,
            });
        }
        Ok(CertMap {
            fingerprints,
            cas: Arc::new(loaded),
            ..Default::default()
        })
    }

    /// The PEM files of the partner CAs (to trust in the handshake).
    pub fn ca_files(&self) -> Vec<&Path> {
        self.cas.iter().map(|c| c.mapping.ca.as_path()).collect()
    }

    /// What a presented chain (leaf first, then any intermediates) maps to.
    pub fn map(&self, chain: &[CertificateDer<'_>]) -> Option<CertOrg> {
        let leaf = chain.first()?;
        let fingerprint = certificate_fingerprint(leaf);
        if let Some(o) = map_certificate(&self.fingerprints, &fingerprint) {
            return Some(o);
        }
        if self.cas.is_empty() {
            return None;
        }
        let key = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for c in chain {
                h.update((c.len() as u64).to_le_bytes());
                h.update(c);
            }
            hex::encode(h.finalize())
        };
        if let Ok(seen) = self.seen.lock() {
            if let Some((o, at)) = seen.get(&key) {
                if at.elapsed() < SEEN_FOR {
                    return o.clone();
                }
            }
        }
        let found = self.map_by_ca(chain, fingerprint);
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= SEEN_MAX {
                seen.clear();
            }
            seen.insert(key, (found.clone(), std::time::Instant::now()));
        }
        found
    }

    fn map_by_ca(&self, chain: &[CertificateDer<'_>], fingerprint: String) -> Option<CertOrg> {
        let leaf = chain.first()?;
        let ee = webpki::EndEntityCert::try_from(leaf).ok()?;
        let algs = rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all;
        let now = rustls::pki_types::UnixTime::now();
        for ca in self.cas.iter() {
            let anchors: Vec<_> = ca
                .certs
                .iter()
                .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
                .collect();
            let issued = ee
                .verify_for_usage(
                    algs,
                    &anchors,
                    &chain[1..],
                    now,
                    webpki::KeyUsage::client_auth(),
                    None,
                    None,
                )
                .is_ok();
            if !issued {
                continue;
            }
            let m = &ca.mapping;
            let user = certificate_names(&ee)
                .iter()
                .find_map(|n| m.users.get(n))
                .or(m.default_user.as_ref())
                .cloned();
            return Some(CertOrg {
                org: m.org.clone(),
                user,
                fingerprint,
                scope: m.scope,
            });
        }
        None
    }
}

/// A certificate's names, most specific first: DNS and URI subject alternative names,
/// then the subject's common names.
fn certificate_names(ee: &webpki::EndEntityCert<'_>) -> Vec<String> {
    let mut out: Vec<String> = ee.valid_dns_names().map(str::to_string).collect();
    out.extend(ee.valid_uri_names().map(str::to_string));
    out.extend(common_names(ee.subject()));
    out
}

/// DER items (tag, contents) of `b`, stopping at the first malformed one.
fn der_items(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&tag, rest) = b.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let (value, next) = rest.split_at(len);
        b = next;
        Some((tag, value))
    })
}

/// The common names (OID 2.5.4.3) of a DER Name's contents (RDN sets).
fn common_names(name: &[u8]) -> Vec<String> {
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    let mut out = Vec::new();
    for (tag, set) in der_items(name) {
        if tag != 0x31 {
            continue;
        }
        for (tag, atv) in der_items(set) {
            if tag != 0x30 {
                continue;
            }
            let mut it = der_items(atv);
            if let (Some((0x06, oid)), Some((t, v))) = (it.next(), it.next()) {
                // UTF8String, PrintableString, IA5String
                if oid == CN && matches!(t, 0x0c | 0x13 | 0x16) {
                    if let Ok(s) = std::str::from_utf8(v) {
                        out.push(s.to_string());
                    }
                }
            }
        }
    }
    out
}

/// The peer of a TLS connection: address and the chain it presented (verified
/// against the trusted CAs by the handshake), if any.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// The peer's address.
    pub addr: SocketAddr,
    /// SHA-256 of its certificate.
    pub fingerprint: Option<String>,
    /// The certificates presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for ClientCert
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        let chain: Vec<CertificateDer<'static>> = stream
            .io()
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default();
        ClientCert {
            addr: *stream.remote_addr(),
            fingerprint: chain.first().map(|c| certificate_fingerprint(c)),
            chain,
        }
    }
}

/// Serve `router` over mutual TLS until `shutdown` completes. Each request whose
/// connection presented a mapped certificate carries a [`CertOrg`] extension (an
/// unmapped certificate, or none, carries nothing and authenticates otherwise). A
/// mapping that names a user authenticates requests without other credentials as
/// that user, with the mapping's scope. `map` is a [`CertMap`] or a list of pinned
/// fingerprints.
pub async fn serve_mtls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    map: impl Into<CertMap>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let map: Arc<CertMap> = Arc::new(map.into());
    let router = router.layer(axum::middleware::from_fn(
        move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<ClientCert>,
              mut req: axum::extract::Request,
              next: axum::middleware::Next| {
            let map = map.clone();
            async move {
                if let Some(org) = map.map(&peer.chain) {
                    req.extensions_mut().insert(org);
                }
                next.run(req).await
            }
        },
    ));
    let l = TlsListener::new(listener, acceptor)?;
    axum::serve(
        l,
        router.into_make_service_with_connect_info::<ClientCert>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A TLS acceptor for a certificate chain and private key (PEM).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let pem = |p: &Path, reason: String| TlsError::Pem {
        path: p.display().to_string(),
        reason,
    };
    let certs = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A listener that yields TLS streams whose handshake completed.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accept TCP connections on `listener` and handshake each on its own task.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept task never ends while the listener lives; should it, wait forever
            // (the graceful shutdown still completes).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serve the app over TLS until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let l = TlsListener::new(listener, acceptor)?;
    axum::serve(l, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
