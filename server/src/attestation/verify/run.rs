//! One verification as the CLI and the manifest test ask for it: a kind, the bytes of a
//! file (raw CBOR, a PEM chain, or the apps' token), the expected app and challenge, the
//! time, the roots, and for assertions the key and the stored counter.

use super::android::{self, Expected};
use super::apple;
use super::certs;
use super::policy::Policy;
use super::revocation::StatusList;
use super::roots::TrustAnchors;
use super::token;
use super::verdict::{Facts, Kind, Reason, Refusal, Verdict};

/// Everything one verification needs.
pub struct Request<'a> {
    /// Which statement.
    pub kind: Kind,
    /// The file's bytes.
    pub file: &'a [u8],
    /// Apple: `TEAMID.bundle.id`. Android: package names, all required.
    pub app_id: &'a [String],
    /// The challenge (Apple: clientDataHash; Android: attestationChallenge).
    pub challenge: &'a [u8],
    /// Unix time to verify at.
    pub at: i64,
    /// Trust anchors.
    pub anchors: &'a TrustAnchors,
    /// Assertions: the key (an attestation object or an SPKI PEM).
    pub key: Option<&'a [u8]>,
    /// Assertions: the stored counter.
    pub previous_counter: u32,
    /// Android: the revocation status list.
    pub status: Option<&'a StatusList>,
    /// The policy on top of the statement.
    pub policy: &'a Policy,
}

/// A verdict refused before any fact was established.
fn refused(kind: Kind, refusal: Refusal) -> Verdict {
    Verdict {
        facts: Facts {
            kind,
            ..Facts::default()
        },
        refusal: Some(refusal),
    }
}

fn malformed(kind: Kind, detail: impl Into<String>) -> Verdict {
    refused(kind, Refusal::new(Reason::Malformed, detail))
}

fn looks_like(file: &[u8], first: u8) -> bool {
    file.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == first)
}

/// The public key `key` names: an attestation object's leaf key, or an SPKI PEM's.
pub fn assertion_key(key: &[u8]) -> Result<Vec<u8>, Refusal> {
    if key.starts_with(b"-----BEGIN") {
        let blocks = pem::parse_many(key)
            .map_err(|e| Refusal::new(Reason::Malformed, format!("not PEM: {e}")))?;
        let block = blocks
            .first()
            .ok_or_else(|| Refusal::new(Reason::Malformed, "an empty PEM"))?;
        if block.tag() == "CERTIFICATE" {
            let cert = certs::parse(block.contents())?;
            return Ok(certs::key_bits(&cert).to_vec());
        }
        let spki = certs::parse_spki(block.contents())?;
        return Ok(spki.subject_public_key.data.to_vec());
    }
    apple::attested_key(key)
}

/// Verifies `request`: the statement, then (when it holds) the policy.
pub fn verify(request: &Request<'_>) -> Verdict {
    let mut verdict = statement(request);
    if verdict.is_valid() {
        if let Err(refusal) = request.policy.check(&verdict.facts) {
            verdict.refusal = Some(refusal);
        }
    }
    verdict
}

fn statement(r: &Request<'_>) -> Verdict {
    let app_id = r.app_id.first().map(String::as_str).unwrap_or("");
    match r.kind {
        Kind::AppleAttestation | Kind::AppleAssertion => {
            // The apps' token holds both: pick the part this kind asks for.
            let (attestation, assertion) = if looks_like(r.file, b'{') {
                match token::decode_apple(r.file) {
                    Ok(t) => (t.attestation, Some(t.assertion)),
                    Err(e) => {
                        return refused(r.kind, e);
                    }
                }
            } else {
                (Some(r.file.to_vec()), Some(r.file.to_vec()))
            };
            if r.kind == Kind::AppleAttestation {
                let Some(object) = attestation else {
                    return malformed(r.kind, "the token holds no attestation object");
                };
                apple::verify_attestation(&object, app_id, r.challenge, r.at, r.anchors)
            } else {
                let Some(key) = r.key else {
                    return malformed(r.kind, "an assertion is verified with a key (--key)");
                };
                let key = match assertion_key(key) {
                    Ok(k) => k,
                    Err(e) => {
                        return refused(r.kind, e);
                    }
                };
                let assertion = assertion.unwrap_or_default();
                apple::verify_assertion(&assertion, app_id, r.challenge, &key, r.previous_counter)
            }
        }
        Kind::AndroidChain => {
            let chain = if looks_like(r.file, b'[') {
                token::decode_android(r.file)
            } else if looks_like(r.file, b'-') {
                certs::from_pem(r.file)
            } else {
                // One DER certificate or several concatenated.
                split_der(r.file)
            };
            let chain = match chain {
                Ok(c) => c,
                Err(e) => {
                    return refused(r.kind, e);
                }
            };
            let expected = Expected {
                packages: r.app_id,
                challenge: r.challenge,
                at: r.at,
            };
            android::verify_chain(&chain, &expected, r.anchors, r.status)
        }
    }
}

/// Concatenated DER certificates.
fn split_der(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
    use x509_parser::asn1_rs::{Any, FromDer as _};
    let mut out = Vec::new();
    while !bytes.is_empty() && out.len() <= certs::MAX_CHAIN {
        let (rest, _) = Any::from_der(bytes)
            .map_err(|_| Refusal::new(Reason::Malformed, "neither PEM, JSON nor DER"))?;
        out.push(bytes[..bytes.len() - rest.len()].to_vec());
        bytes = rest;
    }
    Ok(out)
}
