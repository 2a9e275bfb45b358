//! The API's answers to failure: [`ApiFailure`] (status, stable code, sentence, optional
//! reason word and headers, as `{"error", "message", "reason"}`) and [`ApiJson`], the JSON
//! extractor whose rejections answer in the same format. Below every handler.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use palmkit_core::protocol::ApiError;

use crate::db::DbError;

/// An error answer: status, stable code and message.
#[derive(Debug)]
pub struct ApiFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
    reason: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
}

impl ApiFailure {
    /// An error answer.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            reason: None,
            headers: Vec::new(),
        }
    }

    /// The same answer with its reason word (`ApiError::reason`).
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The reason word, if any.
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// The same answer with one more header (`Retry-After`, `Upload-Offset`, ...).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: self.code.to_string(),
            message: self.message,
            reason: self.reason.map(str::to_string),
        };
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<DbError> for ApiFailure {
    fn from(e: DbError) -> Self {
        // The detail goes to the log only: it may name tables or paths.
        tracing::error!(error = %e, "database error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

/// `Json<T>` whose rejections answer in the JSON error format.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let status = rejection.status();
                let code = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
                    JsonRejection::JsonSyntaxError(_) => "invalid_json",
                    JsonRejection::JsonDataError(_) => "invalid_request",
                    _ if status == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    _ => "bad_request",
                };
                Err(ApiFailure::new(status, code, rejection.body_text()))
            }
        }
    }
}
