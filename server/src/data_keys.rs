//! The keys that open biometric data, kept outside the database file, and the
//! per-enrollment keys that make deletion crypto-shredding.
//!
//! Two levels:
//! - **Data keys** ([`DataKeys`]): 32-byte keys by id, read at start from a file (default
//!   `<data dir>/data-keys`, 0600; `palmkit serve --data-keys FILE` puts it on a secrets
//!   mount) or from the environment (`PALMKIT_DATA_KEYS`, same text). The database holds
//!   nothing they do not wrap: the service's HPKE private keys and every enrollment key.
//!   A stolen database file alone opens no capture and no template.
//! - **Enrollment keys** ([`EnrollmentKey`]): one random key per enrollment, made with its
//!   first capture, stored wrapped under the current data key (`enrollment_keys`), and
//!   deleted with the enrollment's data. Each capture's sealed image and spoof verdict and
//!   each palm template are stored under it, so a copy a database cannot promise to
//!   overwrite (a free page, an old WAL frame, a replica's dead tuple, a backup taken
//!   later) stays ciphertext no key opens once the enrollment is gone.
//!
//! **Rotation**: put a new line first in the data-keys text (`<id> <base64url of 32
//! random bytes>`; `palmkit serve --new-data-key` prints one) and restart: at start every
//! wrapped key under an older data key is re-wrapped under the first ([`rewrap`]), so the
//! old line can be removed after that start. A wrapped key whose data key is missing stops
//! the start with its id named; nothing is dropped.
//!
//! The cipher is ChaCha20-Poly1305 (ring), a random 96-bit nonce per box (each key seals
//! few boxes), and the box's purpose and owner bound in the associated data.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rusqlite::{Connection, OptionalExtension as _, params};
use zeroize::Zeroizing;

use crate::db::DbError;
use crate::error::StartError;

/// The environment variable that holds the data keys' text (takes precedence over a file).
pub const DATA_KEYS_ENV: &str = "PALMKIT_DATA_KEYS";

/// The default data-keys file in the data directory.
pub const DATA_KEYS_FILE: &str = "data-keys";

const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// Where the data keys come from.
#[derive(Clone, Debug, Default)]
pub enum DataKeySource {
    /// `<data dir>/data-keys`, made with one new key on first start.
    #[default]
    DataDir,
    /// This file (made with one new key if it does not exist).
    File(PathBuf),
    /// The text itself (from [`DATA_KEYS_ENV`]): never written anywhere.
    Text(String),
}

/// The data keys: the first wraps everything new, the others open what is still wrapped
/// under them until the next start re-wraps it.
pub struct DataKeys {
    keys: Vec<(String, Zeroizing<[u8; KEY_LEN]>)>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: a key never reaches a log.
        let ids: Vec<&str> = self.keys.iter().map(|k| k.0.as_str()).collect();
        f.debug_struct("DataKeys").field("ids", &ids).finish()
    }
}

impl DataKeys {
    /// Reads the keys from `source` (`data_dir` for the default file).
    pub fn load(source: &DataKeySource, data_dir: &Path) -> Result<Self, StartError> {
        let path = match source {
            DataKeySource::Text(text) => {
                return Self::parse(text)
                    .map_err(|e| StartError::DataKeys(format!("{DATA_KEYS_ENV}: {e}")));
            }
            DataKeySource::File(path) => path.clone(),
            DataKeySource::DataDir => data_dir.join(DATA_KEYS_FILE),
        };
        if !path.exists() {
            crate::files::write_private(&path, new_key_line()?.as_bytes())?;
            tracing::info!(path = %path.display(), "made a new data-keys file");
        }
        let text = std::fs::read_to_string(&path).map_err(crate::error::io_err(&path))?;
        Self::parse(&text).map_err(|e| StartError::DataKeys(format!("{}: {e}", path.display())))
    }

