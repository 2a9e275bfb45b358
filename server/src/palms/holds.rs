//! One palm in two accounts: the duplicate-palm policy.
//!
//! When an enrollment is submitted, its signatures are searched in the store match's
//! index for the pending enrollments of *other* accounts within the ambiguity band
//! (`MATCH_THRESHOLD + AMBIGUITY_MARGIN`, the distance at which a scan of that palm would
//! be answered `ambiguous`). If one is found, the new enrollment **and** every such other
//! one are held for review: they stay indexed (so a third account's copy of the palm is
//! held too) but are no scan's candidate, so no scan matches (or is made ambiguous by)
//! any of them until an operator decides (`palmkit holds list|release`).
//!
//! Why both, not only the newer: the first to enroll is not always the palm's owner. A
//! photo enrolled first would otherwise keep its place, and the owner's next store visit
//! would complete the *other* account's enrollment — telling that account when the owner
//! was in a store. Only a person (with the accounts, the cards and the capture records in
//! front of them) can settle which account the palm belongs to.
//!
//! Why this is no "is this palm enrolled?" oracle: a held enrollment reads exactly like
//! any other pending one (`pending_store_match`, its deadline, the same answer to the
//! submit, which searches whether or not anything is near); the hold is visible only to
//! the operator. It ends with a release (the enrollment is searched again, and later
//! conflicts with it hold only the newcomer: it was reviewed), with the enrollment's
//! deadline (expiry deletes its data as usual) or with its deletion.
//!
//! Submissions are checked one at a time (the caller holds [`crate::state::AppState`]'s
//! submit turn across the search and the write), so two accounts submitting the same palm
//! at once cannot each miss the other. Several replicas (issue 31) need that turn as a
//! database lock.

use palmkit_core::signature::Template;
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::data_keys::{Boxed, DataKeys, EnrollmentKey};
use crate::db::{Db, DbError, now};
use crate::palms::index::SearchIndex;

/// The opened signatures of `enrollment_id` (every accepted capture's), for the check.
pub fn templates(
    c: &Connection,
    keys: &DataKeys,
    enrollment_id: &str,
) -> Result<Vec<Template>, DbError> {
    let Some(key) = EnrollmentKey::get(c, keys, enrollment_id)? else {
        return Ok(Vec::new());
    };
    let mut stmt =
        c.prepare("SELECT upload_id, template FROM palm_signatures WHERE enrollment_id = ?1")?;
    let rows: Vec<(String, Vec<u8>)> = stmt
        .query_map([enrollment_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut templates = Vec::with_capacity(rows.len());
    for (upload_id, boxed) in rows {
        let bytes = key.open(Boxed::Template, &upload_id, &boxed)?;
        if let Ok(template) = Template::from_bytes(&bytes) {
            templates.push(template);
        }
    }
    Ok(templates)
}

/// The indexed pending enrollments (held ones too) within the ambiguity band of any of
/// `templates`. Runs on the blocking pool: it is a search of the whole index per palm.
pub fn near(
    index: &SearchIndex,
    templates: &[Template],
    now_s: i64,
) -> Result<Vec<String>, DbError> {
    let mut near = Vec::new();
    for template in templates {
        for (enrollment, _) in index.within_band(template, now_s)? {
            near.push(enrollment.to_string());
        }
    }
    near.sort();
    near.dedup();
    Ok(near)
}

/// Inside the submit's transaction, after `enrollment_id` moved to pending: of the
/// enrollments `near` it, those still pending and of another account than `account_id`;
/// if any, holds it and each of them unless that one was reviewed (released) before.
/// Returns how many others it conflicts with.
pub fn hold_if_near(
    c: &Connection,
    enrollment_id: &str,
    account_id: &str,
    near: &[String],
) -> Result<usize, DbError> {
    let mut others = Vec::new();
    for other in near {
        let theirs: Option<String> = c
            .query_row(
                "SELECT account_id FROM enrollments
                 WHERE id = ?1 AND state = 'pending_store_match'",
                [other],
                |r| r.get(0),
            )
            .optional()?;
        // The shopper's own enrollments (this one among them) are not duplicates.
        if theirs.is_some_and(|theirs| theirs != account_id) {
            others.push(other);
        }
    }
    if others.is_empty() {
        return Ok(0);
    }
    let at = now();
    hold(c, enrollment_id, at)?;
    for other in &others {
        let reviewed: bool = c.query_row(
            "SELECT EXISTS(SELECT 1 FROM palm_holds
                           WHERE enrollment_id = ?1 AND released_at IS NOT NULL)",
            [other],
            |r| r.get(0),
        )?;
        if !reviewed {
            hold(c, other, at)?;
        }
        c.execute(
            "INSERT OR IGNORE INTO palm_conflicts (enrollment_id, other_id, found_at)
             VALUES (?1, ?2, ?3)",
            params![enrollment_id, other, at],
        )?;
    }
    // Ids only: which accounts they belong to is for the operator's listing.
    tracing::warn!(
        enrollment = %enrollment_id,
        conflicts = others.len(),
        "enrollment held for review: its palm is near another account's pending enrollment"
    );
    Ok(others.len())
}

fn hold(c: &Connection, enrollment_id: &str, at: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO palm_holds (enrollment_id, held_at) VALUES (?1, ?2)
         ON CONFLICT (enrollment_id) DO NOTHING",
        params![enrollment_id, at],
    )?;
    Ok(())
}

