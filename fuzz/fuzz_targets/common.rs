//! What the fuzz targets share: one fixed service key pair and sealing context, so that
//! fuzzed plaintexts can be sealed properly and reach the parsers behind the AEAD.

use palmkit_core::protocol::Hand;
use palmkit_core::upload::envelope::{self, SealContext};

/// The service's private key in every target.
pub const PRIVATE_KEY: [u8; 32] = [7u8; 32];

/// Its public key.
pub fn public_key() -> [u8; 32] {
    envelope::public_key_for(&PRIVATE_KEY).expect("a fixed valid X25519 key")
}

/// The context every target seals and opens in.
pub fn context() -> SealContext<'static> {
    SealContext {
        account_id: "acct-fuzz",
        enrollment_id: "enr-fuzz",
        hand: Hand::Right,
        key_id: "key-fuzz",
    }
}
