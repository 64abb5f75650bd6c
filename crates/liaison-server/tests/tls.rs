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
