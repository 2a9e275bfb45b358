//! Enrollment records: a shopper's draft (which hands), its captures (accepted uploads, see
//! the `uploads` module) and its submission, after which it waits for the first in-store
//! match.
//!
//! Creating and submitting are idempotent by `Idempotency-Key`: a phone that lost the answer
//! on a bad connection retries and gets the same enrollment back, never a second one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use palmkit_core::protocol::{Enrollment, EnrollmentState, Hand, NewEnrollment, SubmitEnrollment};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::api::{ApiFailure, ApiJson};
use crate::auth::Authenticated;
use crate::db::DbError;
use crate::idempotency;
use crate::state::AppState;

type Refusal = (StatusCode, &'static str, String);

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Task(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Task(format!("stored {what}: {e}")))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix seconds as RFC 3339 UTC.
fn rfc3339(conn: &Connection, unix: i64) -> Result<String, DbError> {
    Ok(conn.query_row(
        "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?1, 'unixepoch')",
        [unix],
        |r| r.get(0),
    )?)
}

/// The account's enrollment `id`, if it has one by that id. A pending enrollment past its
/// deadline reads as expired even before the sweeper has deleted its data.
pub fn load(conn: &Connection, id: &str, account_id: &str) -> Result<Option<Enrollment>, DbError> {
    let row = conn
        .query_row(
            // Another account's enrollment is "not found", not "forbidden": ids leak nothing.
            "SELECT id, state, hands, created_at, expires_at FROM enrollments
             WHERE id = ?1 AND account_id = ?2",
            [id, account_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((id, state, hands, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let mut state: EnrollmentState = from_json(&format!("\"{state}\""), "state")?;
    if state == EnrollmentState::PendingStoreMatch && expires_at.is_some_and(|at| at <= now()) {
        state = EnrollmentState::Expired;
    }
    let expires_at = match (state, expires_at) {
        (EnrollmentState::PendingStoreMatch, Some(at)) => Some(rfc3339(conn, at)?),
        _ => None,
    };
    Ok(Some(Enrollment {
        id,
        state,
        hands: from_json(&hands, "hands")?,
        created_at,
        expires_at,
    }))
}

/// Marks pending enrollments past their deadline expired and deletes their captures and
/// uploads (the sweeper calls this). Returns how many expired.
pub async fn expire_due(state: &AppState) -> Result<usize, DbError> {
    let cutoff = now();
    let uploads = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            let due: Vec<String> = {
                let mut stmt = tx.prepare(
                    "UPDATE enrollments SET state = 'expired'
                     WHERE state = 'pending_store_match' AND expires_at <= ?1 RETURNING id",
                )?;
                stmt.query_map([cutoff], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            let mut uploads = Vec::new();
            for id in &due {
                uploads.extend(crate::uploads::store::forget_enrollment_data(&tx, id)?);
            }
            tx.commit()?;
            if !due.is_empty() {
                crate::db::checkpoint(c)?;
            }
            Ok((due.len(), uploads))
        })
        .await?;
    crate::uploads::store::remove_part_files(state.uploads(), &uploads.1).await;
    if uploads.0 > 0 {
        tracing::info!(
            count = uploads.0,
            "pending enrollments expired; their captures deleted"
        );
    }
    Ok(uploads.0)
}

/// `DELETE /v1/enrollments/{id}`: the enrollment and all its biometric data (captures with
/// their sealed images, spoof verdicts and attestations; uploads and their part files)
/// are deleted. Afterwards the enrollment is `404` like one that never existed.
pub async fn delete(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let uploads = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            if load(&tx, &id, &who.account_id)?.is_none() {
                return Ok(None);
            }
            let uploads = crate::uploads::store::forget_enrollment_data(&tx, &id)?;
            // The shopper asked to be forgotten: the stores' pseudonyms go too.
            crate::palms::stores::forget_shopper_refs(&tx, &who.account_id)?;
            tx.execute("DELETE FROM enrollments WHERE id = ?1", [&id])?;
            tx.commit()?;
            crate::db::checkpoint(c)?;
            Ok(Some(uploads))
        })
        .await?
        .ok_or_else(not_found)?;
    crate::uploads::store::remove_part_files(state.uploads(), &uploads).await;
    tracing::info!("enrollment and its biometric data deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn not_found() -> ApiFailure {
    ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such enrollment")
}

/// `POST /v1/enrollments`, optionally with an `Idempotency-Key`.
pub async fn create(
    State(state): State<AppState>,
    who: Authenticated,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewEnrollment>,
) -> Result<(StatusCode, Json<Enrollment>), ApiFailure> {
    let hands = body.hands;
    if hands.is_empty() || hands.len() > 2 || (hands.len() == 2 && hands[0] == hands[1]) {
        return Err(ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "`hands` must name the left hand, the right hand, or both, each once",
        ));
    }
    let key = idempotency::optional_key(&headers)?;
    let id = crate::ids::new_id("enr")?;
    let max_enrollments = state.uploads().limits().max_enrollments_per_account;
    let outcome = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            let request = format!("create enrollment {}", to_json(&hands)?);
            if let Some(key) = &key {
                match idempotency::earlier(&tx, &who.account_id, key, &request)? {
                    Some(Ok(answer)) => return Ok(Ok((false, from_json(&answer, "answer")?))),
                    Some(Err(())) => return Ok(Err(idempotency::REUSED)),
                    None => {}
                }
            }
            let held: i64 = tx.query_row(
                "SELECT COUNT(*) FROM enrollments WHERE account_id = ?1",
                [&who.account_id],
                |r| r.get(0),
            )?;
            if held >= i64::from(max_enrollments) {
                return Ok(Err((
                    StatusCode::CONFLICT,
                    "enrollment_limit",
                    "this account has as many enrollments as it may have",
                )));
            }
            let created_at: String = tx.query_row(
                "INSERT INTO enrollments (id, state, hands, created_at, account_id)
                 VALUES (?1, 'draft', ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?3)
                 RETURNING created_at",
                params![id, to_json(&hands)?, who.account_id],
                |r| r.get(0),
            )?;
            let enrollment = Enrollment {
                id,
                state: EnrollmentState::Draft,
                hands,
                created_at,
                expires_at: None,
            };
            if let Some(key) = &key {
                idempotency::remember(
                    &tx,
                    &who.account_id,
                    key,
                    &request,
                    &to_json(&enrollment)?,
                    Some(&enrollment.id),
                )?;
            }
            tx.commit()?;
            Ok(Ok((true, enrollment)))
        })
        .await?;
    match outcome {
        Ok((fresh, enrollment)) => {
            if fresh {
                tracing::info!(enrollment = %enrollment.id, "draft enrollment created");
            }
            Ok((StatusCode::CREATED, Json(enrollment)))
        }
        Err((status, code, why)) => Err(ApiFailure::new(status, code, why)),
    }
}

/// `GET /v1/enrollments/{id}`.
pub async fn get(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Enrollment>, ApiFailure> {
    state
        .db()
        .call(move |c| load(c, &id, &who.account_id))
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// `POST /v1/enrollments/{id}/submit` with an `Idempotency-Key`: every enrolled hand has an
/// accepted capture among the named uploads; the enrollment moves to
/// `pending_store_match`.
pub async fn submit(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SubmitEnrollment>,
) -> Result<Json<Enrollment>, ApiFailure> {
    let key = idempotency::required_key(&headers)?;
    let ttl = state.uploads().limits().pending_enrollment_ttl.as_secs() as i64;
    let mut uploads = body.uploads;
    uploads.sort();
    uploads.dedup();
    // One submit at a time from the duplicate-palm search to the write (`palms::holds`).
    let _turn = state.submit_turn().lock().await;
    let near = near_other_palms(&state, &id, &who.account_id).await?;
    let outcome = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            let request = format!("submit {id} {}", uploads.join(","));
            match idempotency::earlier(&tx, &who.account_id, &key, &request)? {
                Some(Ok(answer)) => return Ok(Ok(from_json(&answer, "answer")?)),
                Some(Err(())) => {
                    let (status, code, why) = idempotency::REUSED;
                    return Ok(Err((status, code, why.to_string())));
                }
                None => {}
            }
            let Some(mut enrollment) = load(&tx, &id, &who.account_id)? else {
                return Ok(Err((
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such enrollment".into(),
                )));
            };
            if enrollment.state != EnrollmentState::Draft {
                return Ok(Err((
                    StatusCode::CONFLICT,
                    "already_submitted",
                    "this enrollment was already submitted".into(),
                )));
            }
            if let Err(refusal) = check_captures(&tx, &enrollment, &uploads)? {
                return Ok(Err(refusal));
            }
            let expires_at = now() + ttl;
            tx.execute(
                "UPDATE enrollments SET state = 'pending_store_match', expires_at = ?2
                 WHERE id = ?1",
                params![enrollment.id, expires_at],
            )?;
            // Held or not, the shopper's answer is the same (no "is this palm
            // enrolled?" oracle); the hold is for the operator.
            crate::palms::holds::hold_if_near(&tx, &enrollment.id, &who.account_id, &near)?;
            enrollment.state = EnrollmentState::PendingStoreMatch;
            enrollment.expires_at = Some(rfc3339(&tx, expires_at)?);
            idempotency::remember(
                &tx,
                &who.account_id,
                &key,
                &request,
                &to_json(&enrollment)?,
                Some(&enrollment.id),
            )?;
            tx.commit()?;
            Ok(Ok(enrollment))
        })
        .await?;
    match outcome {
        Ok(enrollment) => {
            tracing::info!(enrollment = %enrollment.id, "enrollment submitted");
            Ok(Json(enrollment))
        }
        Err((status, code, why)) => Err(ApiFailure::new(status, code, why)),
    }
}

/// The indexed pending enrollments (held ones too) near the palms of draft `id` (the duplicate-palm
/// check, `palms::holds`): none when the server reads no palms, or `id` is no draft of
/// the account (the submit then answers why, or replays its earlier answer). The search
/// runs whether anything is near or not, so its time tells a shopper nothing.
async fn near_other_palms(
    state: &AppState,
    id: &str,
    account_id: &str,
) -> Result<Vec<String>, ApiFailure> {
    let Some(index) = state.index().cloned() else {
        return Ok(Vec::new());
    };
    let (id, account_id, keys) = (
        id.to_string(),
        account_id.to_string(),
        state.data_keys().clone(),
    );
    let feed = index.clone();
    let templates = state
        .db()
        .call(move |c| {
            feed.catch_up(c)?;
            match load(c, &id, &account_id)? {
                Some(e) if e.state == EnrollmentState::Draft => {
                    crate::palms::holds::templates(c, &keys, &id)
                }
                _ => Ok(Vec::new()),
            }
        })
        .await?;
    if templates.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tokio::task::spawn_blocking(move || {
        crate::palms::holds::near(&index, &templates, crate::db::now())
    })
    .await
    .map_err(|e| ApiFailure::from(DbError::Task(e.to_string())))??)
}

/// Every named upload is an accepted capture of this enrollment, and together they cover
/// each enrolled hand exactly once.
fn check_captures(
    conn: &Connection,
    enrollment: &Enrollment,
    uploads: &[String],
) -> Result<Result<(), Refusal>, DbError> {
    let mut hands: Vec<Hand> = Vec::new();
    for upload in uploads {
        let hand: Option<String> = conn
            .query_row(
                "SELECT c.hand FROM captures c JOIN uploads u ON u.id = c.upload_id
                 WHERE c.upload_id = ?1 AND c.enrollment_id = ?2 AND u.state = 'accepted'",
                [upload, &enrollment.id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(hand) = hand else {
            return Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "upload_not_accepted",
                format!("upload {upload:.40} is not an accepted capture of this enrollment"),
            )));
        };
        hands.push(from_json(&format!("\"{hand}\""), "hand")?);
    }
    let mut wanted = enrollment.hands.clone();
    wanted.sort_by_key(|h| *h as u8);
    hands.sort_by_key(|h| *h as u8);
    if hands != wanted {
        return Ok(Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "captures_missing",
            "submit exactly one accepted capture for each enrolled hand".into(),
        )));
    }
    Ok(Ok(()))
}
