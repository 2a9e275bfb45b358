//! Production attestation end to end: a real `palmkit serve` in production mode on
//! 127.0.0.1 trusting a test root (as an operator's extra root), the core's enrollment
//! client with attestors that build real-size statements under that root (Android Key
//! Attestation chains of ~13 KB, App Attest objects and assertions), through the HTTP/2
//! upload path. Each refusal is named at creation and leaves nothing stored.

use crate::support;

use std::sync::{Arc, Mutex};

use palmkit_core::account::AccountClient;
use std::collections::HashMap;

use palmkit_core::attestation::platform::{
    AppAttestDevice, AppAttestFlow, AttestedKey, KeyAttestationDevice, KeyAttestationFlow,
};
use palmkit_core::attestation::{Attestation, AttestationError, Attestor};
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::{Error, UploadFailure};
use palmkit_core::liveness::{Layer, LayerReport, Outcome, SpoofVerdict};
use palmkit_core::protocol::{CaptureSource, Hand, upload_metadata};
use palmkit_core::upload::{CancelToken, Capture, NoProgress, TusAuth, TusClient, TusOptions};
use palmkit_server::attestation::platform::PlatformConfig;
use palmkit_server::attestation::verify::test_chains::{
    AndroidKey, AppleDevice, AppleOptions, TestRoot,
};
use palmkit_server::attestation::verify::token;
use palmkit_server::db::Db;
use zeroize::Zeroizing;

const PACKAGE: &str = "com.palmkit.app";
const APP_ID: &str = "ABCDE12345.com.palmkit.app";

struct Rig {
    dir: tempfile::TempDir,
    server: palmkit_server::RunningServer,
    account: AccountClient,
    root: Arc<TestRoot>,
}

impl Rig {
    async fn start(configure: impl FnOnce(&mut PlatformConfig, &std::path::Path)) -> Self {
        let root = Arc::new(TestRoot::new("PalmKit test attestation root").unwrap());
        let pem = root.pem();
        let status_dir = tempfile::tempdir().unwrap().keep();
        let (dir, server) = support::start_server(|o| {
            o.mode = palmkit_server::ServerMode::Production;
            let mut config = PlatformConfig {
                apple_app_ids: vec![APP_ID.into()],
                android_apps: vec![PACKAGE.into()],
                ..PlatformConfig::default()
            };
            config.anchors.add_pem(pem.as_bytes()).unwrap();
            configure(&mut config, &status_dir);
            o.attestation = config;
        })
        .await;
        let account = AccountClient::new(&server.client_config, support::mock_store()).unwrap();
        support::log_in(&account, &server.client_config).await;
        EnrollmentClient::new(&account)
            .give_consent("biometric-2026-11")
            .await
            .unwrap();
        Self {
            dir,
            server,
            account,
            root,
        }
    }

