//! Apple App Attest, verified offline (Apple, "Validating apps that connect to your
//! server"): the attestation object of a key's first use, and the assertions of every
//! later use.
//!
//! Attestation: `fmt` `apple-appattest`; `attStmt.x5c` = [leaf, "Apple App Attestation CA
//! 1"] chains to the App Attestation Root CA with every certificate inside its validity;
//! the leaf's extension 1.2.840.113635.100.8.2 holds SHA-256(authData ‖ clientDataHash);
//! the credential id in authData is SHA-256 of the leaf's key (the key id); rpIdHash is
//! SHA-256 of `TEAMID.bundle.id`; the counter is 0; the aaguid names the environment.
//! Assertion: an ECDSA P-256 signature over SHA-256(authenticatorData ‖ clientDataHash)
//! with the registered key, the same rpIdHash, a counter above the stored one.
//!
//! What newer devices send is tolerated: extra certificate extensions and EKUs (certs.rs
//! keeps extensions raw), a receipt of any size, bytes after the attested key in authData
//! while the ED (extension data) flag is clear; with ED set, the extensions must be one
//! CBOR map.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ciborium::Value;
use ring::signature::{self, UnparsedPublicKey};
use sha2::{Digest as _, Sha256};

use super::certs;
use super::roots::TrustAnchors;
use super::verdict::{Facts, Kind, Reason, Refusal, Verdict};

/// The nonce extension of the App Attest leaf.
const OID_NONCE: &str = "1.2.840.113635.100.8.2";
/// aaguid of the development environment.
const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";
/// aaguid of the production environment.
const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";
/// The largest attestation object accepted (real ones are 5-6 KB with the receipt).
pub const MAX_OBJECT_BYTES: usize = 64 * 1024;

const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

fn malformed(detail: impl Into<String>) -> Refusal {
    Refusal::new(Reason::Malformed, detail)
}

/// One CBOR item from `bytes`; the rest after it.
fn cbor_item(bytes: &[u8]) -> Result<(Value, &[u8]), Refusal> {
    let mut reader = bytes;
    // ciborium bounds nesting (recursion limit 256) and reads lengths against the input.
    let value: Value =
        ciborium::de::from_reader(&mut reader).map_err(|e| malformed(format!("not CBOR: {e}")))?;
    Ok((value, reader))
}

fn field<'v>(map: &'v [(Value, Value)], name: &str) -> Option<&'v Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

fn bytes_field<'v>(map: &'v [(Value, Value)], name: &str) -> Result<&'v [u8], Refusal> {
    field(map, name)
        .and_then(Value::as_bytes)
        .map(Vec::as_slice)
        .ok_or_else(|| malformed(format!("no byte string `{name}`")))
}

/// The fixed head of authenticator data.
struct AuthHead<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    counter: u32,
    rest: &'a [u8],
}

fn auth_head(auth: &[u8]) -> Result<AuthHead<'_>, Refusal> {
    if auth.len() < 37 {
        return Err(malformed(format!(
            "authenticator data of {} bytes (at least 37)",
            auth.len()
        )));
    }
    Ok(AuthHead {
        rp_id_hash: &auth[..32],
        flags: auth[32],
        counter: u32::from_be_bytes([auth[33], auth[34], auth[35], auth[36]]),
        rest: &auth[37..],
    })
}

fn check_rp_id(head: &AuthHead<'_>, app_id: &str) -> Result<(), Refusal> {
    if head.rp_id_hash != Sha256::digest(app_id.as_bytes()).as_slice() {
        return Err(Refusal::new(
            Reason::WrongAppId,
            format!("rpIdHash is not SHA-256 of {app_id:?}"),
        ));
    }
    Ok(())
}

/// The attested credential: aaguid, credential id, and the COSE key's x and y if the key
/// is EC2 (checked against the leaf).
struct Credential<'a> {
    aaguid: &'a [u8],
    id: &'a [u8],
    cose_xy: Option<(Vec<u8>, Vec<u8>)>,
}

fn credential<'a>(head: &AuthHead<'a>) -> Result<Credential<'a>, Refusal> {
    if head.flags & FLAG_AT == 0 {
        return Err(malformed("no attested credential data (AT flag clear)"));
    }
    let rest = head.rest;
    if rest.len() < 18 {
        return Err(malformed("attested credential data cut short"));
    }
    let aaguid = &rest[..16];
    let id_len = u16::from_be_bytes([rest[16], rest[17]]) as usize;
    let rest = &rest[18..];
    if rest.len() < id_len {
        return Err(malformed("credential id cut short"));
    }
    let (id, rest) = rest.split_at(id_len);
    let (key, after) = cbor_item(rest)?;
    let Value::Map(key) = key else {
        return Err(malformed("the credential public key is not a COSE map"));
    };
    let int_field = |label: i64| {
        key.iter()
            .find(|(k, _)| k.as_integer().map(i128::from) == Some(label as i128))
            .and_then(|(_, v)| v.as_bytes().cloned())
    };
    let cose_xy = int_field(-2).zip(int_field(-3));
    if head.flags & FLAG_ED != 0 {
        // Extensions present: they must be one CBOR map. Without the flag, bytes that
        // follow are tolerated (newer devices send them).
        let (ext, _) = cbor_item(after)?;
        if !matches!(ext, Value::Map(_)) {
            return Err(malformed("authenticator extensions are not a CBOR map"));
        }
    }
    Ok(Credential {
        aaguid,
        id,
        cose_xy,
    })
}

