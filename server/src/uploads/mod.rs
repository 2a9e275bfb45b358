//! Resumable capture uploads: tus 1.0 (core protocol plus the creation, termination,
//! checksum and expiration extensions) under `/v1/uploads`, for the signed-in shopper only.
//!
//! Bytes in flight are appended to `DATA/uploads/ID.part`; they are sealed envelopes, never
//! plaintext. The database row holds the offset the service vouches for: a PATCH first cuts
//! the file back to it, so whatever a crash or a cut connection left behind is dropped. When
//! the last byte arrives the envelope is opened and checked in memory ([`verify`]); an
//! accepted capture's sealed bytes move into the `captures` table and the file is removed.
//!
//! Limits: a largest upload, a number of unfinished uploads per account, a number of PATCH
//! bodies written at once (more get `503` with `Retry-After`), one PATCH per upload at a
//! time (`423` with `Retry-After` while another holds it), and an expiry after which an
//! unfinished upload is gone (`410`, then swept).

mod attested;
pub mod policy;
pub mod store;
pub mod tus;
pub mod verify;

use std::path::Path as FsPath;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{options, post};
use futures_util::StreamExt as _;
use palmkit_core::protocol::{Hand, UPLOAD_ERROR_HEADER, UPLOAD_STATE_HEADER, upload_metadata};
use rusqlite::{OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};

use attested::{attestation_refused, platform_statement};

use crate::api::ApiFailure;
use crate::auth::Authenticated;
use crate::data_keys::{Boxed, EnrollmentKey};
use crate::db::DbError;
use crate::state::AppState;

/// The upload routes (they need [`AppState`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/uploads", post(create).options(describe))
        .route(
            "/v1/uploads/{id}",
            options(describe)
                .head(status)
                .patch(append)
                .delete(terminate),
        )
        .layer(map_response(|mut response: Response| async move {
            response
                .headers_mut()
                .insert("tus-resumable", HeaderValue::from_static(tus::VERSION));
            response
        }))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn http_date(unix: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix.max(0) as u64))
}

/// `OPTIONS`: what this server speaks.
async fn describe(State(state): State<AppState>) -> Response {
    let limits = &state.uploads().limits;
    (
        StatusCode::NO_CONTENT,
        [
            ("tus-version", tus::VERSION.to_string()),
            ("tus-extension", tus::EXTENSIONS.to_string()),
            (
                "tus-checksum-algorithm",
                tus::CHECKSUM_ALGORITHMS.to_string(),
            ),
            ("tus-max-size", limits.max_upload_bytes.to_string()),
        ],
    )
        .into_response()
}

/// One upload row.
struct Upload {
    enrollment_id: String,
    hand: Hand,
    length: u64,
    received: u64,
    state: String,
    error: Option<String>,
    expires_at: i64,
    /// The attestation claimed at creation (JSON of `attestation::Claim`).
    attestation: Option<String>,
}

fn load(
    conn: &rusqlite::Connection,
    id: &str,
    account_id: &str,
) -> Result<Option<Upload>, DbError> {
    Ok(conn
        .query_row(
            "SELECT enrollment_id, hand, length, received, state, error, expires_at, attestation
             FROM uploads WHERE id = ?1 AND account_id = ?2",
            [id, account_id],
            |r| {
                let hand: String = r.get(1)?;
                Ok(Upload {
                    enrollment_id: r.get(0)?,
                    hand: hand.parse().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            1,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?,
                    length: r.get::<_, i64>(2)? as u64,
                    received: r.get::<_, i64>(3)? as u64,
                    state: r.get(4)?,
                    error: r.get(5)?,
                    expires_at: r.get(6)?,
                    attestation: r.get(7)?,
                })
            },
        )
        .optional()?)
}

fn not_found() -> ApiFailure {
    ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such upload")
}

/// The upload was there when the request began and is not any more: its enrollment was
/// deleted (or the upload terminated or swept) while its bytes were arriving or opened.
fn deleted_meanwhile() -> ApiFailure {
    ApiFailure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "the upload or its enrollment was deleted meanwhile",
    )
}