    fn db(&self) -> Db {
        Db::open(&self.dir.path().join("palmkit.sqlite3")).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.db()
            .with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    /// Upload rows and part files: what a refusal at creation must not leave.
    fn stored(&self) -> (i64, usize) {
        let parts = std::fs::read_dir(self.dir.path().join("uploads"))
            .map(|d| d.count())
            .unwrap_or(0);
        (self.count("SELECT count(*) FROM uploads"), parts)
    }

    async fn upload(&self, attestor: &dyn Attestor) -> Result<String, Error> {
        let enrollments = EnrollmentClient::new(&self.account).with_attestor(attestor);
        let draft = enrollments.create(&[Hand::Right]).await.unwrap();
        let report = enrollments
            .upload_capture(
                &draft.id,
                Hand::Right,
                passing_capture(),
                &TusOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .await?;
        Ok(report.id)
    }

    async fn refused(&self, attestor: &dyn Attestor) -> (String, String) {
        let before = self.stored();
        let err = self.upload(attestor).await.unwrap_err();
        assert_eq!(
            self.stored(),
            before,
            "a refusal at creation stores nothing: {err:?}"
        );
        match err {
            Error::Upload(UploadFailure::Rejected { code, message }) => (code, message),
            Error::Service { code, message, .. } => (code, message),
            other => panic!("not a refusal: {other:?}"),
        }
    }
}

/// A camera capture of a real palm with a spoof verdict that passed (production's bar).
fn passing_capture() -> Capture {
    let verdict = SpoofVerdict::combine(vec![
        LayerReport::new(
            Layer::ScreenReplay,
            0.9,
            1.0,
            Outcome::Pass,
            "no pattern".into(),
        ),
        LayerReport::new(Layer::Challenge, 1.0, 1.0, Outcome::Pass, "met".into()),
    ]);
    Capture::new(Zeroizing::new(support::palm_photo()), CaptureSource::Camera)
        .unwrap()
        .with_spoof(&verdict)
}

/// AndroidKeyStore, faked under the test root: a fresh key per upload whose chain says
/// what `shape` says, over the challenge it is given (or a fixed one: another upload's).
/// The token is the core's [`KeyAttestationFlow`] (what the app runs).
struct FakeKeyStore {
    root: Arc<TestRoot>,
    shape: fn(AndroidKey) -> AndroidKey,
    wrong_challenge: bool,
}

impl FakeKeyStore {
    fn new(root: &Arc<TestRoot>, shape: fn(AndroidKey) -> AndroidKey) -> Self {
        Self {
            root: root.clone(),
            shape,
            wrong_challenge: false,
        }
    }
}

impl KeyAttestationDevice for FakeKeyStore {
    fn attested_chain(&self, challenge: &[u8; 32]) -> Result<Vec<Vec<u8>>, AttestationError> {
        let challenge = if self.wrong_challenge {
            [7u8; 32]
        } else {
            *challenge
        };
        let key = (self.shape)(real_size(AndroidKey::new(&[PACKAGE], &challenge)));
        key.chain(&self.root).map_err(|e| AttestationError::Failed {
            reason: e.to_string(),
        })
    }
}

fn key_attestor(store: FakeKeyStore) -> KeyAttestationFlow {
    KeyAttestationFlow(Arc::new(store))
}

/// A device's chain is ~13 KB: vendor extensions in two intermediates.
fn real_size(k: AndroidKey) -> AndroidKey {
    AndroidKey {
        filler_bytes: 4000,
        ..k
    }
}

/// A real device's chain that ends at the AOSP software root (shared test data).
struct SoftwareRootAttestor;

impl Attestor for SoftwareRootAttestor {
    fn attest(&self, _challenge: &[u8; 32]) -> Result<Attestation, AttestationError> {
        let pem = std::fs::read(
            support::testdata_dir()
                .join("attestation/android/keyattestation-marlin-sdk29-TEE_EC_NONE.chain.pem"),
        )
        .unwrap();
        let chain = palmkit_server::attestation::verify::certs::from_pem(&pem).unwrap();
        Ok(Attestation {
            format: token::ANDROID_FORMAT.into(),
            token: token::encode_android(&chain),
        })
    }
}

#[tokio::test]
async fn android_chains_are_verified_at_creation_and_refused_by_name() {
    let rig = Rig::start(|_, _| {}).await;
    let good = key_attestor(FakeKeyStore::new(&rig.root, |k| k));
    let size = good.attest(&[0; 32]).unwrap().token.len();
    assert!(size > 12_000, "a real-size token: {size} bytes");

    let id = rig.upload(&good).await.unwrap();
    let basis: String = rig
        .db()
        .with(|c| {
            Ok(c.query_row(
                "SELECT attestation FROM captures WHERE upload_id = ?1",
                [&id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let basis: serde_json::Value = serde_json::from_str(&basis).unwrap();
    assert_eq!(basis["format"], token::ANDROID_FORMAT);
    assert_eq!(basis["environment"], "TrustedEnvironment");
    assert_eq!(basis["security_level"], "TrustedEnvironment");
    assert_eq!(basis["boot_state"], "Verified");
    assert_eq!(basis["root"], "PalmKit test attestation root");
    assert!(basis["key_id"].as_str().is_some_and(|k| k.len() == 44));

    let cases: Vec<(KeyAttestationFlow, &str)> = vec![
        (
            key_attestor(FakeKeyStore::new(&rig.root, |k| AndroidKey {
                packages: vec!["com.example.other".into()],
                ..k
            })),
            "wrong_app_id",
        ),
        (
            key_attestor(FakeKeyStore::new(&rig.root, |k| AndroidKey {
                security_level: 0,
                ..k
            })),
            "insecure_device",
        ),
        (
            key_attestor(FakeKeyStore::new(&rig.root, |k| AndroidKey {
                device_locked: false,
                boot_state: 2,
                ..k
            })),
            "insecure_device",
        ),
        (
            key_attestor(FakeKeyStore {
                wrong_challenge: true,
                ..FakeKeyStore::new(&rig.root, |k| k)
            }),
            "wrong_challenge",
        ),
    ];
    for (attestor, reason) in &cases {
        let (code, message) = rig.refused(attestor).await;
        assert_eq!(code, "attestation_invalid");
        assert!(message.starts_with(reason), "{reason}: {message}");
    }
    let (code, message) = rig.refused(&SoftwareRootAttestor).await;
    assert_eq!(
        (code.as_str(), message.split(':').next()),
        ("attestation_invalid", Some("software_root"))
    );
    rig.server.shutdown().await;
}

#[tokio::test]
async fn a_revoked_serial_and_a_replayed_nonce_are_refused_at_creation() {
    let status = Arc::new(Mutex::new(std::path::PathBuf::new()));
    let path = status.clone();
    let rig = Rig::start(move |config, dir| {
        let file = dir.join("status.json");
        std::fs::write(&file, br#"{"entries":{}}"#).unwrap();
        config.status_list = Some(file.clone());
        *path.lock().unwrap() = file;
    })
    .await;
    let good = key_attestor(FakeKeyStore::new(&rig.root, |k| k));
    rig.upload(&good).await.unwrap();

    // The operator refreshes the list: the root's serial is revoked now.
    let root_serial = {
        let cert = palmkit_server::attestation::verify::certs::parse(rig.root.der()).unwrap();
        palmkit_server::attestation::verify::certs::serial_hex(&cert)
    };
    let file = status.lock().unwrap().clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &file,
        format!(
            r#"{{"entries":{{"{root_serial}":{{"status":"REVOKED","reason":"KEY_COMPROMISE"}}}}}}"#
        ),
    )
    .unwrap();
    let (code, message) = rig.refused(&good).await;
    assert_eq!(code, "attestation_invalid");
    assert!(message.starts_with("revoked"), "{message}");
    std::fs::write(&file, br#"{"entries":{}}"#).unwrap();

    // A statement replayed with its nonce: the second creation is refused by name.
    let enrollments = EnrollmentClient::new(&rig.account);
    let draft = enrollments.create(&[Hand::Left]).await.unwrap();
    let account = rig.account.account().await.unwrap();
    let sealed = enrollments
        .seal(
            &account.account_id,
            &draft.id,
            Hand::Left,
            passing_capture(),
        )
        .unwrap();
    let nonce = enrollments.attestation_nonce().await.unwrap();
    let challenge = palmkit_core::attestation::challenge(nonce.nonce.as_bytes(), &sealed.sha256());
    let statement = good.attest(&challenge).unwrap();
    use base64::Engine as _;
    let token_text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&statement.token);
    let hash: String = sealed.sha256().iter().map(|b| format!("{b:02x}")).collect();
    let metadata = [
        (upload_metadata::ENROLLMENT_ID, draft.id.as_str()),
        (upload_metadata::HAND, "left"),
        (upload_metadata::ATTESTATION_FORMAT, token::ANDROID_FORMAT),
        (upload_metadata::ATTESTATION_NONCE, nonce.nonce.as_str()),
        (upload_metadata::UPLOAD_SHA256, hash.as_str()),
        (upload_metadata::ATTESTATION, token_text.as_str()),
    ];
    let tus = || {
        TusClient::new(
            rig.account.net().http(),
            rig.account.net().url("v1/uploads").unwrap(),
            TusAuth::Account(&rig.account),
            TusOptions::default(),
        )
    };
    tus()
        .upload(&sealed, &metadata, &NoProgress, &CancelToken::new())
        .await
        .unwrap();
    let before = rig.stored();
    let replay = tus()
        .upload(&sealed, &metadata, &NoProgress, &CancelToken::new())
        .await
        .unwrap_err();
    assert_eq!(rig.stored(), before);
    assert!(
        format!("{replay:?}").contains("attestation_nonce_used"),
        "{replay:?}"
    );
    rig.server.shutdown().await;
}

/// DeviceCheck, faked under the test root: the two calls the iOS shell makes. The key
/// state, the token and the re-attest are the core's [`AppAttestFlow`] (what the app runs).
struct FakeAppAttestDevice {
    root: Arc<TestRoot>,
    keys: Mutex<HashMap<String, AppleDevice>>,
    /// Replay: every assertion carries this counter.
    fixed_counter: Option<u32>,
}

impl FakeAppAttestDevice {
    fn new(root: &Arc<TestRoot>) -> Self {
        Self {
            root: root.clone(),
            keys: Mutex::new(HashMap::new()),
            fixed_counter: None,
        }
    }
}

fn failed(e: palmkit_server::attestation::verify::test_chains::BuildError) -> AttestationError {
    AttestationError::Failed {
        reason: e.to_string(),
    }
}

impl AppAttestDevice for FakeAppAttestDevice {
    fn attest_new_key(&self, client_data_hash: &[u8; 32]) -> Result<AttestedKey, AttestationError> {
        let device = AppleDevice::new(AppleOptions::default()).map_err(failed)?;
        let attestation = device
            .attest(&self.root, APP_ID, client_data_hash)
            .map_err(failed)?;
        let key_id = device.key_id();
        self.keys.lock().unwrap().insert(key_id.clone(), device);
        Ok(AttestedKey {
            key_id,
            attestation,
        })
    }

    fn generate_assertion(
        &self,
        key_id: &str,
        client_data_hash: &[u8; 32],
    ) -> Result<Vec<u8>, AttestationError> {
        let mut keys = self.keys.lock().unwrap();
        let device = keys
            .get_mut(key_id)
            .ok_or_else(|| AttestationError::Failed {
                reason: "no such key on this device".into(),
            })?;
        match self.fixed_counter {
            Some(c) => device.assertion_with_counter(APP_ID, client_data_hash, c),
            None => device.assert(APP_ID, client_data_hash),
        }
        .map_err(failed)
    }
}

fn app_attest(device: FakeAppAttestDevice) -> AppAttestFlow {
    AppAttestFlow::new(Arc::new(device), support::mock_store())
}

#[tokio::test]
async fn app_attest_registers_a_key_then_verifies_its_assertions() {
    let rig = Rig::start(|_, _| {}).await;
    let attestor = app_attest(FakeAppAttestDevice::new(&rig.root));
    rig.upload(&attestor).await.unwrap();
    let key_id = attestor.key_id().unwrap().unwrap();
    let counter = |rig: &Rig, key: &str| -> i64 {
        rig.db()
            .with(|c| {
                Ok(c.query_row(
                    "SELECT counter FROM app_attest_keys WHERE key_id = ?1",
                    [key],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    assert_eq!(
        counter(&rig, &key_id),
        1,
        "registered with the first assertion's counter"
    );
    rig.upload(&attestor).await.unwrap();
    assert_eq!(
        counter(&rig, &key_id),
        2,
        "the second upload's assertion moved it on"
    );
    // Each capture keeps what its verdict rested on.
    let kept: Vec<serde_json::Value> = rig
        .db()
        .with(|c| {
            let mut q = c.prepare("SELECT attestation FROM captures ORDER BY created_at")?;
            let rows = q.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows
                .map(|r| serde_json::from_str(&r.unwrap()).unwrap())
                .collect())
        })
        .unwrap();
    assert_eq!(kept.len(), 2);
    for basis in &kept {
        assert_eq!(basis["format"], token::APPLE_FORMAT);
        assert_eq!(basis["environment"], "production");
        assert_eq!(basis["key_id"], key_id.as_str());
        assert_eq!(basis["app_id"], APP_ID);
    }

    // Two hands at once with one key: both pass, or one is refused cleanly.
    let (a, b) = tokio::join!(rig.upload(&attestor), rig.upload(&attestor));
    let results = [a, b];
    assert!(results.iter().any(Result::is_ok), "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(format!("{e}").contains("counter_replay"), "{e:?}");
        }
    }
    assert!(counter(&rig, &key_id) >= 3);

    // A replayed counter.
    let replayer = app_attest(FakeAppAttestDevice {
        fixed_counter: Some(1),
        ..FakeAppAttestDevice::new(&rig.root)
    });
    rig.upload(&replayer).await.unwrap();
    let (code, message) = rig.refused(&replayer).await;
    assert_eq!(code, "attestation_invalid");
    assert!(message.starts_with("counter_replay"), "{message}");

    // The service forgets the key: the app attests a new one, and the upload passes.
    rig.db()
        .with(|c| Ok(c.execute("DELETE FROM app_attest_keys WHERE key_id = ?1", [&key_id])?))
        .unwrap();
    rig.upload(&attestor).await.unwrap();
    let new_key = attestor.key_id().unwrap().unwrap();
    assert_ne!(new_key, key_id, "a new key was attested");
    assert_eq!(counter(&rig, &new_key), 1);
    let environment: String = rig
        .db()
        .with(|c| {
            Ok(c.query_row(
                "SELECT environment FROM app_attest_keys WHERE key_id = ?1",
                [&new_key],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(environment, "production");
    rig.server.shutdown().await;
}
