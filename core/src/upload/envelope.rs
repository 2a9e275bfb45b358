//! The sealed capture envelope, format version 1 (documented for the service side in
//! `docs/capture-envelope.md`).
//!
//! One palm image is sealed with HPKE base mode (RFC 9180): DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, and ChaCha20-Poly1305 (default) or AES-256-GCM. `info` names the protocol and
//! its version; the AAD binds the account, the enrollment, the hand, the hash of the capture
//! metadata and the key id, so an envelope opens only in the context it was sealed for.
//!
//! Sealing happens in place: the plaintext is copied once into the output buffer and
//! encrypted there, so no second plaintext copy exists; the caller's buffer is a
//! [`Zeroizing`] one, wiped when dropped.

use hpke::aead::{AeadTag, AesGcm256, ChaCha20Poly1305};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::protocol::Hand;

/// First bytes of every envelope: "PalmKit Sealed Envelope".
pub const MAGIC: &[u8; 4] = b"PKSE";
/// The envelope format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// HPKE `info`: names the protocol and version, so a key schedule of another protocol (or
/// version) can never open a capture.
pub const INFO: &[u8] = b"palmkit/capture-envelope/v1";
/// First field of the AAD.
pub const AAD_LABEL: &[u8] = b"palmkit/capture-aad/v1";
/// RFC 9180 KEM id of DHKEM(X25519, HKDF-SHA256).
pub const KEM_X25519_HKDF_SHA256: u16 = 0x0020;
/// RFC 9180 KDF id of HKDF-SHA256.
pub const KDF_HKDF_SHA256: u16 = 0x0001;
/// Longest capture metadata (JSON) an envelope may carry.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Length of an X25519 encapsulated key.
const ENC_LEN: usize = 32;
/// Length of the AEAD tag (both suites).
const TAG_LEN: usize = 16;

/// The AEAD that encrypts the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AeadSuite {
    /// ChaCha20-Poly1305 (RFC 9180 id 0x0003): fast on phones without AES instructions.
    #[default]
    ChaCha20Poly1305,
    /// AES-256-GCM (RFC 9180 id 0x0002).
    Aes256Gcm,
}

impl AeadSuite {
    /// The RFC 9180 AEAD id.
    pub fn id(self) -> u16 {
        match self {
            Self::ChaCha20Poly1305 => 0x0003,
            Self::Aes256Gcm => 0x0002,
        }
    }

    fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0003 => Some(Self::ChaCha20Poly1305),
            0x0002 => Some(Self::Aes256Gcm),
            _ => None,
        }
    }
}

/// The context a capture is sealed for; every field goes into the AAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The signed-in shopper's account id.
    pub account_id: &'a str,
    /// The enrollment the capture belongs to.
    pub enrollment_id: &'a str,
    /// Which hand it shows.
    pub hand: Hand,
    /// The service key id the envelope is sealed to.
    pub key_id: &'a str,
}

