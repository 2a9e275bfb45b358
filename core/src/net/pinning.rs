//! The TLS certificate check behind every connection to the service: the usual WebPKI
//! chain and host-name verification against the pinned roots only, then the SPKI pin
//! check. A failed pin surfaces as [`PinMismatch`] inside the rustls error so that
//! [`super::classify`] can name it.
//!
//! A pin is matched against the **verified path** (leaf, the intermediates the path
//! actually used, and the trust anchor it ends at), never against whatever certificates
//! the server sends: a server with a certificate from any trusted CA could otherwise send
//! the public PalmKit CA certificate alongside and pass. When several paths verify, the
//! path builder keeps looking for one that carries a pinned key.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// Marker error: the chain verified, but no verified path carries a pinned key.
#[derive(Debug, thiserror::Error)]
#[error("no certificate of a verified path matches the SPKI pins")]
pub struct PinMismatch;

/// SHA-256 of a certificate's DER SubjectPublicKeyInfo: the value an SPKI pin holds.
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    Some(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// WebPKI verification against pinned roots, followed by the SPKI pin check.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    chain: Arc<WebPkiServerVerifier>,
    roots: RootCertStore,
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub(crate) fn new(
        roots: RootCertStore,
        pins: Vec<[u8; 32]>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, rustls::Error> {
        let chain =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots.clone()), provider.clone())
                .build()
                .map_err(|e| {
                    rustls::Error::General(format!("cannot build the certificate verifier: {e}"))
                })?;
        Ok(Self {
            chain,
            roots,
            pins,
            provider,
        })
    }

    /// Whether some path from `end_entity` through the sent `intermediates` to a trust
    /// anchor verifies and holds a pinned key (leaf, a used intermediate, or the anchor).
    fn pinned_path_exists(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> bool {
        let Ok(leaf) = webpki::EndEntityCert::try_from(end_entity) else {
            return false;
        };
        let pinned = |spki: &[u8]| self.pins.contains(&Sha256::digest(spki).into());
        let carries_pin = |path: &webpki::VerifiedPath<'_>| {
            let hit = pinned(path.end_entity().subject_public_key_info().as_ref())
                || path
                    .intermediate_certificates()
                    .any(|c| pinned(c.subject_public_key_info().as_ref()))
                || pinned(webpki::spki_for_anchor(path.anchor()).as_ref());
            // Not fatal: the path builder goes on to the next candidate path.
            if hit {
                Ok(())
            } else {
                Err(webpki::Error::UnknownIssuer)
            }
        };
        leaf.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            Some(&carries_pin),
        )
        .is_ok()
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.chain.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pins.is_empty() {
            return Ok(verified);
        }
        if self.pinned_path_exists(end_entity, intermediates, now) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}
