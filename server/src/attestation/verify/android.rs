//! Android Key Attestation chains, verified offline by the rules of Google's reference
//! verifier (android/keyattestation `KeyAttestationCertPathValidator`):
//!
//! 1. The last certificate is the device's root: its **public key** must be a Google
//!    hardware attestation root key (`software_root` for the AOSP software roots,
//!    `unknown_root` for any other key); that certificate's own dates do not matter.
//! 2. Each certificate's issuer is the next one's subject and its signature verifies with
//!    the next one's key (`bad_signature`).
//! 3. Every certificate between leaf and root must be inside its validity, except that
//!    expiry is ignored on factory-provisioned chains (the certificate below the root has
//!    a serialNumber in its subject: keys burnt in at the factory cannot be rotated).
//!    The leaf's dates are the device's and are never checked.
//! 4. No certificate of the chain is on the operator's status list (`revoked`).
//! 5. The KeyDescription is in the leaf only; its challenge is ours (`wrong_challenge`);
//!    every expected package is in attestationApplicationId (`wrong_app_id`).
//!
//! No other RFC 5280 path processing: intermediates marked CA:FALSE, unknown critical
//! extensions and leaf key algorithms this code cannot use (ML-DSA) do not refuse a chain.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use super::certs;
use super::key_description::{self, BootState, KeyDescription};
use super::revocation::StatusList;
use super::roots::{RootKey, TrustAnchors};
use super::verdict::{Facts, Kind, Reason, Refusal, Verdict};

/// The KeyDescription extension.
pub const OID_KEY_DESCRIPTION: &str = "1.3.6.1.4.1.11129.2.1.17";

/// What the chain is checked against.
pub struct Expected<'a> {
    /// Every one of these must be in attestationApplicationId.
    pub packages: &'a [String],
    /// The attestationChallenge.
    pub challenge: &'a [u8],
    /// Unix time to verify at.
    pub at: i64,
}

/// Verifies `chain` (DER, leaf first, root last).
pub fn verify_chain(
    chain: &[Vec<u8>],
    expected: &Expected<'_>,
    anchors: &TrustAnchors,
    status: Option<&StatusList>,
) -> Verdict {
    let mut description = None;
    let mut verdict = Verdict::run(Kind::AndroidChain, |facts| {
        description = Some(check(facts, chain, expected, anchors, status)?);
        Ok(())
    });
    if verdict.is_valid() && description.is_none() {
        verdict.refusal = Some(Refusal::new(Reason::Malformed, "no KeyDescription"));
    }
    verdict
}

fn check(
    facts: &mut Facts,
    chain: &[Vec<u8>],
    expected: &Expected<'_>,
    anchors: &TrustAnchors,
    status: Option<&StatusList>,
) -> Result<KeyDescription, Refusal> {
    if chain.len() < 2 || chain.len() > certs::MAX_CHAIN {
        return Err(Refusal::new(
            Reason::Malformed,
            format!(
                "a chain of {} certificates (2 to {})",
                chain.len(),
                certs::MAX_CHAIN
            ),
        ));
    }
    let certs = chain
        .iter()
        .map(|d| certs::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &certs[0];
    facts.key_id = Some(STANDARD.encode(Sha256::digest(certs::key_bits(leaf))));

    let root = &certs[certs.len() - 1];
    match anchors.android_root(root.public_key().raw) {
        RootKey::Trusted(name) => facts.root = Some(name),
        RootKey::Software => {
            return Err(Refusal::new(
                Reason::SoftwareRoot,
                "the chain ends at an AOSP software attestation root",
            ));
        }
        RootKey::Unknown => {
            return Err(Refusal::new(
                Reason::UnknownRoot,
                format!(
                    "the chain ends at {}, not a Google attestation root key",
                    root.subject()
                ),
            ));
        }
    }
    for (i, pair) in certs.windows(2).enumerate() {
        certs::check_link(&pair[0], &pair[1], i)?;
    }
    let below_root = &certs[certs.len() - 2];
    let factory = certs.len() > 2 && certs::subject_has_serial_number(below_root);
    for (i, cert) in certs.iter().enumerate().take(certs.len() - 1).skip(1) {
        certs::check_validity(cert, expected.at, i, !factory)?;
    }
    if let Some(list) = status {
        for (i, cert) in certs.iter().enumerate() {
            let serial = certs::serial_hex(cert);
            if let Some(entry) = list.entry(&serial) {
                return Err(Refusal::new(
                    Reason::Revoked,
                    format!(
                        "certificate {i} (serial {serial}) is {} ({})",
                        entry.status,
                        entry.reason.as_deref().unwrap_or("no reason given")
                    ),
                ));
            }
        }
    }

    if certs[1..]
        .iter()
        .any(|c| certs::extension(c, OID_KEY_DESCRIPTION).is_some())
    {
        return Err(Refusal::new(
            Reason::Malformed,
            "a KeyDescription outside the leaf",
        ));
    }
    let value = certs::extension(leaf, OID_KEY_DESCRIPTION)
        .ok_or_else(|| Refusal::new(Reason::Malformed, "the leaf has no KeyDescription"))?;
    let description = key_description::parse(value)
        .map_err(|e| Refusal::new(Reason::Malformed, e.to_string()))?;
    facts.environment = Some(description.attestation_security_level.as_str().into());
    facts.key_security_level = Some(description.key_mint_security_level.as_str().into());
    if let Some(rot) = &description.root_of_trust {
        facts.verified_boot = Some(rot.boot_state == BootState::Verified);
        facts.device_locked = Some(rot.device_locked);
        facts.boot_state = Some(rot.boot_state.as_str().into());
    }
    facts.packages = Some(description.packages.clone());
    facts.signing_digests = Some(
        description
            .signing_digests
            .iter()
            .map(hex::encode)
            .collect(),
    );
    if description.challenge != expected.challenge {
        return Err(Refusal::new(
            Reason::WrongChallenge,
            "attestationChallenge is not this upload's challenge",
        ));
    }
    if let Some(missing) = expected
        .packages
        .iter()
        .find(|p| !description.packages.contains(p))
    {
        return Err(Refusal::new(
            Reason::WrongAppId,
            format!("package {missing:?} is not in attestationApplicationId"),
        ));
    }
    if expected.packages.is_empty() {
        return Err(Refusal::new(Reason::WrongAppId, "no package to verify for"));
    }
    facts.app_id = Some(expected.packages.join(","));
    Ok(description)
}
