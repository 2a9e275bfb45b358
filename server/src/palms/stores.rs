//! In-store scanners: the devices a store registers (each with its own bearer token, not a
//! shopper's login), and `POST /v1/store/scans`, where a device posts a palm picture and
//! the service searches every enrollment pending a store match (1:N). A match completes
//! that enrollment (the app sees `complete`) and answers with a pseudonymous shopper
//! reference; no match, a poor capture and an ambiguous match (two candidates near the
//! threshold) each come back with a named reason so the till can fall back at once.
//! Every attempt is recorded: device, store, outcome, reason, score band — never the
//! picture, which exists only in memory and is wiped after the read.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use palmkit_core::protocol::{ScanOutcome, StoreScan};
use palmkit_core::signature::{self, MAX_SHIFT, Template};
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use crate::api::ApiFailure;
use crate::db::{Db, DbError, now};
use crate::ids;
use crate::palms::pictures::{self, PictureKind};
use crate::state::AppState;

/// Prefix of store device tokens (tells them apart from shoppers' tokens in logs and
/// leaks: a token that starts so is a store's).
pub const TOKEN_PREFIX: &str = "pkst_";

/// Largest scan picture accepted (a scanner frame is a few hundred KiB).
pub const MAX_SCAN_BYTES: usize = 16 * 1024 * 1024;

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A registered store device and its token (shown once; only its hash is kept).
pub struct IssuedDevice {
    /// The device id (`dev-…`).
    pub id: String,
    /// The bearer token the device sends.
    pub token: String,
}

/// Registers a device for `store` and returns its token.
pub fn issue_device(db: &Db, store: &str) -> Result<IssuedDevice, DbError> {
    let store = store.trim();
    if store.is_empty() || store.len() > 100 || store.chars().any(char::is_control) {
        return Err(DbError::Task(
            "a store name is 1-100 printable characters".into(),
        ));
    }
    let id = ids::new_id("dev")?;
    let token = format!("{TOKEN_PREFIX}{}", ids::random_hex(32)?);
    db.with(|c| {
        c.execute(
            "INSERT INTO store_devices (id, store, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, store, hash(&token), now()],
        )?;
        Ok(())
    })?;
    Ok(IssuedDevice { id, token })
}

/// Revokes every device of `store` (or the device with that id). Returns how many.
pub fn revoke_devices(db: &Db, store_or_id: &str) -> Result<usize, DbError> {
    db.with(|c| {
        Ok(c.execute(
            "UPDATE store_devices SET revoked_at = ?1
             WHERE (store = ?2 OR id = ?2) AND revoked_at IS NULL",
            params![now(), store_or_id],
        )?)
    })
}

/// An authenticated store device: the extractor behind the scan route.
pub struct StoreDevice {
    /// Its id.
    pub id: String,
    /// The store it belongs to.
    pub store: String,
}

impl FromRequestParts<AppState> for StoreDevice {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let unauthorized = || {
            let mut response = ApiFailure::new(
                StatusCode::UNAUTHORIZED,
                "invalid_store_credential",
                "this route takes a registered, unrevoked store device's token",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"store\""),
            );
            response
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .map(hash);
        let Some(token_hash) = token else {
            return Err(unauthorized());
        };
        let device = state
            .db()
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT id, store FROM store_devices
                     WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
            })
            .await
            .map_err(|e| ApiFailure::from(e).into_response())?;
        match device {
            Some((id, store)) => Ok(Self { id, store }),
            None => Err(unauthorized()),
        }
    }
}

/// The scan route, with its own body limit (pictures, not JSON).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/store/scans", axum::routing::post(scan))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SCAN_BYTES))
}

/// The coarse band of a distance reported and recorded (0.05 wide): enough for QA to
/// see how close a decision was, too coarse to be a biometric measurement.
fn band(distance: f32) -> String {
    let lo = (distance.clamp(0.0, 0.999) * 20.0).floor() / 20.0;
    format!("{lo:.2}-{:.2}", lo + 0.05)
}

