//! Platform attestation of uploads: nonces, the development format, and the platform
//! statements verified offline.
//!
//! `POST /v1/attestation/nonce` gives the signed-in app a fresh nonce (32 random bytes as
//! hex, five minutes, one use). The app's attestor signs the challenge binding that nonce
//! to the SHA-256 of the sealed envelope (`palmkit_core::attestation::challenge`) and sends
//! format, nonce and token in the upload's `Upload-Metadata`. At creation the nonce must be
//! this account's, unexpired and unspent; when the last byte is in, the token must verify
//! over the bytes actually received, and the nonce is spent (development format).
//!
//! Platform statements (`apple-app-attest-v1`, `android-key-attestation-v1`) are
//! verified offline when the upload is created ([`platform`], over [`verify`]): the
//! statement, the device policy, the nonce spent and the App Attest key registered in the
//! transaction that inserts the upload; at the last byte only the binding to the bytes
//! received. The development format (`palmkit-dev-v1`, an HMAC-SHA256 with the key in
//! `DATA/dev-attestation.key`) is verified when the last byte is in, in development mode
//! only. Attestation is optional in development mode unless
//! `UploadLimits::require_attestation` is set; in production mode
//! (`ServerMode::Production`) it is required.

pub mod platform;
pub mod verify;

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palmkit_core::attestation::{challenge, dev};
use palmkit_core::protocol::{AttestationNonce, upload_metadata};
use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::api::ApiFailure;
use crate::auth::Authenticated;
use crate::db::{Db, DbError};
use crate::state::AppState;

