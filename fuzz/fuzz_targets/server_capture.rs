//! What the server does with a completed upload: fuzzed image bytes, with metadata from the
//! first bytes, sealed properly to the service key, then opened, parsed and fully decoded
//! by `palmkit_server::uploads::verify` (JPEG and PNG decoders under their limits).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use palmkit_core::protocol::{CaptureMetadata, CaptureSource};
use palmkit_core::upload::envelope::{self, AeadSuite};
use palmkit_server::uploads::verify;

fuzz_target!(|data: &[u8]| {
    let Some((&[kind, w0, w1, h0, h1], image)) = data.split_first_chunk::<5>().map(|(h, r)| (h, r))
    else {
        return;
    };
    let metadata = CaptureMetadata {
        media_type: if kind & 1 == 0 { "image/jpeg" } else { "image/png" }.into(),
        width: u32::from(u16::from_be_bytes([w0, w1])),
        height: u32::from(u16::from_be_bytes([h0, h1])),
        captured_at_ms: 0,
        source: CaptureSource::Camera,
        sealed_spoof: None,
    };
    let metadata = serde_json::to_vec(&metadata).expect("plain fields");
    let context = common::context();
    let Ok(sealed) = envelope::seal(
        image,
        &metadata,
        &context,
        &common::public_key(),
        AeadSuite::ChaCha20Poly1305,
    ) else {
        return;
    };
    let outcome = verify::verify(
        &sealed,
        context.account_id,
        context.enrollment_id,
        context.hand,
        |_| Ok(Some(common::PRIVATE_KEY)),
        None,
    );
    assert!(outcome.is_ok(), "no database error can come from a fixed key");
});
