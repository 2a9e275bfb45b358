//! The development PKI: a CA and a server certificate made with rcgen on first start and
//! kept in `DATA_DIR/tls/` (private keys mode 0600), reused on every later start so pinned
//! clients keep working. A missing server certificate is re-issued from the kept CA.
//!
//! The server certificate names `localhost`, `127.0.0.1` and `::1`: this is a server for
//! QA and tests on one machine, not for a public host name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use palmkit_core::net::pinning::spki_sha256;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{StartError, io_err};

/// The CA and server certificate of a data directory.
pub struct DevPki {
    /// Path of the CA certificate (what clients pin).
    pub ca_path: PathBuf,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The server certificate, PEM.
    pub server_pem: String,
    server_key_pem: String,
    /// SPKI pin (base64 SHA-256) of the CA key.
    pub ca_spki_pin: String,
    /// SPKI pin (base64 SHA-256) of the server key.
    pub leaf_spki_pin: String,
}

fn tls_err(what: &str) -> impl FnOnce(rcgen::Error) -> StartError + '_ {
    move |e| StartError::Tls(format!("{what}: {e}"))
}

impl DevPki {
    /// Loads the material in `dir`, making what is missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, StartError> {
        crate::files::private_dir(dir)?;
        let ca_path = dir.join("ca.pem");
        let ca_key_path = dir.join("ca-key.pem");
        let server_path = dir.join("server.pem");
        let server_key_path = dir.join("server-key.pem");

        if !(ca_path.exists() && ca_key_path.exists()) {
            let key = KeyPair::generate().map_err(tls_err("CA key"))?;
            let cert = ca_params()
                .self_signed(&key)
                .map_err(tls_err("CA certificate"))?;
            crate::files::write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&ca_path, cert.pem()).map_err(io_err(&ca_path))?;
            // A new CA invalidates any old server certificate.
            let _ = std::fs::remove_file(&server_path);
        }
        let ca_pem = std::fs::read_to_string(&ca_path).map_err(io_err(&ca_path))?;
        let ca_key_pem = std::fs::read_to_string(&ca_key_path).map_err(io_err(&ca_key_path))?;

        if !(server_path.exists() && server_key_path.exists()) {
            let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(tls_err("CA key file"))?;
            // The issuer is rebuilt from the same parameters and the kept key: that yields the
            // same subject name and key identifier as the CA certificate on disk, without
            // pulling in an X.509 parser to read it back.
            let issuer = Issuer::new(ca_params(), ca_key);
            let key = KeyPair::generate().map_err(tls_err("server key"))?;
            let mut params = CertificateParams::new(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ])
            .map_err(tls_err("server names"))?;
            params
                .distinguished_name
                .push(DnType::CommonName, "PalmKit reference server");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.not_after = rcgen::date_time_ymd(2035, 1, 1);
            let cert = params
                .signed_by(&key, &issuer)
                .map_err(tls_err("server certificate"))?;
            crate::files::write_private(&server_key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&server_path, cert.pem()).map_err(io_err(&server_path))?;
        }
        let server_pem = std::fs::read_to_string(&server_path).map_err(io_err(&server_path))?;
        let server_key_pem =
            std::fs::read_to_string(&server_key_path).map_err(io_err(&server_key_path))?;

        let ca_spki_pin = pin_of(&ca_pem, &ca_path)?;
        let leaf_spki_pin = pin_of(&server_pem, &server_path)?;
        Ok(Self {
            ca_path,
            ca_pem,
            server_pem,
            server_key_pem,
            ca_spki_pin,
            leaf_spki_pin,
        })
    }

    /// The rustls server configuration: chain (server, CA), ring provider, h2 + HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, StartError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| StartError::Tls(format!("{what}: {e}"));
        let mut chain = Vec::new();
        for pem in [&self.server_pem, &self.ca_pem] {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                chain.push(cert.map_err(|e| bad("certificate PEM", &e))?);
            }
        }
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| bad("server key PEM", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", &e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| bad("server certificate", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The CA's parameters; fixed so that a kept CA key can issue again (see above).
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "PalmKit development CA");
    name.push(DnType::OrganizationName, "PalmKit");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params
}

fn pin_of(pem: &str, path: &Path) -> Result<String, StartError> {
    let cert = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| StartError::Tls(format!("{}: {e}", path.display())))?;
    let hash = spki_sha256(&cert).ok_or_else(|| {
        StartError::Tls(format!("{}: not a parsable certificate", path.display()))
    })?;
    Ok(STANDARD.encode(hash))
}