    /// Parses `<id> <base64url key>` lines, newest first; `#` starts a comment line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, Zeroizing<[u8; KEY_LEN]>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, key) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("line {}: expected `<id> <key>`", n + 1))?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "line {}: a key id is 1-64 letters, digits, - or _",
                    n + 1
                ));
            }
            let bytes = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(key.trim())
                    .map_err(|_| format!("line {}: the key is not base64url", n + 1))?,
            );
            let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
                .map_err(|_| format!("line {}: a key is 32 bytes", n + 1))?;
            if keys.iter().any(|k| k.0 == id) {
                return Err(format!("line {}: key id {id} appears twice", n + 1));
            }
            keys.push((id.to_string(), Zeroizing::new(key)));
        }
        if keys.is_empty() {
            return Err("no data key".into());
        }
        Ok(Self { keys })
    }

    /// Keys for tests and benchmarks: one random key.
    pub fn random() -> Result<Self, DbError> {
        let line = new_key_line().map_err(|e| DbError::Task(e.to_string()))?;
        Self::parse(&line).map_err(DbError::Task)
    }

    /// The id of the key that wraps everything new.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn key(&self, id: &str) -> Option<&[u8; KEY_LEN]> {
        self.keys.iter().find(|k| k.0 == id).map(|k| &*k.1)
    }

    /// Wraps `secret` (owned by `owner`, for `purpose`) under the current key.
    pub fn wrap(&self, purpose: &str, owner: &str, secret: &[u8]) -> Result<Vec<u8>, DbError> {
        let id = self.current_id();
        seal(&self.keys[0].1, &aad(purpose, owner, id), secret)
    }

    /// Opens what [`Self::wrap`] made under key `data_key_id`.
    pub fn unwrap(
        &self,
        purpose: &str,
        owner: &str,
        data_key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DbError> {
        let key = self.key(data_key_id).ok_or_else(|| {
            DbError::Task(format!(
                "data key {data_key_id} (wrapping a {purpose}) is not among the data keys"
            ))
        })?;
        open(key, &aad(purpose, owner, data_key_id), wrapped)
            .map_err(|()| DbError::Task(format!("a wrapped {purpose} does not open")))
    }
}

/// A new key line, `<id> <key>`, for a data-keys file.
pub fn new_key_line() -> Result<String, StartError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(&mut *key).map_err(|e| StartError::DataKeys(format!("no randomness: {e}")))?;
    let id = format!(
        "d-{}",
        crate::ids::random_hex(6).map_err(|e| StartError::DataKeys(e.to_string()))?
    );
    Ok(format!("{id} {}\n", URL_SAFE_NO_PAD.encode(*key)))
}

fn aad(purpose: &str, owner: &str, key_id: &str) -> Vec<u8> {
    format!("palmkit/{purpose}/v1\0{owner}\0{key_id}").into_bytes()
}

fn seal(key: &[u8; KEY_LEN], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, DbError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
    let key = LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| DbError::Task("bad key".into()))?,
    );
    let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| DbError::Task("sealing failed".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn open(key: &[u8; KEY_LEN], aad: &[u8], boxed: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    if boxed.len() < NONCE_LEN + TAG_LEN {
        return Err(());
    }
    let (nonce, sealed) = boxed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ())?;
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| ())?);
    let mut buf = Zeroizing::new(sealed.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| ())?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

const ENROLLMENT_KEY: &str = "enrollment-key";

/// One enrollment's key: what its captures, verdicts and templates are stored under.
pub struct EnrollmentKey {
    enrollment_id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

/// What a box under an enrollment key holds (bound in its associated data, with the
/// enrollment and the row, so a box cannot be moved to another row or read as another
/// kind).
#[derive(Clone, Copy, Debug)]
pub enum Boxed {
    /// A capture's HPKE-sealed image, as received.
    Capture,
    /// A capture's opened spoof verdict (JSON).
    SpoofVerdict,
    /// A palm template.
    Template,
}

impl Boxed {
    fn purpose(self) -> &'static str {
        match self {
            Boxed::Capture => "capture",
            Boxed::SpoofVerdict => "spoof-verdict",
            Boxed::Template => "template",
        }
    }
}

impl EnrollmentKey {
    /// The enrollment's key, made (and stored wrapped) if it has none yet.
    pub fn get_or_create(
        c: &Connection,
        keys: &DataKeys,
        enrollment_id: &str,
    ) -> Result<Self, DbError> {
        if let Some(key) = Self::get(c, keys, enrollment_id)? {
            return Ok(key);
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut *key).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
        c.execute(
            "INSERT INTO enrollment_keys (enrollment_id, data_key_id, wrapped) VALUES (?1, ?2, ?3)",
            params![
                enrollment_id,
                keys.current_id(),
                keys.wrap(ENROLLMENT_KEY, enrollment_id, &*key)?
            ],
        )?;
        Ok(Self {
            enrollment_id: enrollment_id.to_string(),
            key,
        })
    }

