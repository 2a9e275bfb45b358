//! The payment provider's client-side API (a Stripe-compatible subset): card details go
//! from here straight to the provider with the publishable key and come back as a token.
//! The enrollment service never sees them.
//!
//! Requests are form-encoded as the provider expects; the body that carries the number is
//! built in a zeroizing buffer and nothing about it is logged.

use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use super::card::ValidCard;
use crate::error::{Error, PaymentFailure};
use crate::net;

/// A provider endpoint: base URL, publishable key, and the HTTP client to reach it.
#[derive(Clone)]
pub struct ProviderClient {
    http: reqwest::Client,
    base: Url,
    key: String,
    tokenization_key: Option<String>,
}

/// The provider's SetupIntent, as much as the core uses.
#[derive(Clone, Debug, Deserialize)]
pub struct SetupIntent {
    /// `seti_…`.
    pub id: String,
    /// `succeeded`, `requires_action`, `requires_payment_method`, ...
    pub status: String,
    /// What the shopper must do, when `requires_action`.
    #[serde(default)]
    pub next_action: Option<NextAction>,
}

/// `next_action` of a SetupIntent.
#[derive(Clone, Debug, Deserialize)]
pub struct NextAction {
    /// `redirect_to_url` is the one the core handles.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where to send the shopper.
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

/// The URL of a `redirect_to_url` action.
#[derive(Clone, Debug, Deserialize)]
pub struct RedirectToUrl {
    /// The page the shopper completes (3-D Secure style).
    pub url: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct ProviderError {
    error: ProviderErrorBody,
}

#[derive(Deserialize)]
struct ProviderErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ProviderClient {
    /// A client for the provider at `base` (its API root, e.g. `https://…/provider`), using
    /// `http` — the pinned client in the app; a plain client only for a local emulator in
    /// tests — and the `key` (publishable key; an emulator may want its secret test key).
    pub fn new(http: reqwest::Client, base: Url, key: String) -> Self {
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self {
            http,
            base,
            key,
            tokenization_key: None,
        }
    }

    /// Uses `key` instead of the publishable key to create payment methods. Only for a
    /// local emulator that demands a secret test key there (localstripe); never in an app.
    pub fn with_tokenization_key(mut self, key: String) -> Self {
        self.tokenization_key = Some(key);
        self
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        self.base
            .join(path)
            .map_err(|e| Error::Protocol(format!("provider URL for {path:?}: {e}")))
    }

    /// Tokenizes a card: `POST v1/payment_methods`. Returns the payment method id.
    pub async fn create_payment_method(&self, card: &ValidCard) -> Result<String, Error> {
        let body = {
            // Sized up front so the buffer is not reallocated (leaving copies behind).
            let mut form = url::form_urlencoded::Serializer::new(String::with_capacity(1024));
            form.append_pair("type", "card")
                .append_pair("card[number]", &card.digits)
                .append_pair("card[exp_month]", &card.exp_month.to_string())
                .append_pair("card[exp_year]", &card.exp_year.to_string())
                .append_pair("card[cvc]", &card.cvc)
                .append_pair("billing_details[name]", &card.cardholder_name);
            Zeroizing::new(form.finish())
        };
        // reqwest needs its own copy of the body; it is freed (not zeroized: reqwest
        // offers no hook) when the request completes. Ours is zeroized on drop.
        let response = self
            .http
            .post(self.url("v1/payment_methods")?)
            .bearer_auth(self.tokenization_key.as_ref().unwrap_or(&self.key))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.as_str().to_owned())
            .send()
            .await
            .map_err(net::classify)?;
        drop(body);
        let created: Created = read(response).await?;
        Ok(created.id)
    }

    /// Confirms a SetupIntent with a payment method.
    pub async fn confirm_setup_intent(
        &self,
        setup_intent_id: &str,
        client_secret: &str,
        payment_method: &str,
    ) -> Result<SetupIntent, Error> {
        // The serializer is not Send: build the body before any await.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payment_method", payment_method)
            .append_pair("client_secret", client_secret)
            .append_pair("key", &self.key)
            .finish();
        let path = format!("v1/setup_intents/{}/confirm", segment(setup_intent_id)?);
        let response = self
            .http
            .post(self.url(&path)?)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(net::classify)?;
        read(response).await
    }

    /// Reads a SetupIntent's current state.
    pub async fn retrieve_setup_intent(
        &self,
        setup_intent_id: &str,
        client_secret: &str,
    ) -> Result<SetupIntent, Error> {
        let mut url = self.url(&format!("v1/setup_intents/{}", segment(setup_intent_id)?))?;
        url.query_pairs_mut()
            .append_pair("client_secret", client_secret);
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(net::classify)?;
        read(response).await
    }
}

/// An id used as a path segment: letters, digits and `_` only.
fn segment(id: &str) -> Result<&str, Error> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(Error::Protocol(format!("{id:?} is not a provider id")))
    }
}

/// Decodes a provider answer; card errors become [`PaymentFailure::Declined`].
async fn read<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status();
    let body = net::read_limited(response, 256 * 1024).await?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            Error::Protocol(format!("provider answer is not the expected JSON: {e}"))
        });
    }
    let parsed = serde_json::from_slice::<ProviderError>(&body).ok();
    if status.is_server_error() {
        return Err(Error::Service {
            status: status.as_u16(),
            code: parsed
                .and_then(|p| p.error.code)
                .unwrap_or_else(|| "provider_unavailable".into()),
            message: "the payment provider could not process the card; try again later".into(),
        });
    }
    match parsed {
        // Card errors: Stripe types them `card_error` with HTTP 402; some emulators only
        // keep the 402.
        Some(ProviderError { error }) if error.kind == "card_error" || status.as_u16() == 402 => {
            Err(Error::Payment(PaymentFailure::Declined {
                code: error.code.unwrap_or_else(|| "card_declined".into()),
                message: error
                    .message
                    .unwrap_or_else(|| "the card was declined".into()),
            }))
        }
        Some(ProviderError { error }) => Err(Error::Payment(PaymentFailure::ProviderRefused(
            error.message.unwrap_or(error.kind),
        ))),
        None => Err(Error::Protocol(format!(
            "provider answered HTTP {status} without an error body"
        ))),
    }
}
