//! Palm signatures at rest: one per accepted capture, bound to its enrollment and hand,
//! and their rebuild when the algorithm or template format moves (the sealed capture is
//! kept for exactly this: it is opened again in memory, read, and wiped). Templates are
//! stored under their enrollment's key ([`crate::data_keys`]).

use palmkit_core::protocol::Hand;
use palmkit_core::signature::{self, FORMAT_VERSION, Template};
use rusqlite::{Connection, params};

use crate::data_keys::{Boxed, DataKeys, EnrollmentKey};
use crate::db::{Db, DbError, now};
use crate::palms::PalmReader;

/// Stores (or replaces) the signature of capture `upload_id`, under `key` (its
/// enrollment's).
pub fn store(
    c: &Connection,
    key: &EnrollmentKey,
    upload_id: &str,
    enrollment_id: &str,
    hand: Hand,
    template: &Template,
) -> Result<(), DbError> {
    c.execute(
        "INSERT OR REPLACE INTO palm_signatures
             (upload_id, enrollment_id, hand, algorithm, format, template, created_at, boxed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
        params![
            upload_id,
            enrollment_id,
            hand.as_str(),
            template.algorithm().id(),
            FORMAT_VERSION,
            key.seal(
                Boxed::Template,
                upload_id,
                &zeroize::Zeroizing::new(template.to_bytes())
            )?,
            now()
        ],
    )?;
    Ok(())
}

/// What a rebuild did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Signatures made.
    pub made: usize,
    /// Captures that gave none (no readable palm); they cannot be matched in store.
    pub unreadable: usize,
}

/// Makes the signature of every capture that has none, or one of another algorithm or
/// format than this build's. Runs at start, before the server takes requests.
pub fn rebuild(
    db: &Db,
    keys: &DataKeys,
    reader: &PalmReader,
    pictures: &crate::palms::pictures::PictureLimits,
) -> Result<Rebuilt, DbError> {
    let stale: Vec<(String, String, String, String, Vec<u8>)> = db.with(|c| {
        let mut stmt = c.prepare(
            "SELECT c.upload_id, u.account_id, c.enrollment_id, c.hand, c.sealed
             FROM captures c JOIN uploads u ON u.id = c.upload_id
             LEFT JOIN palm_signatures s ON s.upload_id = c.upload_id
             WHERE s.upload_id IS NULL OR s.algorithm != ?1 OR s.format != ?2",
        )?;
        let rows = stmt
            .query_map(params![signature::CURRENT.id(), FORMAT_VERSION], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    })?;
    let mut done = Rebuilt::default();
    for (upload_id, account_id, enrollment_id, hand, sealed) in stale {
        let Ok(hand) = hand.parse::<Hand>() else {
            // The schema's CHECK allows only the two; a row that is neither is skipped.
            continue;
        };
        let Some(key) = db.with(|c| EnrollmentKey::get(c, keys, &enrollment_id))? else {
            // No key, no capture: the enrollment is being deleted.
            continue;
        };
        let sealed = key.open(Boxed::Capture, &upload_id, &sealed)?;
        let verified = crate::uploads::verify::verify(
            &sealed,
            &account_id,
            &enrollment_id,
            hand,
            |key_id| db.with(|c| crate::keys::private_key(c, keys, key_id)),
            Some(reader),
            pictures,
        )?;
        match verified.ok().and_then(|v| v.signature) {
            Some(template) => {
                db.with(|c| store(c, &key, &upload_id, &enrollment_id, hand, &template))?;
                done.made += 1;
            }
            None => {
                // Old signatures of another algorithm must not linger.
                db.with(|c| {
                    c.execute(
                        "DELETE FROM palm_signatures WHERE upload_id = ?1",
                        [&upload_id],
                    )?;
                    Ok(())
                })?;
                done.unreadable += 1;
            }
        }
    }
    if done.made + done.unreadable > 0 {
        tracing::info!(
            made = done.made,
            unreadable = done.unreadable,
            "palm signatures rebuilt"
        );
    }
    Ok(done)
}