/// The OCTET STRING inside the nonce extension: SEQUENCE { [1] EXPLICIT OCTET STRING }.
fn nonce_of_extension(value: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::asn1_rs::{Any, FromBer as _};
    let (_, seq) = Any::from_ber(value).ok()?;
    let (_, tagged) = Any::from_ber(seq.data).ok()?;
    if tagged.header.tag().0 != 1 {
        return None;
    }
    let (_, octets) = Any::from_ber(tagged.data).ok()?;
    Some(octets.data.to_vec())
}

/// Verifies an App Attest attestation object for `app_id` over `client_data_hash` at
/// unix time `at`.
pub fn verify_attestation(
    object: &[u8],
    app_id: &str,
    client_data_hash: &[u8],
    at: i64,
    anchors: &TrustAnchors,
) -> Verdict {
    Verdict::run(Kind::AppleAttestation, |facts| {
        attestation(facts, object, app_id, client_data_hash, at, anchors)
    })
}

fn attestation(
    facts: &mut Facts,
    object: &[u8],
    app_id: &str,
    client_data_hash: &[u8],
    at: i64,
    anchors: &TrustAnchors,
) -> Result<(), Refusal> {
    if object.len() > MAX_OBJECT_BYTES {
        return Err(malformed(format!(
            "an attestation object of {} bytes (at most {MAX_OBJECT_BYTES})",
            object.len()
        )));
    }
    let (value, _) = cbor_item(object)?;
    let Value::Map(map) = value else {
        return Err(malformed("the attestation object is not a CBOR map"));
    };
    if field(&map, "fmt").and_then(Value::as_text) != Some("apple-appattest") {
        return Err(malformed("fmt is not `apple-appattest`"));
    }
    let auth = bytes_field(&map, "authData")?;
    let Some(Value::Map(stmt)) = field(&map, "attStmt") else {
        return Err(malformed("no attStmt map"));
    };
    let Some(Value::Array(x5c)) = field(stmt, "x5c") else {
        return Err(malformed("no x5c array"));
    };
    let ders: Vec<&[u8]> = x5c
        .iter()
        .map(|v| v.as_bytes().map(Vec::as_slice))
        .collect::<Option<_>>()
        .ok_or_else(|| malformed("an x5c entry is not a byte string"))?;
    if ders.len() < 2 || ders.len() > certs::MAX_CHAIN {
        return Err(malformed(format!(
            "x5c has {} certificates (leaf and intermediate expected)",
            ders.len()
        )));
    }
    let chain = ders
        .iter()
        .map(|d| certs::parse(d))
        .collect::<Result<Vec<_>, _>>()?;

    // The chain, then the root: names, signatures, and every certificate's validity.
    for (i, pair) in chain.windows(2).enumerate() {
        certs::check_link(&pair[0], &pair[1], i)?;
    }
    let last = &chain[chain.len() - 1];
    let mut root_found = None;
    for anchor in anchors.apple() {
        let Ok(root) = certs::parse(&anchor.der) else {
            continue;
        };
        // A device that sends the root too: the last certificate is the anchor itself.
        if anchor.der.as_slice() == ders[ders.len() - 1] {
            root_found = Some((anchor.name.clone(), None));
            break;
        }
        if certs::names_chain(last, &root) {
            if !certs::signed_by(last, root.public_key()) {
                return Err(Refusal::new(
                    Reason::BadSignature,
                    "the intermediate's signature does not verify with the root's key",
                ));
            }
            root_found = Some((anchor.name.clone(), Some(anchor.der.clone())));
            break;
        }
    }
    let Some((root_name, root_der)) = root_found else {
        return Err(Refusal::new(
            Reason::UnknownRoot,
            format!("the chain ends at {}, not a trusted root", last.issuer()),
        ));
    };
    for (i, cert) in chain.iter().enumerate() {
        certs::check_validity(cert, at, i, true)?;
    }
    if let Some(der) = root_der {
        let root = certs::parse(&der)?;
        certs::check_validity(&root, at, chain.len(), true)?;
    }
    facts.root = Some(root_name);

    // The nonce binds authData and the client data hash.
    let leaf = &chain[0];
    let nonce_ext = certs::extension(leaf, OID_NONCE)
        .ok_or_else(|| malformed("the leaf has no nonce extension"))?;
    let nonce = nonce_of_extension(nonce_ext)
        .ok_or_else(|| malformed("the nonce extension is not SEQUENCE { [1] OCTET STRING }"))?;
    let mut hasher = Sha256::new();
    hasher.update(auth);
    hasher.update(client_data_hash);
    if nonce != hasher.finalize().as_slice() {
        return Err(Refusal::new(
            Reason::WrongChallenge,
            "the nonce is not SHA-256(authData ‖ clientDataHash) for this challenge",
        ));
    }

    // The key: the credential id is its hash, the COSE key is the leaf's.
    let point = certs::key_bits(leaf);
    if point.len() != 65 || point[0] != 4 {
        return Err(malformed(
            "the leaf's key is not an uncompressed P-256 point",
        ));
    }
    let key_hash = Sha256::digest(point);
    facts.key_id = Some(STANDARD.encode(key_hash));
    let head = auth_head(auth)?;
    let cred = credential(&head)?;
    if cred.id != key_hash.as_slice() {
        return Err(malformed(
            "the credential id is not SHA-256 of the leaf's key",
        ));
    }
    if let Some((x, y)) = &cred.cose_xy {
        if x.as_slice() != &point[1..33] || y.as_slice() != &point[33..] {
            return Err(malformed("the COSE key in authData is not the leaf's key"));
        }
    }
    check_rp_id(&head, app_id)?;
    facts.app_id = Some(app_id.to_string());
    facts.counter = Some(head.counter);
    if head.counter != 0 {
        return Err(malformed(format!(
            "an attestation's counter is 0, not {}",
            head.counter
        )));
    }
    facts.environment = Some(
        match cred.aaguid {
            a if a == AAGUID_DEVELOPMENT => "development",
            a if a == AAGUID_PRODUCTION => "production",
            _ => return Err(malformed("the aaguid is neither App Attest environment")),
        }
        .into(),
    );
    facts.public_key = Some(point.to_vec());
    Ok(())
}

