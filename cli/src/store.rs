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

/// Store names become file names: letters, digits, `.`, `_`, `-`.
fn check_name(store: &str) -> Result<(), String> {
    let ok = !store.is_empty()
        && store.len() <= 64
        && !store.starts_with('.')
        && store
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "store name {store:?}: use 1-64 letters, digits, '.', '_' or '-' (not starting with '.')"
        ))
    }
}

fn token_path(data_dir: &Path, store: &str) -> PathBuf {
    data_dir.join("stores").join(format!("{store}.token"))
}

fn open_db(data_dir: &Path) -> Result<palmkit_server::db::Db, String> {
    let path = data_dir.join("palmkit.sqlite3");
    if !path.exists() {
        return Err(format!(
            "{}: no server database (run `palmkit serve --data-dir {}` once)",
            path.display(),
            data_dir.display()
        ));
    }
    palmkit_server::db::Db::open(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `palmkit store add`: registers a device for `store` and writes its token.
pub fn add(data_dir: &Path, store: &str) -> Result<(), String> {
    check_name(store)?;
    let db = open_db(data_dir)?;
    let device =
        palmkit_server::palms::stores::issue_device(&db, store).map_err(|e| e.to_string())?;
    let dir = data_dir.join("stores");
    palmkit_server::files::private_dir(&dir).map_err(|e| e.to_string())?;
    let path = token_path(data_dir, store);
    palmkit_server::files::write_private(&path, device.token.as_bytes())
        .map_err(|e| e.to_string())?;
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
pub fn revoke(data_dir: &Path, store: &str) -> Result<(), String> {
    check_name(store)?;
    let db = open_db(data_dir)?;
    let n = palmkit_server::palms::stores::revoke_devices(&db, store).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(token_path(data_dir, store));
    println!("{n} device(s) of {store} revoked");
    Ok(())
}

/// Posts `photo` as the device with `token`; the service's answer.
pub async fn post_scan(
    config: &ServiceConfig,
    token: &str,
    photo: Vec<u8>,
) -> Result<StoreScan, String> {
    let validated = config.validate().map_err(|e| e.to_string())?;
    let client = PinnedClient::new(&validated).map_err(|e| e.to_string())?;
    let url = client.url("v1/store/scans").map_err(|e| e.to_string())?;
    let response = client
        .http()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(photo)
        .send()
        .await
        .map_err(|e| palmkit_core::net::classify(e).to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            format!("the service answered {status} with something else than a scan result: {e}")
        });
    }
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(e) => Err(format!(
            "the service refused the scan ({status}, {}): {}",
            e.error, e.message
        )),
        Err(_) => Err(format!("the service refused the scan ({status})")),
    }
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
pub async fn scan(
    config_path: &Path,
    store: &str,
    token_file: Option<&Path>,
    photo: &Path,
) -> Result<(), String> {
    check_name(store)?;
    let config = crate::read_config(config_path)?;
    let token_path = match token_file {
        Some(p) => p.to_path_buf(),
        None => token_path(config_path.parent().unwrap_or(Path::new(".")), store),
    };
    let token = std::fs::read_to_string(&token_path).map_err(|e| {
        format!(
            "{}: {e} (register the store first: palmkit store add --data-dir DIR {store})",
            token_path.display()
        )
    })?;
    let bytes = std::fs::read(photo).map_err(|e| format!("{}: {e}", photo.display()))?;
    let result = post_scan(&config, token.trim(), bytes).await?;
    println!(
        "{}: {} [scan {}]",
        photo.display(),
        describe(&result),
        result.scan_id
    );
    Ok(())
}