fn gone() -> ApiFailure {
    ApiFailure::new(
        StatusCode::GONE,
        "upload_expired",
        "the upload expired before it completed; start a new one",
    )
}

impl Upload {
    fn expired(&self) -> bool {
        self.state == "receiving" && self.expires_at <= now()
    }
}

/// `POST /v1/uploads` (tus creation): `Upload-Length` and `Upload-Metadata` with
/// `enrollment_id` and `hand`.
async fn create(
    State(state): State<AppState>,
    who: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    tus::require_resumable(&headers)?;
    let limits = state.uploads().limits.clone();
    let Some(length) = tus::u64_header(&headers, "upload-length")? else {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "length_required",
            "send Upload-Length (deferred lengths are not served)",
        ));
    };
    if length == 0 || length > limits.max_upload_bytes {
        return Err(ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            format!("an upload is 1 to {} bytes", limits.max_upload_bytes),
        ));
    }
    let metadata = tus::metadata(&headers)?;
    let field = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                ApiFailure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_metadata",
                    format!("Upload-Metadata must carry {name}"),
                )
            })
    };
    let enrollment_id = field(upload_metadata::ENROLLMENT_ID)?;
    let hand: Hand = field(upload_metadata::HAND)?.parse().map_err(|_| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_metadata",
            "hand must be `left` or `right`",
        )
    })?;
    let production = state.mode() == crate::state::ServerMode::Production;
    if production && !crate::accounts::consent::given(state.db(), &who.account_id).await? {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "consent_required",
            "record the shopper's biometric consent (POST /v1/consent) before a capture",
        ));
    }
    let claim = crate::attestation::claim_from_metadata(&metadata, state.mode())?;
    if claim.is_none() && (limits.require_attestation || production) {
        return Err(ApiFailure::new(
            StatusCode::PRECONDITION_REQUIRED,
            "attestation_required",
            "this service takes attested uploads only: ask for a nonce and attest the envelope",
        ));
    }
    // A platform statement is verified now, before anything is stored.
    let (claim, key_write) = match claim {
        Some((claim, token)) if claim.is_platform() => {
            let (claim, write) = platform_statement(&state, claim, token, &who.account_id).await?;
            (Some(claim), Some(write))
        }
        other => (other.map(|(claim, _)| claim), None),
    };
    let claim_json = claim
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_default());
    let id = crate::ids::new_id("upl")?;
    let created = now();
    let expires_at = created + limits.expiry.as_secs() as i64;
    let row_id = id.clone();
    let outcome = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            if let Some(c) = &claim {
                if let Err(e) = crate::attestation::check_nonce(&tx, &c.nonce, &who.account_id)? {
                    return Ok(Err(e));
                }
                if c.is_platform() {
                    // Spent at creation: a replayed statement is refused here, by name.
                    if let Err(e) = crate::attestation::spend_nonce(&tx, &c.nonce, &who.account_id)?
                    {
                        return Ok(Err(e));
                    }
                }
            }
            if let Some(write) = &key_write {
                if let Err(refusal) = crate::attestation::platform::apply_key_write(
                    &tx,
                    write,
                    &who.account_id,
                    created,
                )? {
                    return Ok(Err(attestation_refused(refusal)));
                }
            }
            let Some(enrollment) = crate::enrollments::load(&tx, &enrollment_id, &who.account_id)?
            else {
                return Ok(Err(ApiFailure::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such enrollment",
                )));
            };
            if enrollment.state != palmkit_core::protocol::EnrollmentState::Draft {
                return Ok(Err(ApiFailure::new(
                    StatusCode::CONFLICT,
                    "already_submitted",
                    "this enrollment was already submitted",
                )));
            }
            if !enrollment.hands.contains(&hand) {
                return Ok(Err(ApiFailure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "hand_not_enrolled",
                    "this enrollment is not for that hand",
                )));
            }
            let active: i64 = tx.query_row(
                "SELECT COUNT(*) FROM uploads
                 WHERE account_id = ?1 AND state = 'receiving' AND expires_at > ?2",
                params![who.account_id, created],
                |r| r.get(0),
            )?;
            if active >= i64::from(limits.max_active_per_account) {
                return Ok(Err(ApiFailure::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "quota_exceeded",
                    format!(
                        "at most {} unfinished uploads per account; finish or cancel one",
                        limits.max_active_per_account
                    ),
                )));
            }
            // Captures kept (or on their way): bounded per hand and per account.
            let (for_hand, for_account): (i64, i64) = tx.query_row(
                "SELECT COUNT(*) FILTER (WHERE enrollment_id = ?2 AND hand = ?3), COUNT(*)
                 FROM uploads
                 WHERE account_id = ?1
                   AND (state = 'accepted' OR (state = 'receiving' AND expires_at > ?4))",
                params![who.account_id, enrollment.id, hand.as_str(), created],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if for_hand >= i64::from(limits.max_captures_per_hand)
                || for_account >= i64::from(limits.max_captures_per_account)
            {
                // Not 429: waiting does not help, only a deleted enrollment frees room.
                return Ok(Err(ApiFailure::new(
                    StatusCode::CONFLICT,
                    "capture_limit",
                    format!(
                        "at most {} captures per hand of an enrollment and {} per account",
                        limits.max_captures_per_hand, limits.max_captures_per_account
                    ),
                )));
            }
            tx.execute(
                "INSERT INTO uploads (id, account_id, enrollment_id, hand, length, state,
                                      created_at, expires_at, attestation)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'receiving', ?6, ?7, ?8)",
                params![
                    row_id,
                    who.account_id,
                    enrollment.id,
                    hand.as_str(),
                    length as i64,
                    created,
                    expires_at,
                    claim_json
                ],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await?;
    outcome?;
    state.uploads().create_part(&id).await.map_err(|e| {
        tracing::error!(error = %e, "cannot create an upload file");
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "cannot store uploads",
        )
    })?;
    tracing::info!(upload = %id, length, "upload created");
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v1/uploads/{id}")),
            (
                header::HeaderName::from_static("upload-expires"),
                http_date(expires_at),
            ),
            (
                header::HeaderName::from_static("upload-offset"),
                "0".to_string(),
            ),
        ],
    )
        .into_response())
}

