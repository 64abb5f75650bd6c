//! HTTPS through rustls: a certificate chain and key in PEM files, and mutual TLS
//! for Liaison-to-Liaison links and API clients that present certificates.
//!
//! With mTLS, client certificates must chain to the configured client CA (rustls'
//! WebPKI verifier); each connection's certificate is identified by its SHA-256
//! fingerprint, and a mapping (config) says which organization (and user) it stands
//! for. Pinning the fingerprint rather than trusting a subject name means a CA that
//! issues a second certificate with the same name does not get the same rights.
//!
//! Handshakes run on their own tasks, so a slow or stalled client never holds up
//! the accept loop; failed handshakes are logged and dropped.

use crate::{app, AppState};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
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
    let certs = read_certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let ca_err = |reason: String| TlsError::ClientCa {
        path: client_ca.display().to_string(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in read_certs(client_ca)? {
        roots.add(c).map_err(|e| ca_err(e.to_string()))?;
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

/// The peer of a TLS connection: address and the fingerprint of the certificate it
/// presented (verified against the client CA by the handshake), if any.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// The peer's address.
    pub addr: SocketAddr,
    /// SHA-256 of its certificate.
    pub fingerprint: Option<String>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for ClientCert
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        let fingerprint = stream
            .io()
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| certificate_fingerprint(c));
        ClientCert {
            addr: *stream.remote_addr(),
            fingerprint,
        }
    }
}

/// Serve `router` over mutual TLS until `shutdown` completes. Each request whose
/// connection presented a mapped certificate carries a [`CertOrg`] extension (an
/// unmapped certificate, or none, carries nothing and authenticates otherwise). A
/// mapping that names a user authenticates requests without other credentials as
/// that user, with the mapping's scope.
pub async fn serve_mtls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    map: Vec<CertMapping>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let map = Arc::new(map);
    let router = router.layer(axum::middleware::from_fn(
        move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<ClientCert>,
              mut req: axum::extract::Request,
              next: axum::middleware::Next| {
            let map = map.clone();
            async move {
                if let Some(org) = peer
                    .fingerprint
                    .as_deref()
                    .and_then(|f| map_certificate(&map, f))
                {
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
