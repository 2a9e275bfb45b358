//! Where the enrollment service is and how the app knows it is talking to the real one.
//!
//! A [`ServiceConfig`] is built into each app (and written by `palmkit serve` for the
//! desktop tools as `client-config.json`). It names the service base URL, the trust anchors
//! that pin its TLS certificate, the OAuth client, and the service's HPKE public key that
//! palm images are sealed to. [`ServiceConfig::validate`] checks every field once, so the
//! rest of the core can rely on them; this module does no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::{Deserialize, Serialize};
use url::Url;

/// Everything the core needs to reach and trust the enrollment service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceConfig {
    /// Base URL of the enrollment service, `https://` only (for example
    /// `https://127.0.0.1:8443/`).
    pub base_url: String,
    /// How the service's TLS certificate is pinned.
    pub trust: TrustAnchors,
    /// OAuth 2.0 client id of the app (a public client: no secret).
    pub client_id: String,
    /// Where the authorization server sends the shopper back after login.
    pub redirect_uri: String,
    /// The palm service's HPKE public key that captures are sealed to.
    pub service_key: ServiceKey,
}

/// The trust anchors that pin the service's certificate.
///
/// With `ca_pem`, the server's chain must lead to one of those CA certificates and nothing
/// else (the system's roots are not used). Without it, the public web roots are used. With
/// `spki_sha256` pins, one certificate the server presents (leaf or intermediate) must also
/// have a SubjectPublicKeyInfo whose SHA-256 is in the set. At least one of the two must be
/// given: an unpinned client is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrustAnchors {
    /// PEM text of the only CA certificates to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Base64 (standard alphabet, padded: the HPKP format) SHA-256 of SPKI DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spki_sha256: Vec<String>,
}

/// The service's HPKE public key (X25519) and the id it is known by, for key rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceKey {
    /// Key id, sent with every sealed upload so the service knows which key opens it.
    pub id: String,
    /// The 32-byte X25519 public key, base64url without padding.
    pub public_key: String,
}

/// Which field of a [`ServiceConfig`] is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not a JSON service configuration.
    #[error("not a valid service configuration document: {0}")]
    Syntax(String),
    /// A field has a value the core cannot use.
    #[error("`{field}` {problem}")]
    Field {
        /// The field, as named in the JSON document.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

fn field(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        problem: problem.into(),
    }
}

/// A [`ServiceConfig`] whose fields have been checked and decoded.
#[derive(Clone, Debug)]
pub struct ValidatedConfig {
    /// The base URL, always ending in `/` so relative paths join below it.
    pub base_url: Url,
    /// DER of each pinned CA certificate.
    pub ca_certs: Vec<CertificateDer<'static>>,
    /// Decoded SPKI SHA-256 pins.
    pub spki_pins: Vec<[u8; 32]>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth redirect URI.
    pub redirect_uri: Url,
    /// Service key id.
    pub service_key_id: String,
    /// Service X25519 public key.
    pub service_public_key: [u8; 32],
}