/// The distance a no-match reports (as its band): only a near miss, within the match
/// threshold plus the ambiguity margin, where the search promises to have looked at every
/// enrollment. Beyond it the best candidate is whichever impostor the candidate stage let
/// through, which says nothing a till needs and more than a store should learn.
fn near_miss(best: Option<f32>) -> Option<f32> {
    best.filter(|d| *d <= signature::MATCH_THRESHOLD + signature::AMBIGUITY_MARGIN)
}

/// How a probe compares with the pending enrollments.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// One enrollment is below the threshold and no other is near it.
    Match {
        enrollment_id: String,
        distance: f32,
    },
    /// Nothing below the threshold (the best distance, if any candidate).
    NoMatch { best: Option<f32> },
    /// The best is below the threshold but the second is within the margin of it.
    Ambiguous { best: f32 },
}

/// The candidates' enrollments within the ambiguity band of `probe`, each with its least
/// distance (an enrollment may have both hands), nearest first: what [`decide`] ranks and
/// the duplicate-palm check holds.
pub fn within_band<'a>(
    probe: &Template,
    candidates: impl IntoIterator<Item = (&'a str, &'a Template)>,
) -> Vec<(&'a str, f32)> {
    let mut best: std::collections::HashMap<&str, f32> = std::collections::HashMap::new();
    for (enrollment, template) in candidates {
        // Only what can come within the ambiguity band matters; the rest is dropped after
        // the coarse pass (a third of the work).
        let cutoff = signature::MATCH_THRESHOLD + signature::AMBIGUITY_MARGIN;
        if let Some(d) = probe.distance_within(template, MAX_SHIFT, cutoff) {
            let entry = best.entry(enrollment).or_insert(f32::INFINITY);
            *entry = entry.min(d.value);
        }
    }
    let mut ranked: Vec<(&str, f32)> = best.into_iter().collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    ranked
}

/// Decides over candidates (enrollment id, template): the least distance per enrollment
/// (an enrollment may have both hands), then the threshold and the ambiguity margin.
pub fn decide<'a>(
    probe: &Template,
    candidates: impl IntoIterator<Item = (&'a str, &'a Template)>,
) -> Decision {
    let ranked = within_band(probe, candidates);
    match ranked.as_slice() {
        [] => Decision::NoMatch { best: None },
        [(_, d), ..] if *d > signature::MATCH_THRESHOLD => Decision::NoMatch { best: Some(*d) },
        [(_, d), (_, second), ..]
            if *second <= signature::MATCH_THRESHOLD + signature::AMBIGUITY_MARGIN =>
        {
            Decision::Ambiguous { best: *d }
        }
        [(id, d), ..] => Decision::Match {
            enrollment_id: id.to_string(),
            distance: *d,
        },
    }
}

/// The pseudonymous reference `store` sees for the account: its own (made at the
/// account's first match there, random), so two stores comparing what they saw cannot
/// tell they served the same shopper; dropped when the shopper deletes an enrollment
/// ([`forget_shopper_refs`]), so the next match anywhere starts a new one.
fn shopper_ref(c: &Connection, account_id: &str, store: &str) -> Result<String, DbError> {
    if let Some(r) = c
        .query_row(
            "SELECT ref FROM store_shopper_refs WHERE account_id = ?1 AND store = ?2",
            params![account_id, store],
            |r| r.get(0),
        )
        .optional()?
    {
        return Ok(r);
    }
    let r = ids::new_id("shp")?;
    c.execute(
        "INSERT INTO store_shopper_refs (account_id, store, ref) VALUES (?1, ?2, ?3)",
        params![account_id, store, r],
    )?;
    Ok(r)
}

/// Forgets every store's pseudonym of `account_id` (in the caller's transaction).
pub(crate) fn forget_shopper_refs(c: &Connection, account_id: &str) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM store_shopper_refs WHERE account_id = ?1",
        [account_id],
    )?;
    Ok(())
}

