//! HTTPS through rustls: a self-signed certificate, a real socket, a rustls client.

mod common;
use common::*;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn serves_https_with_a_configured_certificate() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cp, kp) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cp, cert.cert.pem()).unwrap();
    std::fs::write(&kp, cert.key_pair.serialize_pem()).unwrap();
    let acceptor = liaison_server::tls::acceptor(&cp, &kp).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::tls::serve(
        listener,
        acceptor,
        f.state.clone(),
        async {
            let _ = stop_rx.await;
        },
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let get = |path: &'static str, auth: Option<String>| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut tls = connector
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            let auth = auth
                .map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default();
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\r\n"
            );
            tls.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            tls.read_to_string(&mut out).await.unwrap_or_default();
            out
        }
    };
    assert!(get("/health", None).await.starts_with("HTTP/1.1 200"));
    let r = get("/taxii2/", Some(format!("Bearer {}", f.tokens["admin"]))).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("application/taxii+json;version=2.1"));
    // a plain-HTTP request on the TLS port gets nothing served
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn bad_certificate_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.pem");
    std::fs::write(&p, "").unwrap();
    let e = liaison_server::tls::acceptor(&p, &p).err().unwrap();
    assert!(e.to_string().contains("empty.pem"), "{e}");
}

/// A CA, a server certificate and a client certificate signed by it, made with rcgen.
struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        let ca = p.self_signed(&ca_key).unwrap();
        Pki { ca, ca_key }
    }

    fn issue(&self, sans: Vec<String>, cn: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(sans).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_string());
        (p.signed_by(&key, &self.ca, &self.ca_key).unwrap(), key)
    }
}

