//! What every handler can reach ([`AppState`]: the database, the service key id, the
//! login state, the upload store, the palm reader, the attestation verifier) and how far
//! the server trusts clients ([`ServerMode`]). Below the handlers; the router hands it to
//! them.

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::oauth::grants::Lifetimes;
use crate::accounts::oauth::limiter::LoginLimiter;
use crate::attestation::platform::{PlatformConfig, Platforms};
use crate::data_keys::DataKeys;
use crate::db::Db;
use crate::limits::Limits;
use crate::palms::PalmReader;
use crate::palms::index::SearchIndex;
use crate::palms::pictures::PictureLimits;
use crate::rate::{KeyedBucket, WindowLimit};
use crate::uploads::store::UploadState;

/// How far the server trusts what a client says about its captures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerMode {
    /// What `palmkit serve` runs unless told otherwise. An upload must carry a platform
    /// attestation bound to the hash of the sealed envelope, a sealed spoof verdict and
    /// camera origin: a modified client can seal anything with base-mode HPKE (no sender
    /// authentication), so the verdict is only worth what the attestation proves about
    /// the app that sealed it. No development attestation key exists, and the
    /// development format is refused. App Attest and Key Attestation statements are
    /// verified offline against the platforms' roots for the apps named in
    /// [`ServerOptions::attestation`] (`attestation::platform`); with no app named, every
    /// upload is refused.
    #[default]
    Production,
    /// The demo, tests and desktop QA: attestation is optional and may use the
    /// development format (its key in `DATA/dev-attestation.key`), file-origin captures
    /// and captures without a verdict are accepted.
    Development,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    db: Db,
    data_keys: Arc<DataKeys>,
    mode: ServerMode,
    current_key_id: String,
    auth: Arc<AuthState>,
    uploads: Arc<UploadState>,
    provider_writes: Arc<WindowLimit>,
    palms: Option<Arc<PalmReader>>,
    index: Option<Arc<SearchIndex>>,
    submit_turn: Arc<tokio::sync::Mutex<()>>,
    scan_slots: Arc<tokio::sync::Semaphore>,
    decode_slots: Arc<tokio::sync::Semaphore>,
    pictures: Arc<PictureLimits>,
    device_scans: Arc<KeyedBucket>,
    store_scans: Arc<KeyedBucket>,
    platforms: Arc<Platforms>,
}

struct AuthState {
    issuer: String,
    lifetimes: Lifetimes,
    limiter: LoginLimiter,
}

impl AppState {
    /// State over a prepared data directory (its database, the data keys that open what
    /// it keeps wrapped, the current service key), the issuer URL
    /// (`https://HOST:PORT`, no trailing slash), token lifetimes, the upload store, the
    /// mode and the request limits.
    pub fn new(
        data: &crate::DataDir,
        issuer: String,
        lifetimes: Lifetimes,
        uploads: UploadState,
        mode: ServerMode,
        limits: &Limits,
    ) -> Self {
        Self {
            db: data.db.clone(),
            data_keys: data.data_keys.clone(),
            current_key_id: data.key.id.clone(),
            mode,
            provider_writes: Arc::new(WindowLimit::new(
                limits.provider_writes_per_minute,
                Duration::from_secs(60),
            )),
            palms: None,
            index: None,
            submit_turn: Arc::default(),
            scan_slots: Arc::new(tokio::sync::Semaphore::new(limits.scan_workers.max(1))),
            decode_slots: Arc::new(tokio::sync::Semaphore::new(
                limits.pictures.decodes_at_once.max(1),
            )),
            pictures: Arc::new(limits.pictures.clone()),
            device_scans: Arc::new(KeyedBucket::new(
                limits.scans_per_device.0,
                limits.scans_per_device.1,
            )),
            store_scans: Arc::new(KeyedBucket::new(
                limits.scans_per_store.0,
                limits.scans_per_store.1,
            )),
            platforms: Arc::new(Platforms::new(PlatformConfig::default())),
            uploads: Arc::new(uploads),
            auth: Arc::new(AuthState {
                issuer,
                lifetimes,
                limiter: LoginLimiter::default(),
            }),
        }
    }

    /// The same state reading palms with `reader` (signatures of accepted captures, store
    /// scans) and matching store scans in `index`.
    pub fn with_palms(mut self, reader: Arc<PalmReader>, index: Arc<SearchIndex>) -> Self {
        self.palms = Some(reader);
        self.index = Some(index);
        self
    }

    /// The store scans' bounded pool: a scan holds a slot while it decodes, reads and
    /// searches.
    pub fn scan_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.scan_slots
    }

    /// The pictures' decode slots: a capture being checked or a scan being read holds one
    /// while its picture is decoded and read (one per core by default), so the memory
    /// decoding takes is bounded by the slots times the budget of one.
    pub fn decode_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.decode_slots
    }

    /// A place in one of the state's pools (`scan_slots`, `decode_slots`), waited for;
    /// given back when the permit drops. The wait counts in the request timeout.
    pub async fn slot(
        pool: &Arc<tokio::sync::Semaphore>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, crate::db::DbError> {
        pool.clone()
            .acquire_owned()
            .await
            .map_err(|e| crate::db::DbError::Task(e.to_string()))
    }

    /// The store scans' budgets: per device, and per store.
    pub fn scan_budgets(&self) -> (&KeyedBucket, &KeyedBucket) {
        (&self.device_scans, &self.store_scans)
    }

    /// The limits pictures are decoded under.
    pub fn pictures(&self) -> &Arc<PictureLimits> {
        &self.pictures
    }

    /// The store match's search index, when the server reads palms.
    pub fn index(&self) -> Option<&Arc<SearchIndex>> {
        self.index.as_ref()
    }

    /// The submissions' turn: a submit holds it across its duplicate-palm search and its
    /// write, so two accounts submitting one palm at once cannot each miss the other
    /// ([`crate::palms::holds`]).
    pub fn submit_turn(&self) -> &tokio::sync::Mutex<()> {
        &self.submit_turn
    }

    /// The same state verifying platform attestation with `platforms`.
    pub fn with_platforms(mut self, platforms: Platforms) -> Self {
        self.platforms = Arc::new(platforms);
        self
    }

    /// The platform attestation verifier (trusted apps, policy, roots), shared for the
    /// blocking pool.
    pub fn platforms_arc(&self) -> Arc<Platforms> {
        self.platforms.clone()
    }

    /// The palm reader, when the server has the hand models.
    pub fn palms(&self) -> Option<&Arc<PalmReader>> {
        self.palms.as_ref()
    }

    /// Id of the key new uploads should be sealed to.
    pub fn current_key_id(&self) -> &str {
        &self.current_key_id
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The keys that open the service keys and the enrollment keys the database holds.
    pub fn data_keys(&self) -> &Arc<DataKeys> {
        &self.data_keys
    }

    /// The per-address limit of card tokenizations.
    pub fn provider_writes(&self) -> &WindowLimit {
        &self.provider_writes
    }

    /// Production or development.
    pub fn mode(&self) -> ServerMode {
        self.mode
    }

    /// The OAuth issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.auth.issuer
    }

    /// Token lifetimes.
    pub fn lifetimes(&self) -> Lifetimes {
        self.auth.lifetimes
    }

    /// The capture upload store.
    pub fn uploads(&self) -> &UploadState {
        &self.uploads
    }

    pub(crate) fn uploads_arc(&self) -> Arc<UploadState> {
        self.uploads.clone()
    }

    /// The login attempt limiter.
    pub fn login_limiter(&self) -> &LoginLimiter {
        &self.auth.limiter
    }
}