/// `POST /v1/store/scans`: the body is the scanner's picture (JPEG or PNG).
async fn scan(
    State(state): State<AppState>,
    device: StoreDevice,
    body: Bytes,
) -> Result<Json<StoreScan>, ApiFailure> {
    // Each device and each store within its budget, before any work: one busy device must
    // not slow the shoppers' uploads or another store's scans.
    let (per_device, per_store) = state.scan_budgets();
    if let Err(wait) = per_device
        .allow(&device.id)
        .and_then(|()| per_store.allow(&device.store))
    {
        return Err(ApiFailure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "this store device (or its store) sends scans faster than its budget; retry later",
        )
        .with_header(
            "retry-after",
            wait.as_secs_f64().ceil().max(1.0).to_string(),
        ));
    }
    // The reader and the index come together (both with the hand models).
    let (Some(reader), Some(index)) = (state.palms().cloned(), state.index().cloned()) else {
        return Err(ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "palms_unavailable",
            "this server runs without the hand models and cannot match palms",
        ));
    };
    // A slot of the scans' bounded pool for the CPU-heavy part (decode, read, search),
    // released however the scan ends; the wait counts in the request timeout.
    let waited = std::time::Instant::now();
    let _slot = AppState::slot(state.scan_slots()).await?;
    // And a decode slot, shared with the captures being checked (crate::palms::pictures).
    let decode_slot = AppState::slot(state.decode_slots()).await?;
    let wait_ms = waited.elapsed().as_secs_f64() * 1000.0;
    // Decode and read on the blocking pool, outside the database lock.
    let started = std::time::Instant::now();
    let pictures = state.pictures().clone();
    let read = tokio::task::spawn_blocking(move || {
        let _slot = decode_slot;
        let decoded = pictures::decode(&body, None, PictureKind::Scan, &pictures)?;
        let (width, height) = (decoded.width(), decoded.height());
        let rgb = pictures::into_rgb(decoded);
        Ok::<_, crate::palms::Refused>(reader.read(&rgb, width, height, None))
    })
    .await
    .map_err(|e| ApiFailure::from(DbError::Task(e.to_string())))?;
    let read = match read {
        Ok(read) => read,
        Err(bad) => {
            // Not a picture at all: recorded like every attempt, refused as a bad request.
            record(
                &state,
                &device,
                ScanOutcome::PoorCapture,
                Some(bad.code),
                None,
                None,
            )
            .await?;
            return Err(ApiFailure::new(
                StatusCode::BAD_REQUEST,
                bad.code,
                bad.message,
            ));
        }
    };
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    let probe = match read {
        Ok(template) => template,
        Err(unreadable) => {
            let scan = record(
                &state,
                &device,
                ScanOutcome::PoorCapture,
                Some(unreadable.code),
                None,
                None,
            )
            .await?;
            return Ok(Json(scan));
        }
    };
    // The index catches up with the change feed (database work on the pool), then the
    // search runs on the blocking pool, outside the database lock.
    let feed = index.clone();
    state.db().call(move |c| feed.catch_up(c)).await?;
    let searched = std::time::Instant::now();
    let (decision, stats) = tokio::task::spawn_blocking(move || index.search(&probe, now()))
        .await
        .map_err(|e| ApiFailure::from(DbError::Task(e.to_string())))??;
    tracing::info!(
        wait_ms = wait_ms,
        read_ms = read_ms,
        search_ms = searched.elapsed().as_secs_f64() * 1000.0,
        indexed = stats.scanned,
        candidates = stats.candidates,
        "store scan searched"
    );
    let scan = match decision {
        Decision::NoMatch { best } => {
            record(
                &state,
                &device,
                ScanOutcome::NoMatch,
                Some("below_threshold"),
                near_miss(best),
                None,
            )
            .await?
        }
        Decision::Ambiguous { best } => {
            record(
                &state,
                &device,
                ScanOutcome::Ambiguous,
                Some("two_candidates"),
                Some(best),
                None,
            )
            .await?
        }
        Decision::Match {
            enrollment_id,
            distance,
        } => {
            record(
                &state,
                &device,
                ScanOutcome::Matched,
                None,
                Some(distance),
                Some(enrollment_id),
            )
            .await?
        }
    };
    Ok(Json(scan))
}

