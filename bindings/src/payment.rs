//! The card as the shopper typed it ([`CardInput`]: the FFI's own shape, so the number and
//! the code are wiped once the core has them). The wallet, the methods and what adding a
//! card led to are the core's own records.

use zeroize::Zeroizing;

/// Card details as the shopper typed them. They go to the payment provider only.
#[derive(uniffi::Record)]
pub struct CardInput {
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

impl From<CardInput> for palmkit_core::payment::card::CardInput {
    fn from(card: CardInput) -> Self {
        Self {
            number: Zeroizing::new(card.number),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: Zeroizing::new(card.cvc),
            cardholder_name: card.cardholder_name,
        }
    }
}
