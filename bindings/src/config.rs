//! Where the service is and how it is pinned ([`ServiceConfig`], parsed from the JSON
//! document `palmkit serve` writes or the app bundles), the health report, the version.

use crate::PalmKitError;

/// Where the enrollment service is and how it is pinned (see `palmkit_core::config`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ServiceConfig {
    /// `https://` base URL of the service.
    pub base_url: String,
    /// PEM of the only CA certificates to trust, or none for the public web roots.
    pub ca_pem: Option<String>,
    /// Base64 SHA-256 SPKI pins; one presented certificate must match when not empty.
    pub spki_sha256: Vec<String>,
    /// OAuth client id of the app.
    pub client_id: String,
    /// OAuth redirect URI of the app.
    pub redirect_uri: String,
    /// Id of the service's HPKE key.
    pub service_key_id: String,
    /// The service's X25519 public key, base64url without padding.
    pub service_public_key: String,
}

impl From<ServiceConfig> for palmkit_core::ServiceConfig {
    fn from(c: ServiceConfig) -> Self {
        Self {
            base_url: c.base_url,
            trust: palmkit_core::TrustAnchors {
                ca_pem: c.ca_pem,
                spki_sha256: c.spki_sha256,
            },
            client_id: c.client_id,
            redirect_uri: c.redirect_uri,
            service_key: palmkit_core::ServiceKey {
                id: c.service_key_id,
                public_key: c.service_public_key,
            },
        }
    }
}

impl From<palmkit_core::ServiceConfig> for ServiceConfig {
    fn from(c: palmkit_core::ServiceConfig) -> Self {
        Self {
            base_url: c.base_url,
            ca_pem: c.trust.ca_pem,
            spki_sha256: c.trust.spki_sha256,
            client_id: c.client_id,
            redirect_uri: c.redirect_uri,
            service_key_id: c.service_key.id,
            service_public_key: c.service_key.public_key,
        }
    }
}

/// Parses the JSON configuration document (`client-config.json` of `palmkit serve`, or
/// the one shipped in the app bundle) and checks every field.
#[uniffi::export]
pub fn parse_service_config(json: String) -> Result<ServiceConfig, PalmKitError> {
    let config =
        palmkit_core::ServiceConfig::from_json(&json).map_err(palmkit_core::Error::from)?;
    config.validate().map_err(palmkit_core::Error::from)?;
    Ok(config.into())
}

/// The service's answer to a health check.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HealthReport {
    /// `"ok"`.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Id of the key new uploads are sealed to.
    pub current_key_id: String,
}

/// The core's version.
#[uniffi::export]
pub fn core_version() -> String {
    palmkit_core::VERSION.to_string()
}
