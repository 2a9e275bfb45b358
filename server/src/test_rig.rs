//! The one test rig of the core's and the server's integration tests (feature
//! `test-rig`, never in the release server): the reference server on a free 127.0.0.1
//! port in a fresh data directory, the test shopper signed in through the real login page,
//! and the few looks inside the service a test needs (its database, the plaintext it would
//! open). The schema stays the server's: the core's tests ask the rig, not the tables.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palmkit_core::ServiceConfig;
use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::error::Error;
use palmkit_core::net::PinnedClient;
use palmkit_core::protocol::{CaptureSource, Enrollment, Hand};
use palmkit_core::upload::envelope::{self, SealContext};
use palmkit_core::upload::{
    CancelToken, Capture, RetryPolicy, TusOptions, UploadProgress, UploadReport,
};
use zeroize::Zeroizing;

use crate::accounts::browser::ScriptedBrowser;
use crate::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use crate::db::Db;
use crate::{RunningServer, ServerOptions};

/// A development server in its own temporary data directory (removed on drop).
pub struct TestRig {
    /// The running server.
    pub server: RunningServer,
    dir: tempfile::TempDir,
}

impl TestRig {
    /// A development server with the default options.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A development server after `configure` has adjusted its options.
    pub async fn start_with(configure: impl FnOnce(&mut ServerOptions)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut options = ServerOptions::development(dir.path(), "127.0.0.1:0".parse().unwrap());
        configure(&mut options);
        let server = crate::start(options).await.expect("the test server starts");
        Self { server, dir }
    }

    /// The data directory and the server, for tests that stop and restart it there.
    pub fn into_parts(self) -> (tempfile::TempDir, RunningServer) {
        (self.dir, self.server)
    }

    /// A rig over a server started again in the data directory of an earlier one.
    pub fn from_parts(dir: tempfile::TempDir, server: RunningServer) -> Self {
        Self { server, dir }
    }

    /// Stops the server gracefully (the data directory goes when the rig is dropped).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// [`into_parts`](Self::into_parts), and a pinned client that trusts the server.
    pub fn into_parts_and_client(self) -> (tempfile::TempDir, RunningServer, PinnedClient) {
        let client = self.pinned_client();
        (self.dir, self.server, client)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// What a client needs to trust the server.
    pub fn client_config(&self) -> &ServiceConfig {
        &self.server.client_config
    }

    /// A second connection to the server's database (SQLite allows it; WAL readers do not
    /// block the server).
    pub fn db(&self) -> Db {
        Db::open(&self.dir.path().join("palmkit.sqlite3")).expect("the test database opens")
    }

    /// The data keys the server opened its database with (the data directory's file).
    pub fn data_keys(&self) -> crate::data_keys::DataKeys {
        crate::data_keys::DataKeys::load(&crate::data_keys::DataKeySource::DataDir, self.dir.path())
            .expect("the data keys load")
    }

    /// The single number `sql` selects from the server's database.
    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .expect("the count query runs")
    }

    /// How many uploads the server holds, in any state (of `hand` only, when given).
    pub fn upload_count(&self, hand: Option<Hand>) -> i64 {
        match hand {
            None => self.count("SELECT count(*) FROM uploads"),
            Some(hand) => self
                .db()
                .with(|c| {
                    Ok(c.query_row(
                        "SELECT count(*) FROM uploads WHERE hand = ?1",
                        [hand.as_str()],
                        |r| r.get(0),
                    )?)
                })
                .expect("the count query runs"),
        }
    }

    /// A pinned HTTPS client that trusts the server.
    pub fn pinned_client(&self) -> PinnedClient {
        PinnedClient::new(&self.server.client_config.validate().unwrap()).unwrap()
    }

    /// A client of the test shopper, signed in through the real login page, with its
    /// tokens in a fresh in-memory store.
    pub async fn test_shopper(&self) -> AccountClient {
        self.test_shopper_in(memory_store()).await
    }

    /// [`test_shopper`](Self::test_shopper) with its tokens in `store` (for a test that
    /// hands the same login to a second client).
    pub async fn test_shopper_in(&self, store: Arc<KeyringStore>) -> AccountClient {
        let account = AccountClient::new(&self.server.client_config, store).unwrap();
        log_in(&account, &self.server.client_config).await;
        account
    }

    /// Creates another shopper and signs them in with a fresh client: the attacker of
    /// cross-account tests.
    pub async fn another_shopper(&self, email: &str) -> AccountClient {
        another_shopper(&self.server, self.dir.path(), email).await
    }

