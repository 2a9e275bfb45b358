//! The OAuth 2.0 authorization server for the app (a public native client, RFC 8252):
//! RFC 8414 metadata, `/authorize` with a real login form, `/token` (authorization code
//! with PKCE S256 only, refresh with rotation and reuse detection), `/revoke` (RFC 7009),
//! and the bearer-token check behind `/v1/me`.
//!
//! Redirects carry `iss` (RFC 9207). Errors before the redirect URI is known to be the
//! client's are shown as a page, never redirected (RFC 6749 §4.1.2.1). Login attempts are
//! limited per email and per client address ([`limiter`]).

pub mod grants;
pub mod limiter;

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use url::Url;

use crate::accounts;
use crate::api::ApiFailure;
use crate::state::AppState;

/// The OAuth client id the reference server knows the app by.
pub const APP_CLIENT_ID: &str = "palmkit-app";
/// The app's redirect URI (a private-use scheme, RFC 8252 §7.1).
pub const APP_REDIRECT_URI: &str = "com.palmkit.app:/oauth2redirect";

/// Scopes the app may ask for.
pub const SUPPORTED_SCOPES: &[&str] = &["enroll"];

/// Whether `uri` is a redirect URI registered for the app: its private-use scheme URI, or
/// a loopback `http://127.0.0.1:PORT/callback` (any port, RFC 8252 §7.3) for desktop tools.
pub fn redirect_allowed(uri: &str) -> bool {
    if uri == APP_REDIRECT_URI {
        return true;
    }
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    let loopback = matches!(url.host_str(), Some("127.0.0.1") | Some("[::1]"));
    url.scheme() == "http"
        && loopback
        && url.path() == "/callback"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = state.issuer();
    let body = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": SUPPORTED_SCOPES,
        "authorization_response_iss_parameter_supported": true,
    });
    Json(body).into_response()
}

/// The authorization request's parameters, as query (GET) or hidden form fields (POST).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// A checked authorization request.
struct Checked {
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    code_challenge: String,
}

/// Whether `challenge` can be an S256 code challenge: BASE64URL of a SHA-256 digest
/// without padding (RFC 7636 §4.2), so 43 characters of `A-Z a-z 0-9 - _` and nothing
/// else (the form echoes it back into the login page).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks the request. `Err` is a finished answer (boxed: it is large): an error page
/// when the client or its redirect URI are not ours, otherwise an error redirect.
fn check(params: &AuthorizeParams, issuer: &str) -> Result<Checked, Box<Response>> {
    if params.client_id.as_deref() != Some(APP_CLIENT_ID) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Unknown app (client_id).",
        )));
    }
    let Some(redirect_uri) = params.redirect_uri.clone().filter(|r| redirect_allowed(r)) else {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "This redirect URI is not registered for the app.",
        )));
    };
    let fail = |code: &str, description: &str| {
        Box::new(error_redirect(
            &redirect_uri,
            params.state.as_deref(),
            issuer,
            code,
            description,
        ))
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let challenge = params.code_challenge.clone().unwrap_or_default();
    if params.code_challenge_method.as_deref() != Some("S256") || !is_s256_challenge(&challenge) {
        return Err(fail(
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        ));
    }
    let scope = params.scope.clone().unwrap_or_else(|| "enroll".into());
    if scope.split(' ').any(|s| !SUPPORTED_SCOPES.contains(&s)) {
        return Err(fail("invalid_scope", "unknown scope"));
    }
    Ok(Checked {
        redirect_uri,
        state: params.state.clone(),
        scope,
        code_challenge: challenge,
    })
}

/// `GET /authorize`: shows the login form.
pub async fn authorize_form(
    State(state): State<AppState>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    match check(&params, state.issuer()) {
        Ok(_) => login_page(&params, None, StatusCode::OK),
        Err(answer) => *answer,
    }
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    email: Option<String>,
    password: Option<String>,
    action: Option<String>,
}