    /// The enrollment's key, if it has one (none once deleted: its boxes never open again).
    pub fn get(
        c: &Connection,
        keys: &DataKeys,
        enrollment_id: &str,
    ) -> Result<Option<Self>, DbError> {
        let found: Option<(String, Vec<u8>)> = c
            .query_row(
                "SELECT data_key_id, wrapped FROM enrollment_keys WHERE enrollment_id = ?1",
                [enrollment_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((data_key_id, wrapped)) = found else {
            return Ok(None);
        };
        let plain = keys.unwrap(ENROLLMENT_KEY, enrollment_id, &data_key_id, &wrapped)?;
        let key = <[u8; KEY_LEN]>::try_from(plain.as_slice()).map_err(|_| {
            DbError::Task(format!("enrollment {enrollment_id}'s key is not 32 bytes"))
        })?;
        Ok(Some(Self {
            enrollment_id: enrollment_id.to_string(),
            key: Zeroizing::new(key),
        }))
    }

    /// Deletes the enrollment's key: every box under it is shredded.
    pub fn shred(c: &Connection, enrollment_id: &str) -> Result<(), DbError> {
        c.execute(
            "DELETE FROM enrollment_keys WHERE enrollment_id = ?1",
            [enrollment_id],
        )?;
        Ok(())
    }

    /// `plain` (a `kind` of row `row`) under this key.
    pub fn seal(&self, kind: Boxed, row: &str, plain: &[u8]) -> Result<Vec<u8>, DbError> {
        seal(&self.key, &self.aad(kind, row), plain)
    }

    /// Opens what [`Self::seal`] made for the same kind and row.
    pub fn open(
        &self,
        kind: Boxed,
        row: &str,
        boxed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DbError> {
        open(&self.key, &self.aad(kind, row), boxed).map_err(|()| {
            DbError::Task(format!(
                "a stored {} of enrollment {} does not open",
                kind.purpose(),
                self.enrollment_id
            ))
        })
    }

    fn aad(&self, kind: Boxed, row: &str) -> Vec<u8> {
        aad(
            kind.purpose(),
            &format!("{}\0{row}", self.enrollment_id),
            "enrollment",
        )
    }
}

/// Brings the database's wrapped keys and biometric rows to the current data key, at
/// start: keys wrapped under an older data key are re-wrapped; rows from before
/// crypto-shredding (plain service keys, plain templates and verdicts, captures outside
/// a box) are put under their keys. Returns how many rows moved.
pub fn rewrap(c: &Connection, keys: &DataKeys) -> Result<usize, DbError> {
    let current = keys.current_id().to_string();
    let tx = c.unchecked_transaction()?;
    let mut moved = 0;
    // Service keys: plain (no data key) or under an older one.
    let service: Vec<(String, Option<String>, Vec<u8>)> = {
        let mut stmt = tx.prepare(
            "SELECT id, data_key_id, private_key FROM service_keys
             WHERE data_key_id IS NULL OR data_key_id != ?1",
        )?;
        stmt.query_map([&current], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (id, data_key_id, stored) in service {
        let plain = match &data_key_id {
            Some(old) => keys.unwrap(crate::keys::SERVICE_KEY, &id, old, &stored)?,
            None => Zeroizing::new(stored),
        };
        tx.execute(
            "UPDATE service_keys SET private_key = ?1, data_key_id = ?2 WHERE id = ?3",
            params![
                keys.wrap(crate::keys::SERVICE_KEY, &id, &plain)?,
                current,
                id
            ],
        )?;
        moved += 1;
    }
    // Enrollment keys under an older data key.
    let enrollment: Vec<(String, String, Vec<u8>)> = {
        let mut stmt = tx.prepare(
            "SELECT enrollment_id, data_key_id, wrapped FROM enrollment_keys
             WHERE data_key_id != ?1",
        )?;
        stmt.query_map([&current], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (id, old, wrapped) in enrollment {
        let plain = keys.unwrap(ENROLLMENT_KEY, &id, &old, &wrapped)?;
        tx.execute(
            "UPDATE enrollment_keys SET data_key_id = ?1, wrapped = ?2 WHERE enrollment_id = ?3",
            params![current, keys.wrap(ENROLLMENT_KEY, &id, &plain)?, id],
        )?;
        moved += 1;
    }
    // Captures from before the boxes: image and verdict go under the enrollment's key.
    let captures: Vec<(String, String, Vec<u8>, Option<String>)> = {
        let mut stmt = tx.prepare(
            "SELECT upload_id, enrollment_id, sealed, spoof FROM captures WHERE boxed = 0",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?
    };
    for (upload_id, enrollment_id, sealed, spoof) in captures {
        let key = EnrollmentKey::get_or_create(&tx, keys, &enrollment_id)?;
        let spoof_box = spoof
            .map(|s| key.seal(Boxed::SpoofVerdict, &upload_id, s.as_bytes()))
            .transpose()?;
        tx.execute(
            "UPDATE captures SET sealed = ?1, spoof = NULL, spoof_box = ?2, boxed = 1
             WHERE upload_id = ?3",
            params![
                key.seal(Boxed::Capture, &upload_id, &sealed)?,
                spoof_box,
                upload_id
            ],
        )?;
        moved += 1;
    }
    let templates: Vec<(String, String, Vec<u8>)> = {
        let mut stmt = tx.prepare(
            "SELECT upload_id, enrollment_id, template FROM palm_signatures WHERE boxed = 0",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (upload_id, enrollment_id, template) in templates {
        let key = EnrollmentKey::get_or_create(&tx, keys, &enrollment_id)?;
        tx.execute(
            "UPDATE palm_signatures SET template = ?1, boxed = 1 WHERE upload_id = ?2",
            params![key.seal(Boxed::Template, &upload_id, &template)?, upload_id],
        )?;
        moved += 1;
    }
    tx.commit()?;
    if moved > 0 {
        // The plain or old-wrapped page images leave the WAL now (secure_delete has
        // overwritten them in the database file).
        crate::db::checkpoint(c)?;
        tracing::info!(rows = moved, data_key = %current, "stored keys and biometric rows re-wrapped");
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_checked_line_by_line() {
        assert!(DataKeys::parse("").is_err());
        assert!(DataKeys::parse("# only a comment\n").is_err());
        assert!(
            DataKeys::parse("k1 not-base64!")
                .unwrap_err()
                .contains("base64url")
        );
        assert!(DataKeys::parse("k1 AAAA").unwrap_err().contains("32 bytes"));
        let key = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(
            DataKeys::parse(&format!("k1 {key}\nk1 {key}"))
                .unwrap_err()
                .contains("twice")
        );
        assert!(DataKeys::parse(&format!("bad/id {key}")).is_err());
        let keys = DataKeys::parse(&format!("# newest first\nk2 {key}\n\nk1 {key}\n")).unwrap();
        assert_eq!(keys.current_id(), "k2");
        assert!(
            !format!("{keys:?}").contains(&key),
            "a key never reaches Debug"
        );
    }

    #[test]
    fn a_wrapped_secret_opens_only_for_its_purpose_owner_and_key() {
        let keys = DataKeys::random().unwrap();
        let id = keys.current_id().to_string();
        let wrapped = keys.wrap("p", "owner", b"secret").unwrap();
        assert_eq!(
            &**keys.unwrap("p", "owner", &id, &wrapped).unwrap(),
            b"secret"
        );
        assert!(keys.unwrap("q", "owner", &id, &wrapped).is_err());
        assert!(keys.unwrap("p", "other", &id, &wrapped).is_err());
        assert!(keys.unwrap("p", "owner", "d-missing", &wrapped).is_err());
        let other = DataKeys::random().unwrap();
        assert!(other.unwrap("p", "owner", &id, &wrapped).is_err());
        let mut flipped = wrapped.clone();
        flipped[NONCE_LEN] ^= 1;
        assert!(keys.unwrap("p", "owner", &id, &flipped).is_err());
        assert!(keys.unwrap("p", "owner", &id, &wrapped[..10]).is_err());
    }

    /// A database with rows from before crypto-shredding: a plain service key, a capture
    /// with its verdict in the clear, a plain template.
    fn legacy_database(dir: &Path) -> crate::db::Db {
        let db = crate::db::Db::open(&dir.join("palmkit.sqlite3")).unwrap();
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO service_keys (id, public_key, private_key, created_at)
                 VALUES ('k-1', x'00', x'5151515151515151515151515151515151515151515151515151515151515151', 'now');
                 INSERT INTO accounts (id, email, display_name, password_hash, created_at)
                 VALUES ('acct-1', 'a@example.com', 'A', 'x', 'now');
                 INSERT INTO enrollments (id, state, hands, created_at, account_id)
                 VALUES ('enr-1', 'pending_store_match', 'right', 'now', 'acct-1');
                 INSERT INTO uploads (id, account_id, enrollment_id, hand, length, state,
                                      created_at, expires_at)
                 VALUES ('up-1', 'acct-1', 'enr-1', 'right', 4, 'accepted', 0, 0);
                 INSERT INTO captures (upload_id, enrollment_id, hand, key_id, metadata,
                                       sealed, created_at, spoof)
                 VALUES ('up-1', 'enr-1', 'right', 'k-1', '{}', x'c0ffee00c0ffee00', 0,
                         '{\"verdict\":\"pass\"}');
                 INSERT INTO palm_signatures (upload_id, enrollment_id, hand, algorithm,
                                              format, template, created_at)
                 VALUES ('up-1', 'enr-1', 'right', 1, 1, x'7e7e7e7e7e7e7e7e', 0);",
            )?;
            Ok(())
        })
        .unwrap();
        db
    }

    fn stored(db: &crate::db::Db, sql: &str) -> Vec<u8> {
        db.with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn rows_from_before_are_boxed_at_start_and_a_rotation_rewraps_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = legacy_database(dir.path());
        let old = DataKeys::random().unwrap();
        assert_eq!(db.with(|c| rewrap(c, &old)).unwrap(), 3);
        assert_eq!(db.with(|c| rewrap(c, &old)).unwrap(), 0, "done once");
        // Nothing of them is left in the clear.
        let template = stored(&db, "SELECT template FROM palm_signatures");
        let sealed = stored(&db, "SELECT sealed FROM captures");
        let private = stored(&db, "SELECT private_key FROM service_keys");
        assert!(!template.windows(8).any(|w| w == [0x7e; 8]));
        assert!(!sealed.windows(4).any(|w| w == [0xc0, 0xff, 0xee, 0]));
        assert!(!private.windows(8).any(|w| w == [0x51; 8]));
        let plain_spoof: Option<String> = db
            .with(|c| Ok(c.query_row("SELECT spoof FROM captures", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(plain_spoof, None);
        // ... and all of it opens with the enrollment's key and the data key.
        let key = db
            .with(|c| EnrollmentKey::get(c, &old, "enr-1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            &**key.open(Boxed::Template, "up-1", &template).unwrap(),
            &[0x7e; 8]
        );
        assert_eq!(
            &**key.open(Boxed::Capture, "up-1", &sealed).unwrap(),
            &[0xc0, 0xff, 0xee, 0, 0xc0, 0xff, 0xee, 0]
        );
        assert!(
            key.open(Boxed::Capture, "up-2", &sealed).is_err(),
            "bound to its row"
        );
        assert!(
            key.open(Boxed::Template, "up-1", &sealed).is_err(),
            "bound to its kind"
        );
        let spoof = stored(&db, "SELECT spoof_box FROM captures");
        assert_eq!(
            &**key.open(Boxed::SpoofVerdict, "up-1", &spoof).unwrap(),
            br#"{"verdict":"pass"}"#
        );
        assert_eq!(
            db.with(|c| crate::keys::private_key(c, &old, "k-1"))
                .unwrap()
                .unwrap(),
            [0x51; 32]
        );

        // Rotation: a new key first, the old one after; the start re-wraps both keys.
        let old_line = |keys: &DataKeys| {
            format!(
                "{} {}",
                keys.keys[0].0,
                URL_SAFE_NO_PAD.encode(*keys.keys[0].1)
            )
        };
        let new = DataKeys::random().unwrap();
        let both = DataKeys::parse(&format!("{}\n{}", old_line(&new), old_line(&old))).unwrap();
        assert_eq!(db.with(|c| rewrap(c, &both)).unwrap(), 2);
        // The old key can go: everything opens with the new one alone.
        let key = db
            .with(|c| EnrollmentKey::get(c, &new, "enr-1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            &**key.open(Boxed::Template, "up-1", &template).unwrap(),
            &[0x7e; 8]
        );
        assert!(
            db.with(|c| crate::keys::private_key(c, &new, "k-1"))
                .unwrap()
                .is_some()
        );
        // Without the key the database needs, nothing opens, and the error names it.
        let error = db
            .with(|c| EnrollmentKey::get(c, &old, "enr-1"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains(new.current_id()), "{error}");
        // Shredded: the enrollment's boxes never open again.
        db.with(|c| EnrollmentKey::shred(c, "enr-1")).unwrap();
        assert!(
            db.with(|c| EnrollmentKey::get(c, &new, "enr-1"))
                .unwrap()
                .is_none()
        );
    }
}
