//! Shopper accounts: email, display name and an argon2id password hash, in SQLite. A test
//! shopper is seeded on first start so the demo and the tests can log in; its password is
//! public ([`TEST_SHOPPER_PASSWORD`]) because this is a reference server, not production.

pub mod browser;
pub mod consent;
mod hash_memory;
pub mod oauth;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroize as _;

use hash_memory::HashMemory;
use rusqlite::OptionalExtension as _;

use crate::db::{Db, DbError};

/// Email of the seeded test shopper.
pub const TEST_SHOPPER_EMAIL: &str = "shopper@palmkit.test";
/// Password of the seeded test shopper (public: reference server only).
pub const TEST_SHOPPER_PASSWORD: &str = "palm-demo-password";

/// An account as the service shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Opaque id.
    pub id: String,
    /// Login email.
    pub email: String,
    /// Name to greet the shopper with.
    pub display_name: String,
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, DbError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| DbError::Task(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DbError::Task(format!("password hashing: {e}")))
}

/// Adds an account; fails if the email is taken.
pub fn create(
    db: &Db,
    email: &str,
    display_name: &str,
    password: &str,
) -> Result<Account, DbError> {
    let hash = hash_password(password)?;
    let id = crate::ids::new_id("acct")?;
    db.with(|c| {
        c.execute(
            "INSERT INTO accounts (id, email, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            rusqlite::params![id, email, display_name, hash],
        )?;
        Ok(())
    })?;
    Ok(Account {
        id,
        email: email.to_string(),
        display_name: display_name.to_string(),
    })
}

/// Seeds the test shopper if no account exists yet.
pub fn seed_test_shopper(db: &Db) -> Result<(), DbError> {
    let count: i64 =
        db.with(|c| Ok(c.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?))?;
    if count == 0 {
        create(
            db,
            TEST_SHOPPER_EMAIL,
            "Test Shopper",
            TEST_SHOPPER_PASSWORD,
        )?;
        tracing::info!(
            email = TEST_SHOPPER_EMAIL,
            "seeded the test shopper account"
        );
    }
    Ok(())
}

/// Checks an email and password; `None` for an unknown email or a wrong password alike.
/// Runs the hash check even for an unknown email so timing does not reveal which it was.
pub fn verify(db: &Db, email: &str, password: &str) -> Result<Option<Account>, DbError> {
    let row: Option<(String, String, String, String)> = db.with(|c| {
        Ok(c.query_row(
            "SELECT id, email, display_name, password_hash FROM accounts WHERE email = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
    })?;
    let stored = row.as_ref().map(|r| r.3.clone()).unwrap_or_else(dummy_hash);
    let parsed =
        PasswordHash::new(&stored).map_err(|e| DbError::Task(format!("stored hash: {e}")))?;
    let ok = password_matches(password.as_bytes(), &parsed, HashMemory::shared())
        .map_err(|e| DbError::Task(format!("stored hash: {e}")))?;
    Ok(match (ok, row) {
        (true, Some((id, email, display_name, _))) => Some(Account {
            id,
            email,
            display_name,
        }),
        _ => None,
    })
}

/// Whether `password` hashes to `hash`, argon2's working memory taken from `memory`
/// rather than allocated for the check (what `PasswordVerifier::verify_password` does;
/// [`HashMemory`] says why not). The outputs are compared in constant time (`Output`'s
/// equality).
fn password_matches(
    password: &[u8],
    hash: &PasswordHash<'_>,
    memory: &HashMemory,
) -> Result<bool, argon2::password_hash::Error> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(hash)?;
    let algorithm = Algorithm::try_from(hash.algorithm)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    memory.with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt, &mut out, blocks)
    })?;
    let matches = Output::new(&out)? == *expected;
    out.zeroize();
    Ok(matches)
}

/// An account by id.
pub fn by_id(c: &rusqlite::Connection, id: &str) -> Result<Option<Account>, DbError> {
    Ok(c.query_row(
        "SELECT id, email, display_name FROM accounts WHERE id = ?1",
        [id],
        |r| {
            Ok(Account {
                id: r.get(0)?,
                email: r.get(1)?,
                display_name: r.get(2)?,
            })
        },
    )
    .optional()?)
}

fn dummy_hash() -> String {
    // A valid argon2id hash of a random password, made once per process.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password("no such account").unwrap_or_default())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_shopper_logs_in_with_its_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("a.sqlite3")).unwrap();
        seed_test_shopper(&db).unwrap();
        seed_test_shopper(&db).unwrap();
        let ok = verify(&db, TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD)
            .unwrap()
            .unwrap();
        assert_eq!(ok.email, TEST_SHOPPER_EMAIL);
        assert!(verify(&db, TEST_SHOPPER_EMAIL, "wrong").unwrap().is_none());
        assert!(
            verify(&db, "nobody@palmkit.test", TEST_SHOPPER_PASSWORD)
                .unwrap()
                .is_none()
        );
        let stored: String = db
            .with(|c| Ok(c.query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))?))
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains(TEST_SHOPPER_PASSWORD));
    }

    #[test]
    fn the_pooled_check_agrees_with_argon2s_own_for_other_parameters_too() {
        use argon2::password_hash::PasswordVerifier as _;
        // Small, non-default costs and the older version: what a hash stored under other
        // parameters would carry. The pooled buffer grows to a larger cost and shrinks back.
        let memory = HashMemory::new(1);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        for (m, version) in [
            (64, Version::V0x10),
            (19 * 1024 + 7, Version::V0x13),
            (8, Version::V0x13),
        ] {
            let params = Params::new(m, 1, 1, None).unwrap();
            let argon2 = Argon2::new(Algorithm::Argon2id, version, params);
            let stored = argon2.hash_password(b"right", &salt).unwrap().to_string();
            let parsed = PasswordHash::new(&stored).unwrap();
            for password in [&b"right"[..], b"wrong", b""] {
                assert_eq!(
                    password_matches(password, &parsed, &memory).unwrap(),
                    Argon2::default().verify_password(password, &parsed).is_ok(),
                    "m={m} {version:?} {password:?}"
                );
            }
        }
        assert_eq!(memory.made(), 1);
        // A hash with no output part cannot match anything.
        let bare = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2l4dGVlbiBieXRlIHNsdA").unwrap();
        assert!(!password_matches(b"right", &bare, &memory).unwrap());
    }
}
