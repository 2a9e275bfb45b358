//! The policy the service applies on top of a valid statement, from its configuration.
//!
//! A statement can be genuine and still come from a device the service should not trust
//! with a palm: many real chains come from unlocked test devices or software keystores.
//! Those are valid statements that this policy refuses (`insecure_device`); an App Attest
//! key from an environment not allowed is `wrong_environment`; a signing certificate not
//! in the allowed set is `wrong_app_id` (a re-signed app is another app).

use super::verdict::{Facts, Kind, Reason, Refusal};

/// What a production service requires of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Android: a TEE or StrongBox attestation, verified boot state `Verified` and a
    /// locked bootloader.
    pub require_verified_boot: bool,
    /// Android: the allowed signing-certificate SHA-256 digests (lower-case hex); empty:
    /// any.
    pub signing_digests: Vec<String>,
    /// Apple: the allowed App Attest environments (`production`, `development`); empty:
    /// any.
    pub apple_environments: Vec<String>,
}

impl Policy {
    /// No requirement beyond the statement (the CLI without policy flags).
    pub fn statement_only() -> Self {
        Self {
            require_verified_boot: false,
            signing_digests: Vec::new(),
            apple_environments: Vec::new(),
        }
    }

    /// What production mode requires unless configured otherwise: verified boot on a
    /// locked device, App Attest's production environment.
    pub fn production() -> Self {
        Self {
            require_verified_boot: true,
            signing_digests: Vec::new(),
            apple_environments: vec!["production".into()],
        }
    }

    /// Refuses `facts` (of a valid statement) the policy does not allow.
    pub fn check(&self, facts: &Facts) -> Result<(), Refusal> {
        match facts.kind {
            Kind::AndroidChain => self.check_android(facts),
            Kind::AppleAttestation | Kind::AppleAssertion => {
                let env = facts.environment.as_deref().unwrap_or("");
                // An assertion carries no environment: it inherits its key's, which was
                // checked at attestation.
                if facts.kind == Kind::AppleAttestation
                    && !self.apple_environments.is_empty()
                    && !self.apple_environments.iter().any(|e| e == env)
                {
                    return Err(Refusal::new(
                        Reason::WrongEnvironment,
                        format!("App Attest environment {env:?} is not allowed here"),
                    ));
                }
                Ok(())
            }
        }
    }

    fn check_android(&self, facts: &Facts) -> Result<(), Refusal> {
        if self.require_verified_boot {
            let level = facts.environment.as_deref().unwrap_or("");
            if level != "TrustedEnvironment" && level != "StrongBox" {
                return Err(Refusal::new(
                    Reason::InsecureDevice,
                    format!("attested by {level:?}, not a TEE or StrongBox"),
                ));
            }
            if facts.verified_boot != Some(true) {
                return Err(Refusal::new(
                    Reason::InsecureDevice,
                    format!(
                        "verified boot state is {}",
                        facts.boot_state.as_deref().unwrap_or("not attested")
                    ),
                ));
            }
            if facts.device_locked != Some(true) {
                return Err(Refusal::new(
                    Reason::InsecureDevice,
                    "the bootloader is unlocked",
                ));
            }
        }
        if !self.signing_digests.is_empty() {
            let digests = facts.signing_digests.as_deref().unwrap_or(&[]);
            let allowed = digests.iter().any(|d| {
                self.signing_digests
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(d))
            });
            if !allowed {
                return Err(Refusal::new(
                    Reason::WrongAppId,
                    "the app is not signed with an allowed certificate",
                ));
            }
        }
        Ok(())
    }
}