/// The uncompressed P-256 point of an attestation object's leaf, without checking the
/// chain (the CLI's `--key` given an attestation object).
pub fn attested_key(object: &[u8]) -> Result<Vec<u8>, Refusal> {
    let (value, _) = cbor_item(object)?;
    let Value::Map(map) = value else {
        return Err(malformed("the attestation object is not a CBOR map"));
    };
    let Some(Value::Map(stmt)) = field(&map, "attStmt") else {
        return Err(malformed("no attStmt map"));
    };
    let leaf = match field(stmt, "x5c") {
        Some(Value::Array(x5c)) => x5c.first().and_then(Value::as_bytes),
        _ => None,
    }
    .ok_or_else(|| malformed("no leaf certificate"))?;
    let cert = certs::parse(leaf)?;
    Ok(certs::key_bits(&cert).to_vec())
}

/// Verifies an assertion for `app_id` over `client_data_hash` with `public_key` (the
/// uncompressed P-256 point registered at attestation), above `previous_counter`.
pub fn verify_assertion(
    assertion: &[u8],
    app_id: &str,
    client_data_hash: &[u8],
    public_key: &[u8],
    previous_counter: u32,
) -> Verdict {
    Verdict::run(Kind::AppleAssertion, |facts| {
        if assertion.len() > MAX_OBJECT_BYTES {
            return Err(malformed("an assertion larger than any App Attest makes"));
        }
        let (value, _) = cbor_item(assertion)?;
        let Value::Map(map) = value else {
            return Err(malformed("the assertion is not a CBOR map"));
        };
        let sig = bytes_field(&map, "signature")?;
        let auth = bytes_field(&map, "authenticatorData")?;
        let head = auth_head(auth)?;
        facts.key_id = Some(STANDARD.encode(Sha256::digest(public_key)));
        facts.counter = Some(head.counter);
        let mut hasher = Sha256::new();
        hasher.update(auth);
        hasher.update(client_data_hash);
        let nonce = hasher.finalize();
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public_key)
            .verify(&nonce, sig)
            .map_err(|_| {
                Refusal::new(
                    Reason::BadSignature,
                    "the assertion's signature does not verify with this key over this challenge",
                )
            })?;
        check_rp_id(&head, app_id)?;
        facts.app_id = Some(app_id.to_string());
        if head.counter <= previous_counter {
            return Err(Refusal::new(
                Reason::CounterReplay,
                format!(
                    "counter {} is not above the stored {previous_counter}",
                    head.counter
                ),
            ));
        }
        Ok(())
    })
}
