//! Where unfinished uploads live and what bounds them: [`UploadLimits`], [`UploadState`]
//! (the part files' folder, the write permits, one lock per upload), and forgetting an
//! enrollment's stored data. Below the upload and enrollment handlers, which both use it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::db::DbError;

/// Upload limits.
#[derive(Clone, Debug)]
pub struct UploadLimits {
    /// Largest upload (sealed bytes).
    pub max_upload_bytes: u64,
    /// Unfinished uploads an account may have at once.
    pub max_active_per_account: u32,
    /// PATCH bodies being written at once, over all accounts.
    pub max_concurrent_writes: usize,
    /// Upload requests (every tus method) served at once: their own pool, apart from the
    /// shared one, so slow uploads never queue logins, token refresh or scans.
    pub max_concurrent_requests: usize,
    /// How long an unfinished upload is kept.
    pub expiry: Duration,
    /// The `Retry-After` sent with `503` and `423`.
    pub retry_after: Duration,
    /// Refuse uploads without a platform attestation (`attestation_required`).
    pub require_attestation: bool,
    /// Captures an enrollment may hold per hand (accepted, or being received): room for
    /// a retake, not for an unbounded store of biometric images.
    pub max_captures_per_hand: u32,
    /// Captures an account may hold over all its enrollments (accepted or being received).
    pub max_captures_per_account: u32,
    /// Enrollments an account may have (`POST /v1/enrollments` answers `409` beyond).
    pub max_enrollments_per_account: u32,
    /// How long a submitted enrollment waits for its first store match before it
    /// expires and its biometric data is deleted.
    pub pending_enrollment_ttl: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 16 * 1024 * 1024,
            max_active_per_account: 8,
            max_concurrent_writes: 32,
            max_concurrent_requests: 128,
            expiry: Duration::from_secs(24 * 3600),
            retry_after: Duration::from_secs(1),
            require_attestation: false,
            max_captures_per_hand: 3,
            max_captures_per_account: 40,
            max_enrollments_per_account: 20,
            pending_enrollment_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Shared upload state: where part files go, the limits, and who is writing.
pub struct UploadState {
    pub(crate) dir: PathBuf,
    pub(crate) limits: UploadLimits,
    pub(crate) writes: Semaphore,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadState {
    /// Upload state keeping part files in `dir` (created if missing). The folder is made
    /// the owner's alone (0700) and part files an older version left are tightened to
    /// 0600, as every new one is created ([`Self::create_part`]).
    pub fn new(dir: PathBuf, limits: UploadLimits) -> std::io::Result<Self> {
        crate::files::private_dir(&dir).map_err(|e| e.source)?;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "part") {
                crate::files::private_file(&path)?;
            }
        }
        Ok(Self {
            dir,
            writes: Semaphore::new(limits.max_concurrent_writes),
            limits,
            locks: Mutex::new(HashMap::new()),
        })
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &UploadLimits {
        &self.limits
    }

    /// Creates the empty part file of upload `id`, readable by the owner only.
    pub(crate) async fn create_part(&self, id: &str) -> std::io::Result<()> {
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        options.open(self.part_path(id)).await.map(drop)
    }

    pub(crate) fn part_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    pub(crate) fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Drop locks nobody holds any more, so the map does not grow with every upload.
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }

    pub(crate) fn retry_after(&self) -> String {
        self.limits.retry_after.as_secs().max(1).to_string()
    }
}

/// Deletes every capture (and its palm signature) and upload of `enrollment_id` (rows;
/// the caller removes part files by the returned upload ids), and cuts every link to it:
/// the store scans that matched it keep their outcome but not the enrollment, and the
/// idempotent answers that named it go (a replay must not answer a deleted enrollment).
pub(crate) fn forget_enrollment_data(
    c: &rusqlite::Connection,
    enrollment_id: &str,
) -> Result<Vec<String>, DbError> {
    c.execute(
        "UPDATE store_scans SET enrollment_id = NULL WHERE enrollment_id = ?1",
        [enrollment_id],
    )?;
    c.execute(
        "DELETE FROM idempotency WHERE enrollment_id = ?1",
        [enrollment_id],
    )?;
    crate::palms::holds::forget(c, enrollment_id)?;
    c.execute(
        "DELETE FROM palm_signatures WHERE enrollment_id = ?1",
        [enrollment_id],
    )?;
    c.execute(
        "DELETE FROM captures WHERE enrollment_id = ?1",
        [enrollment_id],
    )?;
    // The key every copy of the above was stored under: a copy the database did not
    // overwrite (or a backup) no longer opens.
    crate::data_keys::EnrollmentKey::shred(c, enrollment_id)?;
    let mut stmt = c.prepare("DELETE FROM uploads WHERE enrollment_id = ?1 RETURNING id")?;
    let ids = stmt
        .query_map([enrollment_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// Removes the part files of `upload_ids` (those still receiving have one).
pub(crate) async fn remove_part_files(uploads: &UploadState, upload_ids: &[String]) {
    for id in upload_ids {
        let _ = tokio::fs::remove_file(uploads.part_path(id)).await;
    }
}
