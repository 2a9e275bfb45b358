//! palmkit-server: the reference enrollment service the core talks to.
//!
//! A real service, not a mock: HTTPS with rustls behind a development CA made on first
//! start ([`pki`]), SQLite in WAL mode with migrations ([`db`]), the service's HPKE keys
//! ([`keys`]), JSON errors for every failure, request limits and timeouts, request logs
//! without query strings ([`http`]), and graceful shutdown.
//!
//! [`start`] runs it on a tokio runtime and returns a [`RunningServer`] that knows its
//! address and the [`ServiceConfig`] a client needs to trust it. `palmkit serve` and
//! `palmkit demo` are thin wrappers around it.

// Domains: the handlers and their stores, each over the layers below.
pub mod accounts;
pub mod attestation;
pub mod enrollments;
pub mod palms;
pub mod payments;
pub mod uploads;

// The HTTP layers: the router at the top, what handlers share below them.
pub mod api;
pub mod auth;
pub mod body_rate;
pub mod client_limit;
pub mod connections;
pub mod html;
pub mod limits;
pub mod router;
pub mod state;

// Infrastructure, at the bottom.
pub mod data_keys;
pub mod db;
pub mod error;
pub mod files;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod pki;
pub mod rate;

// The integration tests' rig (the core's and the server's).
#[cfg(feature = "test-rig")]
pub mod test_rig;

pub use accounts::oauth::{APP_CLIENT_ID, APP_REDIRECT_URI};
pub use error::StartError;
use error::io_err;
pub use state::ServerMode;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use palmkit_core::config::{ServiceConfig, ServiceKey, TrustAnchors};

/// Name of the client configuration file written into the data directory.
pub const CLIENT_CONFIG_FILE: &str = "client-config.json";

/// The largest HTTP/2 header list accepted (see the attestation token's size).
pub const HEADER_LIST_LIMIT: u32 = 96 * 1024;

/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Where and how to run the server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Data directory: TLS material, SQLite database, client configuration.
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Limits applied to every request.
    pub limits: limits::Limits,
    /// Lifetimes of authorization codes and tokens.
    pub lifetimes: accounts::oauth::grants::Lifetimes,
    /// Tests only: record every request received.
    pub tap: Option<router::RequestTap>,
    /// Production (the default) or development.
    pub mode: ServerMode,
    /// The provisioned hand models (`cargo xtask models`). With them the server checks
    /// that every capture shows a palm of its hand, makes palm signatures, and matches
    /// store scans; without them captures are kept unread and store scans are refused
    /// (`palms_unavailable`) until a start with models rebuilds the signatures.
    pub models: Option<PathBuf>,
    /// Production attestation: the trusted apps, the device policy, the roots and the
    /// status list.
    pub attestation: attestation::platform::PlatformConfig,
    /// Where the keys that open biometric data come from (default: `data-keys` in the
    /// data directory; production puts them elsewhere).
    pub data_keys: data_keys::DataKeySource,
}

impl ServerOptions {
    /// Production options with default limits.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            limits: limits::Limits::default(),
            lifetimes: accounts::oauth::grants::Lifetimes::default(),
            tap: None,
            mode: ServerMode::Production,
            models: None,
            attestation: attestation::platform::PlatformConfig::default(),
            data_keys: data_keys::DataKeySource::default(),
        }
    }

    /// Development options (demo, tests, desktop QA) with default limits.
    pub fn development(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            mode: ServerMode::Development,
            ..Self::new(data_dir, listen)
        }
    }
}

/// Prepares a data directory (TLS material, database, service key) without serving.
/// Returns the paths of what is there. Idempotent: existing material is reused.
///
/// The folder is the owner's alone (0700) and every secret in it is 0600: the database
/// holds the HPKE private keys. The development attestation key is made and written only
/// in [`ServerMode::Development`]; in production an old one is removed.
pub fn init_data_dir(data_dir: &Path, mode: ServerMode) -> Result<DataDir, StartError> {
    prepare_data_dir(data_dir, mode, &data_keys::DataKeySource::default())
}