/// How long a nonce may be used.
pub const NONCE_TTL_SECS: i64 = 300;
/// How long nonces are kept after they expire (an upload created in time may finish
/// within its own expiry, a day).
const KEEP_SECS: i64 = 24 * 3600;
/// Nonces kept per account, newest first: far more than an app has uploads in flight
/// (8), and a bound on what a signed-in client can make the table grow by (2000 nonces
/// in 4 s were all kept for a day). An older one dropped is "unknown" if it comes back,
/// which refuses it as a spent one would be.
const NONCES_PER_ACCOUNT: i64 = 16;
/// The development key's file in the data directory (base64url, for dev shells and tests).
pub const DEV_KEY_FILE: &str = "dev-attestation.key";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The development attestation key, made on first use.
pub fn dev_key_or_create(db: &Db) -> Result<Vec<u8>, DbError> {
    db.with(|c| {
        if let Some(key) = c
            .query_row("SELECT key FROM dev_attestation WHERE id = 1", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
        {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
        c.execute(
            "INSERT INTO dev_attestation (id, key) VALUES (1, ?1)",
            params![key],
        )?;
        Ok(key)
    })
}

/// Deletes the development attestation key (production mode keeps none).
pub fn forget_dev_key(db: &Db) -> Result<(), DbError> {
    db.with(|c| {
        c.execute("DELETE FROM dev_attestation", [])?;
        Ok(())
    })
}

/// `POST /v1/attestation/nonce`.
pub async fn issue_nonce(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<AttestationNonce>, ApiFailure> {
    let nonce = crate::ids::random_hex(32)?;
    let row = nonce.clone();
    state
        .db()
        .call(move |c| {
            let at = now();
            // A nonce is checked for expiry when an upload is created and spent when it
            // completes, which a resumed upload may do hours later: keep them a day (the
            // longest an unfinished upload is kept).
            c.execute(
                "DELETE FROM attestation_nonces WHERE expires_at < ?1",
                params![at - KEEP_SECS],
            )?;
            c.execute(
                "INSERT INTO attestation_nonces (nonce, account_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![row, who.account_id, at + NONCE_TTL_SECS],
            )?;
            c.execute(
                "DELETE FROM attestation_nonces WHERE account_id = ?1 AND rowid NOT IN (
                     SELECT rowid FROM attestation_nonces WHERE account_id = ?1
                     ORDER BY expires_at DESC, rowid DESC LIMIT ?2)",
                params![who.account_id, NONCES_PER_ACCOUNT],
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(AttestationNonce {
        nonce,
        expires_in: NONCE_TTL_SECS as u64,
    }))
}

/// What an upload claims at creation (kept with the upload as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The attestation format.
    pub format: String,
    /// The nonce it answers.
    pub nonce: String,
    /// The token, base64url (the development format; a platform statement is verified at
    /// creation and not kept).
    pub token: String,
    /// Platform formats: the SHA-256 (hex) of the sealed envelope the statement binds;
    /// the bytes received must hash to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_sha256: Option<String>,
    /// Platform formats: what the verdict rested on (stored with the capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<platform::Basis>,
}

impl Claim {
    /// Whether this is a platform statement (verified at creation).
    pub fn is_platform(&self) -> bool {
        platform::Platforms::verifies(&self.format)
    }

    /// The 32-byte envelope hash a platform claim binds.
    pub fn bound_hash(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(self.upload_sha256.as_deref()?, &mut out).ok()?;
        Some(out)
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(StatusCode::UNPROCESSABLE_ENTITY, code, message.into())
}

/// The claim in a creation's `Upload-Metadata`, if any (format, nonce and token all or
/// none; platform formats also `upload_sha256`). The token is returned decoded beside it.
pub fn claim_from_metadata(
    metadata: &HashMap<String, Vec<u8>>,
    mode: crate::state::ServerMode,
) -> Result<Option<(Claim, Vec<u8>)>, ApiFailure> {
    let get = |k: &str| metadata.get(k).and_then(|v| std::str::from_utf8(v).ok());
    let fields = (
        get(upload_metadata::ATTESTATION_FORMAT),
        get(upload_metadata::ATTESTATION_NONCE),
        get(upload_metadata::ATTESTATION),
    );
    match fields {
        (None, None, None) => Ok(None),
        (Some(format), Some(nonce), Some(token)) => {
            if format == dev::FORMAT && mode == crate::state::ServerMode::Production {
                return Err(invalid(
                    "attestation_unsupported",
                    "the development attestation format is accepted in development mode only",
                ));
            }
            let platform = platform::Platforms::verifies(format);
            if format != dev::FORMAT && !platform {
                return Err(invalid(
                    "attestation_unsupported",
                    format!(
                        "this service verifies `{}`, `{}` and (development mode) `{}`",
                        verify::token::APPLE_FORMAT,
                        verify::token::ANDROID_FORMAT,
                        dev::FORMAT
                    ),
                ));
            }
            let Ok(decoded) = URL_SAFE_NO_PAD.decode(token) else {
                return Err(invalid(
                    "attestation_invalid",
                    "the attestation token is not base64url",
                ));
            };
            if nonce.len() > 128 {
                return Err(invalid("attestation_invalid", "the nonce is too long"));
            }
            let upload_sha256 = match get(upload_metadata::UPLOAD_SHA256) {
                Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Some(h.to_ascii_lowercase())
                }
                Some(_) => {
                    return Err(invalid(
                        "attestation_invalid",
                        "upload_sha256 is not 64 hex digits",
                    ));
                }
                None if platform => {
                    return Err(invalid(
                        "attestation_invalid",
                        "a platform statement comes with upload_sha256, the envelope's hash",
                    ));
                }
                None => None,
            };
            Ok(Some((
                Claim {
                    format: format.into(),
                    nonce: nonce.into(),
                    token: if platform {
                        String::new()
                    } else {
                        token.into()
                    },
                    upload_sha256,
                    basis: None,
                },
                decoded,
            )))
        }
        _ => Err(invalid(
            "attestation_invalid",
            "send attestation_format, attestation_nonce and attestation together",
        )),
    }
}

/// Spends `nonce` of `account_id` now (platform statements, at creation): `Err` when it
/// was spent already (a replay) or is not this account's.
pub fn spend_nonce(
    c: &rusqlite::Connection,
    nonce: &str,
    account_id: &str,
) -> Result<Result<(), ApiFailure>, DbError> {
    let spent = c.execute(
        "UPDATE attestation_nonces SET used_at = ?1
         WHERE nonce = ?2 AND account_id = ?3 AND used_at IS NULL",
        params![now(), nonce, account_id],
    )?;
    Ok(if spent == 1 {
        Ok(())
    } else {
        Err(invalid(
            "attestation_nonce_used",
            "this nonce was used already: ask for a new one",
        ))
    })
}

/// Whether `nonce` was issued to `account_id`, is unexpired and unspent.
pub fn check_nonce(
    c: &rusqlite::Connection,
    nonce: &str,
    account_id: &str,
) -> Result<Result<(), ApiFailure>, DbError> {
    let row: Option<(String, i64, Option<i64>)> = c
        .query_row(
            "SELECT account_id, expires_at, used_at FROM attestation_nonces WHERE nonce = ?1",
            [nonce],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        Some((owner, expires, None)) if owner == account_id && expires >= now() => Ok(()),
        Some((_, _, Some(_))) => Err(invalid(
            "attestation_nonce_used",
            "this nonce was used already: ask for a new one",
        )),
        _ => Err(invalid(
            "attestation_nonce_unknown",
            "no such nonce for this account, or it expired: ask for a new one",
        )),
    })
}

/// Verifies `claim` over the `sealed` bytes received and spends its nonce (its expiry was
/// checked when the upload was created: a resumed upload may finish later). `Err(message)`
/// when it does not hold.
pub fn verify_and_spend(
    c: &rusqlite::Connection,
    claim: &Claim,
    account_id: &str,
    sealed: &[u8],
) -> Result<Result<(), String>, DbError> {
    if claim.is_platform() {
        // Verified at creation, nonce spent then: only the binding to these bytes is left.
        let hash: [u8; 32] = Sha256::digest(sealed).into();
        return Ok(if claim.bound_hash() == Some(hash) {
            Ok(())
        } else {
            Err("the bytes received are not the envelope the attestation was made over".into())
        });
    }
    let owner: Option<String> = c
        .query_row(
            "SELECT account_id FROM attestation_nonces WHERE nonce = ?1 AND used_at IS NULL",
            [&claim.nonce],
            |r| r.get(0),
        )
        .optional()?;
    if owner.as_deref() != Some(account_id) {
        return Ok(Err(
            "the nonce is not this account's, or was used already".into()
        ));
    }
    let key = c
        .query_row("SELECT key FROM dev_attestation WHERE id = 1", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()?
        .unwrap_or_default();
    let hash: [u8; 32] = Sha256::digest(sealed).into();
    let token = URL_SAFE_NO_PAD.decode(&claim.token).unwrap_or_default();
    if key.is_empty() || !dev::verify(&key, &challenge(claim.nonce.as_bytes(), &hash), &token) {
        return Ok(Err(
            "the attestation does not verify over the bytes received".into(),
        ));
    }
    let spent = c.execute(
        "UPDATE attestation_nonces SET used_at = ?1 WHERE nonce = ?2 AND used_at IS NULL",
        params![now(), claim.nonce],
    )?;
    Ok(if spent == 1 {
        Ok(())
    } else {
        Err("this nonce was used already".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_spends_its_nonce_once_and_only_for_its_account() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite3")).unwrap();
        crate::accounts::seed_test_shopper(&db).unwrap();
        let key = dev_key_or_create(&db).unwrap();
        assert_eq!(dev_key_or_create(&db).unwrap(), key, "made once");
        let account: String = db
            .with(|c| Ok(c.query_row("SELECT id FROM accounts LIMIT 1", [], |r| r.get(0))?))
            .unwrap();
        let sealed = b"sealed envelope bytes";
        let claim = |nonce: &str, signed: &[u8]| {
            let hash: [u8; 32] = Sha256::digest(signed).into();
            Claim {
                format: dev::FORMAT.into(),
                nonce: nonce.into(),
                token: URL_SAFE_NO_PAD.encode(dev::sign(&key, &challenge(nonce.as_bytes(), &hash))),
                upload_sha256: None,
                basis: None,
            }
        };
        db.with(|c| {
            c.execute(
                "INSERT INTO attestation_nonces (nonce, account_id, expires_at) VALUES ('n1', ?1, ?2)",
                params![account, now() + 60],
            )?;
            assert_eq!(check_nonce(c, "n1", &account)?.map_err(|e| e.code()), Ok(()));
            assert_eq!(
                check_nonce(c, "n1", "someone-else")?.map_err(|e| e.code()),
                Err("attestation_nonce_unknown")
            );
            assert!(verify_and_spend(c, &claim("n1", sealed), "someone-else", sealed)?.is_err());
            // Signed over other bytes than those received.
            assert!(verify_and_spend(c, &claim("n1", b"other"), &account, sealed)?.is_err());
            assert_eq!(verify_and_spend(c, &claim("n1", sealed), &account, sealed)?, Ok(()));
            // Spent: neither a second upload nor a second creation may use it.
            assert!(verify_and_spend(c, &claim("n1", sealed), &account, sealed)?.is_err());
            assert_eq!(
                check_nonce(c, "n1", &account)?.map_err(|e| e.code()),
                Err("attestation_nonce_used")
            );
            Ok(())
        })
        .unwrap();
    }
}