/// Why an envelope could not be sealed or opened. Messages never carry image bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not a version-1 envelope, or its header is inconsistent.
    #[error("not a PalmKit capture envelope: {0}")]
    Malformed(String),
    /// The envelope names a suite this code does not speak.
    #[error("unsupported HPKE suite (kem {kem:#06x}, kdf {kdf:#06x}, aead {aead:#06x})")]
    UnsupportedSuite {
        /// KEM id.
        kem: u16,
        /// KDF id.
        kdf: u16,
        /// AEAD id.
        aead: u16,
    },
    /// A public or private key is not a valid X25519 key.
    #[error("invalid {0} key")]
    InvalidKey(&'static str),
    /// A field of the context or metadata is too long to encode.
    #[error("{0} is too long for the envelope")]
    TooLong(&'static str),
    /// No randomness for the ephemeral key.
    #[error("the system has no randomness: {0}")]
    NoRandomness(String),
    /// HPKE refused to seal.
    #[error("sealing failed")]
    SealFailed,
    /// The envelope does not open: tampered, or sealed for another account, enrollment,
    /// hand, metadata or key.
    #[error("the envelope does not open for this context (tampered, or sealed for another)")]
    OpenFailed,
}

/// The parts of a parsed envelope, borrowing its bytes.
#[derive(Debug)]
pub struct ParsedEnvelope<'a> {
    /// The AEAD used.
    pub aead: AeadSuite,
    /// The service key id it is sealed to.
    pub key_id: &'a str,
    /// The capture metadata (JSON), authenticated through its hash in the AAD.
    pub metadata: &'a [u8],
    enc: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

/// The canonical AAD: [`AAD_LABEL`], then account id, enrollment id, hand (`left` /
/// `right`) each as a 2-byte big-endian length and its bytes, the 32-byte SHA-256 of the
/// metadata, and the key id length-prefixed the same way.
pub fn aad(context: &SealContext<'_>, metadata: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    context_aad(AAD_LABEL, context, Some(metadata))
}

/// An AAD over `context` under `label` (no length): account id, enrollment id and hand,
/// each length-prefixed; the SHA-256 of `metadata` when given; the key id, length-prefixed.
/// The image's AAD is [`aad`]; the sealed spoof verdict's has no metadata hash.
pub fn context_aad(
    label: &[u8],
    context: &SealContext<'_>,
    metadata: Option<&[u8]>,
) -> Result<Vec<u8>, EnvelopeError> {
    let hand = context.hand.as_str();
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(label);
    for (name, field) in [
        ("account id", context.account_id),
        ("enrollment id", context.enrollment_id),
        ("hand", hand),
    ] {
        put_u16_prefixed(&mut out, name, field.as_bytes())?;
    }
    if let Some(metadata) = metadata {
        out.extend_from_slice(&Sha256::digest(metadata));
    }
    put_u16_prefixed(&mut out, "key id", context.key_id.as_bytes())?;
    Ok(out)
}

fn put_u16_prefixed(
    out: &mut Vec<u8>,
    name: &'static str,
    bytes: &[u8],
) -> Result<(), EnvelopeError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EnvelopeError::TooLong(name))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// A sealed envelope in three parts: the clear header (with `enc`), the ciphertext, and
/// the tag. The ciphertext is the image's own buffer, encrypted where it lay, so sealing
/// never makes a second copy of the plaintext (and never moves it: a reallocation would
/// leave plaintext in freed memory).
pub struct SealedEnvelope {
    head: Vec<u8>,
    body: Vec<u8>,
    tag: [u8; TAG_LEN],
    sealed_for: SealedFor,
}

/// The context an envelope was sealed for (bound in its AAD), kept beside it so the upload
/// takes the enrollment and hand from the envelope itself and cannot announce others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedFor {
    /// The shopper's account id.
    pub account_id: String,
    /// The enrollment.
    pub enrollment_id: String,
    /// The hand.
    pub hand: Hand,
    /// The service key id.
    pub key_id: String,
}

impl SealedEnvelope {
    /// What it was sealed for.
    pub fn sealed_for(&self) -> &SealedFor {
        &self.sealed_for
    }

    /// SHA-256 of the envelope's bytes as uploaded (what an attestation binds).
    pub fn sha256(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.head);
        h.update(&self.body);
        h.update(self.tag);
        h.finalize().into()
    }

    /// Total length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len() + TAG_LEN
    }

    /// Never empty (the header alone has bytes); here for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The bytes `start..end` of the envelope, copied (for an upload chunk).
    pub fn copy_range(&self, start: usize, end: usize) -> Vec<u8> {
        let end = end.min(self.len());
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        let mut at = 0;
        for part in [&self.head[..], &self.body[..], &self.tag[..]] {
            let (lo, hi) = (start.max(at), end.min(at + part.len()));
            if lo < hi {
                out.extend_from_slice(&part[lo - at..hi - at]);
            }
            at += part.len();
        }
        out
    }

    /// The whole envelope in one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        self.copy_range(0, self.len())
    }
}

/// Seals `image` for `context` to the service's X25519 public key, encrypting the image's
/// buffer in place; the buffer becomes the envelope's ciphertext.
pub fn seal_in_place(
    image: Zeroizing<Vec<u8>>,
    metadata: &[u8],
    context: &SealContext<'_>,
    service_public_key: &[u8; 32],
    aead: AeadSuite,
) -> Result<SealedEnvelope, EnvelopeError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    getrandom::fill(ikm.as_mut()).map_err(|e| EnvelopeError::NoRandomness(e.to_string()))?;
    seal_in_place_with_ikm(image, metadata, context, service_public_key, aead, &ikm)
}