#[tokio::test]
async fn mutual_tls_maps_client_certificates_to_organizations() {
    use liaison_server::tls::{certificate_fingerprint, CertMapping, CertOrg};
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new("Liaison test CA");
    let (srv, srv_key) = pki.issue(vec!["localhost".into()], "localhost");
    let (partner, partner_key) = pki.issue(vec![], "partner-node");
    let (stranger, stranger_key) = pki.issue(vec![], "unmapped-node");
    let rogue_ca = Pki::new("Rogue CA");
    let (rogue, rogue_key) = rogue_ca.issue(vec![], "partner-node");

    let w = |n: &str, t: String| {
        let p = dir.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let cp = w("cert.pem", srv.pem());
    let kp = w("key.pem", srv_key.serialize_pem());
    let ca = w("clients-ca.pem", pki.ca.pem());
    let map = vec![CertMapping {
        // Separators and case as `openssl x509 -fingerprint -sha256` prints them.
        fingerprint: certificate_fingerprint(partner.der())
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":"),
        org: "cert-eu".into(),
        user: Some("sync".into()),
        scope: None,
    }];

    let router = axum::Router::new().route(
        "/whoami",
        axum::routing::get(|org: Option<axum::Extension<CertOrg>>| async move {
            match org {
                Some(axum::Extension(o)) => format!("org={} user={:?}", o.org, o.user),
                None => "anonymous".to_string(),
            }
        }),
    );
    let serve = |required: bool, router: axum::Router, map: Vec<CertMapping>| {
        let acceptor = liaison_server::tls::mtls_acceptor(&cp, &kp, &ca, required).unwrap();
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(liaison_server::tls::serve_mtls(
                listener,
                acceptor,
                router,
                map,
                async {
                    let _ = stop_rx.await;
                },
            ));
            (addr, stop_tx)
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let client = |cert: Option<(&rcgen::Certificate, &rcgen::KeyPair)>| {
        let b = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone());
        let cfg = match cert {
            Some((c, k)) => b
                .with_client_auth_cert(
                    vec![c.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(
                        rustls::pki_types::PrivatePkcs8KeyDer::from(k.serialize_der()),
                    ),
                )
                .unwrap(),
            None => b.with_no_client_auth(),
        };
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
    };
    async fn whoami(
        addr: std::net::SocketAddr,
        c: tokio_rustls::TlsConnector,
    ) -> Result<String, String> {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = c
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        // TLS 1.3 reports a refused client certificate on the first read.
        tls.read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    // Required: the mapped certificate gets its organization; an unmapped one from the
    // same CA is let in without one; no certificate or a foreign CA's is refused.
    let (addr, stop) = serve(true, router.clone(), map.clone()).await;
    let ok = whoami(addr, client(Some((&partner, &partner_key))))
        .await
        .unwrap();
    assert!(ok.contains("org=cert-eu user=Some(\"sync\")"), "{ok}");
    let other = whoami(addr, client(Some((&stranger, &stranger_key))))
        .await
        .unwrap();
    assert!(other.ends_with("anonymous"), "{other}");
    assert!(
        whoami(addr, client(None)).await.is_err(),
        "no certificate must be refused"
    );
    assert!(
        whoami(addr, client(Some((&rogue, &rogue_key))))
            .await
            .is_err(),
        "a certificate of another CA with the same name must be refused"
    );
    let _ = stop.send(());

    // Optional: clients without a certificate come in (and authenticate otherwise).
    let (addr, stop) = serve(false, router, map).await;
    let anon = whoami(addr, client(None)).await.unwrap();
    assert!(anon.ends_with("anonymous"), "{anon}");
    let _ = stop.send(());

    // A client CA file without certificates is a clear error naming the file.
    let empty = w("empty.pem", String::new());
    let err = liaison_server::tls::mtls_acceptor(&cp, &kp, &empty, true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("empty.pem"), "{err}");
}

/// A client configuration presenting `cert` (or none) and trusting `ca`.
fn tls_client(
    ca: &rcgen::Certificate,
    cert: Option<(&rcgen::Certificate, &rcgen::KeyPair)>,
) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let cfg = match cert {
        Some((c, k)) => b
            .with_client_auth_cert(
                vec![c.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(
                    rustls::pki_types::PrivatePkcs8KeyDer::from(k.serialize_der()),
                ),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// One HTTP/1.1 request over TLS; the raw response.
async fn send(addr: std::net::SocketAddr, c: tokio_rustls::TlsConnector, head: &str) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = c
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut out = String::new();
    tls.read_to_string(&mut out).await.unwrap_or_default();
    out
}

#[tokio::test]
async fn a_mapped_client_certificate_authenticates_as_its_user() {
    use liaison_server::tls::{certificate_fingerprint, CertMapping};
    let f = fixture();
    let audit_dir = tempfile::tempdir().unwrap();
    let log = Arc::new(liaison_store::audit::AuditLog::open(audit_dir.path(), None).unwrap());
    let _ = f.state.clone().with_audit(log);
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new("Liaison test CA");
    let (srv, srv_key) = pki.issue(vec!["localhost".into()], "localhost");
    let (reader, reader_key) = pki.issue(vec![], "reader-node");
    let (writer, writer_key) = pki.issue(vec![], "writer-node");
    let (org_only, org_only_key) = pki.issue(vec![], "org-only-node");
    let w = |n: &str, t: String| {
        let p = dir.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let cp = w("cert.pem", srv.pem());
    let kp = w("key.pem", srv_key.serialize_pem());
    let ca = w("ca.pem", pki.ca.pem());
    let map = vec![
        // No scope given: read only.
        CertMapping {
            fingerprint: certificate_fingerprint(reader.der()),
            org: "cert".into(),
            user: Some("reader".into()),
            scope: None,
        },
        CertMapping {
            fingerprint: certificate_fingerprint(writer.der()),
            org: "partner".into(),
            user: Some("other".into()),
            scope: Some(liaison_server::Scope::Write),
        },
        // An organization without a fixed user authenticates nobody by itself.
        CertMapping {
            fingerprint: certificate_fingerprint(org_only.der()),
            org: "cert".into(),
            user: None,
            scope: None,
        },
    ];
    let acceptor = liaison_server::tls::mtls_acceptor(&cp, &kp, &ca, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::tls::serve_mtls(
        listener,
        acceptor,
        liaison_server::app(f.state.clone()),
        map,
        async {
            let _ = stop_rx.await;
        },
    ));
    let get = |path: String| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {TAXII}\r\nConnection: close\r\n\r\n"
        )
    };
    let post = |path: String, body: String| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {TAXII}\r\nContent-Type: {TAXII}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let reader_c = tls_client(&pki.ca, Some((&reader, &reader_key)));
    let writer_c = tls_client(&pki.ca, Some((&writer, &writer_key)));

    // The reader's certificate reads without a password, with the reader's clearance.
    let r = send(addr, reader_c.clone(), &get(coll_path("objects/"))).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains(PUBLIC_ID) && r.contains(SECRET_ID), "{r}");
    // …but may not write: the mapping's scope defaults to read.
    let env = serde_json::json!({"objects": [malware(
        "malware--7e0c2a4b-1d3f-4e5a-9b6c-8d7e6f5a4b3c", "By cert", "2026-03-01T00:00:00.000Z", None)]})
    .to_string();
    let r = send(addr, reader_c, &post(coll_path("objects/"), env.clone())).await;
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    // The partner's certificate acts as 'other' (another organization: the protected
    // object is not releasable to it) and may write.
    let r = send(addr, writer_c.clone(), &get(coll_path("objects/"))).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains(PUBLIC_ID) && !r.contains(SECRET_ID), "{r}");
    let r = send(addr, writer_c, &post(coll_path("objects/"), env)).await;
    assert!(r.starts_with("HTTP/1.1 202"), "{r}");
    // Mapped to an organization only, or no certificate: a credential is still needed.
    let org_c = tls_client(&pki.ca, Some((&org_only, &org_only_key)));
    let r = send(addr, org_c.clone(), &get(coll_path("objects/"))).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let r = send(addr, tls_client(&pki.ca, None), &get(coll_path("objects/"))).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    // A bearer token alongside an organization-only certificate works as before.
    let with_token = format!(
        "GET /taxii2/ HTTP/1.1\r\nHost: localhost\r\nAccept: {TAXII}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        f.tokens["admin"]
    );
    let r = send(addr, org_c, &with_token).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();

    // Each certificate login is in the audit log with its fingerprint and organization.
    let mut logins = Vec::new();
    liaison_store::audit::query(
        audit_dir.path(),
        &liaison_protect::audit::Query {
            action: Some("login".into()),
            ..Default::default()
        },
        &mut |r| {
            logins.push((r.user.clone(), r.detail.clone()));
            Ok(())
        },
    )
    .unwrap();
    let fp = certificate_fingerprint(reader.der());
    let reader_logins: Vec<_> = logins.iter().filter(|(u, _)| u == "reader").collect();
    assert_eq!(reader_logins.len(), 2, "{logins:?}");
    for (_, d) in &reader_logins {
        assert_eq!(d, &format!("certificate {fp} org cert: ok"));
    }
    assert_eq!(
        logins.iter().filter(|(u, _)| u == "other").count(),
        2,
        "{logins:?}"
    );
    assert!(logins.contains(&("admin".to_string(), "token: ok".to_string())));
}

/// A partner's CA stands for the partner's organization: leaf certificates it issues
/// (and re-issues, when the partner rotates them) map without any fingerprint in the
/// config; their names pick the user.
#[tokio::test]
async fn a_partner_ca_maps_its_certificates_to_its_organization() {
    use liaison_server::tls::{certificate_fingerprint, CaMapping, CertMap, CertMapping, CertOrg};
    let dir = tempfile::tempdir().unwrap();
    let ours = Pki::new("Liaison test CA");
    let (srv, srv_key) = ours.issue(vec!["localhost".into()], "localhost");
    let partner = Pki::new("CERT-EU issuing CA");
    let acme = Pki::new("ACME CA");
    let w = |n: &str, t: String| {
        let p = dir.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let cp = w("cert.pem", srv.pem());
    let kp = w("key.pem", srv_key.serialize_pem());
    let partner_ca = w("cert-eu-ca.pem", partner.ca.pem());
    let acme_ca = w("acme-ca.pem", acme.ca.pem());
    let cas = vec![
        CaMapping {
            ca: partner_ca.clone(),
            org: "partner".into(),
            users: [
                ("sync.cert-eu.example".to_string(), "other".to_string()),
                ("analyst-7".to_string(), "analyst7".to_string()),
            ]
            .into(),
            default_user: Some("cert-eu-service".into()),
            scope: Some(liaison_server::Scope::Write),
        },
        // No default user: unknown names map to the organization only.
        CaMapping {
            ca: acme_ca.clone(),
            org: "acme".into(),
            users: Default::default(),
            default_user: None,
            scope: None,
        },
    ];
    // This year's and next year's certificate of the partner's sync node (new key).
    let (sync1, sync1_key) = partner.issue(vec!["sync.cert-eu.example".into()], "node-2026");
    let (sync2, sync2_key) = partner.issue(vec!["sync.cert-eu.example".into()], "node-2027");
    // Named by its subject common name only.
    let (by_cn, by_cn_key) = partner.issue(vec![], "analyst-7");
    // A name the mapping does not list: the service account.
    let (unlisted, unlisted_key) = partner.issue(vec!["batch.cert-eu.example".into()], "batch");
    // Another trusted CA issuing the partner's name: maps to its own organization.
    let (forged, forged_key) = acme.issue(vec!["sync.cert-eu.example".into()], "analyst-7");
    // Pinned by fingerprint: the pin wins over the CA mapping.
    let (pinned, pinned_key) = partner.issue(vec!["sync.cert-eu.example".into()], "pinned");
    let pins = vec![CertMapping {
        fingerprint: certificate_fingerprint(pinned.der()),
        org: "cert".into(),
        user: Some("reader".into()),
        scope: None,
    }];
    let map = CertMap::new(pins, &cas).unwrap();

    let router = axum::Router::new().route(
        "/whoami",
        axum::routing::get(|org: Option<axum::Extension<CertOrg>>| async move {
            match org {
                Some(axum::Extension(o)) => {
                    format!("org={} user={:?} scope={:?}", o.org, o.user, o.scope)
                }
                None => "anonymous".to_string(),
            }
        }),
    );
    // Only the partner CAs are trusted (no [server] tls_client_ca), certificates required.
    let mut trusted = map.ca_files();
    trusted.sort();
    assert_eq!(trusted, {
        let mut v = vec![acme_ca.as_path(), partner_ca.as_path()];
        v.sort();
        v
    });
    let acceptor =
        liaison_server::tls::mtls_acceptor_with(&cp, &kp, &map.ca_files(), true).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::tls::serve_mtls(
        listener,
        acceptor,
        router,
        map,
        async {
            let _ = stop_rx.await;
        },
    ));
    let whoami = |cert: &rcgen::Certificate, key: &rcgen::KeyPair| {
        let c = tls_client(&ours.ca, Some((cert, key)));
        async move {
            send(
                addr,
                c,
                "GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await
        }
    };
    for (cert, key) in [(&sync1, &sync1_key), (&sync2, &sync2_key)] {
        let r = whoami(cert, key).await;
        assert!(
            r.ends_with("org=partner user=Some(\"other\") scope=Some(Write)"),
            "{r}"
        );
    }
    let r = whoami(&by_cn, &by_cn_key).await;
    assert!(
        r.ends_with("org=partner user=Some(\"analyst7\") scope=Some(Write)"),
        "{r}"
    );
    let r = whoami(&unlisted, &unlisted_key).await;
    assert!(
        r.ends_with("org=partner user=Some(\"cert-eu-service\") scope=Some(Write)"),
        "{r}"
    );
    let r = whoami(&forged, &forged_key).await;
    assert!(r.ends_with("org=acme user=None scope=None"), "{r}");
    let r = whoami(&pinned, &pinned_key).await;
    assert!(
        r.ends_with("org=cert user=Some(\"reader\") scope=None"),
        "{r}"
    );
    // A certificate of our own CA is not trusted here: refused in the handshake.
    let (own, own_key) = ours.issue(vec!["sync.cert-eu.example".into()], "x");
    let c = tls_client(&ours.ca, Some((&own, &own_key)));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let refused = match c
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
    {
        Err(_) => true,
        Ok(mut tls) => {
            let _ = tls
                .write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await;
            let mut out = String::new();
            tls.read_to_string(&mut out).await.is_err() || out.is_empty()
        }
    };
    assert!(refused, "a certificate of an untrusted CA must be refused");
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();

    // A missing CA file is an error naming it.
    let err = CertMap::new(
        vec![],
        &[CaMapping {
            ca: dir.path().join("nope.pem"),
            ..cas[0].clone()
        }],
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("nope.pem"), "{err}");
}

/// End to end on the real app: a partner's rotated certificate authenticates as the
/// user its name maps to, with that user's clearance.
#[tokio::test]
async fn a_partner_ca_certificate_authenticates_on_the_app() {
    use liaison_server::tls::{CaMapping, CertMap};
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let ours = Pki::new("Liaison test CA");
    let (srv, srv_key) = ours.issue(vec!["localhost".into()], "localhost");
    let partner = Pki::new("Partner CA");
    let w = |n: &str, t: String| {
        let p = dir.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let cp = w("cert.pem", srv.pem());
    let kp = w("key.pem", srv_key.serialize_pem());
    let ours_ca = w("ca.pem", ours.ca.pem());
    let partner_ca = w("partner-ca.pem", partner.ca.pem());
    let map = CertMap::new(
        vec![],
        &[CaMapping {
            ca: partner_ca,
            org: "partner".into(),
            users: [("sync.partner.example".to_string(), "other".to_string())].into(),
            default_user: None,
            scope: None,
        }],
    )
    .unwrap();
    let mut cas = vec![ours_ca.as_path()];
    cas.extend(map.ca_files());
    let acceptor = liaison_server::tls::mtls_acceptor_with(&cp, &kp, &cas, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::tls::serve_mtls(
        listener,
        acceptor,
        liaison_server::app(f.state.clone()),
        map,
        async {
            let _ = stop_rx.await;
        },
    ));
    let get = format!(
        "GET {} HTTP/1.1\r\nHost: localhost\r\nAccept: {TAXII}\r\nConnection: close\r\n\r\n",
        coll_path("objects/")
    );
    for year in ["2026", "2027"] {
        let (leaf, key) = partner.issue(vec!["sync.partner.example".into()], year);
        let r = send(addr, tls_client(&ours.ca, Some((&leaf, &key))), &get).await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        // 'other' is of another organization: the protected object is not releasable to it.
        assert!(r.contains(PUBLIC_ID) && !r.contains(SECRET_ID), "{r}");
    }
    // A partner certificate whose name is not listed (and no default user): no login.
    let (leaf, key) = partner.issue(vec!["unknown.partner.example".into()], "x");
    let r = send(addr, tls_client(&ours.ca, Some((&leaf, &key))), &get).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
