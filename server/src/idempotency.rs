//! Idempotent requests: a client that did not see the answer retries with the same
//! `Idempotency-Key` and gets the first answer again instead of a second effect (a second
//! payment link, a second enrollment, a second submission).
//!
//! Keys are per account. A key reused for a different request is refused, so a client bug
//! cannot silently get the answer to another request.

use axum::http::{HeaderMap, StatusCode};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::api::ApiFailure;
use crate::db::DbError;

/// What a handler answers when a key comes back with another request.
pub const REUSED: (StatusCode, &str, &str) = (
    StatusCode::UNPROCESSABLE_ENTITY,
    "idempotency_key_reused",
    "this Idempotency-Key was used for another request",
);

/// The request's `Idempotency-Key`, if it sent one; a malformed key is refused.
pub fn optional_key(headers: &HeaderMap) -> Result<Option<String>, ApiFailure> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (8..=128).contains(&k.len()))
        .map(|k| Some(k.to_string()))
        .ok_or_else(invalid_key)
}

/// The request's `Idempotency-Key`, which it must send.
pub fn required_key(headers: &HeaderMap) -> Result<String, ApiFailure> {
    optional_key(headers)?.ok_or_else(invalid_key)
}

fn invalid_key() -> ApiFailure {
    ApiFailure::new(
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
        "send an Idempotency-Key header of 8 to 128 characters",
    )
}

/// The earlier answer for `key`: `Some(Ok(answer))` if it was for the same `request`,
/// `Some(Err(()))` if the key was used for another one, `None` if it is new.
pub fn earlier(
    conn: &Connection,
    account_id: &str,
    key: &str,
    request: &str,
) -> Result<Option<Result<String, ()>>, DbError> {
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT request, response FROM idempotency WHERE account_id = ?1 AND key = ?2",
            params![account_id, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(found.map(|(was, answer)| if was == request { Ok(answer) } else { Err(()) }))
}

/// Records the answer given to `request` under `key` (in the caller's transaction);
/// `enrollment_id` is the enrollment the answer names, if any: deleting it deletes the
/// answer (`uploads::store::forget_enrollment_data`).
pub fn remember(
    conn: &Connection,
    account_id: &str,
    key: &str,
    request: &str,
    answer: &str,
    enrollment_id: Option<&str>,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO idempotency (account_id, key, request, response, enrollment_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account_id, key, request, answer, enrollment_id],
    )?;
    Ok(())
}