/// The headers that describe an upload's progress.
fn progress_headers(upload: &Upload, received: u64) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("upload-offset", received.to_string()),
        ("upload-length", upload.length.to_string()),
        ("cache-control", "no-store".to_string()),
        (UPLOAD_STATE_HEADER, upload.state.clone()),
    ];
    if upload.state == "receiving" {
        h.push(("upload-expires", http_date(upload.expires_at)));
    }
    if let Some(error) = &upload.error {
        h.push((UPLOAD_ERROR_HEADER, error.clone()));
    }
    h
}

fn with_headers(status: StatusCode, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = status.into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `HEAD /v1/uploads/{id}`: the offset to resume from.
async fn status(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    tus::require_resumable(&headers)?;
    let upload = state
        .db()
        .call(move |c| load(c, &id, &who.account_id))
        .await?
        .ok_or_else(not_found)?;
    if upload.expired() {
        return Err(gone());
    }
    let received = upload.received;
    Ok(with_headers(
        StatusCode::OK,
        progress_headers(&upload, received),
    ))
}

/// `PATCH /v1/uploads/{id}`: appends the body at `Upload-Offset`.
async fn append(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    tus::require_resumable(&headers)?;
    let uploads = state.uploads_arc();
    if headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes)
        != Some(tus::OFFSET_OCTET_STREAM.as_bytes())
    {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a PATCH body is application/offset+octet-stream",
        ));
    }
    let offset = tus::u64_header(&headers, "upload-offset")?.ok_or_else(|| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            "send Upload-Offset",
        )
    })?;
    let checksum = tus::checksum(&headers)?;

    // Admission: a bounded number of bodies are written at once; the rest come back later.
    let Ok(_writing) = uploads.writes.try_acquire() else {
        return Err(ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many uploads at once; retry after the delay given",
        )
        .with_header("retry-after", uploads.retry_after()));
    };
    // One PATCH per upload: a retry may arrive while the server still reads the body of
    // the request whose connection just broke.
    let lock = uploads.lock_for(&id);
    let Ok(_held) = tokio::time::timeout(Duration::from_secs(5), lock.lock()).await else {
        return Err(ApiFailure::new(
            StatusCode::LOCKED,
            "upload_busy",
            "another request is writing this upload; retry after the delay given",
        )
        .with_header("retry-after", uploads.retry_after()));
    };

    let account_id = who.account_id.clone();
    let lookup_id = id.clone();
    let upload = state
        .db()
        .call(move |c| load(c, &lookup_id, &account_id))
        .await?
        .ok_or_else(not_found)?;
    if upload.expired() {
        return Err(gone());
    }
    match upload.state.as_str() {
        "accepted" if offset == upload.length => {
            // The answer to the last PATCH was lost; the client asks again.
            let received = upload.received;
            return Ok(with_headers(
                StatusCode::NO_CONTENT,
                progress_headers(&upload, received),
            ));
        }
        "rejected" => {
            return Err(ApiFailure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "upload_rejected",
                "this upload was rejected; start a new one",
            )
            .with_header(
                UPLOAD_ERROR_HEADER,
                upload.error.clone().unwrap_or_default(),
            ));
        }
        _ => {}
    }
    if offset != upload.received || upload.state != "receiving" {
        return Err(ApiFailure::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("the upload is at offset {}", upload.received),
        )
        .with_header("upload-offset", upload.received.to_string()));
    }

    let path = uploads.part_path(&id);
    let room = upload.length - upload.received;
    let written = write_body(&path, upload.received, room, body, checksum).await?;
    let received = upload.received + written.bytes;
    let record_id = id.clone();
    let updated = state
        .db()
        .call(move |c| {
            Ok(c.execute(
                "UPDATE uploads SET received = ?1 WHERE id = ?2",
                params![received as i64, record_id],
            )?)
        })
        .await?;
    if updated == 0 {
        // Deleted while the body arrived: the bytes went to a file already removed.
        return Err(deleted_meanwhile());
    }
    if let Some(failure) = written.failure {
        return Err(failure.with_header("upload-offset", received.to_string()));
    }
    let mut upload = upload;
    upload.received = received;
    if received == upload.length {
        finish(&state, &id, &who.account_id, &mut upload).await?;
    }
    Ok(with_headers(
        StatusCode::NO_CONTENT,
        progress_headers(&upload, received),
    ))
}