/// [`seal_in_place`] with the ephemeral key derived from `ikm_e` (RFC 9180 DeriveKeyPair).
/// Only tests pass anything but fresh randomness.
pub fn seal_in_place_with_ikm(
    mut image: Zeroizing<Vec<u8>>,
    metadata: &[u8],
    context: &SealContext<'_>,
    service_public_key: &[u8; 32],
    aead: AeadSuite,
    ikm_e: &[u8; 32],
) -> Result<SealedEnvelope, EnvelopeError> {
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(EnvelopeError::TooLong("capture metadata"));
    }
    let key_id = context.key_id.as_bytes();
    let key_id_len = u8::try_from(key_id.len())
        .ok()
        .filter(|n| *n > 0)
        .ok_or(EnvelopeError::TooLong("key id"))?;
    let aad = aad(context, metadata)?;

    let mut head = Vec::with_capacity(4 + 1 + 6 + 1 + key_id.len() + 2 + metadata.len() + ENC_LEN);
    head.extend_from_slice(MAGIC);
    head.push(FORMAT_VERSION);
    head.extend_from_slice(&KEM_X25519_HKDF_SHA256.to_be_bytes());
    head.extend_from_slice(&KDF_HKDF_SHA256.to_be_bytes());
    head.extend_from_slice(&aead.id().to_be_bytes());
    head.push(key_id_len);
    head.extend_from_slice(key_id);
    // Fits: checked against MAX_METADATA_BYTES above.
    head.extend_from_slice(&(metadata.len() as u16).to_be_bytes());
    head.extend_from_slice(metadata);

    // On failure the buffer is dropped as it is, zeroized.
    let (enc, tag) = seal_raw(
        aead,
        service_public_key,
        INFO,
        &aad,
        image.as_mut_slice(),
        ikm_e,
    )?;
    head.extend_from_slice(&enc);
    // Ciphertext now: safe to move out of the zeroizing wrapper.
    let body = std::mem::take(&mut *image);
    let sealed_for = SealedFor {
        account_id: context.account_id.to_string(),
        enrollment_id: context.enrollment_id.to_string(),
        hand: context.hand,
        key_id: context.key_id.to_string(),
    };
    Ok(SealedEnvelope {
        head,
        body,
        tag,
        sealed_for,
    })
}

/// Seals a copy of `image` (for tools and tests; the app path is [`seal_in_place`]).
pub fn seal(
    image: &[u8],
    metadata: &[u8],
    context: &SealContext<'_>,
    service_public_key: &[u8; 32],
    aead: AeadSuite,
) -> Result<Vec<u8>, EnvelopeError> {
    let copy = Zeroizing::new(image.to_vec());
    Ok(seal_in_place(copy, metadata, context, service_public_key, aead)?.to_vec())
}

/// HPKE base-mode seal of `buffer` in place; returns `enc` and the tag.
pub fn seal_raw(
    aead: AeadSuite,
    recipient_public_key: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    ikm_e: &[u8; 32],
) -> Result<([u8; ENC_LEN], [u8; TAG_LEN]), EnvelopeError> {
    let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(recipient_public_key)
        .map_err(|_| EnvelopeError::InvalidKey("service public"))?;
    let mut rng = FixedIkm::new(ikm_e);
    macro_rules! seal_with {
        ($aead:ty) => {{
            let (enc, tag) = hpke::single_shot_seal_inout_detached_with_rng::<
                $aead,
                HkdfSha256,
                X25519HkdfSha256,
            >(
                &OpModeS::Base,
                &pk,
                info,
                InOutBuf::from(buffer),
                aad,
                &mut rng,
            )
            .map_err(|_| EnvelopeError::SealFailed)?;
            (enc.to_bytes(), tag.to_bytes())
        }};
    }
    let (enc, tag) = match aead {
        AeadSuite::ChaCha20Poly1305 => seal_with!(ChaCha20Poly1305),
        AeadSuite::Aes256Gcm => seal_with!(AesGcm256),
    };
    if rng.overdrawn {
        // The KEM asked for more than one key's worth of randomness: never expected, and the
        // output would not be random; refuse it rather than send it.
        return Err(EnvelopeError::SealFailed);
    }
    let mut enc_out = [0u8; ENC_LEN];
    enc_out.copy_from_slice(&enc);
    let mut tag_out = [0u8; TAG_LEN];
    tag_out.copy_from_slice(&tag);
    Ok((enc_out, tag_out))
}

/// Reads an envelope's header without opening it.
pub fn parse(envelope: &[u8]) -> Result<ParsedEnvelope<'_>, EnvelopeError> {
    let mut r = Reader(envelope);
    if r.take(4, "magic")? != MAGIC {
        return Err(EnvelopeError::Malformed("wrong magic bytes".into()));
    }
    let version = r.take(1, "version")?[0];
    if version != FORMAT_VERSION {
        return Err(EnvelopeError::Malformed(format!(
            "format version {version}, this code reads {FORMAT_VERSION}"
        )));
    }
    let kem = r.u16("kem id")?;
    let kdf = r.u16("kdf id")?;
    let aead_id = r.u16("aead id")?;
    let aead = AeadSuite::from_id(aead_id)
        .filter(|_| kem == KEM_X25519_HKDF_SHA256 && kdf == KDF_HKDF_SHA256)
        .ok_or(EnvelopeError::UnsupportedSuite {
            kem,
            kdf,
            aead: aead_id,
        })?;
    let key_id_len = r.take(1, "key id length")?[0] as usize;
    let key_id = std::str::from_utf8(r.take(key_id_len, "key id")?)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| EnvelopeError::Malformed("the key id is empty or not UTF-8".into()))?;
    let metadata_len = r.u16("metadata length")? as usize;
    if metadata_len > MAX_METADATA_BYTES {
        return Err(EnvelopeError::Malformed("metadata too long".into()));
    }
    let metadata = r.take(metadata_len, "metadata")?;
    let enc = r.take(ENC_LEN, "encapsulated key")?;
    let rest = r.0;
    if rest.len() < TAG_LEN {
        return Err(EnvelopeError::Malformed("truncated before the tag".into()));
    }
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    Ok(ParsedEnvelope {
        aead,
        key_id,
        metadata,
        enc,
        ciphertext,
        tag,
    })
}

