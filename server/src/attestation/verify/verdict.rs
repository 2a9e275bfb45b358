//! What a verification found and, when it refused, the one word why.
//!
//! The words are those of `../shared/testdata/attestation/README.md` plus the ones the
//! service's policy and key registry need; they travel to the app as the detail of
//! `attestation_invalid` and into the CLI's `--json` line, so they never change meaning.

use serde::Serialize;

/// Why a statement or the policy over it was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The bytes are not the format claimed (CBOR, DER, JSON, a missing field).
    Malformed,
    /// A signature does not verify: a certificate link or an assertion.
    BadSignature,
    /// The chain ends at a key that is not a trusted root.
    UnknownRoot,
    /// The chain ends at an AOSP software attestation root (its private key is public).
    SoftwareRoot,
    /// A certificate that must be in its validity period has expired.
    Expired,
    /// A certificate that must be in its validity period is not valid yet.
    NotYetValid,
    /// The statement answers another challenge.
    WrongChallenge,
    /// The statement is for another app (rpIdHash, package or signing certificate).
    WrongAppId,
    /// An assertion's counter is not above the stored one.
    CounterReplay,
    /// A certificate of the chain is on the revocation status list.
    Revoked,
    /// A valid statement from a device the policy does not trust (software keystore,
    /// unverified boot, unlocked bootloader).
    InsecureDevice,
    /// A valid App Attest statement from an environment the policy does not allow.
    WrongEnvironment,
    /// An assertion for a key this service has not registered.
    UnknownKey,
}

impl Reason {
    /// The word, as in the README and the CLI's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadSignature => "bad_signature",
            Self::UnknownRoot => "unknown_root",
            Self::SoftwareRoot => "software_root",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongChallenge => "wrong_challenge",
            Self::WrongAppId => "wrong_app_id",
            Self::CounterReplay => "counter_replay",
            Self::Revoked => "revoked",
            Self::InsecureDevice => "insecure_device",
            Self::WrongEnvironment => "wrong_environment",
            Self::UnknownKey => "unknown_key",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the word and a sentence for the operator (never a secret: statements are
/// public-key material and device facts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The word.
    pub reason: Reason,
    /// What exactly did not hold.
    pub detail: String,
}

impl Refusal {
    /// A refusal for `reason` with `detail`.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// Which statement was verified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// An App Attest attestation object (a key's first use).
    #[default]
    #[serde(rename = "apple-attestation")]
    AppleAttestation,
    /// An App Attest assertion (every use of a registered key).
    #[serde(rename = "apple-assertion")]
    AppleAssertion,
    /// An Android Key Attestation certificate chain.
    #[serde(rename = "android-chain")]
    AndroidChain,
}

impl Kind {
    /// Its name, as the CLI's `--kind` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppleAttestation => "apple-attestation",
            Self::AppleAssertion => "apple-assertion",
            Self::AndroidChain => "android-chain",
        }
    }
}

/// What the verification established, field by field as far as it got (`None`: not
/// reached). The CLI prints it; a capture stores the part its verdict rested on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Which statement.
    pub kind: Kind,
    /// Apple: `development` or `production` (the aaguid). Android: the leaf's
    /// attestation security level, `Software`, `TrustedEnvironment` or `StrongBox`.
    pub environment: Option<String>,
    /// The app id the statement was verified for (once that check passed).
    pub app_id: Option<String>,
    /// Apple: the key id (standard base64 of SHA-256 of the key, as the app sends it).
    /// Android: the same over the leaf's public key.
    pub key_id: Option<String>,
    /// Apple: the signature counter (0 in an attestation).
    pub counter: Option<u32>,
    /// Android: verified boot state is `Verified`.
    pub verified_boot: Option<bool>,
    /// Android: the bootloader is locked.
    pub device_locked: Option<bool>,
    /// Android: where the key lives (keyMintSecurityLevel), spelled as `environment`.
    pub key_security_level: Option<String>,
    /// Android: the verified boot state as the device spelled it.
    pub boot_state: Option<String>,
    /// Android: the package names in attestationApplicationId.
    pub packages: Option<Vec<String>>,
    /// Android: the signing-certificate digests (lower-case hex).
    pub signing_digests: Option<Vec<String>>,
    /// The trust anchor the chain ended at.
    pub root: Option<String>,
    /// Apple attestation: the attested public key (uncompressed P-256 point), what an
    /// assertion is later verified with.
    pub public_key: Option<Vec<u8>>,
}

/// The outcome: the facts and, unless valid, the refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What was established.
    pub facts: Facts,
    /// Why it was refused; `None` when valid.
    pub refusal: Option<Refusal>,
}

impl Verdict {
    /// Runs `check` over fresh facts of `kind`, keeping whatever it established.
    pub(crate) fn run(kind: Kind, check: impl FnOnce(&mut Facts) -> Result<(), Refusal>) -> Self {
        let mut facts = Facts {
            kind,
            ..Facts::default()
        };
        let refusal = check(&mut facts).err();
        Self { facts, refusal }
    }

    /// Whether the statement holds.
    pub fn is_valid(&self) -> bool {
        self.refusal.is_none()
    }

    /// The refusal's word, if any.
    pub fn reason(&self) -> Option<Reason> {
        self.refusal.as_ref().map(|r| r.reason)
    }
}