/// What a PATCH body added, and why it stopped early if it did.
struct Written {
    bytes: u64,
    failure: Option<ApiFailure>,
}

fn storage_failure(e: std::io::Error) -> ApiFailure {
    tracing::error!(error = %e, "upload file write failed");
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "cannot store uploads",
    )
}

/// Appends the body at `at` (cutting the file back to it first). With a checksum the whole
/// body is checked before a byte is kept; without one, whatever arrives before a broken
/// connection is kept, as tus asks.
async fn write_body(
    path: &FsPath,
    at: u64,
    room: u64,
    body: Body,
    checksum: Option<[u8; 32]>,
) -> Result<Written, ApiFailure> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => deleted_meanwhile(),
            _ => storage_failure(e),
        })?;
    file.set_len(at).await.map_err(storage_failure)?;
    file.seek(std::io::SeekFrom::Start(at))
        .await
        .map_err(storage_failure)?;
    let too_long = || {
        ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            "the body goes past Upload-Length",
        )
    };
    let mut stream = body.into_data_stream();
    let mut bytes = 0u64;
    let mut failure = None;
    let mut held = Vec::new();
    while let Some(next) = stream.next().await {
        let chunk = match next {
            Ok(chunk) => chunk,
            Err(_) => {
                failure = Some(ApiFailure::new(
                    StatusCode::BAD_REQUEST,
                    "interrupted",
                    "the body ended early",
                ));
                break;
            }
        };
        if bytes + held.len() as u64 + chunk.len() as u64 > room {
            failure = Some(too_long());
            break;
        }
        if checksum.is_some() {
            held.extend_from_slice(&chunk);
        } else {
            file.write_all(&chunk).await.map_err(storage_failure)?;
            bytes += chunk.len() as u64;
        }
    }
    if let Some(expected) = checksum {
        if failure.is_none() {
            if Sha256::digest(&held).as_slice() != expected {
                failure = Some(ApiFailure::new(
                    StatusCode::from_u16(tus::CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST),
                    "checksum_mismatch",
                    "the body does not match Upload-Checksum; send it again",
                ));
            } else {
                file.write_all(&held).await.map_err(storage_failure)?;
                bytes = held.len() as u64;
            }
        }
    }
    file.flush().await.map_err(storage_failure)?;
    Ok(Written { bytes, failure })
}

