//! The tus client against servers that answer wrongly on purpose: every case ends in a
//! typed error, never a panic, and a bearer token never follows an upload URL off the
//! endpoint's origin.

use crate::support;

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{options, patch, post};
use palmkit_core::error::{Error, UploadFailure};
use palmkit_core::net::PinnedClient;
use palmkit_core::upload::{CancelToken, NoProgress, RetryPolicy, TusAuth, TusClient, TusOptions};

fn tus_options() -> [(&'static str, &'static str); 2] {
    [("tus-version", "1.0.0"), ("tus-extension", "creation")]
}

/// A router whose `/files` answers OPTIONS as a tus 1.0 server with creation.
fn tus_endpoint() -> axum::Router {
    axum::Router::new().route(
        "/files",
        options(|| async { (StatusCode::NO_CONTENT, tus_options()) }),
    )
}

async fn upload_to(
    server: &support::TlsServer,
) -> Result<palmkit_core::upload::UploadReport, Error> {
    let net = PinnedClient::new(&server.config.validate().unwrap()).unwrap();
    let options = TusOptions {
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            max_attempts_without_progress: 3,
            ..RetryPolicy::default()
        },
        ..TusOptions::default()
    };
    TusClient::new(
        net.http(),
        net.url("files").unwrap(),
        TusAuth::None,
        options,
    )
    .upload(&[1u8; 1000][..], &[], &NoProgress, &CancelToken::new())
    .await
}

#[tokio::test]
async fn an_upload_url_on_another_origin_is_refused() {
    let server = support::tls_server(|_| {
        tus_endpoint().route(
            "/files",
            post(|| async {
                (
                    StatusCode::CREATED,
                    [("location", "https://elsewhere.example/files/1")],
                )
            }),
        )
    });
    let err = upload_to(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m.contains("another origin")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_without_tus_1_0_is_named() {
    let server = support::tls_server(|_| {
        axum::Router::new().route(
            "/files",
            options(|| async { (StatusCode::NO_CONTENT, [("tus-version", "0.2.2")]) }),
        )
    });
    let err = upload_to(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Upload(UploadFailure::NotResumable(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_that_claims_impossible_offsets_is_a_typed_error() {
    let server = support::tls_server(|_| {
        tus_endpoint()
            .route(
                "/files",
                post(|| async { (StatusCode::CREATED, [("location", "/files/1")]) }),
            )
            // Confirms more bytes than the upload has.
            .route(
                "/files/1",
                patch(|_h: HeaderMap| async {
                    (StatusCode::NO_CONTENT, [("upload-offset", "99999")])
                })
                .head(|| async { (StatusCode::OK, [("upload-offset", "5000000")]) }),
            )
    });
    let err = upload_to(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(m) if m.contains("claims offset")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_that_keeps_failing_ends_the_budget_with_its_last_error() {
    let server = support::tls_server(|_| {
        tus_endpoint().route(
            "/files",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")]) }),
        )
    });
    let err = upload_to(&server).await.unwrap_err();
    match &err {
        Error::Upload(UploadFailure::RetriesExhausted { attempts, last }) => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, Error::Service { status: 503, .. }),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_upload_the_server_forgot_is_created_again() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let creations = Arc::new(AtomicUsize::new(0));
    let patches = Arc::new(AtomicUsize::new(0));
    let (c, p) = (creations.clone(), patches.clone());
    let server = support::tls_server(move |_| {
        tus_endpoint()
            .route(
                "/files",
                post(move || {
                    let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { (StatusCode::CREATED, [("location", format!("/files/{n}"))]) }
                }),
            )
            .route(
                "/files/{n}",
                // The first upload breaks (500), then is gone (404); the second completes.
                patch(move |axum::extract::Path(n): axum::extract::Path<u32>| {
                    p.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n == 1 {
                            (StatusCode::INTERNAL_SERVER_ERROR, [("upload-offset", "0")])
                        } else {
                            (StatusCode::NO_CONTENT, [("upload-offset", "1000")])
                        }
                    }
                })
                .head(|| async { StatusCode::NOT_FOUND }),
            )
    });
    let report = upload_to(&server).await.unwrap();
    assert_eq!(report.creations, 2);
    assert_eq!(report.id, "2");
    assert_eq!(creations.load(Ordering::SeqCst), 2);
    assert_eq!(patches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn all_bytes_in_but_unfinished_asks_the_server_to_finish() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let empty_patches = Arc::new(AtomicUsize::new(0));
    let seen = empty_patches.clone();
    let server = support::tls_server(move |_| {
        tus_endpoint()
            .route(
                "/files",
                post(|| async { (StatusCode::CREATED, [("location", "/files/1")]) }),
            )
            .route(
                "/files/1",
                // The first PATCH "breaks" after the server stored everything; HEAD then says
                // all bytes are in but the upload is still being received.
                patch(move |h: HeaderMap, body: axum::body::Bytes| {
                    let seen = seen.clone();
                    async move {
                        let offset = h["upload-offset"].to_str().unwrap().to_string();
                        if body.is_empty() && offset == "1000" {
                            seen.fetch_add(1, Ordering::SeqCst);
                            (StatusCode::NO_CONTENT, [("upload-offset", "1000")])
                        } else {
                            (StatusCode::BAD_GATEWAY, [("upload-offset", "0")])
                        }
                    }
                })
                .head(|| async {
                    (
                        StatusCode::OK,
                        [
                            ("upload-offset", "1000"),
                            ("palmkit-upload-state", "receiving"),
                        ],
                    )
                }),
            )
    });
    let report = upload_to(&server).await.unwrap();
    assert_eq!(
        empty_patches.load(Ordering::SeqCst),
        1,
        "no finishing PATCH was sent"
    );
    assert_eq!(report.creations, 1);
}