/// Opens an envelope with the service's private key, in the context the service knows
/// (authenticated account, upload's enrollment and hand). The key id in the context must be
/// the one the envelope names (the caller looked the key up by it).
pub fn open(
    envelope: &[u8],
    context: &SealContext<'_>,
    service_private_key: &[u8; 32],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let parsed = parse(envelope)?;
    if parsed.key_id != context.key_id {
        return Err(EnvelopeError::OpenFailed);
    }
    let aad = aad(context, parsed.metadata)?;
    let mut plaintext = Zeroizing::new(parsed.ciphertext.to_vec());
    open_raw(
        parsed.aead,
        service_private_key,
        parsed.enc,
        INFO,
        &aad,
        &mut plaintext,
        parsed.tag,
    )?;
    Ok(plaintext)
}

/// HPKE base-mode open of `buffer` in place.
pub fn open_raw(
    aead: AeadSuite,
    recipient_private_key: &[u8; 32],
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<(), EnvelopeError> {
    type Kem = X25519HkdfSha256;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(recipient_private_key)
        .map_err(|_| EnvelopeError::InvalidKey("service private"))?;
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| EnvelopeError::OpenFailed)?;
    macro_rules! open_with {
        ($aead:ty) => {{
            let tag = AeadTag::<$aead>::from_bytes(tag).map_err(|_| EnvelopeError::OpenFailed)?;
            hpke::single_shot_open_inout_detached::<$aead, HkdfSha256, Kem>(
                &OpModeR::Base,
                &sk,
                &enc,
                info,
                InOutBuf::from(buffer),
                aad,
                &tag,
            )
            .map_err(|_| EnvelopeError::OpenFailed)
        }};
    }
    match aead {
        AeadSuite::ChaCha20Poly1305 => open_with!(ChaCha20Poly1305),
        AeadSuite::Aes256Gcm => open_with!(AesGcm256),
    }
}

/// The X25519 public key for a private key (for the service and tests).
pub fn public_key_for(private_key: &[u8; 32]) -> Result<[u8; 32], EnvelopeError> {
    let sk = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(private_key)
        .map_err(|_| EnvelopeError::InvalidKey("private"))?;
    let pk = X25519HkdfSha256::sk_to_pk(&sk).to_bytes();
    let mut out = [0u8; 32];
    out.copy_from_slice(&pk);
    Ok(out)
}

/// RFC 9180 DeriveKeyPair for DHKEM(X25519): `(private, public)`.
pub fn derive_key_pair(ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let (sk, pk) = X25519HkdfSha256::derive_keypair(ikm);
    let mut private = [0u8; 32];
    private.copy_from_slice(&sk.to_bytes());
    let mut public = [0u8; 32];
    public.copy_from_slice(&pk.to_bytes());
    (private, public)
}

/// Hands HPKE the 32 bytes drawn for the ephemeral key. HPKE's own random source panics if
/// the system has no randomness; drawing first lets that be a typed error instead.
struct FixedIkm<'a> {
    ikm: &'a [u8; 32],
    used: bool,
    overdrawn: bool,
}

impl<'a> FixedIkm<'a> {
    fn new(ikm: &'a [u8; 32]) -> Self {
        Self {
            ikm,
            used: false,
            overdrawn: false,
        }
    }
}

impl TryRng for FixedIkm<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        if !self.used && dst.len() == self.ikm.len() {
            dst.copy_from_slice(self.ikm);
            self.used = true;
        } else {
            dst.fill(0);
            self.overdrawn = true;
        }
        Ok(())
    }
}

impl TryCryptoRng for FixedIkm<'_> {}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EnvelopeError> {
        if self.0.len() < n {
            return Err(EnvelopeError::Malformed(format!("truncated in the {what}")));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self, what: &str) -> Result<u16, EnvelopeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests;
