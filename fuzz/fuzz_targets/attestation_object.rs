//! App Attest attestation objects: arbitrary bytes as the CBOR object, and the fuzzed
//! bytes as the app's JSON token, through the service's verifier (never a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palmkit_server::attestation::verify::{TrustAnchors, apple, token};

fuzz_target!(|data: &[u8]| {
    let anchors = TrustAnchors::builtin();
    let verdict = apple::verify_attestation(data, "ABCDE12345.com.palmkit.app", &[0u8; 32], 1_700_000_000, &anchors);
    assert!(!verdict.is_valid() || verdict.facts.public_key.is_some());
    let _ = apple::attested_key(data);
    let _ = token::decode_apple(data);
});
