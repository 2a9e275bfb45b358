//! Capture envelopes from the network: parsing any bytes, and opening them with the
//! service key, must fail with a typed error or succeed, never panic or read out of bounds.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use palmkit_core::upload::envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = envelope::parse(data) {
        assert!(!parsed.key_id.is_empty());
    }
    let _ = envelope::open(data, &common::context(), &common::PRIVATE_KEY);
});