/// Records a scan (and, for a match, completes the enrollment in the same transaction)
/// and returns the answer for the device; a device revoked while its scan was in flight
/// is refused here, before anything is written.
async fn record(
    state: &AppState,
    device: &StoreDevice,
    outcome: ScanOutcome,
    reason: Option<&'static str>,
    distance: Option<f32>,
    matched: Option<String>,
) -> Result<StoreScan, ApiFailure> {
    let (device_id, store) = (device.id.clone(), device.store.clone());
    let scan = state
        .db()
        .call(move |c| {
            write_scan(
                c,
                &device_id,
                &store,
                outcome,
                reason,
                distance,
                matched.as_deref(),
            )
        })
        .await?
        .ok_or_else(revoked_meanwhile)?;
    tracing::info!(
        store = %device.store,
        outcome = ?scan.outcome,
        reason = scan.reason.as_deref().unwrap_or("-"),
        band = scan.score_band.as_deref().unwrap_or("-"),
        "store scan"
    );
    Ok(scan)
}

fn revoked_meanwhile() -> ApiFailure {
    ApiFailure::new(
        StatusCode::UNAUTHORIZED,
        "invalid_store_credential",
        "this store device was revoked while its scan was read",
    )
}

/// The scan's record, and for a match the enrollment completed, in one transaction;
/// `None` (nothing written) when the device is revoked by now: its credential was checked
/// when the scan came in, and a scan takes long enough for a revocation to land meanwhile.
fn write_scan(
    c: &Connection,
    device_id: &str,
    store: &str,
    outcome: ScanOutcome,
    reason: Option<&'static str>,
    distance: Option<f32>,
    matched: Option<&str>,
) -> Result<Option<StoreScan>, DbError> {
    let tx = c.unchecked_transaction()?;
    let live: bool = tx
        .query_row(
            "SELECT revoked_at IS NULL FROM store_devices WHERE id = ?1",
            [device_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false);
    if !live {
        return Ok(None);
    }
    let score_band = distance.map(band);
    let mut outcome = outcome;
    let mut reason = reason;
    let mut shopper = None;
    if let Some(enrollment_id) = matched {
        // Deleted or expired between the search and now: not a match after all.
        // Completed meanwhile by another scan of the same palm: still this shopper.
        let account: Option<String> = tx
            .query_row(
                "UPDATE enrollments SET state = 'complete', completed_at = COALESCE(completed_at, ?1)
                 WHERE id = ?2 AND (state = 'complete' OR
                       (state = 'pending_store_match' AND expires_at > ?1))
                 RETURNING account_id",
                params![now(), enrollment_id],
                |r| r.get(0),
            )
            .optional()?;
        match account {
            Some(account) => shopper = Some(shopper_ref(&tx, &account, store)?),
            None => {
                outcome = ScanOutcome::NoMatch;
                reason = Some("enrollment_gone");
            }
        }
    }
    let id = ids::new_id("scan")?;
    let outcome_text = serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    tx.execute(
        "INSERT INTO store_scans (id, device_id, store, outcome, reason, score_band,
                                  enrollment_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            device_id,
            store,
            outcome_text,
            reason,
            score_band,
            if shopper.is_some() { matched } else { None },
            now()
        ],
    )?;
    tx.commit()?;
    Ok(Some(StoreScan {
        scan_id: id,
        outcome,
        reason: reason.map(str::to_string),
        shopper_ref: shopper,
        score_band,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fragile-BOCV template of pseudo-random bits, every bit usable, with the first
    /// `flipped` share of bits of `base` flipped when given.
    fn template(seed: u64, base: Option<(&[u8], f32)>) -> Template {
        let rows = 6 * 32;
        let mut bytes = vec![
            1u8,
            signature::Algorithm::FragileBocv.id(),
            32,
            32,
            6,
            0,
            0,
            0,
        ];
        match base {
            Some((base, flipped)) => {
                let mut bits = base[8..8 + 4 * rows].to_vec();
                let flip = (bits.len() as f32 * 8.0 * flipped) as usize;
                for bit in 0..flip {
                    // Spread over the whole grid so every shift sees the same share.
                    let at = (bit * 7919) % (bits.len() * 8);
                    bits[at / 8] ^= 1 << (at % 8);
                }
                bytes.extend(bits);
            }
            None => {
                let mut state = seed | 1;
                for _ in 0..4 * rows {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    bytes.push(state as u8);
                }
            }
        }
        bytes.extend(std::iter::repeat_n(0xff, 4 * rows));
        Template::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn one_close_candidate_matches_two_are_ambiguous_none_is_no_match() {
        let probe = template(3, None);
        let bytes = probe.to_bytes();
        let near = template(0, Some((&bytes, signature::MATCH_THRESHOLD - 0.08)));
        let also_near = template(0, Some((&bytes, signature::MATCH_THRESHOLD + 0.01)));
        let far = template(5, None);
        assert_eq!(
            decide(&probe, [("enr-a", &near), ("enr-b", &far)]),
            Decision::Match {
                enrollment_id: "enr-a".into(),
                distance: probe.distance(&near, MAX_SHIFT).unwrap().value
            }
        );
        assert!(matches!(
            decide(&probe, [("enr-a", &near), ("enr-b", &also_near)]),
            Decision::Ambiguous { .. }
        ));
        // Two hands of one enrollment near the probe are one candidate, not ambiguous.
        assert!(matches!(
            decide(
                &probe,
                [("enr-a", &near), ("enr-a", &also_near), ("enr-b", &far)]
            ),
            Decision::Match { .. }
        ));
        // A far template is dropped by the coarse pass: no match, no distance to report.
        assert_eq!(
            decide(&probe, [("enr-b", &far)]),
            Decision::NoMatch { best: None }
        );
        assert_eq!(decide(&probe, []), Decision::NoMatch { best: None });
        assert_eq!(band(0.234), "0.20-0.25");
    }

    #[test]
    fn a_device_revoked_while_its_scan_was_read_completes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
        let device = issue_device(&db, "store-1").unwrap();
        db.with(|c| {
            c.execute_batch(&format!(
                "INSERT INTO accounts (id, email, display_name, password_hash, created_at)
                 VALUES ('acct-1', 'a@example.com', 'A', 'x', 'now');
                 INSERT INTO enrollments (id, state, hands, created_at, account_id, expires_at)
                 VALUES ('enr-1', 'pending_store_match', 'right', 'now', 'acct-1', {});",
                now() + 3600
            ))?;
            Ok(())
        })
        .unwrap();
        let scan = |db: &Db| {
            db.with(|c| {
                write_scan(
                    c,
                    &device.id,
                    "store-1",
                    ScanOutcome::Matched,
                    None,
                    Some(0.1),
                    Some("enr-1"),
                )
            })
            .unwrap()
        };
        // The scan came in with a live credential; the device is revoked before the
        // completing write.
        assert_eq!(revoke_devices(&db, &device.id).unwrap(), 1);
        assert_eq!(scan(&db), None);
        let state: String = db
            .with(|c| Ok(c.query_row("SELECT state FROM enrollments", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(state, "pending_store_match");
        let recorded: i64 = db
            .with(|c| Ok(c.query_row("SELECT count(*) FROM store_scans", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(recorded, 0);
    }

    #[test]
    fn a_no_match_reports_a_band_only_for_a_near_miss() {
        // A candidate the coarse pass let through at 0.30: decided no match, and its
        // distance is not reported (24 of 120 impostor scans reported 0.25-0.40 before).
        let probe = template(3, None);
        let bytes = probe.to_bytes();
        let impostor = template(0, Some((&bytes, 0.30)));
        let Decision::NoMatch { best } = decide(&probe, [("enr-x", &impostor)]) else {
            panic!("a template at 0.30 matched");
        };
        assert_eq!(near_miss(best), None, "{best:?}");
        // Within the band every candidate is searched in: reported.
        assert_eq!(near_miss(Some(0.23)), Some(0.23));
        assert_eq!(near_miss(None), None);
    }
}
