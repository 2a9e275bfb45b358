//! The pinned client against real TLS servers on 127.0.0.1: the reference server, and
//! hostile servers that hold the right certificate but answer badly.

use crate::support;

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use palmkit_core::error::{Error, ErrorKind, NetworkFailure, TrustFailure};
use palmkit_core::{ServiceClient, ServiceConfig};
use palmkit_server::{RunningServer, ServerOptions};

async fn server_on(addr: &str) -> (tempfile::TempDir, RunningServer) {
    let dir = tempfile::tempdir().unwrap();
    let listen: SocketAddr = addr.parse().unwrap();
    let server = palmkit_server::start(ServerOptions::development(dir.path(), listen))
        .await
        .unwrap();
    (dir, server)
}

async fn health_of(config: &ServiceConfig) -> Result<(), Error> {
    ServiceClient::new(config)?.health().await.map(|_| ())
}

fn other_ca_pem() -> String {
    let dir = tempfile::tempdir().unwrap();
    palmkit_server::init_data_dir(dir.path(), palmkit_server::ServerMode::Development)
        .unwrap()
        .pki
        .ca_pem
}

#[tokio::test]
async fn pinned_client_passes_health_check() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    let health = ServiceClient::new(&server.client_config)
        .unwrap()
        .health()
        .await
        .unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.current_key_id, server.client_config.service_key.id);
    server.shutdown().await;
}

#[tokio::test]
async fn another_ca_is_refused_as_unknown_issuer() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    let mut config = server.client_config.clone();
    config.trust.ca_pem = Some(other_ca_pem());
    let err = health_of(&config).await.unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::UnknownIssuer)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::UntrustedServer);
    assert!(!err.is_retryable());
    server.shutdown().await;
}

#[tokio::test]
async fn right_ca_with_wrong_spki_pin_is_refused_as_pin_mismatch() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    let mut config = server.client_config.clone();
    config.trust.spki_sha256 = vec![base64::engine::general_purpose::STANDARD.encode([0u8; 32])];
    let err = health_of(&config).await.unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::PinMismatch)),
        "{err:?}"
    );
    assert!(err.to_string().contains("pinned public key"), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn either_the_ca_pin_or_the_leaf_pin_alone_is_enough() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    for pin in server.client_config.trust.spki_sha256.clone() {
        let mut config = server.client_config.clone();
        config.trust.spki_sha256 = vec![pin];
        health_of(&config).await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn spki_pin_without_ca_uses_public_roots_and_refuses_the_dev_ca() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    let mut config = server.client_config.clone();
    config.trust.ca_pem = None;
    let err = health_of(&config).await.unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::UnknownIssuer)),
        "{err:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn certificate_for_another_host_is_refused() {
    // The certificate names 127.0.0.1, localhost and ::1, not 127.0.0.2.
    let (_dir, server) = server_on("127.0.0.2:0").await;
    let err = health_of(&server.client_config).await.unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::WrongHost)),
        "{err:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stopped_server_is_a_retryable_connect_failure() {
    let (_dir, server) = server_on("127.0.0.1:0").await;
    let config = server.client_config.clone();
    server.shutdown().await;
    let err = health_of(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkFailure::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// A server with the reference server's certificate whose `/healthz` answers `body`.
fn hostile(status: u16, body: &'static [u8]) -> support::TlsServer {
    use axum::http::StatusCode;
    use axum::routing::get;
    support::tls_server(|_| {
        axum::Router::new().route(
            "/healthz",
            get(move || async move { (StatusCode::from_u16(status).unwrap(), body) }),
        )
    })
}

#[tokio::test]
async fn hostile_answers_are_typed_errors() {
    static HUGE: [u8; 2 * 1024 * 1024] = [b' '; 2 * 1024 * 1024];
    let cases: [(u16, &'static [u8], ErrorKind); 5] = [
        (200, b"<html>not json</html>", ErrorKind::Protocol),
        (200, br#"{"status":"ok"}"#, ErrorKind::Protocol),
        (200, &HUGE, ErrorKind::Protocol),
        (503, b"upstream down", ErrorKind::ServiceUnavailable),
        (400, br#"{"error":"x","message":"y"}"#, ErrorKind::Rejected),
    ];
    for (status, body, kind) in cases {
        let server = hostile(status, body);
        let err = health_of(&server.config).await.unwrap_err();
        assert_eq!(err.kind(), kind, "status {status}: {err:?}");
        server.handle.shutdown();
    }
}

#[tokio::test]
async fn unhealthy_status_is_not_a_pass() {
    let server = hostile(
        200,
        br#"{"status":"degraded","version":"9","current_key_id":"k"}"#,
    );
    let err = health_of(&server.config).await.unwrap_err();
    assert!(
        matches!(&err, Error::Service { code, .. } if code == "unhealthy"),
        "{err:?}"
    );
    server.handle.shutdown();
}

/// Finding 1 of the attack on the service: a pin was matched against any certificate the
/// server *sent*, not the path that was verified. Here the client trusts another CA (as it
/// would trust a public one) and pins the PalmKit CA's key; the server holds a certificate
/// from the other CA and sends the real (public) PalmKit CA certificate beside it.
#[tokio::test]
async fn a_pinned_ca_certificate_sent_beside_another_chain_is_not_a_pin_match() {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let palmkit_dir = tempfile::tempdir().unwrap();
    let palmkit =
        palmkit_server::init_data_dir(palmkit_dir.path(), palmkit_server::ServerMode::Development)
            .unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other =
        palmkit_server::init_data_dir(other_dir.path(), palmkit_server::ServerMode::Development)
            .unwrap();

    // The attacker's chain: its own leaf, then the PalmKit CA certificate as an extra.
    let chain: Vec<CertificateDer<'static>> = [&other.pki.server_pem, &palmkit.pki.ca_pem]
        .iter()
        .map(|pem| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
        .collect();
    let key =
        PrivateKeyDer::from_pem_file(other_dir.path().join("tls").join("server-key.pem")).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("https://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/healthz",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"status": "ok", "version": "0", "current_key_id": "k"}))
        }),
    );
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
    )
    .unwrap()
    .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });

    let mut config = palmkit.client_config(&base);
    config.trust.ca_pem = Some(other.pki.ca_pem.clone());
    config.trust.spki_sha256 = vec![palmkit.pki.ca_spki_pin.clone()];
    let err = health_of(&config).await.unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::PinMismatch)),
        "{err:?}"
    );

    // The same server passes when the pin names a key its verified path really holds.
    config.trust.spki_sha256 = vec![other.pki.ca_spki_pin.clone()];
    health_of(&config).await.unwrap();
    handle.shutdown();
}
