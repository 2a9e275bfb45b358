//! The Android KeyDescription extension (1.3.6.1.4.1.11129.2.1.17), read leniently.
//!
//! ```text
//! KeyDescription ::= SEQUENCE {
//!   attestationVersion INTEGER, attestationSecurityLevel ENUMERATED,
//!   keyMintVersion INTEGER, keyMintSecurityLevel ENUMERATED,
//!   attestationChallenge OCTET STRING, uniqueId OCTET STRING,
//!   softwareEnforced AuthorizationList, hardwareEnforced AuthorizationList, ... }
//! AuthorizationList ::= SEQUENCE { [n] EXPLICIT ... }   -- tags 1..~720
//! RootOfTrust ::= SEQUENCE { verifiedBootKey OCTET STRING, deviceLocked BOOLEAN,
//!   verifiedBootState ENUMERATED, verifiedBootHash OCTET STRING OPTIONAL }
//! AttestationApplicationId ::= SEQUENCE { packageInfos SET OF SEQUENCE {
//!   packageName OCTET STRING, version INTEGER }, signatureDigests SET OF OCTET STRING }
//! ```
//!
//! Only the fields the verifier and the policy use are read. An AuthorizationList entry
//! this code does not know, whatever its tag, is skipped; the order of tags is not
//! enforced (the signature over the leaf already fixes its bytes). Versions 1 to 400 all
//! share this head.

use x509_parser::asn1_rs::{Any, Class, FromBer as _};

/// `attestationApplicationId`'s tag in an AuthorizationList.
const TAG_APPLICATION_ID: u32 = 709;
/// `rootOfTrust`'s tag.
const TAG_ROOT_OF_TRUST: u32 = 704;
/// `creationDateTime`'s tag (milliseconds since the epoch).
const TAG_CREATION: u32 = 701;

/// A security level of KeyMint / Keymaster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityLevel {
    /// Android's software keystore.
    Software,
    /// A trusted execution environment.
    TrustedEnvironment,
    /// A discrete secure element.
    StrongBox,
}

impl SecurityLevel {
    fn from_value(v: i64) -> Option<Self> {
        Some(match v {
            0 => Self::Software,
            1 => Self::TrustedEnvironment,
            2 => Self::StrongBox,
            _ => return None,
        })
    }

    /// As Google's verifier and the README spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Software => "Software",
            Self::TrustedEnvironment => "TrustedEnvironment",
            Self::StrongBox => "StrongBox",
        }
    }
}

/// Verified boot state of the RootOfTrust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootState {
    /// Boot chain verified with the OEM's key.
    Verified,
    /// Verified with a user-installed key.
    SelfSigned,
    /// Not verified (unlocked bootloader).
    Unverified,
    /// Verification failed.
    Failed,
}

impl BootState {
    fn from_value(v: i64) -> Option<Self> {
        Some(match v {
            0 => Self::Verified,
            1 => Self::SelfSigned,
            2 => Self::Unverified,
            3 => Self::Failed,
            _ => return None,
        })
    }

    /// The name as Android's documentation writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "Verified",
            Self::SelfSigned => "SelfSigned",
            Self::Unverified => "Unverified",
            Self::Failed => "Failed",
        }
    }
}

/// The RootOfTrust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootOfTrust {
    /// The bootloader is locked.
    pub device_locked: bool,
    /// The verified boot state.
    pub boot_state: BootState,
}

/// What the verifier and policy read from a KeyDescription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    /// attestationVersion.
    pub attestation_version: i64,
    /// attestationSecurityLevel: where the attestation was made.
    pub attestation_security_level: SecurityLevel,
    /// keyMintSecurityLevel: where the key lives.
    pub key_mint_security_level: SecurityLevel,
    /// attestationChallenge.
    pub challenge: Vec<u8>,
    /// RootOfTrust, from the hardware-enforced list (or the software one on software
    /// keystores).
    pub root_of_trust: Option<RootOfTrust>,
    /// Package names of attestationApplicationId, in order.
    pub packages: Vec<String>,
    /// Signing-certificate SHA-256 digests of attestationApplicationId.
    pub signing_digests: Vec<Vec<u8>>,
    /// creationDateTime (ms), when present.
    pub creation_ms: Option<i64>,
}

