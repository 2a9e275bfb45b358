//! The spoof verdict sealed for the service: the layers' decision and reasons travel with
//! the capture encrypted, not in the envelope's clear metadata, so only the palm service
//! learns which layer was unsure and why — not a TLS-terminating proxy, a request log, or
//! anyone holding stored envelopes without the key. (The shopper's own app sees the
//! verdict on the phone anyway: it drives the guidance.)
//!
//! A second single-shot HPKE message to the same service key, with its own `info`
//! ([`INFO`]) and an AAD of the same context as the image's (account, enrollment, hand, key
//! id) under its own label ([`AAD_LABEL`]). Its bytes, base64, are the metadata field
//! `sealed_spoof`, so the envelope's AAD (which hashes the metadata) binds it to the image:
//! neither can be swapped without the other failing to open. Wire format in
//! docs/capture-envelope.md, "Sealed spoof verdict".

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::protocol::SpoofMetadata;

use super::envelope::{self, AeadSuite, EnvelopeError, SealContext};

/// HPKE `info` of a sealed verdict.
pub const INFO: &[u8] = b"palmkit/spoof-verdict/v1";
/// First field of a sealed verdict's AAD.
pub const AAD_LABEL: &[u8] = b"palmkit/spoof-aad/v1";
/// Longest verdict JSON sealed (the metadata it travels in is at most 16 KiB).
const MAX_VERDICT_BYTES: usize = 8 * 1024;
/// `enc` and tag lengths (X25519, both AEADs).
const ENC_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The AAD: [`AAD_LABEL`], then account id, enrollment id, hand and key id, each with a
/// 2-byte big-endian length.
pub fn aad(context: &SealContext<'_>) -> Result<Vec<u8>, EnvelopeError> {
    envelope::context_aad(AAD_LABEL, context, None)
}

/// Seals `verdict` for `context` to the service key: base64 of `enc || ciphertext || tag`.
pub fn seal(
    verdict: &SpoofMetadata,
    context: &SealContext<'_>,
    service_public_key: &[u8; 32],
    aead: AeadSuite,
) -> Result<String, EnvelopeError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    getrandom::fill(ikm.as_mut()).map_err(|e| EnvelopeError::NoRandomness(e.to_string()))?;
    seal_with_ikm(verdict, context, service_public_key, aead, &ikm)
}

/// [`seal`] with the ephemeral key from `ikm_e` (tests only pass anything but randomness).
pub fn seal_with_ikm(
    verdict: &SpoofMetadata,
    context: &SealContext<'_>,
    service_public_key: &[u8; 32],
    aead: AeadSuite,
    ikm_e: &[u8; 32],
) -> Result<String, EnvelopeError> {
    // Serialising strings and numbers cannot fail.
    let mut buffer = serde_json::to_vec(verdict).unwrap_or_default();
    if buffer.len() > MAX_VERDICT_BYTES {
        return Err(EnvelopeError::TooLong("spoof verdict"));
    }
    let (enc, tag) = envelope::seal_raw(
        aead,
        service_public_key,
        INFO,
        &aad(context)?,
        &mut buffer,
        ikm_e,
    )?;
    let mut out = Vec::with_capacity(ENC_LEN + buffer.len() + TAG_LEN);
    out.extend_from_slice(&enc);
    out.extend_from_slice(&buffer);
    out.extend_from_slice(&tag);
    Ok(STANDARD.encode(out))
}

/// Opens a sealed verdict (the service side): `aead` is the envelope's.
pub fn open(
    sealed: &str,
    context: &SealContext<'_>,
    service_private_key: &[u8; 32],
    aead: AeadSuite,
) -> Result<SpoofMetadata, EnvelopeError> {
    let bytes = STANDARD
        .decode(sealed)
        .map_err(|_| EnvelopeError::Malformed("the sealed spoof verdict is not base64".into()))?;
    if bytes.len() < ENC_LEN + TAG_LEN || bytes.len() > ENC_LEN + MAX_VERDICT_BYTES + TAG_LEN {
        return Err(EnvelopeError::Malformed(
            "the sealed spoof verdict has an impossible length".into(),
        ));
    }
    let (enc, rest) = bytes.split_at(ENC_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut plaintext = ciphertext.to_vec();
    envelope::open_raw(
        aead,
        service_private_key,
        enc,
        INFO,
        &aad(context)?,
        &mut plaintext,
        tag,
    )?;
    serde_json::from_slice(&plaintext).map_err(|e| {
        EnvelopeError::Malformed(format!("the sealed spoof verdict is not a verdict: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Hand, SpoofLayerMetadata};

    fn verdict() -> SpoofMetadata {
        SpoofMetadata {
            verdict: "challenge".into(),
            layers: vec![SpoofLayerMetadata {
                layer: "motion_3d".into(),
                outcome: "unsure".into(),
                score: 0.01,
                threshold: 0.05,
                reason: "the hand moved too little".into(),
            }],
        }
    }

    fn context(hand: Hand) -> SealContext<'static> {
        SealContext {
            account_id: "acct-1",
            enrollment_id: "enr-1",
            hand,
            key_id: "k1",
        }
    }

    #[test]
    fn opens_in_its_context_and_hides_the_reasons() {
        let (sk, pk) = envelope::derive_key_pair(b"sealed verdict test key material!");
        for aead in [AeadSuite::ChaCha20Poly1305, AeadSuite::Aes256Gcm] {
            let sealed = seal(&verdict(), &context(Hand::Left), &pk, aead).unwrap();
            let raw = STANDARD.decode(&sealed).unwrap();
            assert!(!raw.windows(9).any(|w| w == b"motion_3d"), "clear text");
            assert_eq!(
                open(&sealed, &context(Hand::Left), &sk, aead).unwrap(),
                verdict()
            );
            // Another hand (or account, enrollment, key): does not open.
            assert_eq!(
                open(&sealed, &context(Hand::Right), &sk, aead),
                Err(EnvelopeError::OpenFailed)
            );
        }
    }

    #[test]
    fn the_image_envelope_cannot_stand_in_for_a_verdict_nor_garbage() {
        let (sk, pk) = envelope::derive_key_pair(b"sealed verdict test key material!");
        let ctx = context(Hand::Left);
        // Same key, same context, but the image's info and AAD: refused.
        let mut buffer = serde_json::to_vec(&verdict()).unwrap();
        let aad = envelope::aad(&ctx, b"{}").unwrap();
        let (enc, tag) = envelope::seal_raw(
            AeadSuite::default(),
            &pk,
            envelope::INFO,
            &aad,
            &mut buffer,
            &[7; 32],
        )
        .unwrap();
        let forged = STANDARD.encode([&enc[..], &buffer, &tag].concat());
        assert_eq!(
            open(&forged, &ctx, &sk, AeadSuite::default()),
            Err(EnvelopeError::OpenFailed)
        );
        for junk in ["", "not base64!", &STANDARD.encode([0u8; 40])] {
            assert!(
                matches!(
                    open(junk, &ctx, &sk, AeadSuite::default()),
                    Err(EnvelopeError::Malformed(_))
                ),
                "{junk:?}"
            );
        }
    }
}
