//! The HTTP face of the service: routes, the JSON error contract, limits and logs.
//!
//! Every API failure answers `{"error": CODE, "message": TEXT}` with a fitting status,
//! whether it comes from a handler, an extractor (bad JSON, wrong content type, body over
//! the limit), the router (unknown route, wrong method) or a layer (timeout):
//! [`json_errors`] rewrites any error answer that is neither JSON nor a page for a person
//! (the OAuth login form). The token endpoint answers RFC 6749 JSON errors. Request logs name method, path, status and time,
//! never the query string or a body, which may one day carry codes or tokens.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use palmkit_core::protocol::{AccountInfo, Health};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::accounts;
use crate::accounts::oauth;
use crate::api::ApiFailure;
use crate::auth::Authenticated;
use crate::enrollments;
use crate::limits::Limits;
use crate::payments::{provider, wallet};
use crate::state::AppState;
use crate::uploads;

/// A record of the requests the server received, for tests that must show what a client
/// sent (for example, that no card number reached the enrollment service). Off unless a
/// test sets [`crate::ServerOptions::tap`]; never used by `palmkit serve`.
#[derive(Clone, Debug, Default)]
pub struct RequestTap(pub Arc<std::sync::Mutex<Vec<TappedRequest>>>);

/// One request as received.
#[derive(Clone, Debug)]
pub struct TappedRequest {
    /// Path and query.
    pub target: String,
    /// Headers, one `name: value` per line.
    pub headers: String,
    /// The body.
    pub body: Vec<u8>,
}

/// The service's routes with all layers, recording requests into `tap` if given.
pub fn router(state: AppState, limits: &Limits, tap: Option<RequestTap>) -> Router {
    let router = routes(state, limits);
    match tap {
        Some(tap) => router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let tap = tap.clone();
            async move { record(tap, req, next).await }
        })),
        None => router,
    }
}

async fn record(tap: RequestTap, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "body too large",
        )
        .into_response();
    };
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    tap.0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(TappedRequest {
            // HTTP/2 requests carry the absolute URI: keep the path and query only.
            target: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers,
            body: bytes.to_vec(),
        });
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn routes(state: AppState, limits: &Limits) -> Router {
    // Three pools, so that no one kind of request queues the others: `/healthz` (no body,
    // no work) outside every pool; the capture uploads (long bodies) in a pool of their
    // own; everything else (logins, token refresh, enrollments, scans) in the shared one.
    let health = Router::new().route("/healthz", get(healthz));
    let uploads = uploads::routes().layer(GlobalConcurrencyLimitLayer::new(
        limits.uploads.max_concurrent_requests.max(1),
    ));
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route(
            "/authorize",
            get(oauth::authorize_form).post(oauth::authorize_submit),
        )
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/v1/me", get(me))
        .route(
            "/v1/payment-methods",
            get(wallet::wallet).post(wallet::attach),
        )
        .route(
            "/v1/payment-methods/setup-intents",
            post(wallet::setup_intent),
        )
        .route(
            "/v1/palm-profile/payment-method",
            axum::routing::put(wallet::link),
        )
        .route(
            "/provider/v1/payment_methods",
            post(provider::create_payment_method),
        )
        .route(
            "/provider/v1/setup_intents/{id}",
            get(provider::retrieve_setup_intent),
        )
        .route(
            "/provider/v1/setup_intents/{id}/confirm",
            post(provider::confirm_setup_intent),
        )
        .route(
            "/provider/3ds",
            get(provider::authentication_page).post(provider::authentication_submit),
        )
        .route(
            "/v1/attestation/nonce",
            post(crate::attestation::issue_nonce),
        )
        .route("/v1/enrollments", post(enrollments::create))
        .route(
            "/v1/enrollments/{id}",
            get(enrollments::get).delete(enrollments::delete),
        )
        .route("/v1/consent", post(crate::accounts::consent::give))
        .route("/v1/enrollments/{id}/submit", post(enrollments::submit))
        .merge(crate::palms::stores::routes())
        // Waiting for a turn happens inside the timeout, after the per-client limit: a
        // client holding many slow requests is refused more, not queued in front of others.
        .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrent))
        .merge(uploads)
        .merge(health)
        .fallback(|| async { ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        // A body that trickles is cut long before the request timeout (crate::body_rate).
        .layer(middleware::from_fn_with_state(
            limits.min_body_rate,
            crate::body_rate::enforce,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(crate::client_limit::ClientLimit::new(limits.max_per_client)),
            crate::client_limit::enforce,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

/// Rewrites error answers that are not JSON (from the router or a layer) into the JSON
/// error format, keeping their status and headers such as `Allow`.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    // JSON errors are already in the contract; HTML pages (the login form shown again with
    // its error) are meant for a person and stay as they are.
    let keep = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/json") || v.starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || keep {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let code = match status {
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = status.canonical_reason().unwrap_or("error").to_string();
    let fresh = ApiFailure::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}

/// One log line per request: method, path (no query), status, milliseconds.
async fn log_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiFailure> {
    state
        .db()
        .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "health check: database unavailable");
            ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "database unavailable",
            )
        })?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        current_key_id: state.current_key_id().to_string(),
    }))
}

/// `GET /v1/me`: the signed-in shopper's account.
async fn me(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<AccountInfo>, ApiFailure> {
    let found = state
        .db()
        .call(move |c| accounts::by_id(c, &who.account_id))
        .await?;
    let account = found.ok_or_else(|| {
        ApiFailure::new(StatusCode::UNAUTHORIZED, "invalid_token", "sign in again")
    })?;
    Ok(Json(AccountInfo {
        account_id: account.id,
        email: account.email,
        display_name: account.display_name,
    }))
}
