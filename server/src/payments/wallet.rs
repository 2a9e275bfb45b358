//! The enrollment service's side of payment: the account's wallet of provider tokens, the
//! SetupIntents the app confirms directly at the provider, and the link between the palm
//! profile and one payment method. This side never receives a card number: only tokens,
//! brand, last four and expiry.
//!
//! Linking takes an `Idempotency-Key`: a retried request (a lost answer on a bad mobile
//! connection) gets the first answer again and never links twice.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use palmkit_core::protocol::{
    AttachPaymentMethod, LinkPaymentMethod, PaymentLink, PaymentMethod, SetupIntentGrant, Wallet,
};
use rusqlite::{OptionalExtension as _, params};

use crate::api::{ApiFailure, ApiJson};
use crate::auth::Authenticated;
use crate::db::DbError;
use crate::idempotency;
use crate::state::AppState;

use super::provider;

fn method_of(c: &rusqlite::Connection, id: &str) -> Result<Option<PaymentMethod>, DbError> {
    Ok(c.query_row(
        "SELECT id, brand, last4, exp_month, exp_year FROM provider_payment_methods WHERE id = ?1",
        [id],
        |r| {
            Ok(PaymentMethod {
                id: r.get(0)?,
                brand: r.get(1)?,
                last4: r.get(2)?,
                exp_month: r.get(3)?,
                exp_year: r.get(4)?,
            })
        },
    )
    .optional()?)
}

/// `GET /v1/payment-methods`.
pub async fn wallet(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Wallet>, ApiFailure> {
    let wallet = state
        .db()
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT payment_method_id FROM wallet WHERE account_id = ?1 ORDER BY added_at, rowid",
            )?;
            let ids: Vec<String> = stmt
                .query_map([&who.account_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut payment_methods = Vec::new();
            for id in ids {
                if let Some(m) = method_of(c, &id)? {
                    payment_methods.push(m);
                }
            }
            let linked_payment_method_id = c
                .query_row(
                    "SELECT payment_method_id FROM palm_payment_links WHERE account_id = ?1
                     ORDER BY rowid DESC LIMIT 1",
                    [&who.account_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(Wallet {
                payment_methods,
                linked_payment_method_id,
            })
        })
        .await?;
    Ok(Json(wallet))
}

/// `POST /v1/payment-methods/setup-intents`.
pub async fn setup_intent(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<(StatusCode, Json<SetupIntentGrant>), ApiFailure> {
    let provider_url = format!("{}/provider", state.issuer());
    let (setup_intent_id, client_secret) = state
        .db()
        .call(move |c| provider::create_setup_intent(c, &who.account_id))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SetupIntentGrant {
            setup_intent_id,
            client_secret,
            publishable_key: provider::PUBLISHABLE_KEY.to_string(),
            provider_url,
        }),
    ))
}

/// `POST /v1/payment-methods`: adds the card a succeeded SetupIntent saved. Adding the same
/// one again is harmless.
pub async fn attach(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(body): ApiJson<AttachPaymentMethod>,
) -> Result<Json<PaymentMethod>, ApiFailure> {
    let outcome = state
        .db()
        .call(move |c| {
            let intent: Option<(String, String, Option<String>)> = c
                .query_row(
                    "SELECT account_id, status, payment_method_id FROM provider_setup_intents WHERE id = ?1",
                    [&body.setup_intent_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((owner, status, Some(pm))) = intent.filter(|i| i.0 == who.account_id) else {
                return Ok(Err((StatusCode::NOT_FOUND, "no such setup intent for this account")));
            };
            let _ = owner;
            if status != "succeeded" {
                return Ok(Err((StatusCode::CONFLICT, "the setup intent has not succeeded")));
            }
            c.execute(
                "INSERT OR IGNORE INTO wallet (account_id, payment_method_id, added_at)
                 VALUES (?1, ?2, strftime('%s', 'now'))",
                params![who.account_id, pm],
            )?;
            Ok(method_of(c, &pm)?.ok_or((StatusCode::NOT_FOUND, "no such payment method")))
        })
        .await?;
    match outcome {
        Ok(m) => Ok(Json(m)),
        Err((status, why)) => Err(ApiFailure::new(status, "not_attachable", why)),
    }
}

/// `PUT /v1/palm-profile/payment-method` with an `Idempotency-Key` header.
pub async fn link(
    State(state): State<AppState>,
    who: Authenticated,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LinkPaymentMethod>,
) -> Result<Json<PaymentLink>, ApiFailure> {
    let key = idempotency::required_key(&headers)?;
    let outcome = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            match idempotency::earlier(&tx, &who.account_id, &key, &body.payment_method_id)? {
                Some(Ok(answer)) => {
                    return Ok(Ok(serde_json::from_str::<PaymentLink>(&answer)
                        .map_err(|e| DbError::Task(e.to_string()))?));
                }
                Some(Err(())) => return Ok(Err(idempotency::REUSED)),
                None => {}
            }
            let in_wallet: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM wallet WHERE account_id = ?1 AND payment_method_id = ?2)",
                params![who.account_id, body.payment_method_id],
                |r| r.get(0),
            )?;
            if !in_wallet {
                return Ok(Err((StatusCode::NOT_FOUND, "not_in_wallet", "this payment method is not in the account's wallet")));
            }
            let linked_at: String = tx.query_row(
                "INSERT INTO palm_payment_links (account_id, payment_method_id, linked_at)
                 VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) RETURNING linked_at",
                params![who.account_id, body.payment_method_id],
                |r| r.get(0),
            )?;
            let link = PaymentLink {
                payment_method_id: body.payment_method_id.clone(),
                linked_at,
            };
            idempotency::remember(
                &tx,
                &who.account_id,
                &key,
                &body.payment_method_id,
                &serde_json::to_string(&link).map_err(|e| DbError::Task(e.to_string()))?,
                None,
            )?;
            tx.commit()?;
            Ok(Ok(link))
        })
        .await?;
    match outcome {
        Ok(link) => Ok(Json(link)),
        Err((status, code, why)) => Err(ApiFailure::new(status, code, why)),
    }
}
