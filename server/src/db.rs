//! The service database: one SQLite file in the data directory, WAL mode, schema migrations
//! by `user_version` (rusqlite_migration). Queries run on tokio's blocking pool through
//! [`Db::call`], so a slow disk never stalls the async workers.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite reported an error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be migrated.
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The blocking task running the query failed.
    #[error("database task failed: {0}")]
    Task(String),
}

/// The schema, one step per release; never edit a step that has shipped, add one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE service_keys (
             id          TEXT PRIMARY KEY,
             public_key  BLOB NOT NULL,
             private_key BLOB NOT NULL,
             created_at  TEXT NOT NULL,
             retired_at  TEXT
         ) STRICT;
         CREATE TABLE enrollments (
             id         TEXT PRIMARY KEY,
             state      TEXT NOT NULL,
             hands      TEXT NOT NULL,
             created_at TEXT NOT NULL
         ) STRICT;",
        ),
        // Accounts and the OAuth authorization server (codes, grants, tokens: hashes only).
        M::up(
            "CREATE TABLE accounts (
             id            TEXT PRIMARY KEY,
             email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
             display_name  TEXT NOT NULL,
             password_hash TEXT NOT NULL,
             created_at    TEXT NOT NULL
         ) STRICT;
         CREATE TABLE grants (
             id         TEXT PRIMARY KEY,
             account_id TEXT NOT NULL REFERENCES accounts(id),
             client_id  TEXT NOT NULL,
             scope      TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             revoked_at INTEGER
         ) STRICT;
         CREATE TABLE auth_codes (
             hash           BLOB PRIMARY KEY,
             account_id     TEXT NOT NULL REFERENCES accounts(id),
             client_id      TEXT NOT NULL,
             redirect_uri   TEXT NOT NULL,
             code_challenge TEXT NOT NULL,
             scope          TEXT NOT NULL,
             expires_at     INTEGER NOT NULL,
             used_at        INTEGER,
             grant_id       TEXT REFERENCES grants(id)
         ) STRICT;
         CREATE TABLE tokens (
             hash       BLOB PRIMARY KEY,
             grant_id   TEXT NOT NULL REFERENCES grants(id),
             kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
             expires_at INTEGER NOT NULL,
             used_at    INTEGER
         ) STRICT;
         CREATE INDEX tokens_by_grant ON tokens(grant_id);",
        ),
        // Payment: the provider stand-in's vault (no card number, no CVC), its SetupIntents,
        // the service's wallets, palm-profile links (history) and idempotent answers.
        M::up(
            "CREATE TABLE provider_payment_methods (
                 id           TEXT PRIMARY KEY,
                 brand        TEXT NOT NULL,
                 last4        TEXT NOT NULL,
                 exp_month    INTEGER NOT NULL,
                 exp_year     INTEGER NOT NULL,
                 cardholder   TEXT NOT NULL,
                 needs_action INTEGER NOT NULL,
                 created_at   INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE provider_setup_intents (
                 id                 TEXT PRIMARY KEY,
                 client_secret_hash BLOB NOT NULL,
                 account_id         TEXT NOT NULL,
                 status             TEXT NOT NULL,
                 payment_method_id  TEXT,
                 created_at         INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE wallet (
                 account_id        TEXT NOT NULL REFERENCES accounts(id),
                 payment_method_id TEXT NOT NULL,
                 added_at          INTEGER NOT NULL,
                 PRIMARY KEY (account_id, payment_method_id)
             ) STRICT;
             CREATE TABLE palm_payment_links (
                 account_id        TEXT NOT NULL REFERENCES accounts(id),
                 payment_method_id TEXT NOT NULL,
                 linked_at         TEXT NOT NULL
             ) STRICT;
             CREATE TABLE idempotency (
                 account_id TEXT NOT NULL,
                 key        TEXT NOT NULL,
                 request    TEXT NOT NULL,
                 response   TEXT NOT NULL,
                 PRIMARY KEY (account_id, key)
             ) STRICT;",
        ),
        // Enrollments belong to an account (drafts made before this step have none and
        // are reachable by nobody).
        M::up("ALTER TABLE enrollments ADD COLUMN account_id TEXT REFERENCES accounts(id);"),
        // Resumable capture uploads (tus): the bytes in flight live in `DATA/uploads/ID.part`
        // (sealed, never plaintext); an accepted upload's sealed bytes move into `captures`.
        // Times are Unix seconds.
        M::up(
            "CREATE TABLE uploads (
                 id            TEXT PRIMARY KEY,
                 account_id    TEXT NOT NULL REFERENCES accounts(id),
                 enrollment_id TEXT NOT NULL REFERENCES enrollments(id),
                 hand          TEXT NOT NULL CHECK (hand IN ('left', 'right')),
                 length        INTEGER NOT NULL,
                 received      INTEGER NOT NULL DEFAULT 0,
                 state         TEXT NOT NULL CHECK (state IN ('receiving', 'accepted', 'rejected')),
                 error         TEXT,
                 created_at    INTEGER NOT NULL,
                 expires_at    INTEGER NOT NULL,
                 completed_at  INTEGER
             ) STRICT;
             CREATE INDEX uploads_by_account ON uploads(account_id, state);
             CREATE TABLE captures (
                 upload_id     TEXT PRIMARY KEY REFERENCES uploads(id),
                 enrollment_id TEXT NOT NULL REFERENCES enrollments(id),
                 hand          TEXT NOT NULL,
                 key_id        TEXT NOT NULL,
                 metadata      TEXT NOT NULL,
                 sealed        BLOB NOT NULL,
                 created_at    INTEGER NOT NULL
             ) STRICT;
             CREATE INDEX captures_by_enrollment ON captures(enrollment_id);",
        ),
        // Platform attestation of uploads: nonces (one use), the development key, and what
        // each upload claimed and each capture proved.
        M::up(
            "CREATE TABLE attestation_nonces (
                 nonce         TEXT PRIMARY KEY,
                 account_id    TEXT NOT NULL REFERENCES accounts(id),
                 expires_at    INTEGER NOT NULL,
                 used_at       INTEGER
             ) STRICT;
             CREATE TABLE dev_attestation (
                 id            INTEGER PRIMARY KEY CHECK (id = 1),
                 key           BLOB NOT NULL
             ) STRICT;
             ALTER TABLE uploads ADD COLUMN attestation TEXT;
             ALTER TABLE captures ADD COLUMN attestation TEXT;",
        ),
        // The spoof verdict a capture came with, opened from its sealed form (JSON).
        M::up("ALTER TABLE captures ADD COLUMN spoof TEXT;"),
        // A payment method belongs to the first SetupIntent confirmed with it (and so to
        // that intent's account): another account's intent cannot take it.
        M::up("ALTER TABLE provider_payment_methods ADD COLUMN setup_intent_id TEXT;"),
        // A pending enrollment's deadline for its first store match (Unix seconds), and
        // the biometric consents shoppers gave (text version, first time given).
        M::up(
            "ALTER TABLE enrollments ADD COLUMN expires_at INTEGER;
             CREATE TABLE consents (
                 account_id   TEXT NOT NULL REFERENCES accounts(id),
                 text_version TEXT NOT NULL,
                 given_at     TEXT NOT NULL,
                 PRIMARY KEY (account_id, text_version)
             ) STRICT;",
        ),
        // Palm signatures made from accepted captures (rebuilt from the sealed capture when
        // the algorithm or format moves), store devices (token hashes only), every store
        // scan (outcome and score band, never the image), completion of enrollments and
        // the pseudonymous reference a store sees for a shopper.
        M::up(
            "CREATE TABLE palm_signatures (
                 upload_id     TEXT PRIMARY KEY REFERENCES captures(upload_id),
                 enrollment_id TEXT NOT NULL REFERENCES enrollments(id),
                 hand          TEXT NOT NULL,
                 algorithm     INTEGER NOT NULL,
                 format        INTEGER NOT NULL,
                 template      BLOB NOT NULL,
                 created_at    INTEGER NOT NULL
             ) STRICT;
             CREATE INDEX palm_signatures_by_enrollment ON palm_signatures(enrollment_id);
             CREATE TABLE store_devices (
                 id          TEXT PRIMARY KEY,
                 store       TEXT NOT NULL,
                 token_hash  BLOB NOT NULL UNIQUE,
                 created_at  INTEGER NOT NULL,
                 revoked_at  INTEGER
             ) STRICT;
             CREATE TABLE store_scans (
                 id            TEXT PRIMARY KEY,
                 device_id     TEXT NOT NULL REFERENCES store_devices(id),
                 store         TEXT NOT NULL,
                 outcome       TEXT NOT NULL,
                 reason        TEXT,
                 score_band    TEXT,
                 enrollment_id TEXT,
                 at            INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE shopper_refs (
                 account_id TEXT PRIMARY KEY REFERENCES accounts(id),
                 ref        TEXT NOT NULL UNIQUE
             ) STRICT;
             ALTER TABLE enrollments ADD COLUMN completed_at INTEGER;",
        ),
        // App Attest keys, each one account's: the attested public key (a P-256 point)
        // and the last assertion counter, moved on by compare-and-set.
        M::up(
            "CREATE TABLE app_attest_keys (
                 key_id      TEXT PRIMARY KEY,
                 account_id  TEXT NOT NULL REFERENCES accounts(id),
                 public_key  BLOB NOT NULL,
                 counter     INTEGER NOT NULL,
                 environment TEXT NOT NULL,
                 created_at  INTEGER NOT NULL
             ) STRICT;
             CREATE INDEX app_attest_keys_by_account ON app_attest_keys(account_id);",
        ),
        // The store-match index's change feed: every change that can move a palm in or out
        // of the 1:N search (a signature made or dropped, an enrollment's state or
        // deadline moved, an enrollment deleted) appends its enrollment here, by trigger,
        // so no code path can forget to; each search index (one per replica, later)
        // follows the feed from the last sequence it applied.
        M::up(
            "CREATE TABLE palm_index_feed (
                 seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                 enrollment_id TEXT NOT NULL,
                 at            INTEGER NOT NULL DEFAULT (unixepoch())
             ) STRICT;
             CREATE TRIGGER palm_index_on_signature_insert AFTER INSERT ON palm_signatures
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (NEW.enrollment_id); END;
             CREATE TRIGGER palm_index_on_signature_delete AFTER DELETE ON palm_signatures
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (OLD.enrollment_id); END;
             CREATE TRIGGER palm_index_on_enrollment_update
             AFTER UPDATE OF state, expires_at ON enrollments
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (NEW.id); END;
             CREATE TRIGGER palm_index_on_enrollment_delete AFTER DELETE ON enrollments
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (OLD.id); END;",
        ),
        // Privacy between stores: one pseudonym per shopper and store (a store cannot
        // follow a shopper to another), dropped when the shopper deletes an enrollment
        // (a new one after). The old one-per-account refs go: every store saw the same.
        // The links deletion must cut: the enrollment an idempotent answer names (so a
        // replay cannot answer a deleted enrollment), and store scans of deleted ones.
        M::up(
            "DROP TABLE shopper_refs;
             CREATE TABLE store_shopper_refs (
                 account_id TEXT NOT NULL REFERENCES accounts(id),
                 store      TEXT NOT NULL,
                 ref        TEXT NOT NULL UNIQUE,
                 PRIMARY KEY (account_id, store)
             ) STRICT;
             ALTER TABLE idempotency ADD COLUMN enrollment_id TEXT;
             UPDATE idempotency SET enrollment_id = json_extract(response, '$.id')
             WHERE json_valid(response) AND json_extract(response, '$.id') LIKE 'enr-%';
             DELETE FROM idempotency WHERE enrollment_id IS NOT NULL
               AND enrollment_id NOT IN (SELECT id FROM enrollments);
             UPDATE store_scans SET enrollment_id = NULL
             WHERE enrollment_id NOT IN (SELECT id FROM enrollments);
             CREATE INDEX idempotency_by_enrollment ON idempotency (enrollment_id);",
        ),
        // Crypto-shredding (`data_keys`): each enrollment's key, wrapped under a data key
        // from outside this file and deleted with the enrollment; captures (image and
        // verdict) and templates under it (`boxed`); service private keys wrapped
        // (`data_key_id`). Rows from before are boxed at the next start (`rewrap`).
        M::up(
            "CREATE TABLE enrollment_keys (
                 enrollment_id TEXT PRIMARY KEY REFERENCES enrollments(id),
                 data_key_id   TEXT NOT NULL,
                 wrapped       BLOB NOT NULL
             ) STRICT;
             ALTER TABLE service_keys ADD COLUMN data_key_id TEXT;
             ALTER TABLE captures ADD COLUMN boxed INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE captures ADD COLUMN spoof_box BLOB;
             ALTER TABLE palm_signatures ADD COLUMN boxed INTEGER NOT NULL DEFAULT 0;",
        ),
        // One palm in two accounts (`palms::holds`): enrollments held for review (out of
        // the index while `released_at` is NULL; released ones were reviewed) and the
        // conflicts found between them. A hold changing is an index change.
        M::up(
            "CREATE TABLE palm_holds (
                 enrollment_id TEXT PRIMARY KEY REFERENCES enrollments(id),
                 held_at       INTEGER NOT NULL,
                 released_at   INTEGER
             ) STRICT;
             CREATE TABLE palm_conflicts (
                 enrollment_id TEXT NOT NULL REFERENCES enrollments(id),
                 other_id      TEXT NOT NULL REFERENCES enrollments(id),
                 found_at      INTEGER NOT NULL,
                 PRIMARY KEY (enrollment_id, other_id)
             ) STRICT;
             CREATE INDEX palm_conflicts_by_other ON palm_conflicts (other_id);
             CREATE TRIGGER palm_index_on_hold_insert AFTER INSERT ON palm_holds
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (NEW.enrollment_id); END;
             CREATE TRIGGER palm_index_on_hold_update AFTER UPDATE ON palm_holds
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (NEW.enrollment_id); END;
             CREATE TRIGGER palm_index_on_hold_delete AFTER DELETE ON palm_holds
             BEGIN INSERT INTO palm_index_feed (enrollment_id) VALUES (OLD.enrollment_id); END;",
        ),
    ])
}

