//! Capture envelopes from the network: parsing any bytes, and opening them with the
//! service key, must fail with a typed error or succeed, never panic or read out of bounds.
//! The input is also sealed properly as an envelope's metadata (first half) and image
//! (second half), so opening reaches its success path with fuzzed lengths and contents.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use palmkit_core::upload::envelope::{self, AeadSuite};

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = envelope::parse(data) {
        assert!(!parsed.key_id.is_empty());
    }
    let context = common::context();
    let _ = envelope::open(data, &context, &common::PRIVATE_KEY);

    let (metadata, image) = data.split_at(data.len() / 2);
    let Ok(sealed) = envelope::seal(
        image,
        metadata,
        &context,
        &common::public_key(),
        AeadSuite::Aes256Gcm,
    ) else {
        return;
    };
    let opened = envelope::open(&sealed, &context, &common::PRIVATE_KEY)
        .expect("an envelope sealed in this context opens");
    assert_eq!(&opened[..], image);
    let parsed = envelope::parse(&sealed).expect("a sealed envelope parses");
    assert_eq!(parsed.metadata, metadata);
});