impl ServiceConfig {
    /// Parses a configuration from its JSON form (as written by `palmkit serve`).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// The JSON form of this configuration.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and vectors cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every field and decodes the ones the core uses in binary form.
    pub fn validate(&self) -> Result<ValidatedConfig, ConfigError> {
        let mut base_url = Url::parse(&self.base_url)
            .map_err(|e| field("base_url", format!("is not a URL: {e}")))?;
        if base_url.scheme() != "https" {
            return Err(field(
                "base_url",
                "must be an https:// URL: the service is only reached over TLS",
            ));
        }
        if base_url.host().is_none() {
            return Err(field("base_url", "has no host"));
        }
        if base_url.query().is_some()
            || base_url.fragment().is_some()
            || !base_url.username().is_empty()
        {
            return Err(field(
                "base_url",
                "must not carry credentials, a query or a fragment",
            ));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }

        let ca_certs = match &self.trust.ca_pem {
            None => Vec::new(),
            Some(pem) => {
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        field("trust.ca_pem", format!("is not PEM certificate text: {e}"))
                    })?;
                if certs.is_empty() {
                    return Err(field("trust.ca_pem", "holds no certificate"));
                }
                certs
            }
        };
        let spki_pins = self
            .trust
            .spki_sha256
            .iter()
            .map(|pin| {
                STANDARD
                    .decode(pin.trim())
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| {
                        field(
                            "trust.spki_sha256",
                            format!("entry {pin:?} is not a base64 SHA-256 digest"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ca_certs.is_empty() && spki_pins.is_empty() {
            return Err(field(
                "trust",
                "names neither a CA nor an SPKI pin: the service must be pinned",
            ));
        }

        if self.client_id.trim().is_empty() {
            return Err(field("client_id", "is empty"));
        }
        let redirect_uri = Url::parse(&self.redirect_uri)
            .map_err(|e| field("redirect_uri", format!("is not a URL: {e}")))?;

        let key = &self.service_key;
        let id_ok = !key.id.is_empty()
            && key.id.len() <= 64
            && key
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Err(field(
                "service_key.id",
                "must be 1-64 characters of letters, digits, '-', '_' or '.'",
            ));
        }
        let service_public_key = URL_SAFE_NO_PAD
            .decode(key.public_key.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                field(
                    "service_key.public_key",
                    "must be a 32-byte X25519 key in base64url without padding",
                )
            })?;

        Ok(ValidatedConfig {
            base_url,
            ca_certs,
            spki_pins,
            client_id: self.client_id.clone(),
            redirect_uri,
            service_key_id: key.id.clone(),
            service_public_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServiceConfig {
        ServiceConfig {
            base_url: "https://127.0.0.1:8443".into(),
            trust: TrustAnchors {
                ca_pem: None,
                spki_sha256: vec![STANDARD.encode([7u8; 32])],
            },
            client_id: "palmkit-app".into(),
            redirect_uri: "com.palmkit.app:/oauth2redirect".into(),
            service_key: ServiceKey {
                id: "k1".into(),
                public_key: URL_SAFE_NO_PAD.encode([9u8; 32]),
            },
        }
    }

    #[test]
    fn valid_config_decodes_and_gets_a_trailing_slash() {
        let v = sample().validate().unwrap();
        assert_eq!(v.base_url.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(v.spki_pins, vec![[7u8; 32]]);
        assert_eq!(v.service_public_key, [9u8; 32]);
    }

    #[test]
    fn json_round_trip() {
        let c = sample();
        assert_eq!(ServiceConfig::from_json(&c.to_json()).unwrap(), c);
        assert!(matches!(
            ServiceConfig::from_json("{"),
            Err(ConfigError::Syntax(_))
        ));
    }

    fn field_of(c: ServiceConfig) -> &'static str {
        match c.validate() {
            Err(ConfigError::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let mut c = sample();
        c.base_url = "http://127.0.0.1:8443/".into();
        assert_eq!(field_of(c), "base_url");

        let mut c = sample();
        c.base_url = "https://127.0.0.1/?x=1".into();
        assert_eq!(field_of(c), "base_url");

        let mut c = sample();
        c.trust = TrustAnchors::default();
        assert_eq!(field_of(c), "trust");

        let mut c = sample();
        c.trust.spki_sha256 = vec!["abc".into()];
        assert_eq!(field_of(c), "trust.spki_sha256");

        let mut c = sample();
        c.trust.ca_pem = Some("not pem".into());
        assert_eq!(field_of(c), "trust.ca_pem");

        let mut c = sample();
        c.client_id = " ".into();
        assert_eq!(field_of(c), "client_id");

        let mut c = sample();
        c.service_key.public_key = URL_SAFE_NO_PAD.encode([1u8; 31]);
        assert_eq!(field_of(c), "service_key.public_key");

        let mut c = sample();
        c.service_key.id = "../etc".into();
        assert_eq!(field_of(c), "service_key.id");
    }
}
