//! A stand-in for the payment provider, under `/provider/v1`: a Stripe-compatible subset
//! (payment methods from card details with the publishable key, SetupIntent confirmation,
//! a 3-D Secure style page). It alone sees card numbers, and keeps only a token, the brand,
//! the last four digits and the expiry; the number and CVC are dropped after the checks.
//!
//! A payment method belongs to the SetupIntent first confirmed with it, and so to that
//! intent's account: confirming another account's intent with it is refused as if it did
//! not exist (as a provider scopes a payment method to one customer). The 3-D Secure style
//! page needs the intent's client secret, carried in the query (never logged), so no one
//! but the shopper's app can approve a card, and the intent id stays out of request logs.
//!
//! Test numbers, as Stripe's: `4000000000000002` is declined, `4000002500003155` needs the
//! shopper to authenticate (`requires_action`), `4000000000000119` fails with a provider
//! error (HTTP 500).

use axum::Json;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension as _, params};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::ApiFailure;
use crate::db::DbError;
use crate::html;
use crate::state::AppState;

/// The publishable key apps use with the provider (public by design).
pub const PUBLISHABLE_KEY: &str = "pk_test_palmkit";
/// Card number that is always declined.
pub const DECLINED_CARD: &str = "4000000000000002";
/// Card number whose setup needs the shopper to authenticate.
pub const AUTHENTICATION_CARD: &str = "4000002500003155";
/// Card number that makes the provider fail.
pub const PROVIDER_ERROR_CARD: &str = "4000000000000119";
/// Longest cardholder name kept, in characters.
pub const MAX_CARDHOLDER_CHARS: usize = 100;
/// How many years ahead an expiry may be.
const MAX_EXPIRY_YEARS_AHEAD: u32 = 20;

fn stripe_error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "code": code, "message": message}})),
    )
        .into_response()
}

fn invalid_key() -> Response {
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "api_key_invalid",
        "Invalid API key",
    )
}

fn no_such_intent() -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
        "No such setup intent",
    )
}

fn publishable_key_ok(headers: &HeaderMap, form_key: Option<&str>) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or(form_key) == Some(PUBLISHABLE_KEY)
}