/// `POST /authorize`: the shopper's answer to the login form.
pub async fn authorize_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let issuer = state.issuer().to_string();
    let checked = match check(&form.params, &issuer) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if form.action.as_deref() == Some("deny") {
        return error_redirect(
            &checked.redirect_uri,
            checked.state.as_deref(),
            &issuer,
            "access_denied",
            "the shopper declined",
        );
    }
    let email = form.email.unwrap_or_default().trim().to_lowercase();
    let password = form.password.unwrap_or_default();
    let ip_key = format!("ip:{}", peer.ip());
    let email_key = format!("email:{email}");
    let limiter = state.login_limiter();
    // Counted on entry: concurrent guesses cannot all pass before the first one fails.
    let attempt = match limiter.begin(&[&email_key, &ip_key]) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let minutes = wait.as_secs().div_ceil(60);
            let message = format!("Too many failed attempts. Try again in {minutes} minute(s).");
            return login_page(&form.params, Some(&message), StatusCode::TOO_MANY_REQUESTS);
        }
    };
    let db = state.db().clone();
    let turn = limiter.hashing().await;
    let verified = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        accounts::verify(&db, &email, &password)
    })
    .await;
    let account = match verified {
        Ok(Ok(Some(account))) => account,
        Ok(Ok(None)) => {
            attempt.failed();
            tracing::info!("login failed");
            return login_page(
                &form.params,
                Some("Wrong email or password."),
                StatusCode::UNAUTHORIZED,
            );
        }
        // Dropping the attempt gives it back: no answer about the password was given.
        Ok(Err(e)) => return ApiFailure::from(e).into_response(),
        Err(e) => return ApiFailure::from(crate::db::DbError::Task(e.to_string())).into_response(),
    };
    attempt.succeeded(&email_key);
    let lifetimes = state.lifetimes();
    let (account_id, redirect, challenge, scope) = (
        account.id.clone(),
        checked.redirect_uri.clone(),
        checked.code_challenge.clone(),
        checked.scope.clone(),
    );
    let code = state
        .db()
        .call(move |c| {
            grants::issue_code(
                c,
                &grants::CodeRequest {
                    account_id: &account_id,
                    client_id: APP_CLIENT_ID,
                    redirect_uri: &redirect,
                    code_challenge: &challenge,
                    scope: &scope,
                },
                &lifetimes,
            )
        })
        .await;
    let code = match code {
        Ok(code) => code,
        Err(e) => return ApiFailure::from(e).into_response(),
    };
    tracing::info!(account = %account.id, "login succeeded; code issued");
    let mut url = match Url::parse(&checked.redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "Bad redirect URI."),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &checked.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    issuer: &str,
    code: &str,
    description: &str,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, "Bad redirect URI.");
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", code);
        q.append_pair("error_description", description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The sign-in page: never framed (clickjacking) nor cached (it may echo the state), as
/// every page of the service ([`crate::html::page`]).
fn page(status: StatusCode, body: String) -> Response {
    crate::html::page(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>PalmKit sign-in</title></head>\
         <body style=\"font-family:sans-serif;max-width:26rem;margin:2rem auto\">{body}</body></html>"
        ),
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        format!("<h1>Cannot sign in</h1><p>{}</p>", escape(message)),
    )
}

fn login_page(params: &AuthorizeParams, error: Option<&str>, status: StatusCode) -> Response {
    let hidden = [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("state", &params.state),
        ("scope", &params.scope),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value.as_ref().map(|v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
    })
    .collect::<String>();
    let error = error
        .map(|e| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        status,
        format!(
            "<h1>Sign in to PalmKit</h1>{error}\
             <form method=\"post\" action=\"/authorize\">{hidden}\
             <p><label>Email<br><input name=\"email\" type=\"email\" autocomplete=\"username\" required></label></p>\
             <p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
             <p><button name=\"action\" value=\"login\">Sign in</button> \
             <button name=\"action\" value=\"deny\" formnovalidate>Cancel</button></p></form>"
        ),
    )
}

/// The token endpoint's form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn token_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(serde_json::json!({"error": code, "error_description": description})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /token`.
pub async fn token(State(state): State<AppState>, Form(form): Form<TokenForm>) -> Response {
    if form.client_id.as_deref() != Some(APP_CLIENT_ID) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    let lifetimes = state.lifetimes();
    let outcome = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(redirect), Some(verifier)) =
                (form.code, form.redirect_uri, form.code_verifier)
            else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code, redirect_uri and code_verifier are required",
                );
            };
            state
                .db()
                .call(move |c| {
                    grants::redeem_code(c, &code, APP_CLIENT_ID, &redirect, &verifier, &lifetimes)
                })
                .await
        }
        Some("refresh_token") => {
            let Some(refresh) = form.refresh_token else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            state
                .db()
                .call(move |c| grants::refresh(c, &refresh, APP_CLIENT_ID, &lifetimes))
                .await
        }
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "authorization_code or refresh_token",
            );
        }
    };
    match outcome {
        Ok(Ok(issued)) => {
            let mut response = Json(serde_json::json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "refresh_token": issued.refresh_token,
                "scope": issued.scope,
            }))
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(Err(grants::Refusal::Reused)) => {
            tracing::warn!("reuse of a spent code or refresh token: grant revoked");
            token_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "already used; the login was revoked",
            )
        }
        Ok(Err(grants::Refusal::Invalid(why))) => {
            token_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
        }
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

/// The revocation form (RFC 7009).
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
}

/// `POST /revoke`: always 200 for a well-formed request, known token or not.
pub async fn revoke(State(state): State<AppState>, Form(form): Form<RevokeForm>) -> Response {
    let Some(token) = form.token else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match state
        .db()
        .call(move |c| grants::revoke_token(c, &token))
        .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(challenge: &str) -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(APP_CLIENT_ID.into()),
            redirect_uri: Some(APP_REDIRECT_URI.into()),
            state: Some("st".into()),
            scope: None,
            code_challenge: Some(challenge.into()),
            code_challenge_method: Some("S256".into()),
        }
    }

    #[test]
    fn a_code_challenge_outside_base64url_is_refused() {
        let issuer = "https://127.0.0.1:1";
        let good = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c_";
        assert!(check(&request(good), issuer).is_ok());
        // 43 bytes each, none of them a base64url digest.
        let accented = format!("{}A", "é".repeat(21));
        for bad in [
            &format!("{}=", &good[..42]),
            &format!("{}.", &good[..42]),
            &format!("{}<", &good[..42]),
            &format!("{} ", &good[..42]),
            &accented,
        ] {
            assert_eq!(bad.len(), 43);
            let refused = check(&request(bad), issuer).err().expect(bad);
            let location = refused.headers()[header::LOCATION].to_str().unwrap();
            assert!(
                location.contains("error=invalid_request"),
                "{bad}: {location}"
            );
        }
    }
}
