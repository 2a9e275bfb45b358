//! A platform statement at upload creation: read what the key registry knows, verify the
//! statement and policy off the async threads, and answer a refusal by name.

use axum::http::StatusCode;
use palmkit_core::attestation::challenge;

use crate::api::ApiFailure;
use crate::attestation::Claim;
use crate::attestation::platform::{KeyWrite, Refused};
use crate::attestation::verify::{self, Refusal};
use crate::state::AppState;

/// The API answer for a refused statement: `attestation_invalid` with the word.
pub fn attestation_refused(refusal: Refusal) -> ApiFailure {
    ApiFailure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "attestation_invalid",
        format!("{}: {}", refusal.reason, refusal.detail),
    )
    .with_reason(refusal.reason.as_str())
}

/// Verifies `claim`'s statement (`token`, decoded) for `account_id`; returns the claim
/// with what its verdict rested on and the key registry's write for the creation's
/// transaction.
pub async fn platform_statement(
    state: &AppState,
    mut claim: Claim,
    token: Vec<u8>,
    account_id: &str,
) -> Result<(Claim, KeyWrite), ApiFailure> {
    let hash = claim.bound_hash().ok_or_else(|| {
        ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attestation_invalid",
            "upload_sha256 is not 64 hex digits",
        )
    })?;
    let challenge = challenge(claim.nonce.as_bytes(), &hash);
    // The key the token names, read before verifying; the write is a compare-and-set on
    // what was read, so a concurrent upload with the same key cannot both pass.
    let key_id = if claim.format == verify::token::APPLE_FORMAT {
        verify::token::decode_apple(&token).ok().map(|t| t.key_id)
    } else {
        None
    };
    let registered = match key_id {
        Some(key_id) => {
            state
                .db()
                .call(move |c| Ok(crate::attestation::platform::load_key(c, &key_id)?))
                .await?
        }
        None => None,
    };
    let platforms = state.platforms_arc();
    let (format, account) = (claim.format.clone(), account_id.to_string());
    let outcome = tokio::task::spawn_blocking(move || {
        platforms.verify(
            &format,
            &token,
            &challenge,
            verify::now(),
            &account,
            registered,
        )
    })
    .await
    .map_err(|e| ApiFailure::from(crate::db::DbError::Task(e.to_string())))?;
    match outcome {
        Ok(verified) => {
            tracing::info!(
                format = %claim.format,
                environment = verified.basis.environment.as_deref().unwrap_or("-"),
                root = verified.basis.root.as_deref().unwrap_or("-"),
                "platform attestation verified"
            );
            claim.basis = Some(verified.basis);
            Ok((claim, verified.write))
        }
        Err(Refused::KeyUnknown(message)) => {
            tracing::info!(format = %claim.format, "attestation key unknown");
            Err(ApiFailure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attestation_key_unknown",
                message,
            )
            .with_reason("unknown_key"))
        }
        Err(Refused::Invalid(refusal)) => {
            tracing::info!(format = %claim.format, reason = %refusal.reason, detail = %refusal.detail, "platform attestation refused");
            Err(attestation_refused(refusal))
        }
    }
}