/// `POST /provider/v1/payment_methods`: form fields as Stripe names them.
pub async fn create_payment_method(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Response {
    if !publishable_key_ok(&headers, form.get("key").map(String::as_str)) {
        return invalid_key();
    }
    // The publishable key is public: anyone may call this, so each address gets a few.
    if let Err(wait) = state.provider_writes().allow(peer.ip()) {
        let mut answer = stripe_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit",
            "Too many requests; retry later.",
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            answer.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return answer;
    }
    if form.get("type").map(String::as_str) != Some("card") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_invalid",
            "type must be card",
        );
    }
    let number: String = form
        .get("card[number]")
        .map(|n| n.chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let month: u32 = form
        .get("card[exp_month]")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let year: u32 = form
        .get("card[exp_year]")
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    let cvc_ok = form
        .get("card[cvc]")
        .is_some_and(|c| (3..=4).contains(&c.len()));
    let name = form
        .get("billing_details[name]")
        .cloned()
        .unwrap_or_default();
    if name.chars().count() > MAX_CARDHOLDER_CHARS || name.chars().any(char::is_control) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_invalid",
            "billing_details[name] is at most 100 printable characters",
        );
    }
    let brand = palmkit_core::payment::card::Brand::of(&number);
    if number.len() < 12 || !palmkit_core::payment::card::luhn_valid(&number) || brand.is_none() {
        return stripe_error(
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            "incorrect_number",
            "Your card number is incorrect.",
        );
    }
    let (this_year, this_month) = palmkit_core::payment::card::current_year_month();
    let expired = (year, month) < (this_year, this_month);
    if !(1..=12).contains(&month) || expired || year > this_year + MAX_EXPIRY_YEARS_AHEAD || !cvc_ok
    {
        return stripe_error(
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            "invalid_expiry_or_cvc",
            "Your card's expiry or security code is invalid.",
        );
    }
    match number.as_str() {
        DECLINED_CARD => {
            return stripe_error(
                StatusCode::PAYMENT_REQUIRED,
                "card_error",
                "card_declined",
                "Your card was declined.",
            );
        }
        PROVIDER_ERROR_CARD => {
            return stripe_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                "processing_error",
                "An error occurred while processing your card.",
            );
        }
        _ => {}
    }
    let needs_action = number == AUTHENTICATION_CARD;
    let last4 = number[number.len() - 4..].to_string();
    let brand = brand.map(|b| b.as_str()).unwrap_or("unknown").to_string();
    let stored = (brand.clone(), last4.clone());
    let result = state
        .db()
        .call(move |c| {
            let id = crate::ids::new_id("pm")?.replace('-', "_");
            c.execute(
                "INSERT INTO provider_payment_methods (id, brand, last4, exp_month, exp_year, cardholder, needs_action, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%s', 'now'))",
                params![id, stored.0, stored.1, month, year, name, needs_action],
            )?;
            Ok(id)
        })
        .await;
    match result {
        Ok(id) => Json(json!({
            "id": id, "object": "payment_method", "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": month, "exp_year": year},
        }))
        .into_response(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

/// Creates a SetupIntent for an account (called by the enrollment service, which holds the
/// secret key in a real deployment). Returns `(id, client_secret)`.
pub fn create_setup_intent(
    c: &rusqlite::Connection,
    account_id: &str,
) -> Result<(String, String), DbError> {
    let id = crate::ids::new_id("seti")?.replace('-', "_");
    let secret = format!("{id}_secret_{}", crate::ids::new_id("s")?.replace('-', ""));
    c.execute(
        "INSERT INTO provider_setup_intents (id, client_secret_hash, account_id, status, created_at)
         VALUES (?1, ?2, ?3, 'requires_payment_method', strftime('%s', 'now'))",
        params![id, Sha256::digest(secret.as_bytes()).to_vec(), account_id],
    )?;
    Ok((id, secret))
}

/// A SetupIntent as the provider shows it.
fn intent_json(
    c: &rusqlite::Connection,
    id: &str,
    secret: &str,
    base: &str,
) -> Result<Option<serde_json::Value>, DbError> {
    Ok(c.query_row(
        "SELECT status, payment_method_id FROM provider_setup_intents WHERE id = ?1",
        [id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
    )
    .optional()?
    .map(|(status, pm)| {
        let mut v =
            json!({"id": id, "object": "setup_intent", "status": status, "payment_method": pm});
        if status == "requires_action" {
            let url = authentication_url(base, id, secret);
            v["next_action"] = json!({
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": null},
            });
        }
        v
    }))
}

/// The shopper's authentication page for an intent: id and secret in the query.
fn authentication_url(base: &str, id: &str, secret: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("setup_intent", id)
        .append_pair("client_secret", secret)
        .finish();
    format!("{base}/provider/3ds?{query}")
}

fn secret_matches(c: &rusqlite::Connection, id: &str, secret: &str) -> Result<bool, DbError> {
    let stored: Option<Vec<u8>> = c
        .query_row(
            "SELECT client_secret_hash FROM provider_setup_intents WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stored.is_some_and(|h| h == Sha256::digest(secret.as_bytes()).to_vec()))
}

/// The confirmation form.
#[derive(Deserialize)]
pub struct ConfirmForm {
    payment_method: Option<String>,
    client_secret: Option<String>,
    key: Option<String>,
}

/// `POST /provider/v1/setup_intents/{id}/confirm`.
pub async fn confirm_setup_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if !publishable_key_ok(&headers, form.key.as_deref()) {
        return invalid_key();
    }
    let (Some(pm), Some(secret)) = (form.payment_method, form.client_secret) else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_missing",
            "payment_method and client_secret are required",
        );
    };
    let base = state.issuer().to_string();
    let result = state
        .db()
        .call(move |c| {
            let tx = c.unchecked_transaction()?;
            if !secret_matches(&tx, &id, &secret)? {
                return Ok(None);
            }
            let confirmable: bool = tx.query_row(
                "SELECT status IN ('requires_payment_method', 'requires_action')
                 FROM provider_setup_intents WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            if !confirmable {
                return Ok(intent_json(&tx, &id, &secret, &base)?.map(Ok));
            }
            // Claim the payment method for this intent, unless another intent has it.
            let claimed = tx.execute(
                "UPDATE provider_payment_methods SET setup_intent_id = ?1
                 WHERE id = ?2 AND (setup_intent_id IS NULL OR setup_intent_id = ?1)",
                params![id, pm],
            )?;
            if claimed == 0 {
                tracing::warn!("setup intent confirmation with another intent's payment method refused");
                return Ok(Some(Err("No such PaymentMethod")));
            }
            let needs_action: bool = tx.query_row(
                "SELECT needs_action FROM provider_payment_methods WHERE id = ?1",
                [&pm],
                |r| r.get(0),
            )?;
            let status = if needs_action {
                "requires_action"
            } else {
                "succeeded"
            };
            tx.execute(
                "UPDATE provider_setup_intents SET status = ?1, payment_method_id = ?2 WHERE id = ?3",
                params![status, pm, id],
            )?;
            let intent = intent_json(&tx, &id, &secret, &base)?;
            tx.commit()?;
            Ok(intent.map(Ok))
        })
        .await;
    match result {
        Ok(Some(Ok(intent))) => Json(intent).into_response(),
        Ok(Some(Err(why))) => stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "resource_missing",
            why,
        ),
        Ok(None) => no_such_intent(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

/// Query of `GET /provider/v1/setup_intents/{id}`.
#[derive(Deserialize)]
pub struct RetrieveQuery {
    client_secret: Option<String>,
}

/// `GET /provider/v1/setup_intents/{id}?client_secret=…` (publishable key in the header).
pub async fn retrieve_setup_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<RetrieveQuery>,
) -> Response {
    if !publishable_key_ok(&headers, None) {
        return invalid_key();
    }
    let secret = q.client_secret.unwrap_or_default();
    let base = state.issuer().to_string();
    let result = state
        .db()
        .call(move |c| {
            if !secret_matches(c, &id, &secret)? {
                return Ok(None);
            }
            intent_json(c, &id, &secret, &base)
        })
        .await;
    match result {
        Ok(Some(intent)) => Json(intent).into_response(),
        Ok(None) => no_such_intent(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

/// The intent and its client secret, from the authentication page's query.
#[derive(Deserialize)]
pub struct AuthenticationQuery {
    setup_intent: Option<String>,
    client_secret: Option<String>,
}

/// `GET /provider/3ds?setup_intent=…&client_secret=…`: the page where the shopper confirms
/// it is their card. The form posts back to the same URL, secret included.
pub async fn authentication_page(Query(q): Query<AuthenticationQuery>) -> Response {
    let (Some(id), Some(secret)) = (q.setup_intent, q.client_secret) else {
        return nothing_to_confirm();
    };
    let action = html_attribute(&authentication_url("", &id, &secret));
    // Its URL carries the client secret and one click confirms: never framed, cached or
    // sent on as a referrer (crate::html).
    html::page(
        StatusCode::OK,
        format!(
            "<!doctype html><title>Confirm your card</title><h1>Confirm it is your card</h1>\
             <form method=\"post\" action=\"{action}\"><button name=\"result\" value=\"approve\">Confirm</button> \
             <button name=\"result\" value=\"fail\">Cancel</button></form>"
        ),
    )
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn nothing_to_confirm() -> Response {
    html::page(
        StatusCode::NOT_FOUND,
        "<p>Nothing to confirm.</p>".to_string(),
    )
}

/// The authentication form.
#[derive(Deserialize)]
pub struct AuthenticationForm {
    result: Option<String>,
}

/// `POST /provider/3ds?setup_intent=…&client_secret=…`: the shopper's answer. Without the
/// intent's client secret nothing changes.
pub async fn authentication_submit(
    State(state): State<AppState>,
    Query(q): Query<AuthenticationQuery>,
    Form(form): Form<AuthenticationForm>,
) -> Response {
    let (Some(id), Some(secret)) = (q.setup_intent, q.client_secret) else {
        return nothing_to_confirm();
    };
    let approved = form.result.as_deref() == Some("approve");
    let status = if approved {
        "succeeded"
    } else {
        "requires_payment_method"
    };
    let result = state
        .db()
        .call(move |c| {
            if !secret_matches(c, &id, &secret)? {
                return Ok(0);
            }
            Ok(c.execute(
                "UPDATE provider_setup_intents SET status = ?1 WHERE id = ?2 AND status = 'requires_action'",
                params![status, id],
            )?)
        })
        .await;
    match result {
        Ok(1) => html::page(
            StatusCode::OK,
            format!(
                "<!doctype html><title>Done</title><p>{}</p>",
                if approved {
                    "Card confirmed. Return to the app."
                } else {
                    "Card not confirmed."
                }
            ),
        ),
        Ok(_) => nothing_to_confirm(),
        Err(e) => ApiFailure::from(e).into_response(),
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    #[tokio::test]
    async fn the_3ds_page_is_never_framed_cached_or_referred() {
        let query = |id: Option<&str>| AuthenticationQuery {
            setup_intent: id.map(str::to_string),
            client_secret: id.map(|_| "seti_secret".to_string()),
        };
        // The page with the secret in its URL, and the answer without one.
        let page = authentication_page(Query(query(Some("seti_1")))).await;
        assert_eq!(page.status(), StatusCode::OK);
        html::tests::assert_page_headers(&page);
        let nothing = authentication_page(Query(query(None))).await;
        assert_eq!(nothing.status(), StatusCode::NOT_FOUND);
        html::tests::assert_page_headers(&nothing);
    }
}
