//! Platform attestation of uploads against the reference server on 127.0.0.1: an upload
//! attested over a fresh nonce and the envelope's hash is accepted and recorded as attested;
//! a statement over other bytes, a foreign format, an attestor that cannot attest, and an
//! unattested upload to a service that requires attestation are refused, each with its
//! code. The attestor is the development one (the shells use App Attest / Key
//! Attestation; `platform_attestation.rs` tests those against a production server).

use crate::support;

use base64::Engine as _;
use palmkit_core::account::AccountClient;
use palmkit_core::attestation::{Attestation, AttestationError, Attestor, dev};
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, UploadFailure};
use palmkit_core::protocol::{CaptureSource, Hand};
use palmkit_core::upload::{CancelToken, Capture, NoProgress, TusOptions};
use palmkit_server::db::Db;
use zeroize::Zeroizing;

struct Rig {
    dir: tempfile::TempDir,
    server: palmkit_server::RunningServer,
    account: AccountClient,
}

impl Rig {
    async fn start(require: bool) -> Self {
        Self::start_with(|o| o.limits.uploads.require_attestation = require).await
    }

    async fn start_with(configure: impl FnOnce(&mut palmkit_server::ServerOptions)) -> Self {
        let (dir, server) = support::start_server(configure).await;
        let account = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
        support::log_in(&account, &server.client_config).await;
        Self {
            dir,
            server,
            account,
        }
    }

    /// The server's development attestation key, as dev shells and tests read it.
    fn dev_key(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.dir.path().join("dev-attestation.key")).unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .unwrap()
    }

    fn db(&self) -> Db {
        Db::open(&self.dir.path().join("palmkit.sqlite3")).unwrap()
    }

    async fn upload(&self, attestor: Option<&dyn Attestor>) -> Result<String, Error> {
        let enrollments = EnrollmentClient::new(&self.account);
        let enrollments = match attestor {
            Some(a) => enrollments.with_attestor(a),
            None => enrollments,
        };
        let draft = enrollments.create(&[Hand::Right]).await.unwrap();
        let capture =
            Capture::new(Zeroizing::new(support::palm_photo()), CaptureSource::Camera).unwrap();
        let report = enrollments
            .upload_capture(
                &draft.id,
                Hand::Right,
                capture,
                &TusOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .await?;
        Ok(report.id)
    }
}

/// Signs something other than the challenge it is given (a statement over other bytes).
struct WrongBytes(Vec<u8>);

impl Attestor for WrongBytes {
    fn attest(&self, _challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        Ok(Attestation {
            format: dev::FORMAT.into(),
            token: dev::sign(&self.0, &[0u8; 32]),
        })
    }
}

/// A platform format this reference server cannot verify.
struct AppAttestFake;

impl Attestor for AppAttestFake {
    fn attest(&self, _challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        Ok(Attestation {
            format: "apple-app-attest".into(),
            token: vec![1, 2, 3],
        })
    }
}

/// A device that cannot attest.
struct NoSecureHardware;

impl Attestor for NoSecureHardware {
    fn attest(&self, _challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        Err(AttestationError::Unavailable {
            reason: "no Secure Enclave".into(),
        })
    }
}

fn refused_code(e: &Error) -> String {
    match e {
        Error::Upload(UploadFailure::Rejected { code, .. }) => code.clone(),
        Error::Service { code, .. } => code.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn an_attested_upload_is_accepted_and_a_false_statement_is_not() {
    let rig = Rig::start(false).await;
    let attestor = dev::DevAttestor::new(rig.dev_key());
    let id = rig.upload(Some(&attestor)).await.unwrap();
    let (attested, nonces_spent): (Option<String>, i64) = rig
        .db()
        .with(|c| {
            let a = c.query_row(
                "SELECT attestation FROM captures WHERE upload_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            let n = c.query_row(
                "SELECT count(*) FROM attestation_nonces WHERE used_at IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            Ok((a, n))
        })
        .unwrap();
    assert_eq!(attested.as_deref(), Some(dev::FORMAT));
    assert_eq!(nonces_spent, 1);

    // Unattested uploads are still taken by this service, and recorded as such.
    let plain = rig.upload(None).await.unwrap();
    let attested: Option<String> = rig
        .db()
        .with(|c| {
            Ok(c.query_row(
                "SELECT attestation FROM captures WHERE upload_id = ?1",
                [&plain],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(attested, None);

    let wrong = rig
        .upload(Some(&WrongBytes(rig.dev_key())))
        .await
        .unwrap_err();
    assert_eq!(refused_code(&wrong), "attestation_invalid", "{wrong:?}");
    let foreign = rig.upload(Some(&AppAttestFake)).await.unwrap_err();
    assert_eq!(
        refused_code(&foreign),
        "attestation_unsupported",
        "{foreign:?}"
    );
    let unable = rig.upload(Some(&NoSecureHardware)).await.unwrap_err();
    assert!(
        matches!(&unable, Error::Upload(UploadFailure::Attestation(m)) if m.contains("Secure Enclave")),
        "{unable:?}"
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_service_that_requires_attestation_refuses_an_unattested_upload() {
    let rig = Rig::start(true).await;
    let err = rig.upload(None).await.unwrap_err();
    assert_eq!(refused_code(&err), "attestation_required", "{err:?}");
    let attestor = dev::DevAttestor::new(rig.dev_key());
    rig.upload(Some(&attestor)).await.unwrap();
    rig.server.shutdown().await;
}

/// Finding 7 of the attack on the service: a modified client could enroll anything, since
/// the verdict is sealed without sender authentication, attestation was off and
/// file-origin uploads were taken. A server in production mode (what `ServerOptions::new`
/// and `palmkit serve` give) requires a platform attestation it can verify (App Attest or
/// Key Attestation: `platform_attestation.rs`), refuses the development format and
/// unknown formats, and keeps no development key to forge one with.
#[tokio::test]
async fn a_production_server_takes_no_unattested_or_development_attested_upload() {
    let rig = Rig::start_with(|o| o.mode = palmkit_server::ServerMode::Production).await;
    assert!(
        !rig.dir.path().join("dev-attestation.key").exists(),
        "a production server keeps no development attestation key"
    );
    EnrollmentClient::new(&rig.account)
        .give_consent("biometric-2026-11")
        .await
        .unwrap();
    let err = rig.upload(None).await.unwrap_err();
    assert_eq!(refused_code(&err), "attestation_required", "{err:?}");
    let forged = dev::DevAttestor::new(vec![7u8; 32]);
    let err = rig.upload(Some(&forged)).await.unwrap_err();
    assert_eq!(refused_code(&err), "attestation_unsupported", "{err:?}");
    let err = rig.upload(Some(&AppAttestFake)).await.unwrap_err();
    assert_eq!(refused_code(&err), "attestation_unsupported", "{err:?}");
    let kept: i64 = rig
        .db()
        .with(|c| Ok(c.query_row("SELECT count(*) FROM captures", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(kept, 0);
    rig.server.shutdown().await;
}
