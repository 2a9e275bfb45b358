//! The reference server's HTTP contract over real TLS on 127.0.0.1: JSON errors for every
//! failure, limits, timeouts, data-directory reuse and graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use palmkit_core::config::ServiceConfig;
use palmkit_core::net::PinnedClient;
use palmkit_server::{ServerOptions, limits::Limits};
use reqwest::StatusCode;
use serde_json::Value;

const LOOPBACK: &str = "127.0.0.1:0";

async fn start(dir: &std::path::Path, limits: Limits) -> palmkit_server::RunningServer {
    let mut options = ServerOptions::development(dir, LOOPBACK.parse::<SocketAddr>().unwrap());
    options.limits = limits;
    palmkit_server::start(options).await.unwrap()
}

/// Logs the test shopper in (scripted browser at the real login page) and returns an
/// access token for the protected routes.
async fn log_in(config: &ServiceConfig) -> String {
    use palmkit_core::account::AccountClient;
    use palmkit_core::account::store::KeyringStore;
    use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
    let store = KeyringStore::new(keyring_core::mock::Store::new().unwrap());
    let account = AccountClient::new(config, std::sync::Arc::new(store)).unwrap();
    let url = account.start_login().await.unwrap();
    let redirect = palmkit_server::accounts::browser::ScriptedBrowser::new(config)
        .unwrap()
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .unwrap();
    account.finish_login(&redirect).await.unwrap();
    account.access_token().await.unwrap()
}

fn client(config: &ServiceConfig) -> PinnedClient {
    PinnedClient::new(&config.validate().unwrap()).unwrap()
}

/// Sends a request and returns status, the `Allow` header and the JSON body (which must be
/// JSON: that is the contract under test).
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{status}: {content_type}"
    );
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    (status, allow, body)
}

fn code(body: &Value) -> &str {
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"].as_str().unwrap()
}

#[tokio::test]
async fn every_failure_answers_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Limits::default()).await;
    let c = client(&server.client_config);
    let token = log_in(&server.client_config).await;
    let enrollments = c.url("v1/enrollments").unwrap();

    let (status, _, body) = send(c.http().get(c.url("no/such/route").unwrap())).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    let anonymous = c
        .http()
        .post(enrollments.clone())
        .json(&serde_json::json!({"hands": ["left"]}));
    let (status, _, body) = send(anonymous).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    let (status, allow, body) = send(c.http().delete(c.url("healthz").unwrap())).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    assert!(allow.unwrap().contains("GET"));

    let bad_json = c
        .http()
        .post(enrollments.clone())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"hands\": [");
    let (status, _, body) = send(bad_json).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );

    let wrong_type = c
        .http()
        .post(enrollments.clone())
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"hands":["left"]}"#);
    let (status, _, body) = send(wrong_type).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );

    let unknown_field = c
        .http()
        .post(enrollments.clone())
        .bearer_auth(&token)
        .json(&serde_json::json!({"hands": ["left"], "card": "4242"}));
    let (status, _, body) = send(unknown_field).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
    );

    for hands in [serde_json::json!([]), serde_json::json!(["left", "left"])] {
        let (status, _, body) = send(
            c.http()
                .post(enrollments.clone())
                .bearer_auth(&token)
                .json(&serde_json::json!({"hands": hands})),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
        );
    }

    let too_big = format!(r#"{{"hands":["left"],"pad":"{}"}}"#, "x".repeat(200 * 1024));
    let oversized = c
        .http()
        .post(enrollments.clone())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(too_big);
    let (status, _, body) = send(oversized).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // And the happy path still works on the same connection pool.
    let (status, _, body) = send(
        c.http()
            .post(enrollments)
            .bearer_auth(&token)
            .json(&serde_json::json!({"hands": ["left", "right"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "draft");
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_body_without_length_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Limits::default()).await;
    let c = client(&server.client_config);
    let token = log_in(&server.client_config).await;
    // Chunked, no Content-Length: the limit must hold while reading.
    let chunks = (0..100).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 4096])));
    let req = c
        .http()
        .post(c.url("v1/enrollments").unwrap())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )));
    let (status, _, body) = send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn slow_request_times_out_with_a_json_408() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start(dir.path(), limits).await;
    let c = client(&server.client_config);
    let token = log_in(&server.client_config).await;
    // A body that never finishes: the server must give up, not wait forever.
    let stalled = futures_util::stream::unfold((), |_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b" ")), ()))
    });
    let req = c
        .http()
        .post(c.url("v1/enrollments").unwrap())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stalled));
    let (status, _, body) = send(req).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::REQUEST_TIMEOUT, "timeout")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn data_directory_is_reused_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), Limits::default()).await;
    let config = first.client_config.clone();
    let c = client(&config);
    let token = log_in(&config).await;
    let created: Value = c
        .http()
        .post(c.url("v1/enrollments").unwrap())
        .bearer_auth(&token)
        .json(&serde_json::json!({"hands": ["right"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    first.shutdown().await;

    let second = start(dir.path(), Limits::default()).await;
    assert_eq!(
        second.client_config.trust, config.trust,
        "CA and pins must be kept"
    );
    assert_eq!(second.client_config.service_key, config.service_key);
    // The old client configuration (other port aside) still trusts the restarted server.
    let mut old = config.clone();
    old.base_url = second.base_url.clone();
    let c = client(&old);
    let id = created["id"].as_str().unwrap();
    let (status, _, body) = send(
        c.http()
            .get(c.url(&format!("v1/enrollments/{id}")).unwrap())
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hands"], serde_json::json!(["right"]));
    second.shutdown().await;

    let written =
        std::fs::read_to_string(dir.path().join(palmkit_server::CLIENT_CONFIG_FILE)).unwrap();
    assert_eq!(
        ServiceConfig::from_json(&written).unwrap().base_url,
        old.base_url
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("tls/server-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
}

#[tokio::test]
async fn graceful_shutdown_stops_accepting() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Limits::default()).await;
    let addr = server.addr;
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
