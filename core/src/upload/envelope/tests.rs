//! Known-answer tests from RFC 9180 Appendix A and the envelope's own contract.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}

/// RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode.
mod rfc9180_a_2_1 {
    pub const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    pub const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
    pub const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
    pub const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    pub const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
    pub const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    /// "Beauty is truth, truth beauty"
    pub const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    /// "Count-0", sequence number 0.
    pub const AAD: &str = "436f756e742d30";
    pub const CT: &str = "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db\
                          21993c62ce81883d2dd1b51a28";
}

#[test]
fn rfc9180_a_2_1_key_derivation() {
    use rfc9180_a_2_1::*;
    let (sk, pk) = derive_key_pair(&hex(IKM_R));
    // The RFC prints the derived scalar before X25519 clamping; the key type stores it
    // clamped (RFC 7748 §5), which is the same private key.
    let mut clamped = hex(SK_RM);
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    assert_eq!(sk.to_vec(), clamped);
    assert_eq!(pk.to_vec(), hex(PK_RM));
    assert_eq!(public_key_for(&sk).unwrap().to_vec(), hex(PK_RM));
}

#[test]
fn rfc9180_a_2_1_seal_matches_the_vector() {
    use rfc9180_a_2_1::*;
    let mut buffer = hex(PT);
    let (enc, tag) = seal_raw(
        AeadSuite::ChaCha20Poly1305,
        &arr32(&hex(PK_RM)),
        &hex(INFO),
        &hex(AAD),
        &mut buffer,
        &arr32(&hex(IKM_E)),
    )
    .unwrap();
    assert_eq!(enc.to_vec(), hex(ENC));
    buffer.extend_from_slice(&tag);
    assert_eq!(buffer, hex(CT));
}

#[test]
fn rfc9180_a_2_1_open_matches_the_vector() {
    use rfc9180_a_2_1::*;
    let ct = hex(CT);
    let (body, tag) = ct.split_at(ct.len() - 16);
    let mut buffer = body.to_vec();
    open_raw(
        AeadSuite::ChaCha20Poly1305,
        &arr32(&hex(SK_RM)),
        &hex(ENC),
        &hex(INFO),
        &hex(AAD),
        &mut buffer,
        tag,
    )
    .unwrap();
    assert_eq!(buffer, hex(PT));

    // The same ciphertext under sequence 1's AAD must not open.
    let mut buffer = body.to_vec();
    let err = open_raw(
        AeadSuite::ChaCha20Poly1305,
        &arr32(&hex(SK_RM)),
        &hex(ENC),
        &hex(INFO),
        b"Count-1",
        &mut buffer,
        tag,
    );
    assert_eq!(err, Err(EnvelopeError::OpenFailed));
}

const METADATA: &[u8] = br#"{"media_type":"image/jpeg","width":4,"height":3}"#;

fn context() -> SealContext<'static> {
    SealContext {
        account_id: "acct-1",
        enrollment_id: "enr-1",
        hand: Hand::Right,
        key_id: "k-1",
    }
}

fn keys() -> ([u8; 32], [u8; 32]) {
    derive_key_pair(b"palmkit envelope unit test key material")
}

#[test]
fn round_trip_in_both_suites() {
    let (sk, pk) = keys();
    let image: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    for suite in [AeadSuite::ChaCha20Poly1305, AeadSuite::Aes256Gcm] {
        let sealed = seal(&image, METADATA, &context(), &pk, suite).unwrap();
        let parsed = parse(&sealed).unwrap();
        assert_eq!(parsed.aead, suite);
        assert_eq!(parsed.key_id, "k-1");
        assert_eq!(parsed.metadata, METADATA);
        assert_eq!(
            sealed.len(),
            4 + 1 + 6 + 1 + 3 + 2 + METADATA.len() + 32 + image.len() + 16
        );
        // The image is not visible in the envelope.
        assert!(!sealed.windows(64).any(|w| w == &image[..64]));
        let opened = open(&sealed, &context(), &sk).unwrap();
        assert_eq!(&opened[..], &image[..]);
    }
}

