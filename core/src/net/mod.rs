//! The one HTTP client of the core: reqwest over rustls (ring provider), pinned to the
//! service named in the configuration and unable to talk to anything else.
//!
//! It owns TLS set-up ([`pinning`]), turning transport failures into typed
//! [`Error`]s ([`classify`]) and reading answers with a size cap, so a hostile or broken
//! server cannot make the app buffer without bound. Account, payment and upload all go
//! through [`PinnedClient`].

pub mod pinning;

use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};
use url::Url;

use crate::config::ValidatedConfig;
use crate::error::{Error, NetworkFailure, TrustFailure};

/// Largest JSON answer the core reads from the service.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client that only completes TLS handshakes with the pinned service.
#[derive(Clone, Debug)]
pub struct PinnedClient {
    http: reqwest::Client,
    base_url: Url,
}

impl PinnedClient {
    /// Builds the client for a validated configuration.
    pub fn new(config: &ValidatedConfig) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        if config.ca_certs.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            for cert in &config.ca_certs {
                roots.add(cert.clone()).map_err(|e| {
                    Error::Config(crate::config::ConfigError::Field {
                        field: "trust.ca_pem",
                        problem: format!("holds a certificate that cannot be a trust anchor: {e}"),
                    })
                })?;
            }
        }
        let verifier =
            pinning::PinnedVerifier::new(roots, config.spki_pins.clone(), provider.clone())
                .map_err(|e| Error::Untrusted(TrustFailure::Handshake(e.to_string())))?;
        let mut tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Untrusted(TrustFailure::Handshake(e.to_string())))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // reqwest does not set ALPN on a preconfigured rustls config.
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            // A redirect could lead off the pinned origin; the protocol never needs one.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("palmkit-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Untrusted(TrustFailure::Handshake(e.to_string())))?;
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
        })
    }

    /// The service URL for a path relative to the base URL (`"healthz"`, `"v1/..."`).
    pub fn url(&self, path: &str) -> Result<Url, Error> {
        self.base_url
            .join(path)
            .map_err(|e| Error::Protocol(format!("cannot form a URL for {path:?}: {e}")))
    }

    /// The underlying reqwest client, for modules that build their own requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Reads a whole answer body, refusing one larger than `limit` bytes.
pub async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::Protocol(format!("answer larger than {limit} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > limit {
            return Err(Error::Protocol(format!("answer larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Turns a reqwest failure into the core's typed error.
///
/// rustls errors arrive wrapped in (nested) `std::io::Error`s, whose `source()` skips the
/// wrapped error itself; so an io::Error link is followed with `get_ref` instead.
pub fn classify(err: reqwest::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Error::Untrusted(trust_failure(tls));
        }
        source = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    let detail = strip_query(&err);
    let kind = if err.is_timeout() {
        NetworkFailure::Timeout
    } else if err.is_connect() {
        NetworkFailure::Connect
    } else {
        NetworkFailure::Interrupted
    };
    Error::Network { kind, detail }
}

fn trust_failure(err: &rustls::Error) -> TrustFailure {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            // BadSignature: the issuer's name matches a pinned CA but another key signed it.
            C::UnknownIssuer | C::BadSignature => TrustFailure::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TrustFailure::WrongHost,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TrustFailure::Expired,
            C::Other(other) if other.0.downcast_ref::<pinning::PinMismatch>().is_some() => {
                TrustFailure::PinMismatch
            }
            other => TrustFailure::Handshake(format!("{other:?}")),
        },
        other => TrustFailure::Handshake(other.to_string()),
    }
}

/// The error text without the URL's query string, which may one day carry an OAuth code.
fn strip_query(err: &reqwest::Error) -> String {
    let text = err.to_string();
    match err.url() {
        Some(url) if url.query().is_some() => {
            let mut clean = url.clone();
            clean.set_query(None);
            text.replace(url.as_str(), clean.as_str())
        }
        _ => text,
    }
}
