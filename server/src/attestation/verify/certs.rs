//! X.509 for attestation chains: parsing that survives what newer devices put in their
//! certificates, signature checks of one link, validity, names and serials.
//!
//! Certificates are parsed by x509-parser with deep extension parsing off: every extension
//! stays raw bytes, so an extension this code does not know, or one x509-parser would fail
//! to parse (newer EKUs, vendor extensions), cannot break a chain; the two extensions the
//! verifiers need are read from their raw bytes. A public key of an algorithm this code
//! does not know (ML-DSA) stays an algorithm identifier and bits: it only matters when that
//! key has to verify a signature, which then fails as `bad_signature`.

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::{FromDer as _, X509CertificateParser};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::verdict::{Reason, Refusal};

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const OID_RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const OID_RSA_SHA512: &str = "1.2.840.113549.1.1.13";
/// X.520 serialNumber: in the subject of a factory-provisioned Android intermediate.
const OID_SERIAL_NUMBER_ATTR: &str = "2.5.4.5";

/// The most certificates a chain may have (Android sends 3-5; Apple 2).
pub const MAX_CHAIN: usize = 8;
/// The largest certificate accepted (real ones are 0.5-1.5 KB; a KeyDescription with
/// many packages stays far below this).
pub const MAX_CERT_BYTES: usize = 16 * 1024;

/// Parses one DER certificate; `malformed` when it is not one.
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, Refusal> {
    if der.len() > MAX_CERT_BYTES {
        return Err(Refusal::new(
            Reason::Malformed,
            format!(
                "a certificate of {} bytes (at most {MAX_CERT_BYTES})",
                der.len()
            ),
        ));
    }
    use x509_parser::nom::Parser as _;
    match X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
    {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Refusal::new(Reason::Malformed, "bytes after a certificate")),
        Err(e) => Err(Refusal::new(
            Reason::Malformed,
            format!("not an X.509 certificate: {e}"),
        )),
    }
}

/// Parses a SubjectPublicKeyInfo (DER).
pub fn parse_spki(der: &[u8]) -> Result<SubjectPublicKeyInfo<'_>, Refusal> {
    match SubjectPublicKeyInfo::from_der(der) {
        Ok((_, spki)) => Ok(spki),
        Err(e) => Err(Refusal::new(
            Reason::Malformed,
            format!("not a public key: {e}"),
        )),
    }
}

/// The ring algorithm for a signature made with `sig_oid` by a key `key`.
fn algorithm(
    sig_oid: &str,
    key: &SubjectPublicKeyInfo<'_>,
) -> Option<&'static dyn VerificationAlgorithm> {
    let key_oid = key.algorithm.algorithm.to_id_string();
    let curve = key
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    Some(match (key_oid.as_str(), curve.as_deref(), sig_oid) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256), OID_ECDSA_SHA256) => &signature::ECDSA_P256_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P256), OID_ECDSA_SHA384) => &signature::ECDSA_P256_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), OID_ECDSA_SHA256) => &signature::ECDSA_P384_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), OID_ECDSA_SHA384) => &signature::ECDSA_P384_SHA384_ASN1,
        (OID_RSA_ENCRYPTION, _, OID_RSA_SHA256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (OID_RSA_ENCRYPTION, _, OID_RSA_SHA384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (OID_RSA_ENCRYPTION, _, OID_RSA_SHA512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

/// Whether `cert`'s signature verifies with `issuer_key`.
pub fn signed_by(cert: &X509Certificate<'_>, issuer_key: &SubjectPublicKeyInfo<'_>) -> bool {
    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    let Some(alg) = algorithm(&sig_oid, issuer_key) else {
        return false;
    };
    UnparsedPublicKey::new(alg, &issuer_key.subject_public_key.data)
        .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
        .is_ok()
}

/// Whether `issuer`'s subject is `cert`'s issuer: the same DER, or (encodings differ
/// between device firmware) the same attributes and values.
pub fn names_chain(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let (a, b) = (cert.issuer(), issuer.subject());
    a.as_raw() == b.as_raw() || a.to_string() == b.to_string()
}

/// A link `cert` ← `issuer`: names chain and the signature verifies (`bad_signature`).
pub fn check_link(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    position: usize,
) -> Result<(), Refusal> {
    if !names_chain(cert, issuer) {
        return Err(Refusal::new(
            Reason::BadSignature,
            format!("certificate {position}'s issuer is not the next certificate's subject"),
        ));
    }
    if !signed_by(cert, issuer.public_key()) {
        return Err(Refusal::new(
            Reason::BadSignature,
            format!("certificate {position}'s signature does not verify with the next one's key"),
        ));
    }
    Ok(())
}

/// `not_yet_valid` / `expired` unless `at` is inside `cert`'s validity (bounds inclusive).
/// `expiry_counts` false: only not-yet-valid is refused.
pub fn check_validity(
    cert: &X509Certificate<'_>,
    at: i64,
    position: usize,
    expiry_counts: bool,
) -> Result<(), Refusal> {
    let v = cert.validity();
    if at < v.not_before.timestamp() {
        return Err(Refusal::new(
            Reason::NotYetValid,
            format!("certificate {position} is valid from {}", v.not_before),
        ));
    }
    if expiry_counts && at > v.not_after.timestamp() {
        return Err(Refusal::new(
            Reason::Expired,
            format!("certificate {position} expired at {}", v.not_after),
        ));
    }
    Ok(())
}

/// The raw value of `cert`'s extension `oid` (dotted), if present.
pub fn extension<'a>(cert: &X509Certificate<'a>, oid: &str) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == oid)
        .map(|e| e.value)
}

/// Whether the subject names a serialNumber (a factory-provisioned Android intermediate).
pub fn subject_has_serial_number(cert: &X509Certificate<'_>) -> bool {
    cert.subject()
        .iter_attributes()
        .any(|a| a.attr_type().to_id_string() == OID_SERIAL_NUMBER_ATTR)
}

/// The serial as Google's status list writes it: lower-case hex without leading zeros.
pub fn serial_hex(cert: &X509Certificate<'_>) -> String {
    let hex = hex::encode(cert.raw_serial());
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// The key bits of a certificate (EC: the X9.62 point; RSA: the RSAPublicKey DER).
pub fn key_bits<'c>(cert: &'c X509Certificate<'_>) -> &'c [u8] {
    &cert.tbs_certificate.subject_pki.subject_public_key.data
}

/// Whether `a` and `b` are the same public key (algorithm and bits; parameters may be
/// encoded differently between certificates of one key).
pub fn same_key(a: &SubjectPublicKeyInfo<'_>, b: &SubjectPublicKeyInfo<'_>) -> bool {
    a.algorithm.algorithm == b.algorithm.algorithm
        && a.subject_public_key.data == b.subject_public_key.data
}

/// DER certificates from PEM text (every `CERTIFICATE` block, in order).
pub fn from_pem(text: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
    let blocks = pem::parse_many(text)
        .map_err(|e| Refusal::new(Reason::Malformed, format!("not PEM: {e}")))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(Refusal::new(
            Reason::Malformed,
            "no CERTIFICATE block in the PEM",
        ));
    }
    Ok(certs)
}