#[test]
fn two_seals_of_the_same_image_differ() {
    let (_, pk) = keys();
    let a = seal(b"same", METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    let b = seal(b"same", METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    assert_ne!(a, b, "a fresh ephemeral key per envelope");
}

#[test]
fn another_context_does_not_open() {
    let (sk, pk) = keys();
    let sealed = seal(b"palm", METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    let others = [
        SealContext {
            account_id: "acct-2",
            ..context()
        },
        SealContext {
            enrollment_id: "enr-2",
            ..context()
        },
        SealContext {
            hand: Hand::Left,
            ..context()
        },
        SealContext {
            key_id: "k-2",
            ..context()
        },
    ];
    for other in others {
        assert_eq!(
            open(&sealed, &other, &sk).unwrap_err(),
            EnvelopeError::OpenFailed,
            "{other:?}"
        );
    }
    let (other_sk, _) = derive_key_pair(b"another service key, same id");
    assert_eq!(
        open(&sealed, &context(), &other_sk).unwrap_err(),
        EnvelopeError::OpenFailed
    );
}

#[test]
fn aad_fields_cannot_be_shifted_into_each_other() {
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    let a = aad(
        &SealContext {
            account_id: "ab",
            enrollment_id: "c",
            ..context()
        },
        METADATA,
    )
    .unwrap();
    let b = aad(
        &SealContext {
            account_id: "a",
            enrollment_id: "bc",
            ..context()
        },
        METADATA,
    )
    .unwrap();
    assert_ne!(a, b);
}

#[test]
fn every_flipped_byte_is_refused() {
    let (sk, pk) = keys();
    let sealed = seal(
        &[42u8; 300],
        METADATA,
        &context(),
        &pk,
        AeadSuite::default(),
    )
    .unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert!(
            open(&bad, &context(), &sk).is_err(),
            "byte {i} flipped still opens"
        );
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let (sk, pk) = keys();
    let sealed = seal(&[1u8; 64], METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    for n in 0..sealed.len() {
        assert!(
            open(&sealed[..n], &context(), &sk).is_err(),
            "{n} bytes opened"
        );
    }
}

#[test]
fn header_problems_are_named() {
    let (_, pk) = keys();
    let sealed = seal(b"x", METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    let mut v2 = sealed.clone();
    v2[4] = 2;
    assert!(matches!(parse(&v2), Err(EnvelopeError::Malformed(m)) if m.contains("version 2")));
    let mut p256 = sealed.clone();
    p256[5..7].copy_from_slice(&0x0010u16.to_be_bytes());
    assert!(matches!(
        parse(&p256),
        Err(EnvelopeError::UnsupportedSuite { kem: 0x0010, .. })
    ));
    assert!(matches!(parse(b"GIF89a"), Err(EnvelopeError::Malformed(_))));
}

#[test]
fn oversized_inputs_are_refused_before_sealing() {
    let (_, pk) = keys();
    let big = vec![b' '; MAX_METADATA_BYTES + 1];
    assert_eq!(
        seal(b"x", &big, &context(), &pk, AeadSuite::default()).unwrap_err(),
        EnvelopeError::TooLong("capture metadata")
    );
    let long_id = "k".repeat(300);
    let ctx = SealContext {
        key_id: &long_id,
        ..context()
    };
    assert_eq!(
        seal(b"x", METADATA, &ctx, &pk, AeadSuite::default()).unwrap_err(),
        EnvelopeError::TooLong("key id")
    );
}

#[test]
fn in_place_parts_read_back_as_one_envelope() {
    let (sk, pk) = keys();
    let image: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
    let sealed = seal_in_place(
        Zeroizing::new(image.clone()),
        METADATA,
        &context(),
        &pk,
        AeadSuite::default(),
    )
    .unwrap();
    let whole = sealed.to_vec();
    assert_eq!(whole.len(), sealed.len());
    for start in (0..whole.len()).step_by(37) {
        for end in (start..=whole.len() + 5).step_by(53) {
            assert_eq!(
                sealed.copy_range(start, end),
                whole[start..end.min(whole.len())],
                "{start}..{end}"
            );
        }
    }
    assert_eq!(&open(&whole, &context(), &sk).unwrap()[..], &image[..]);
}

#[test]
fn a_sealed_envelope_keeps_the_context_it_was_sealed_for() {
    let (_, pk) = keys();
    let image = Zeroizing::new(b"not really a jpeg".to_vec());
    let sealed = seal_in_place(image, METADATA, &context(), &pk, AeadSuite::default()).unwrap();
    assert_eq!(
        sealed.sealed_for(),
        &SealedFor {
            account_id: "acct-1".into(),
            enrollment_id: "enr-1".into(),
            hand: Hand::Right,
            key_id: "k-1".into(),
        }
    );
}
