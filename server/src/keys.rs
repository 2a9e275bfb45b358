//! The service's HPKE key pairs (DHKEM X25519-HKDF-SHA256), made on first start and kept
//! in the database by id. New uploads are sealed to the newest key that is not retired;
//! older keys stay so uploads sealed to them can still be opened (rotation by key id).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::{Kem as _, Serializable as _, kem::X25519HkdfSha256};
use rusqlite::OptionalExtension as _;

use crate::db::{Db, DbError};
use crate::error::StartError;

/// The public half of a service key, as published to clients.
#[derive(Clone, Debug)]
pub struct PublicServiceKey {
    /// Key id.
    pub id: String,
    /// X25519 public key, base64url without padding.
    pub public_key_b64: String,
}

/// The current key, making one if the database has none.
pub fn current_or_create(db: &Db) -> Result<PublicServiceKey, StartError> {
    db.with(|conn| {
        let found: Option<(String, Vec<u8>)> = conn
            .query_row(
                "SELECT id, public_key FROM service_keys WHERE retired_at IS NULL
                 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, public)) = found {
            return Ok(PublicServiceKey {
                id,
                public_key_b64: URL_SAFE_NO_PAD.encode(public),
            });
        }
        let mut ikm = [0u8; 32];
        getrandom::fill(&mut ikm).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
        let (private, public) = X25519HkdfSha256::derive_keypair(&ikm);
        ikm.fill(0);
        let id = format!("k-{}", crate::ids::random_hex(6)?);
        let public = public.to_bytes().to_vec();
        conn.execute(
            "INSERT INTO service_keys (id, public_key, private_key, created_at)
             VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rusqlite::params![id, public, private.to_bytes().to_vec()],
        )?;
        tracing::info!(key_id = %id, "made a new service HPKE key");
        Ok(PublicServiceKey {
            id,
            public_key_b64: URL_SAFE_NO_PAD.encode(public),
        })
    })
    .map_err(StartError::Db)
}

/// The private key with this id, retired or not (old uploads still open), if any.
pub fn private_key(conn: &rusqlite::Connection, id: &str) -> Result<Option<[u8; 32]>, DbError> {
    let found: Option<Vec<u8>> = conn
        .query_row(
            "SELECT private_key FROM service_keys WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    found
        .map(|k| {
            <[u8; 32]>::try_from(k.as_slice())
                .map_err(|_| DbError::Task(format!("service key {id} is not 32 bytes")))
        })
        .transpose()
}

/// Retires the current key and makes a new one; uploads sealed to the old key still open.
/// Clients get the new key with their next configuration.
pub fn rotate(db: &Db) -> Result<PublicServiceKey, StartError> {
    db.with(|conn| {
        conn.execute(
            "UPDATE service_keys SET retired_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE retired_at IS NULL",
            [],
        )?;
        Ok(())
    })
    .map_err(StartError::Db)?;
    current_or_create(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("k.sqlite3")).unwrap();
        let first = current_or_create(&db).unwrap();
        let again = current_or_create(&db).unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.public_key_b64, again.public_key_b64);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&first.public_key_b64).unwrap().len(),
            32
        );
    }

    #[test]
    fn rotation_keeps_the_old_key_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("k.sqlite3")).unwrap();
        let old = current_or_create(&db).unwrap();
        let new = rotate(&db).unwrap();
        assert_ne!(old.id, new.id);
        assert_eq!(current_or_create(&db).unwrap().id, new.id);
        let old_private = db.with(|c| private_key(c, &old.id)).unwrap().unwrap();
        let public = palmkit_core::upload::envelope::public_key_for(&old_private).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(public), old.public_key_b64);
        assert!(db.with(|c| private_key(c, "k-none")).unwrap().is_none());
    }
}