/// The refusal `finish` gives itself when the upload went while its capture was opened.
const UPLOAD_GONE: &str = "upload_gone";

/// The last byte is in: open, check, keep the sealed bytes or refuse them.
async fn finish(
    state: &AppState,
    id: &str,
    account_id: &str,
    upload: &mut Upload,
) -> Result<(), ApiFailure> {
    let path = state.uploads().part_path(id);
    let sealed = tokio::fs::read(&path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => deleted_meanwhile(),
        _ => storage_failure(e),
    })?;
    let db = state.db().clone();
    let upload_id = id.to_string();
    let (id, account_id) = (id.to_string(), account_id.to_string());
    let (enrollment_id, hand) = (upload.enrollment_id.clone(), upload.hand);
    let claim: Option<crate::attestation::Claim> = upload
        .attestation
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    // Opening the envelope and decoding up to 8192² pixels take CPU time: on the blocking
    // pool and outside the database lock, which is taken only to look the key up and,
    // below, for the writes (four finishing uploads under the lock held every other
    // request, /healthz included, for seconds).
    // A decode slot bounds the pictures decoded at once (crate::palms::pictures); the wait
    // counts in the request timeout.
    let slot = AppState::slot(state.decode_slots()).await?;
    let (sealed, verdict) = {
        let db = db.clone();
        let data_keys = state.data_keys().clone();
        let palms = state.palms().cloned();
        let pictures = state.pictures().clone();
        let (account_id, enrollment_id) = (account_id.clone(), enrollment_id.clone());
        tokio::task::spawn_blocking(move || {
            let verdict = verify::verify(
                &sealed,
                &account_id,
                &enrollment_id,
                hand,
                |key_id| db.with(|c| crate::keys::private_key(c, &data_keys, key_id)),
                palms.as_deref(),
                &pictures,
            );
            drop(slot);
            (sealed, verdict)
        })
        .await
        .map_err(|e| ApiFailure::from(DbError::Task(e.to_string())))?
    };
    let verdict = verdict?.and_then(|v| policy::admit(state.mode(), v));
    let data_keys = state.data_keys().clone();
    let verdict = db
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            let mut verdict = verdict;
            // The enrollment may have been deleted (or the upload swept) while the capture
            // was opened outside the lock: then there is nothing to keep it for.
            let still_receiving: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM uploads WHERE id = ?1 AND state = 'receiving')",
                [&id],
                |r| r.get(0),
            )?;
            if !still_receiving {
                return Ok(Err(verify::Refused {
                    code: UPLOAD_GONE,
                    message: "the upload or its enrollment was deleted meanwhile".into(),
                }));
            }
            // The attestation must hold over exactly the bytes received.
            if let (Ok(_), Some(claim)) = (&verdict, &claim) {
                if let Err(message) =
                    crate::attestation::verify_and_spend(&tx, claim, &account_id, &sealed)?
                {
                    verdict = Err(verify::Refused {
                        code: "attestation_invalid",
                        message,
                    });
                }
            }
            // What the verdict rested on: the format, and for a platform statement its
            // environment, security level, boot state, key id and root (JSON).
            let attested = claim.as_ref().map(|c| match &c.basis {
                Some(basis) => serde_json::to_string(basis).unwrap_or_else(|_| c.format.clone()),
                None => c.format.clone(),
            });
            match &verdict {
                Ok(v) => {
                    // Image, verdict and template under the enrollment's own key
                    // (crate::data_keys): deleted with the enrollment, they never open again.
                    let key = EnrollmentKey::get_or_create(&tx, &data_keys, &enrollment_id)?;
                    let spoof_box = v
                        .spoof
                        .as_deref()
                        .map(|s| key.seal(Boxed::SpoofVerdict, &id, s.as_bytes()))
                        .transpose()?;
                    tx.execute(
                        "INSERT INTO captures (upload_id, enrollment_id, hand, key_id, metadata,
                                               sealed, created_at, attestation, spoof_box, boxed)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)",
                        params![
                            id,
                            enrollment_id,
                            hand.as_str(),
                            v.key_id,
                            v.metadata,
                            key.seal(Boxed::Capture, &id, &sealed)?,
                            now(),
                            attested,
                            spoof_box
                        ],
                    )?;
                    if let Some(signature) = &v.signature {
                        crate::palms::signatures::store(
                            &tx,
                            &key,
                            &id,
                            &enrollment_id,
                            hand,
                            signature,
                        )?;
                    }
                    tx.execute(
                        "UPDATE uploads SET state = 'accepted', completed_at = ?1 WHERE id = ?2",
                        params![now(), id],
                    )?;
                }
                Err(r) => {
                    tx.execute(
                        "UPDATE uploads SET state = 'rejected', error = ?1, completed_at = ?2
                         WHERE id = ?3",
                        params![r.code, now(), id],
                    )?;
                }
            }
            tx.commit()?;
            Ok(verdict)
        })
        .await?;
    if let Err(e) = tokio::fs::remove_file(&path).await {
        tracing::warn!(error = %e, "could not remove a finished upload file");
    }
    match verdict {
        Ok(_) => {
            tracing::info!(upload = %upload_id, "capture accepted");
            upload.state = "accepted".into();
            Ok(())
        }
        Err(refused) if refused.code == UPLOAD_GONE => Err(deleted_meanwhile()),
        Err(refused) => {
            tracing::warn!(upload = %upload_id, code = refused.code, "capture rejected");
            Err(ApiFailure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                refused.code,
                refused.message,
            )
            .with_header(UPLOAD_STATE_HEADER, "rejected")
            .with_header(UPLOAD_ERROR_HEADER, refused.code))
        }
    }
}