/// Why a KeyDescription could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("KeyDescription: {0}")]
pub struct ParseError(String);

fn err(what: impl Into<String>) -> ParseError {
    ParseError(what.into())
}

/// The elements of a constructed value's contents.
fn children(data: &[u8]) -> Result<Vec<Any<'_>>, ParseError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (next, any) = Any::from_ber(rest).map_err(|e| err(format!("bad DER: {e}")))?;
        out.push(any);
        rest = next;
        if out.len() > 4096 {
            return Err(err("too many elements"));
        }
    }
    Ok(out)
}

/// A small INTEGER or ENUMERATED (two's complement, at most 8 bytes).
fn small_int(any: &Any<'_>) -> Result<i64, ParseError> {
    let bytes = any.data;
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(err("an integer of unexpected size"));
    }
    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i64::from(*b);
    }
    Ok(v)
}

/// The one element inside an EXPLICIT tag.
fn explicit_inner<'a>(any: &Any<'a>) -> Result<Any<'a>, ParseError> {
    let (_, inner) = Any::from_ber(any.data).map_err(|e| err(format!("bad tagged value: {e}")))?;
    Ok(inner)
}

/// Parses the extension's value.
pub fn parse(value: &[u8]) -> Result<KeyDescription, ParseError> {
    let (_, seq) = Any::from_ber(value).map_err(|e| err(format!("not DER: {e}")))?;
    let fields = children(seq.data)?;
    if fields.len() < 8 {
        return Err(err(format!("{} fields, at least 8 expected", fields.len())));
    }
    let level = |i: usize| -> Result<SecurityLevel, ParseError> {
        SecurityLevel::from_value(small_int(&fields[i])?)
            .ok_or_else(|| err("unknown security level"))
    };
    let mut description = KeyDescription {
        attestation_version: small_int(&fields[0])?,
        attestation_security_level: level(1)?,
        key_mint_security_level: level(3)?,
        challenge: fields[4].data.to_vec(),
        root_of_trust: None,
        packages: Vec::new(),
        signing_digests: Vec::new(),
        creation_ms: None,
    };
    // softwareEnforced (6) then hardwareEnforced (7): a field in the hardware list wins.
    for list in [&fields[6], &fields[7]] {
        for entry in children(list.data)? {
            if entry.header.class() != Class::ContextSpecific {
                continue;
            }
            match entry.header.tag().0 {
                TAG_ROOT_OF_TRUST => {
                    description.root_of_trust = Some(root_of_trust(&explicit_inner(&entry)?)?)
                }
                TAG_APPLICATION_ID => {
                    let octets = explicit_inner(&entry)?;
                    application_id(octets.data, &mut description)?;
                }
                TAG_CREATION => description.creation_ms = small_int(&explicit_inner(&entry)?).ok(),
                _ => {}
            }
        }
    }
    Ok(description)
}

fn root_of_trust(seq: &Any<'_>) -> Result<RootOfTrust, ParseError> {
    let f = children(seq.data)?;
    if f.len() < 3 {
        return Err(err("RootOfTrust with fewer than 3 fields"));
    }
    let device_locked = match f[1].data {
        [0] => false,
        [_] => true,
        _ => return Err(err("deviceLocked is not a BOOLEAN")),
    };
    let boot_state = BootState::from_value(small_int(&f[2])?)
        .ok_or_else(|| err("unknown verified boot state"))?;
    Ok(RootOfTrust {
        device_locked,
        boot_state,
    })
}

fn application_id(der: &[u8], out: &mut KeyDescription) -> Result<(), ParseError> {
    let (_, seq) = Any::from_ber(der).map_err(|e| err(format!("attestationApplicationId: {e}")))?;
    let parts = children(seq.data)?;
    let [infos, digests, ..] = parts.as_slice() else {
        return Err(err("attestationApplicationId with fewer than 2 fields"));
    };
    out.packages.clear();
    for info in children(infos.data)? {
        let f = children(info.data)?;
        let name = f
            .first()
            .ok_or_else(|| err("a package info without a name"))?;
        out.packages
            .push(String::from_utf8_lossy(name.data).into_owned());
    }
    out.signing_digests = children(digests.data)?
        .into_iter()
        .map(|d| d.data.to_vec())
        .collect();
    Ok(())
}