/// [`init_data_dir`] with the data keys from `source`. Everything the database keeps
/// wrapped under an older data key (or from before the keys) is re-wrapped under the
/// current one before anything else reads it.
pub fn prepare_data_dir(
    data_dir: &Path,
    mode: ServerMode,
    source: &data_keys::DataKeySource,
) -> Result<DataDir, StartError> {
    files::private_dir(data_dir)?;
    let pki = pki::DevPki::load_or_create(&data_dir.join("tls"))?;
    let db = db::Db::open(&data_dir.join("palmkit.sqlite3"))?;
    let data_keys = std::sync::Arc::new(data_keys::DataKeys::load(source, data_dir)?);
    db.with(|c| data_keys::rewrap(c, &data_keys))
        .map_err(|e| StartError::DataKeys(e.to_string()))?;
    let key = keys::current_or_create(&db, &data_keys)?;
    accounts::seed_test_shopper(&db)?;
    let key_path = data_dir.join(attestation::DEV_KEY_FILE);
    match mode {
        ServerMode::Development => {
            // The development attestation key, for dev shells and tests to sign with.
            use base64::Engine as _;
            let dev_key = attestation::dev_key_or_create(&db)?;
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&dev_key);
            files::write_private(&key_path, text.as_bytes())?;
        }
        ServerMode::Production => {
            attestation::forget_dev_key(&db)?;
            match std::fs::remove_file(&key_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_err(&key_path)(e));
                }
                _ => {}
            }
        }
    }
    Ok(DataDir {
        root: data_dir.to_path_buf(),
        pki,
        db,
        key,
        data_keys,
    })
}

/// A prepared data directory.
pub struct DataDir {
    /// The folder.
    pub root: PathBuf,
    /// The development CA and server certificate.
    pub pki: pki::DevPki,
    /// The open database.
    pub db: db::Db,
    /// The service key new uploads are sealed to.
    pub key: keys::PublicServiceKey,
    /// The keys that open what the database keeps wrapped.
    pub data_keys: std::sync::Arc<data_keys::DataKeys>,
}

impl DataDir {
    /// The configuration a client needs to reach and trust a server at `base_url`.
    pub fn client_config(&self, base_url: &str) -> ServiceConfig {
        ServiceConfig {
            base_url: base_url.to_string(),
            trust: TrustAnchors {
                ca_pem: Some(self.pki.ca_pem.clone()),
                // Pin the CA key and the leaf key: the CA pin survives a re-issued leaf.
                spki_sha256: vec![self.pki.ca_spki_pin.clone(), self.pki.leaf_spki_pin.clone()],
            },
            client_id: APP_CLIENT_ID.to_string(),
            redirect_uri: APP_REDIRECT_URI.to_string(),
            service_key: ServiceKey {
                id: self.key.id.clone(),
                public_key: self.key.public_key_b64.clone(),
            },
        }
    }
}

/// A server that is accepting connections.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `https://ADDR/`.
    pub base_url: String,
    /// What a client needs to trust it (also written to `client_config_path`).
    pub client_config: ServiceConfig,
    /// Where the client configuration was written.
    pub client_config_path: PathBuf,
    /// Where the CA certificate is.
    pub ca_path: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    db: db::Db,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    sweeper: tokio::task::JoinHandle<()>,
}

