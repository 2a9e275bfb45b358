//! Sealed spoof verdicts: the text as received (base64, lengths), and fuzzed plaintexts
//! sealed properly, so the JSON reader behind the AEAD sees them too.
#![no_main]

mod common;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use palmkit_core::upload::envelope::{self, AeadSuite};
use palmkit_core::upload::sealed_verdict;

fuzz_target!(|data: &[u8]| {
    let context = common::context();
    let aead = if data.first().is_some_and(|b| b & 1 == 1) {
        AeadSuite::Aes256Gcm
    } else {
        AeadSuite::ChaCha20Poly1305
    };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sealed_verdict::open(text, &context, &common::PRIVATE_KEY, aead);
    }
    let mut plaintext = data.to_vec();
    let aad = sealed_verdict::aad(&context).expect("a fixed context");
    let Ok((enc, tag)) = envelope::seal_raw(
        aead,
        &common::public_key(),
        sealed_verdict::INFO,
        &aad,
        &mut plaintext,
        &[1u8; 32],
    ) else {
        return;
    };
    let mut sealed = enc.to_vec();
    sealed.extend_from_slice(&plaintext);
    sealed.extend_from_slice(&tag);
    let text = base64::engine::general_purpose::STANDARD.encode(sealed);
    let _ = sealed_verdict::open(&text, &context, &common::PRIVATE_KEY, aead);
});
