//! The service's HPKE key pairs (DHKEM X25519-HKDF-SHA256), made on first start and kept
//! in the database by id, the private half wrapped under the current data key
//! ([`crate::data_keys`]: the key that opens captures is not in the database file in the
//! clear). New uploads are sealed to the newest key that is not retired; older keys stay
//! so uploads sealed to them can still be opened (rotation by key id).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::{Kem as _, Serializable as _, kem::X25519HkdfSha256};
use rusqlite::OptionalExtension as _;

use crate::data_keys::DataKeys;
use crate::db::{Db, DbError};
use crate::error::StartError;

/// The purpose a service private key is wrapped for (bound in the wrapping).
pub(crate) const SERVICE_KEY: &str = "service-key";

/// The public half of a service key, as published to clients.
#[derive(Clone, Debug)]
pub struct PublicServiceKey {
    /// Key id.
    pub id: String,
    /// X25519 public key, base64url without padding.
    pub public_key_b64: String,
}

/// The current key, making one if the database has none.
pub fn current_or_create(db: &Db, keys: &DataKeys) -> Result<PublicServiceKey, StartError> {
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
        let private = zeroize::Zeroizing::new(private.to_bytes().to_vec());
        conn.execute(
            "INSERT INTO service_keys (id, public_key, private_key, data_key_id, created_at)
             VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rusqlite::params![
                id,
                public,
                keys.wrap(SERVICE_KEY, &id, &private)?,
                keys.current_id()
            ],
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
pub fn private_key(
    conn: &rusqlite::Connection,
    keys: &DataKeys,
    id: &str,
) -> Result<Option<[u8; 32]>, DbError> {
    let found: Option<(Vec<u8>, Option<String>)> = conn
        .query_row(
            "SELECT private_key, data_key_id FROM service_keys WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((stored, data_key_id)) = found else {
        return Ok(None);
    };
    // Every key is wrapped once the start's re-wrap ran ([`crate::data_keys::rewrap`]).
    let data_key_id =
        data_key_id.ok_or_else(|| DbError::Task(format!("service key {id} is not wrapped yet")))?;
    let plain = keys.unwrap(SERVICE_KEY, id, &data_key_id, &stored)?;
    <[u8; 32]>::try_from(plain.as_slice())
        .map(Some)
        .map_err(|_| DbError::Task(format!("service key {id} is not 32 bytes")))
}

/// Retires the current key and makes a new one; uploads sealed to the old key still open.
/// Clients get the new key with their next configuration.
pub fn rotate(db: &Db, keys: &DataKeys) -> Result<PublicServiceKey, StartError> {
    db.with(|conn| {
        conn.execute(
            "UPDATE service_keys SET retired_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE retired_at IS NULL",
            [],
        )?;
        Ok(())
    })
    .map_err(StartError::Db)?;
    current_or_create(db, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Db, DataKeys) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("k.sqlite3")).unwrap();
        (dir, db, DataKeys::random().unwrap())
    }

    #[test]
    fn key_is_made_once_and_kept() {
        let (_dir, db, keys) = open();
        let first = current_or_create(&db, &keys).unwrap();
        let again = current_or_create(&db, &keys).unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.public_key_b64, again.public_key_b64);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&first.public_key_b64).unwrap().len(),
            32
        );
    }

    #[test]
    fn rotation_keeps_the_old_key_by_id() {
        let (_dir, db, keys) = open();
        let old = current_or_create(&db, &keys).unwrap();
        let new = rotate(&db, &keys).unwrap();
        assert_ne!(old.id, new.id);
        assert_eq!(current_or_create(&db, &keys).unwrap().id, new.id);
        let old_private = db
            .with(|c| private_key(c, &keys, &old.id))
            .unwrap()
            .unwrap();
        let public = palmkit_core::upload::envelope::public_key_for(&old_private).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(public), old.public_key_b64);
        assert!(
            db.with(|c| private_key(c, &keys, "k-none"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_private_key_is_stored_wrapped_and_opens_with_the_data_keys_only() {
        let (_dir, db, keys) = open();
        let made = current_or_create(&db, &keys).unwrap();
        let private = db
            .with(|c| private_key(c, &keys, &made.id))
            .unwrap()
            .unwrap();
        let stored: Vec<u8> = db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT private_key FROM service_keys WHERE id = ?1",
                    [&made.id],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert!(
            !stored.windows(32).any(|w| w == private),
            "the private key is not in the database in the clear"
        );
        let others = DataKeys::random().unwrap();
        assert!(db.with(|c| private_key(c, &others, &made.id)).is_err());
    }
}