/// Copies the WAL into the database and empties it (`TRUNCATE`): after a deletion, so
/// the page images that still held the deleted rows leave the disk now rather than at
/// SQLite's next automatic checkpoint (which keeps the file, and what it held, in place).
pub fn checkpoint(c: &Connection) -> Result<(), DbError> {
    let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        // Another connection reads (none does in this process): the next deletion's
        // checkpoint, or the one at a clean stop, finishes the job.
        tracing::warn!("the checkpoint after a deletion could not finish: a reader is active");
    }
    Ok(())
}

/// Now, in Unix seconds (the database's time unit).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A shared handle on the database.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        // The database holds the service's private keys: the owner's alone, made so before
        // SQLite creates it (and its -wal and -shm files, which take its mode).
        crate::files::private_file(path)
            .map_err(|e| DbError::Task(format!("{}: {e}", path.display())))?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL never corrupts the database; a power cut may lose the last
        // commits. FULL would fsync every upload chunk's offset update.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows are overwritten in the pages that held them, not just unlinked: a
        // deleted enrollment's template and sealed captures must not wait in free pages
        // for reuse. Their older page images in the WAL go at the checkpoint that
        // follows every deletion ([`checkpoint`]).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection, on the current thread (for start-up code).
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        // A poisoned lock only means another query panicked; the connection is still valid.
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f))
            .await
            .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// SQLite's journal mode (for the health check and tests: `"wal"`).
    pub fn journal_mode(&self) -> Result<String, DbError> {
        self.with(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn opens_in_wal_mode_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let db = Db::open(&path).unwrap();
        assert_eq!(db.journal_mode().unwrap(), "wal");
        drop(db);
        Db::open(&path).unwrap();
    }
}
