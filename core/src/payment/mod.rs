//! Payment methods: list the account's cards, add one through client-side tokenization at
//! the payment provider (the card number never reaches the enrollment service), and link
//! the chosen method to the palm profile.
//!
//! Not built yet: issue 6 ("Payment method linking") fills this module.
