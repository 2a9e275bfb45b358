//! [`Authenticated`]: the bearer-token extractor behind every protected route, below the
//! handlers that take it (the tokens themselves are `accounts::oauth::grants`').

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::accounts::oauth::grants;
use crate::api::ApiFailure;
use crate::state::AppState;

/// An authenticated account: the extractor behind every protected route.
pub struct Authenticated {
    /// The account id.
    pub account_id: String,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let unauthorized = |error: &str| {
            let mut response =
                ApiFailure::new(StatusCode::UNAUTHORIZED, "invalid_token", "sign in again")
                    .into_response();
            let challenge = format!("Bearer error=\"{error}\"");
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            response
        };
        let Some(token) = token else {
            return Err(unauthorized("invalid_request"));
        };
        match state
            .db()
            .call(move |c| grants::account_for_access_token(c, &token))
            .await
        {
            Ok(Some(account_id)) => Ok(Self { account_id }),
            Ok(None) => Err(unauthorized("invalid_token")),
            Err(e) => Err(ApiFailure::from(e).into_response()),
        }
    }
}