    /// The spoof verdict the server keeps for capture `upload_id`, opened with its
    /// enrollment's key (JSON), and the stored box it was opened from.
    pub fn opened_spoof_verdict(&self, upload_id: &str) -> (String, Vec<u8>) {
        let db = self.db();
        let (enrollment_id, boxed): (String, Vec<u8>) = db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT enrollment_id, spoof_box FROM captures WHERE upload_id = ?1",
                    [upload_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .expect("the capture has a boxed spoof verdict");
        let opened = db
            .with(|c| crate::data_keys::EnrollmentKey::get(c, &self.data_keys(), &enrollment_id))
            .unwrap()
            .expect("the enrollment has its key")
            .open(crate::data_keys::Boxed::SpoofVerdict, upload_id, &boxed)
            .expect("the verdict opens with its enrollment's key");
        (String::from_utf8(opened.to_vec()).expect("JSON"), boxed)
    }

    /// What the server keeps for upload `upload_id`, opened with its private key in the
    /// context it recorded: the plaintext the service would see.
    pub fn opened_capture(&self, upload_id: &str) -> Vec<u8> {
        let db = self.db();
        let (sealed, key_id, enrollment_id, hand, account_id): (
            Vec<u8>,
            String,
            String,
            String,
            String,
        ) = db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT c.sealed, c.key_id, c.enrollment_id, c.hand, u.account_id
                     FROM captures c JOIN uploads u ON u.id = c.upload_id WHERE c.upload_id = ?1",
                    [upload_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?)
            })
            .expect("the upload has a capture");
        let keys = self.data_keys();
        let private = db
            .with(|c| crate::keys::private_key(c, &keys, &key_id))
            .unwrap()
            .expect("the capture's key is the server's");
        let sealed = db
            .with(|c| crate::data_keys::EnrollmentKey::get(c, &keys, &enrollment_id))
            .unwrap()
            .expect("the enrollment has its key")
            .open(crate::data_keys::Boxed::Capture, upload_id, &sealed)
            .expect("the stored capture opens with its enrollment's key");
        let context = SealContext {
            account_id: &account_id,
            enrollment_id: &enrollment_id,
            hand: hand.parse::<Hand>().expect("a stored hand"),
            key_id: &key_id,
        };
        envelope::open(&sealed, &context, &private)
            .expect("the stored capture opens")
            .to_vec()
    }
}

/// The shared test data folder (`PALMKIT_TESTDATA`, which `cargo xtask test` sets, else
/// `../shared/testdata` beside the checkout).
pub fn testdata_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PALMKIT_TESTDATA") {
        return PathBuf::from(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata");
    assert!(
        beside.join("MANIFEST.tsv").exists(),
        "no test data: set PALMKIT_TESTDATA to the shared testdata folder"
    );
    beside
}

/// A real palm photograph (11k Hands, JPEG) from the shared test data.
pub fn palm_photo() -> Vec<u8> {
    std::fs::read(testdata_dir().join("palms/palm_11k_f_p.jpg")).expect("the test palm photo")
}

/// Upload options with `chunk`-byte chunks and retries quick enough for tests.
pub fn quick_retry_options(chunk: usize) -> TusOptions {
    TusOptions {
        chunk_size: chunk,
        retry: RetryPolicy {
            initial_delay: std::time::Duration::from_millis(50),
            max_delay: std::time::Duration::from_millis(400),
            ..RetryPolicy::default()
        },
        ..TusOptions::default()
    }
}

/// A draft enrollment of `account`'s shopper for `hands`.
pub async fn draft(account: &AccountClient, hands: &[Hand]) -> Enrollment {
    EnrollmentClient::new(account).create(hands).await.unwrap()
}

/// Uploads `image` as a file capture of `hand` to enrollment `enrollment_id`.
pub async fn upload_file(
    account: &AccountClient,
    enrollment_id: &str,
    hand: Hand,
    image: &[u8],
    options: &TusOptions,
    progress: &dyn UploadProgress,
) -> Result<UploadReport, Error> {
    EnrollmentClient::new(account)
        .upload_capture(
            enrollment_id,
            hand,
            Capture::new(Zeroizing::new(image.to_vec()), CaptureSource::File)?,
            options,
            progress,
            &CancelToken::new(),
        )
        .await
}

/// A credential store in memory (keyring-core's mock store): the fake of the platform
/// keychain.
pub fn memory_store() -> Arc<KeyringStore> {
    Arc::new(KeyringStore::new(keyring_core::mock::Store::new().unwrap()))
}

/// Logs the test shopper in on `account`: start, the scripted browser at the real login
/// page (trusting `browser_config`), finish. Returns the redirect URL.
pub async fn log_in(account: &AccountClient, browser_config: &ServiceConfig) -> String {
    let url = account.start_login().await.unwrap();
    let redirect = ScriptedBrowser::new(browser_config)
        .unwrap()
        .login(url.as_str(), TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
        .await
        .unwrap();
    account.finish_login(&redirect).await.unwrap();
    redirect
}

/// Creates another shopper in the database of the server in `data_dir` and logs them in
/// with a fresh client.
pub async fn another_shopper(
    server: &RunningServer,
    data_dir: &Path,
    email: &str,
) -> AccountClient {
    let db = Db::open(&data_dir.join("palmkit.sqlite3")).unwrap();
    crate::accounts::create(&db, email, "Other", "other-password").unwrap();
    let other = AccountClient::new(&server.client_config, memory_store()).unwrap();
    let url = other.start_login().await.unwrap();
    let redirect = ScriptedBrowser::new(&server.client_config)
        .unwrap()
        .login(url.as_str(), email, "other-password")
        .await
        .unwrap();
    other.finish_login(&redirect).await.unwrap();
    other
}
