//! The service's HPKE key pairs (DHKEM X25519-HKDF-SHA256), made on first start and kept
//! in the database by id. New uploads are sealed to the newest key that is not retired;
//! older keys stay so uploads sealed to them can still be opened (rotation by key id).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::{Kem as _, Serializable as _, kem::X25519HkdfSha256};
use rusqlite::OptionalExtension as _;

use crate::StartError;
use crate::db::{Db, DbError};

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
}
