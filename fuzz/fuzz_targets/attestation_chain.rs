//! Android Key Attestation: arbitrary bytes as one certificate, as a KeyDescription, as
//! the app's JSON token and as a PEM chain, through the parsers and the chain verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palmkit_server::attestation::verify::{TrustAnchors, android, certs, key_description, token};

fuzz_target!(|data: &[u8]| {
    let _ = key_description::parse(data);
    let _ = certs::parse(data);
    let anchors = TrustAnchors::builtin();
    let packages = vec!["com.palmkit.app".to_string()];
    let expected = android::Expected {
        packages: &packages,
        challenge: &[0u8; 32],
        at: 1_700_000_000,
    };
    // The fuzzed bytes as a leaf above a split of themselves: two "certificates".
    let mid = data.len() / 2;
    let chain = vec![data[..mid].to_vec(), data[mid..].to_vec()];
    assert!(!android::verify_chain(&chain, &expected, &anchors, None).is_valid());
    if let Ok(chain) = token::decode_android(data) {
        let _ = android::verify_chain(&chain, &expected, &anchors, None);
    }
    if let Ok(chain) = certs::from_pem(data) {
        let _ = android::verify_chain(&chain, &expected, &anchors, None);
    }
});
