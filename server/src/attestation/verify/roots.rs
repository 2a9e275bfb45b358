//! The trust anchors of attestation: the platforms' published roots, built in, and any
//! extra root the operator configures.
//!
//! - Apple: the App Attestation Root CA (P-384), the certificate itself (its key verifies
//!   the intermediate "Apple App Attestation CA 1"), published by Apple at
//!   <https://www.apple.com/certificateauthority/private/>.
//! - Google: trusted **by public key**, as Google's own verifier does: a device may end its
//!   chain with any certificate of the root key (four certificates of the RSA-4096 key
//!   circulate, 2016-2022), and that certificate's own dates do not matter. Built in are the
//!   SHA-256 fingerprints of the SubjectPublicKeyInfo of the RSA root and of the EC root
//!   "Key Attestation CA1" that signs remotely provisioned chains from February 2026 (both
//!   in Google's `roots.json`, <https://android.googleapis.com/attestation/root>).
//! - The two AOSP *software* attestation roots are never trusted, wherever they appear
//!   (their private keys are in the AOSP sources): a chain ending at one is named
//!   `software_root`, including when an operator's root directory holds them.

use sha2::{Digest as _, Sha256};

use super::certs;
use super::verdict::{Reason, Refusal};

/// Apple App Attestation Root CA (PEM).
const APPLE_ROOT_PEM: &[u8] = include_bytes!("roots/apple-app-attestation-root-ca.pem");

/// SPKI SHA-256 of Google's hardware attestation root keys, with a name for reports.
const GOOGLE_ROOT_KEYS: &[(&str, &str)] = &[
    (
        "google-hardware-attestation-rsa",
        "feb2ea7551ee316ed4bb443c8293b884dbfdea40b603ee3e4f4a897e4580fbae",
    ),
    (
        "google-key-attestation-ca1-ec",
        "3ee44512a1af2beb39c889490c60ea3f82e43f5d5a5532f5ab9419f676cd07ec",
    ),
];

/// SPKI SHA-256 of the AOSP software attestation roots (EC, RSA): never trusted.
const AOSP_SOFTWARE_ROOT_KEYS: &[&str] = &[
    "d5100c7942ef2e8310dc30ef82729680cf48d690735c3f68179a33c7c370f286",
    "f2c4746f545946c100e72297f8f946344d7052f03a2f694221f9c893b0e6f711",
];

/// A root trusted by its key.
#[derive(Clone, Debug)]
struct KeyAnchor {
    name: String,
    spki_sha256: [u8; 32],
}

/// A root trusted as a certificate (its subject names the issuer it stands for).
#[derive(Clone, Debug)]
pub struct CertAnchor {
    /// For reports.
    pub name: String,
    /// The certificate (DER).
    pub der: Vec<u8>,
}

/// The roots a verifier trusts.
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    apple: Vec<CertAnchor>,
    google: Vec<KeyAnchor>,
}

/// What the last certificate of an Android chain is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKey {
    /// A trusted root key, by name.
    Trusted(String),
    /// An AOSP software attestation root.
    Software,
    /// Any other key.
    Unknown,
}

fn spki_sha256(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

fn from_hex32(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // The constants above are 64 hex digits; a test checks each against the roots.
    if hex::decode_to_slice(hex, &mut out).is_err() {
        out = [0; 32];
    }
    out
}

fn common_name(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| cert.subject().to_string())
}

impl TrustAnchors {
    /// The platforms' roots, built in.
    pub fn builtin() -> Self {
        let apple = certs::from_pem(APPLE_ROOT_PEM)
            .unwrap_or_default()
            .into_iter()
            .map(|der| CertAnchor {
                name: "apple-app-attestation-root-ca".into(),
                der,
            })
            .collect();
        let google = GOOGLE_ROOT_KEYS
            .iter()
            .map(|(name, hex)| KeyAnchor {
                name: (*name).into(),
                spki_sha256: from_hex32(hex),
            })
            .collect();
        Self { apple, google }
    }

    /// Only the roots in `pem` (certificates; any AOSP software root among them is
    /// skipped): the CLI's `--roots`, and tests under their own roots.
    pub fn only(pem_files: &[Vec<u8>]) -> Result<Self, Refusal> {
        let mut anchors = Self {
            apple: Vec::new(),
            google: Vec::new(),
        };
        for pem in pem_files {
            anchors.add_pem(pem)?;
        }
        Ok(anchors)
    }

    /// Adds every certificate in `pem` as a root of both platforms (a config's extra
    /// root); returns the names added. AOSP software roots are never added.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<Vec<String>, Refusal> {
        let mut added = Vec::new();
        for der in certs::from_pem(pem)? {
            let cert = certs::parse(&der)?;
            let fingerprint = spki_sha256(cert.public_key().raw);
            if is_software_root(&fingerprint) {
                continue;
            }
            let name = common_name(&cert);
            self.google.push(KeyAnchor {
                name: name.clone(),
                spki_sha256: fingerprint,
            });
            self.apple.push(CertAnchor {
                name: name.clone(),
                der: der.clone(),
            });
            added.push(name);
        }
        Ok(added)
    }

    /// Apple's roots.
    pub fn apple(&self) -> &[CertAnchor] {
        &self.apple
    }

    /// What key the last certificate of an Android chain has (`spki_der`: its SPKI).
    pub fn android_root(&self, spki_der: &[u8]) -> RootKey {
        let fingerprint = spki_sha256(spki_der);
        if is_software_root(&fingerprint) {
            return RootKey::Software;
        }
        match self.google.iter().find(|a| a.spki_sha256 == fingerprint) {
            Some(a) => RootKey::Trusted(a.name.clone()),
            None => RootKey::Unknown,
        }
    }
}

fn is_software_root(fingerprint: &[u8; 32]) -> bool {
    AOSP_SOFTWARE_ROOT_KEYS
        .iter()
        .any(|hex| from_hex32(hex) == *fingerprint)
}

/// `unknown_root` with what the chain ended at.
pub fn unknown_root(detail: impl Into<String>) -> Refusal {
    Refusal::new(Reason::UnknownRoot, detail)
}
