//! Cards and the palm profile's payment link across the FFI: what the shopper types
//! ([`CardDetails`], to the provider only), what the wallet holds, what adding led to.

use zeroize::Zeroizing;

use crate::PalmKitError;

/// A saved payment method (never the number).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PaymentMethodInfo {
    /// The provider's token.
    pub id: String,
    /// Card brand.
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: u32,
}

impl From<palmkit_core::protocol::PaymentMethod> for PaymentMethodInfo {
    fn from(m: palmkit_core::protocol::PaymentMethod) -> Self {
        Self {
            id: m.id,
            brand: m.brand,
            last4: m.last4,
            exp_month: m.exp_month,
            exp_year: m.exp_year,
        }
    }
}

/// The account's payment methods.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct WalletInfo {
    /// Saved methods.
    pub methods: Vec<PaymentMethodInfo>,
    /// The one the palm profile pays with.
    pub linked_id: Option<String>,
}

/// Card details as the shopper typed them. They go to the payment provider only.
#[derive(uniffi::Record)]
pub struct CardDetails {
    /// Card number (spaces allowed).
    pub number: String,
    /// Expiry month, 1-12.
    pub exp_month: u32,
    /// Expiry year (2 or 4 digits).
    pub exp_year: u32,
    /// Security code.
    pub cvc: String,
    /// Name on the card.
    pub cardholder_name: String,
}

impl From<CardDetails> for palmkit_core::payment::card::CardInput {
    fn from(card: CardDetails) -> Self {
        Self {
            number: Zeroizing::new(card.number),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: Zeroizing::new(card.cvc),
            cardholder_name: card.cardholder_name,
        }
    }
}

/// What adding a card led to.
#[derive(Debug, uniffi::Enum)]
pub enum AddCardResult {
    /// Saved.
    Added {
        /// The new method.
        method: PaymentMethodInfo,
    },
    /// Open `url` in the browser for the shopper to confirm, then call `resume_add_card`.
    RequiresAction {
        /// The provider's page.
        url: String,
    },
}

impl From<palmkit_core::payment::AddCardOutcome> for AddCardResult {
    fn from(outcome: palmkit_core::payment::AddCardOutcome) -> Self {
        match outcome {
            palmkit_core::payment::AddCardOutcome::Added(method) => Self::Added {
                method: method.into(),
            },
            palmkit_core::payment::AddCardOutcome::RequiresAction { url, .. } => {
                Self::RequiresAction { url }
            }
        }
    }
}

/// The palm profile's payment link.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PaymentLinkInfo {
    /// The linked method.
    pub payment_method_id: String,
    /// When, RFC 3339.
    pub linked_at: String,
}

/// A new idempotency key for `link_payment_method`: keep it until the link succeeds, and
/// reuse it for retries, even across app restarts.
#[uniffi::export]
pub fn new_idempotency_key() -> Result<String, PalmKitError> {
    Ok(palmkit_core::payment::PaymentClient::new_idempotency_key()?)
}