/// `DELETE /v1/uploads/{id}` (tus termination): an unfinished or rejected upload is
/// forgotten; an accepted capture stays (it belongs to the enrollment).
async fn terminate(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    tus::require_resumable(&headers)?;
    let row_id = id.clone();
    let deleted = state
        .db()
        .call(move |c| {
            let Some(upload) = load(c, &row_id, &who.account_id)? else {
                return Ok(None);
            };
            if upload.state == "accepted" {
                return Ok(Some(false));
            }
            c.execute("DELETE FROM uploads WHERE id = ?1", [&row_id])?;
            Ok(Some(true))
        })
        .await?;
    match deleted {
        None => Err(not_found()),
        Some(false) => Err(ApiFailure::new(
            StatusCode::CONFLICT,
            "upload_accepted",
            "an accepted capture is not deleted through its upload",
        )),
        Some(true) => {
            let _ = tokio::fs::remove_file(state.uploads().part_path(&id)).await;
            tracing::info!(upload = %id, "upload terminated");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// Forgets unfinished uploads past their expiry, and their files, and rejected uploads
/// once they are as old as an upload's expiry (their answer has been given; kept for
/// ever, a client refused in a loop grew the table without bound). Returns how many
/// unfinished ones went.
pub async fn sweep_expired(state: &AppState) -> Result<usize, DbError> {
    let cutoff = now();
    let rejected_before = cutoff - state.uploads().limits().expiry.as_secs() as i64;
    let ids = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            let ids = {
                let mut stmt = tx.prepare(
                    "DELETE FROM uploads WHERE state = 'receiving' AND expires_at <= ?1
                     RETURNING id",
                )?;
                stmt.query_map([cutoff], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            };
            tx.execute(
                "DELETE FROM uploads WHERE state = 'rejected' AND completed_at <= ?1",
                [rejected_before],
            )?;
            tx.commit()?;
            Ok(ids)
        })
        .await?;
    for id in &ids {
        let _ = tokio::fs::remove_file(state.uploads().part_path(id)).await;
    }
    if !ids.is_empty() {
        tracing::info!(count = ids.len(), "expired uploads removed");
    }
    crate::enrollments::expire_due(state).await?;
    Ok(ids.len())
}