/// Cuts every hold and conflict of `enrollment_id` (its deletion or expiry).
pub fn forget(c: &Connection, enrollment_id: &str) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM palm_conflicts WHERE enrollment_id = ?1 OR other_id = ?1",
        [enrollment_id],
    )?;
    c.execute(
        "DELETE FROM palm_holds WHERE enrollment_id = ?1",
        [enrollment_id],
    )?;
    Ok(())
}

/// One held enrollment, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The enrollment.
    pub enrollment_id: String,
    /// Its account.
    pub account_id: String,
    /// Unix seconds it was held at.
    pub held_at: i64,
    /// The enrollments whose palm it is near (either side of the conflict).
    pub conflicts_with: Vec<String>,
}

/// Every enrollment held for review, oldest first.
pub fn list(db: &Db) -> Result<Vec<Held>, DbError> {
    db.with(|c| {
        let mut stmt = c.prepare(
            "SELECT h.enrollment_id, e.account_id, h.held_at FROM palm_holds h
             JOIN enrollments e ON e.id = h.enrollment_id
             WHERE h.released_at IS NULL ORDER BY h.held_at, h.enrollment_id",
        )?;
        let rows: Vec<(String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut conflicts = c.prepare(
            "SELECT other_id FROM palm_conflicts WHERE enrollment_id = ?1
             UNION SELECT enrollment_id FROM palm_conflicts WHERE other_id = ?1
             ORDER BY 1",
        )?;
        rows.into_iter()
            .map(|(enrollment_id, account_id, held_at)| {
                let conflicts_with = conflicts
                    .query_map([&enrollment_id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(Held {
                    enrollment_id,
                    account_id,
                    held_at,
                    conflicts_with,
                })
            })
            .collect()
    })
}

/// Releases `enrollment_id` after review: it is searched again (the change feed tells
/// the index) and a later conflict with it holds only the newcomer. Returns whether it
/// was held.
pub fn release(db: &Db, enrollment_id: &str) -> Result<bool, DbError> {
    db.with(|c| {
        Ok(c.execute(
            "UPDATE palm_holds SET released_at = ?2
             WHERE enrollment_id = ?1 AND released_at IS NULL",
            params![enrollment_id, now()],
        )? > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three accounts; `enr-a1` and `enr-a2` are account a's, `enr-b` b's, `enr-c` c's,
    /// `enr-done` b's complete one; all but that one pending.
    fn database(dir: &std::path::Path) -> Db {
        let db = Db::open(&dir.join("palmkit.sqlite3")).unwrap();
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO accounts (id, email, display_name, password_hash, created_at)
                 VALUES ('a', 'a@example.com', 'A', 'x', 'now'),
                        ('b', 'b@example.com', 'B', 'x', 'now'),
                        ('c', 'c@example.com', 'C', 'x', 'now');
                 INSERT INTO enrollments (id, state, hands, created_at, account_id)
                 VALUES ('enr-a1', 'pending_store_match', 'right', 'now', 'a'),
                        ('enr-a2', 'pending_store_match', 'right', 'now', 'a'),
                        ('enr-b', 'pending_store_match', 'right', 'now', 'b'),
                        ('enr-c', 'pending_store_match', 'right', 'now', 'c'),
                        ('enr-done', 'complete', 'right', 'now', 'b');",
            )?;
            Ok(())
        })
        .unwrap();
        db
    }

    fn held(db: &Db) -> Vec<String> {
        list(db)
            .unwrap()
            .into_iter()
            .map(|h| h.enrollment_id)
            .collect()
    }

    #[test]
    fn only_other_accounts_pending_palms_hold_and_a_reviewed_one_stays_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let near = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The shopper's own other enrollment, itself, a complete one: no hold.
        let n = db
            .with(|c| hold_if_near(c, "enr-a2", "a", &near(&["enr-a1", "enr-a2", "enr-done"])))
            .unwrap();
        assert_eq!(n, 0);
        assert!(held(&db).is_empty());
        // Another account's pending palm: both held, the conflict recorded both ways.
        let n = db
            .with(|c| hold_if_near(c, "enr-b", "b", &near(&["enr-a1"])))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(held(&db), ["enr-a1", "enr-b"]);
        let listed = list(&db).unwrap();
        assert_eq!(listed[0].conflicts_with, ["enr-b"]);
        assert_eq!(listed[1].conflicts_with, ["enr-a1"]);
        assert_eq!(listed[1].account_id, "b");
        // Released after review: a later copy holds only the newcomer.
        assert!(release(&db, "enr-a1").unwrap());
        assert_eq!(held(&db), ["enr-b"]);
        db.with(|c| hold_if_near(c, "enr-c", "c", &near(&["enr-a1", "enr-b"])))
            .unwrap();
        assert_eq!(held(&db), ["enr-b", "enr-c"]);
        // A deletion cuts every hold and conflict naming it.
        db.with(|c| forget(c, "enr-b")).unwrap();
        let listed = list(&db).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].conflicts_with, ["enr-a1"]);
        // Every change of a hold is in the index's change feed.
        let fed: i64 = db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM palm_index_feed WHERE enrollment_id = 'enr-a1'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert!(fed >= 2, "hold and release of enr-a1: {fed} feed entries");
    }
}
