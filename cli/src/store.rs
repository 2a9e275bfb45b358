//! The store side, for QA: `palmkit store add|revoke` registers and revokes in-store
//! scanner devices in a server's data directory, and `palmkit scan` plays such a device
//! against a running server — it posts a palm photo with the device's token over the
//! pinned TLS and prints what the service made of it.
//!
//! A device's token is shown once and written to `DATA_DIR/stores/STORE.token` (0600),
//! where `palmkit scan --store STORE` finds it next to the client configuration.

use std::path::{Path, PathBuf};

use palmkit_core::ServiceConfig;
use palmkit_core::net::PinnedClient;
use palmkit_core::protocol::{ApiError, ScanOutcome, StoreScan};

use crate::args::{DEFAULT_CONFIG, read_config};
use crate::error::{CliError, Result};

/// `palmkit store`'s verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Register a scanner device for STORE; its token goes to DATA_DIR/stores/STORE.token.
    Add(StoreArgs),
    /// Revoke every device of STORE (its scans are refused from then on).
    Revoke(StoreArgs),
}

/// One store in a server's data directory.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The server's data directory.
    #[arg(long, default_value = "palmkit-data")]
    data_dir: PathBuf,
    /// Store name (letters, digits, '.', '_', '-').
    store: String,
}

/// `palmkit scan`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// The client configuration written by `palmkit serve` (in its data directory).
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// The store (registered with `palmkit store add`); its token is read from
    /// `stores/STORE.token` beside the client configuration.
    #[arg(long)]
    store: String,
    /// Read the device token from this file instead.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The palm photo (JPEG or PNG).
    photo: PathBuf,
}

/// `palmkit store add|revoke`.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Add(args) => add(&args.data_dir, &args.store),
        Command::Revoke(args) => revoke(&args.data_dir, &args.store),
    }
}

/// Store names become file names: letters, digits, `.`, `_`, `-`.
fn check_name(store: &str) -> Result<()> {
    let ok = !store.is_empty()
        && store.len() <= 64
        && !store.starts_with('.')
        && store
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "store name {store:?}: use 1-64 letters, digits, '.', '_' or '-' (not starting with '.')"
        )))
    }
}

fn token_path(data_dir: &Path, store: &str) -> PathBuf {
    data_dir.join("stores").join(format!("{store}.token"))
}

pub(crate) fn open_db(data_dir: &Path) -> Result<palmkit_server::db::Db> {
    let path = data_dir.join("palmkit.sqlite3");
    if !path.exists() {
        return Err(CliError::file(
            &path,
            format!(
                "no server database (run `palmkit serve --data-dir {}` once)",
                data_dir.display()
            ),
        ));
    }
    palmkit_server::db::Db::open(&path).map_err(CliError::at(&path))
}

/// `palmkit store add`: registers a device for `store` and writes its token.
fn add(data_dir: &Path, store: &str) -> Result<()> {
    check_name(store)?;
    let db = open_db(data_dir)?;
    let device = palmkit_server::palms::stores::issue_device(&db, store)?;
    let dir = data_dir.join("stores");
    palmkit_server::files::private_dir(&dir).map_err(CliError::at(&dir))?;
    let path = token_path(data_dir, store);
    palmkit_server::files::write_private(&path, device.token.as_bytes())
        .map_err(CliError::at(&path))?;
    println!(
        "Store device {} registered for {store}; its token is in {} (owner-only). \
         Scan with: palmkit scan --config {} --store {store} PHOTO",
        device.id,
        path.display(),
        data_dir.join(palmkit_server::CLIENT_CONFIG_FILE).display()
    );
    Ok(())
}

/// `palmkit store revoke`: revokes every device of `store` and removes its token file.
fn revoke(data_dir: &Path, store: &str) -> Result<()> {
    check_name(store)?;
    let db = open_db(data_dir)?;
    let n = palmkit_server::palms::stores::revoke_devices(&db, store)?;
    let _ = std::fs::remove_file(token_path(data_dir, store));
    println!("{n} device(s) of {store} revoked");
    Ok(())
}

/// Posts `photo` as the device with `token`; the service's answer.
pub async fn post_scan(config: &ServiceConfig, token: &str, photo: Vec<u8>) -> Result<StoreScan> {
    let validated = config.validate()?;
    let client = PinnedClient::new(&validated)?;
    let url = client.url("v1/store/scans")?;
    let response = client
        .http()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(photo)
        .send()
        .await
        .map_err(palmkit_core::net::classify)?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(palmkit_core::net::classify)?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            CliError::Failed(format!(
                "the service answered {status} with something else than a scan result: {e}"
            ))
        });
    }
    Err(CliError::Failed(
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(e) => format!(
                "the service refused the scan ({status}, {}): {}",
                e.error, e.message
            ),
            Err(_) => format!("the service refused the scan ({status})"),
        },
    ))
}

/// One line for a scan result.
pub fn describe(scan: &StoreScan) -> String {
    let band = scan.score_band.as_deref().unwrap_or("-");
    match scan.outcome {
        ScanOutcome::Matched => format!(
            "matched shopper {} (distance band {band}); their enrollment is now complete",
            scan.shopper_ref.as_deref().unwrap_or("?")
        ),
        ScanOutcome::NoMatch => format!(
            "no match ({}, {}): fall back at the till",
            scan.reason.as_deref().unwrap_or("-"),
            match &scan.score_band {
                Some(band) => format!("best distance band {band}"),
                None => "no pending enrollment came near".into(),
            }
        ),
        ScanOutcome::Ambiguous => format!(
            "ambiguous ({}, band {band}): two shoppers are near; fall back at the till",
            scan.reason.as_deref().unwrap_or("-")
        ),
        ScanOutcome::PoorCapture => format!(
            "poor capture ({}): ask for the palm again",
            scan.reason.as_deref().unwrap_or("-")
        ),
    }
}

/// `palmkit scan`: the store device at work.
pub async fn scan(args: ScanArgs) -> Result<()> {
    let (store, photo) = (&args.store, &args.photo);
    check_name(store)?;
    let config = read_config(&args.config)?;
    let token_path = match args.token_file {
        Some(p) => p,
        None => token_path(args.config.parent().unwrap_or(Path::new(".")), store),
    };
    let token = std::fs::read_to_string(&token_path).map_err(|e| {
        CliError::file(
            &token_path,
            format!("{e} (register the store first: palmkit store add --data-dir DIR {store})"),
        )
    })?;
    let bytes = std::fs::read(photo).map_err(CliError::at(photo))?;
    let result = post_scan(&config, token.trim(), bytes).await?;
    println!(
        "{}: {} [scan {}]",
        photo.display(),
        describe(&result),
        result.scan_id
    );
    Ok(())
}
