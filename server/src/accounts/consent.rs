//! Biometric consent: the shopper's agreement to the consent text the app showed, recorded
//! with the text's version and the time it was first given (`POST /v1/consent`). In
//! production mode no capture is taken from an account without one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use palmkit_core::protocol::{ConsentRecord, GiveConsent};
use rusqlite::params;

use crate::api::{ApiFailure, ApiJson};
use crate::auth::Authenticated;
use crate::db::{Db, DbError};
use crate::state::AppState;

/// Whether `account_id` has given any biometric consent.
pub async fn given(db: &Db, account_id: &str) -> Result<bool, DbError> {
    let account_id = account_id.to_string();
    db.call(move |c| {
        Ok(c.query_row(
            "SELECT EXISTS(SELECT 1 FROM consents WHERE account_id = ?1)",
            [&account_id],
            |r| r.get(0),
        )?)
    })
    .await
}

/// Consent text versions one account may hold.
const CONSENT_VERSIONS_PER_ACCOUNT: i64 = 16;

/// `POST /v1/consent`: records the consent (the first time for a version is kept).
pub async fn give(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(body): ApiJson<GiveConsent>,
) -> Result<(StatusCode, Json<ConsentRecord>), ApiFailure> {
    let version = body.text_version;
    if version.is_empty()
        || version.len() > 64
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "text_version is 1 to 64 letters, digits, '-', '_' or '.'",
        ));
    }
    let record = state
        .db()
        .call(move |c| {
            // A shopper meets a handful of consent texts over the years; a client sending
            // new versions in a loop (300 were accepted) must not grow the table.
            let (known, held): (bool, i64) = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM consents WHERE account_id = ?1 AND text_version = ?2),
                        (SELECT count(*) FROM consents WHERE account_id = ?1)",
                params![who.account_id, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if !known && held >= CONSENT_VERSIONS_PER_ACCOUNT {
                return Ok(None);
            }
            c.execute(
                "INSERT OR IGNORE INTO consents (account_id, text_version, given_at)
                 VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                params![who.account_id, version],
            )?;
            let given_at: String = c.query_row(
                "SELECT given_at FROM consents WHERE account_id = ?1 AND text_version = ?2",
                params![who.account_id, version],
                |r| r.get(0),
            )?;
            Ok::<_, DbError>(Some(ConsentRecord {
                text_version: version,
                given_at,
            }))
        })
        .await?
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::CONFLICT,
                "consent_limit",
                format!(
                    "this account holds consents to {CONSENT_VERSIONS_PER_ACCOUNT} text \
                     versions, the most kept"
                ),
            )
        })?;
    tracing::info!(version = %record.text_version, "biometric consent recorded");
    Ok((StatusCode::CREATED, Json(record)))
}
