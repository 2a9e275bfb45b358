//! Payment methods: list the account's cards, add one through client-side tokenization at
//! the payment provider, and link the chosen method to the palm profile.
//!
//! Adding a card: validate it here ([`card`]); ask the enrollment service for a SetupIntent;
//! send the card straight to the provider with the publishable key ([`provider`]) and get a
//! token; confirm the SetupIntent; if the provider needs the shopper (a 3-D Secure style
//! page), hand its URL to the shell ([`AddCardOutcome::RequiresAction`]) and resume after;
//! finally attach the token to the account's wallet. The card number never reaches the
//! enrollment service, a log, an error or storage.
//!
//! Linking carries an idempotency key and is retried on a dropped connection with the same
//! key, so a retry never links twice.

pub mod card;
pub mod provider;

use std::time::Duration;

use serde_json::json;
use url::Url;

use crate::account::{AccountClient, Request};
use crate::error::{Error, PaymentFailure};
use crate::protocol::{PaymentLink, PaymentMethod, SetupIntentGrant, Wallet};
use card::CardInput;
use provider::ProviderClient;

/// Attempts for a link whose connection dropped.
const LINK_ATTEMPTS: u32 = 3;

/// A card whose setup waits for the shopper at the provider's page.
#[derive(Clone, Debug)]
pub struct PendingCard {
    grant: SetupIntentGrant,
}

/// What adding a card led to, as the app is told it. The card to resume after a
/// `RequiresAction` ([`PendingCard`], which holds the provider's client secret) stays with
/// the caller of [`PaymentClient::add_card`]: the session keeps it, the app never sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AddCardOutcome {
    /// Saved in the wallet.
    Added {
        /// The new method.
        method: PaymentMethod,
    },
    /// The shopper must confirm at `url` (open it in the browser), then the card is
    /// resumed ([`PaymentClient::resume_add_card`] with the [`PendingCard`]).
    RequiresAction {
        /// The provider's page.
        url: String,
    },
}

/// Payment calls for the signed-in shopper.
pub struct PaymentClient<'a> {
    account: &'a AccountClient,
}

impl<'a> PaymentClient<'a> {
    /// Payment calls on behalf of the shopper signed in to `account`.
    pub fn new(account: &'a AccountClient) -> Self {
        Self { account }
    }

    /// The account's saved payment methods and the one linked to the palm profile.
    pub async fn wallet(&self) -> Result<Wallet, Error> {
        self.account.authorized_get("v1/payment-methods").await
    }

    /// Validates and adds a card (see the module docs). `today` is `(year, month)`. With
    /// `RequiresAction`, the second value is the card to resume once the shopper is back.
    pub async fn add_card(
        &self,
        input: CardInput,
        today: (u32, u32),
    ) -> Result<(AddCardOutcome, Option<PendingCard>), Error> {
        let card = card::validate(input, today)?;
        let grant: SetupIntentGrant = self
            .account
            .authorized(&Request::with_json(
                reqwest::Method::POST,
                "v1/payment-methods/setup-intents",
                json!({}),
            ))
            .await?;
        let provider = self.provider(&grant)?;
        let payment_method = provider.create_payment_method(&card).await?;
        drop(card);
        let intent = provider
            .confirm_setup_intent(
                &grant.setup_intent_id,
                &grant.client_secret,
                &payment_method,
            )
            .await?;
        self.after_confirmation(intent, grant).await
    }

    /// Continues a card that required the shopper's action, once they are back.
    pub async fn resume_add_card(&self, pending: PendingCard) -> Result<PaymentMethod, Error> {
        let provider = self.provider(&pending.grant)?;
        let intent = provider
            .retrieve_setup_intent(&pending.grant.setup_intent_id, &pending.grant.client_secret)
            .await?;
        match self.after_confirmation(intent, pending.grant).await? {
            (AddCardOutcome::Added { method }, _) => Ok(method),
            (AddCardOutcome::RequiresAction { .. }, _) => {
                Err(Error::Payment(PaymentFailure::ActionNotCompleted))
            }
        }
    }

    async fn after_confirmation(
        &self,
        intent: provider::SetupIntent,
        grant: SetupIntentGrant,
    ) -> Result<(AddCardOutcome, Option<PendingCard>), Error> {
        match intent.status.as_str() {
            "succeeded" => {
                let method = self
                    .account
                    .authorized(&Request::with_json(
                        reqwest::Method::POST,
                        "v1/payment-methods",
                        json!({"setup_intent_id": grant.setup_intent_id}),
                    ))
                    .await?;
                Ok((AddCardOutcome::Added { method }, None))
            }
            "requires_action" => {
                let url = intent
                    .next_action
                    .and_then(|a| a.redirect_to_url)
                    .map(|r| r.url)
                    .ok_or_else(|| Error::Protocol("requires_action without a URL".into()))?;
                Ok((
                    AddCardOutcome::RequiresAction { url },
                    Some(PendingCard { grant }),
                ))
            }
            "requires_payment_method" => Err(Error::Payment(PaymentFailure::ActionNotCompleted)),
            other => Err(Error::Protocol(format!(
                "unexpected setup intent status {other:?}"
            ))),
        }
    }

    fn provider(&self, grant: &SetupIntentGrant) -> Result<ProviderClient, Error> {
        let base = Url::parse(&grant.provider_url)
            .map_err(|e| Error::Protocol(format!("provider URL: {e}")))?;
        if base.scheme() != "https" {
            return Err(Error::Protocol("the provider URL is not https".into()));
        }
        Ok(ProviderClient::new(
            self.account.net().http().clone(),
            base,
            grant.publishable_key.clone(),
        ))
    }

    /// Links a wallet method to the palm profile. `idempotency_key` (8–128 characters,
    /// new for each link the shopper asks for) makes retries safe: on a dropped connection
    /// the core retries with the same key, and the service answers the first result again.
    pub async fn link(
        &self,
        payment_method_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentLink, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = Request {
                method: reqwest::Method::PUT,
                path: "v1/palm-profile/payment-method",
                body: Some(json!({"payment_method_id": payment_method_id})),
                idempotency_key: Some(idempotency_key),
            };
            match self.account.authorized(&request).await {
                Err(Error::Network { .. }) if attempt < LINK_ATTEMPTS => {
                    tracing::info!(
                        attempt,
                        "link interrupted; retrying with the same idempotency key"
                    );
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    /// A fresh idempotency key (128 random bits, hex).
    pub fn new_idempotency_key() -> Result<String, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::Protocol(format!("no randomness: {e}")))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}