/// Prepares the data directory and starts serving. Returns once the socket is bound.
pub async fn start(options: ServerOptions) -> Result<RunningServer, StartError> {
    let dir = options.data_dir.clone();
    let mode = options.mode;
    let source = options.data_keys.clone();
    let data = tokio::task::spawn_blocking(move || prepare_data_dir(&dir, mode, &source))
        .await
        .map_err(|e| StartError::Tls(format!("initialisation task failed: {e}")))??;

    let listener =
        std::net::TcpListener::bind(options.listen).map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: options.listen,
        source,
    })?;
    let base_url = format!("https://{addr}/");
    let client_config = data.client_config(&base_url);
    let client_config_path = data.root.join(CLIENT_CONFIG_FILE);
    std::fs::write(&client_config_path, client_config.to_json())
        .map_err(io_err(&client_config_path))?;

    let tls = axum_server::tls_rustls::RustlsConfig::from_config(data.pki.server_config()?);
    let issuer = base_url.trim_end_matches('/').to_string();
    let upload_dir = data.root.join("uploads");
    let uploads =
        uploads::store::UploadState::new(upload_dir.clone(), options.limits.uploads.clone())
            .map_err(io_err(&upload_dir))?;
    let mut state = state::AppState::new(
        &data,
        issuer,
        options.lifetimes,
        uploads,
        options.mode,
        &options.limits,
    );
    let platforms = &options.attestation;
    tracing::info!(
        apple_apps = ?platforms.apple_app_ids,
        android_apps = ?platforms.android_apps,
        require_verified_boot = platforms.policy.require_verified_boot,
        app_attest_environments = ?platforms.policy.apple_environments,
        status_list = ?platforms.status_list,
        "platform attestation"
    );
    if options.mode == ServerMode::Production
        && platforms.apple_app_ids.is_empty()
        && platforms.android_apps.is_empty()
    {
        tracing::warn!(
            "production mode trusts no app: every upload will be refused \
             (name the apps with --apple-app-id / --android-package)"
        );
    }
    state = state.with_platforms(attestation::platform::Platforms::new(platforms.clone()));
    if let Some(models) = options.models.clone() {
        let db = data.db.clone();
        let data_keys = data.data_keys.clone();
        let pictures = options.limits.pictures.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let reader = palms::PalmReader::load(&models)
                .map_err(|e| StartError::Models(format!("{}: {e}", models.display())))?;
            // Captures kept without a signature (or with an older algorithm's) are read
            // again before the first scan can miss them.
            palms::signatures::rebuild(&db, &data_keys, &reader, &pictures)?;
            // The store match's index, from the database; the change feed keeps it current.
            let index = palms::index::SearchIndex::load(&db, data_keys)?;
            tracing::info!(signatures = index.len(), "store-match index built");
            Ok::<_, StartError>((reader, index))
        })
        .await
        .map_err(|e| StartError::Models(format!("loading task failed: {e}")))??;
        let (reader, index) = reader;
        state = state.with_palms(std::sync::Arc::new(reader), std::sync::Arc::new(index));
    }
    // Sweep as often as uploads or pending enrollments can expire, at most every minute.
    let uploads_limits = &options.limits.uploads;
    let sweep_every = uploads_limits
        .expiry
        .min(uploads_limits.pending_enrollment_ttl)
        .clamp(Duration::from_secs(1), Duration::from_secs(60));
    let sweeper = tokio::spawn(sweep_uploads(state.clone(), sweep_every));
    let app = router::router(state, &options.limits, options.tap.clone());
    let handle = axum_server::Handle::new();
    let connections = connections::ConnectionGuard::new(
        options.limits.connections_per_address,
        options.limits.connection_idle_timeout,
    );
    let mut server = axum_server::from_tcp_rustls(listener, tls)
        .map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?
        // Under TLS: a cap on the connections per address, the idle close, TCP_NODELAY.
        .map(|tls| tls.acceptor(connections.clone()))
        // A connection that never sends a whole first request (HTTP/1.1 or 2) is closed.
        .first_request_timeout(options.limits.header_read_timeout)
        .handle(handle.clone());
    let builder = server.http_builder();
    // HTTP/1.1: hyper's header-read timeout runs from the moment it waits for a request's
    // head, so it closes half-sent headers and idle keep-alive connections alike.
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(options.limits.header_read_timeout);
    // HTTP/2: pings find dead peers; each stream is held to the request timeout.
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10))
        // A platform attestation travels in the creation's Upload-Metadata: a real Android
        // chain is ~13 KB, base64url and then tus's base64 make ~23 KB, beyond hyper's
        // 16 KiB default header list. 96 KiB holds the largest token accepted
        // (`verify::token::MAX_TOKEN_BYTES`, 48 KiB: ~86 KiB once encoded twice), so a
        // token too large is refused by name, not by a reset stream.
        .max_header_list_size(HEADER_LIST_LIMIT);
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    });
    tracing::info!(%addr, data_dir = %data.root.display(), mode = ?options.mode, "palmkit-server listening");
    Ok(RunningServer {
        addr,
        base_url,
        client_config,
        client_config_path,
        ca_path: data.pki.ca_path.clone(),
        data_dir: data.root,
        db: data.db,
        handle,
        task,
        sweeper,
    })
}

/// Removes expired unfinished uploads at start and then `period` after period.
async fn sweep_uploads(state: state::AppState, period: Duration) {
    let mut every = tokio::time::interval(period);
    loop {
        every.tick().await;
        if let Err(e) = uploads::sweep_expired(&state).await {
            tracing::warn!(error = %e, "sweeping expired uploads failed");
        }
        // The store-match index's change feed: what the index applied (everything, on a
        // server without one), older than an hour, can go (one index per process today).
        let applied = state.index().map_or(i64::MAX, |index| index.applied());
        let pruned = state
            .db()
            .call(move |c| palms::index::prune_feed(c, applied, 3600))
            .await;
        if let Err(e) = pruned {
            tracing::warn!(error = %e, "pruning the index feed failed");
        }
    }
}

impl RunningServer {
    /// Registers a store device for `store` (what `palmkit store add` does on a stopped
    /// server's data directory); its token is in the answer only.
    pub fn issue_store_device(
        &self,
        store: &str,
    ) -> Result<palms::stores::IssuedDevice, db::DbError> {
        palms::stores::issue_device(&self.db, store)
    }

    /// Revokes the devices of `store` (or the device with that id). Returns how many.
    pub fn revoke_store_devices(&self, store_or_id: &str) -> Result<usize, db::DbError> {
        palms::stores::revoke_devices(&self.db, store_or_id)
    }

    /// Stops accepting connections, lets requests in flight finish (up to 10 s), and waits.
    pub async fn shutdown(self) {
        self.sweeper.abort();
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        if let Ok(Err(e)) = self.task.await {
            tracing::warn!(error = %e, "server ended with an error");
        }
        tracing::info!("palmkit-server stopped");
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
