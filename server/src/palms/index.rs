//! The store match's in-memory search index: the signatures a scan may match (those of
//! enrollments pending a store match and not past their deadline), each with its coarse
//! code ([`palmkit_core::signature::CoarseCode`]) in two flat arrays the candidate stage
//! scans with popcounts, and the full template for the exact distance on the candidates.
//!
//! Kept current from the database's change feed (`palm_index_feed`, appended by triggers
//! on every change of a signature or an enrollment's state, deadline or existence): before
//! a search the index applies what the feed added since the sequence it last applied, by
//! reloading each enrollment named there. Built from the database at start; no restart is
//! ever needed, and a second replica can follow the same feed. A deadline passing needs no
//! feed entry: the search skips rows whose deadline is over.
//!
//! Enrollments held for review (one palm in two accounts, [`crate::palms::holds`]) are
//! indexed but never a scan's candidate until released.
//!
//! The candidate rule is a threshold, not a top-K: every row within [`COARSE_CUTOFF`]
//! reaches the exact stage, so the runner-up the ambiguity rule needs is there too.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use palmkit_core::signature::{
    self, CODE_WORDS, CoarseCode, LOCATE_ROW, ProbeCodes, REFINE_ROW, Template,
};
use rusqlite::{Connection, params};

use crate::data_keys::{Boxed, DataKeys, EnrollmentKey};
use crate::db::{Db, DbError, now};
use crate::palms::stores::{Decision, decide};

/// The index; shared by every scan.
#[derive(Default)]
pub struct SearchIndex {
    rows: RwLock<Rows>,
    /// What opens the stored templates (none for an index built without a database).
    keys: Option<Arc<DataKeys>>,
}

/// The indexed signatures, as parallel arrays (row `i` in each).
#[derive(Default)]
struct Rows {
    /// Whether the first full load happened.
    loaded: bool,
    /// The feed sequence applied last.
    applied: i64,
    /// Every row's locate code ([`LOCATE_ROW`] words), back to back: what the pass over
    /// every row reads, apart from the rest so that pass streams as little as it can.
    locate: Vec<u64>,
    /// Every row's refine code ([`REFINE_ROW`] words), read for the rows locate keeps.
    refine: Vec<u64>,
    templates: Vec<Template>,
    enrollment: Vec<Arc<str>>,
    /// Unix seconds after which the row's enrollment can no longer be matched.
    expires_at: Vec<i64>,
    /// Whether the row's enrollment is held for review: never a scan's candidate, but
    /// searched by the duplicate-palm check (a third account's copy of a held palm must
    /// be held too).
    held: Vec<bool>,
    /// The rows of each enrollment.
    by_enrollment: HashMap<Arc<str>, Vec<usize>>,
}

/// One signature of a pending enrollment, as read from the database.
struct Indexed {
    enrollment_id: String,
    expires_at: i64,
    held: bool,
    template: Template,
}

/// What one search did, for the scan's record and log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchStats {
    /// Rows the candidate stage looked at.
    pub scanned: usize,
    /// Rows that reached the exact distance.
    pub candidates: usize,
}

impl SearchIndex {
    /// The index of every signature the database holds for pending enrollments.
    pub fn load(db: &Db, keys: Arc<DataKeys>) -> Result<Self, DbError> {
        let index = Self {
            keys: Some(keys),
            ..Self::default()
        };
        db.with(|c| index.catch_up(c))?;
        Ok(index)
    }

    /// Applies what the change feed added since the last call (all of it the first time).
    /// It reads and applies while the caller holds the database connection, which is
    /// one at a time: so two catch-ups never apply their reads out of order (a pool of
    /// connections, issue 31, needs the apply ordered by feed sequence instead).
    pub fn catch_up(&self, c: &Connection) -> Result<(), DbError> {
        let (loaded, applied) = self
            .rows
            .read()
            .map_or((false, 0), |r| (r.loaded, r.applied));
        let (last, changed): (i64, Vec<String>) = if !loaded {
            // First load: every pending enrollment, and the feed's end as the start point.
            let last = c.query_row(
                "SELECT coalesce(max(seq), 0) FROM palm_index_feed",
                [],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(
                "SELECT DISTINCT enrollment_id FROM palm_signatures s
                 JOIN enrollments e ON e.id = s.enrollment_id
                 WHERE e.state = 'pending_store_match'",
            )?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            (last, ids)
        } else {
            let mut stmt = c.prepare(
                "SELECT seq, enrollment_id FROM palm_index_feed WHERE seq > ?1 ORDER BY seq",
            )?;
            let entries: Vec<(i64, String)> = stmt
                .query_map([applied], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let Some(last) = entries.last().map(|e| e.0) else {
                return Ok(());
            };
            let mut ids: Vec<String> = entries.into_iter().map(|e| e.1).collect();
            ids.sort();
            ids.dedup();
            (last, ids)
        };
        let keys = self
            .keys
            .as_deref()
            .ok_or_else(|| DbError::Task("this index has no database keys".into()))?;
        // Read every changed enrollment's current signatures before taking the lock.
        let mut fresh = Vec::with_capacity(changed.len());
        let mut stmt = c.prepare(
            "SELECT s.upload_id, s.template, e.expires_at, EXISTS(
                     SELECT 1 FROM palm_holds h
                     WHERE h.enrollment_id = e.id AND h.released_at IS NULL)
             FROM palm_signatures s JOIN enrollments e ON e.id = s.enrollment_id
             WHERE s.enrollment_id = ?1 AND e.state = 'pending_store_match'
               AND s.algorithm = ?2",
        )?;
        for id in &changed {
            let rows: Vec<(String, Vec<u8>, Option<i64>, bool)> = stmt
                .query_map(params![id, signature::CURRENT.id()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            // No key: the enrollment's data is gone (deleted or expired) or going.
            let key = match rows.is_empty() {
                true => None,
                false => EnrollmentKey::get(c, keys, id)?,
            };
            let signatures: Vec<Indexed> = rows
                .into_iter()
                .filter_map(|(upload_id, boxed, expires_at, held)| {
                    let bytes = key
                        .as_ref()?
                        .open(Boxed::Template, &upload_id, &boxed)
                        .ok()?;
                    // A template this build cannot read is rebuilt at start; until then it
                    // cannot be matched.
                    Some(Indexed {
                        enrollment_id: id.clone(),
                        // No deadline is no match, as the SQL search had it (NULL > now
                        // is false).
                        expires_at: expires_at.unwrap_or(i64::MIN),
                        held,
                        template: Template::from_bytes(&bytes).ok()?,
                    })
                })
                .collect();
            fresh.push((id.as_str(), signatures));
        }
        let mut rows = self.rows.write().map_err(|_| poisoned())?;
        for (id, signatures) in fresh {
            rows.remove(id);
            for s in signatures {
                rows.push(s);
            }
        }
        rows.applied = rows.applied.max(last);
        rows.loaded = true;
        Ok(())
    }

    /// An index of `rows` (enrollment id, template) that never expire, without a database:
    /// for benchmarks and tests of the search alone.
    pub fn from_templates(rows: impl IntoIterator<Item = (String, Template)>) -> Self {
        let index = Self::default();
        if let Ok(mut r) = index.rows.write() {
            for (enrollment_id, template) in rows {
                r.push(Indexed {
                    enrollment_id,
                    expires_at: i64::MAX,
                    held: false,
                    template,
                });
            }
            r.loaded = true;
        }
        index
    }

    /// The enrollment of every row the candidate stage passes for `probe` (what reaches
    /// the exact distance; for checking that nothing within the match band is lost).
    pub fn candidates(&self, probe: &Template, now_s: i64) -> Result<Vec<Arc<str>>, DbError> {
        let rows = self.rows.read().map_err(|_| poisoned())?;
        Ok(rows
            .candidate_rows(probe, now_s, false)
            .into_iter()
            .map(|i| rows.enrollment[i].clone())
            .collect())
    }

    /// Bytes of memory the index holds per row: its coarse code, the template (bits and
    /// masks with their vector headers), the enrollment reference, the deadline and the hold.
    pub fn bytes_per_row() -> usize {
        let planes = signature::CURRENT.planes();
        CODE_WORDS * 8
            + std::mem::size_of::<Template>()
            + 2 * planes * 32 * 4
            + std::mem::size_of::<Arc<str>>()
            + std::mem::size_of::<i64>()
            + std::mem::size_of::<bool>()
    }

    /// The feed sequence applied last (for pruning).
    pub fn applied(&self) -> i64 {
        self.rows.read().map_or(0, |r| r.applied)
    }

    /// Signatures indexed.
    pub fn len(&self) -> usize {
        self.rows.read().map_or(0, |r| r.templates.len())
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The decision for `probe` over the indexed enrollments whose deadline is after
    /// `now_s`: the coarse stage over every row, the exact distance on the candidates.
    pub fn search(&self, probe: &Template, now_s: i64) -> Result<(Decision, SearchStats), DbError> {
        let rows = self.rows.read().map_err(|_| poisoned())?;
        let candidates = rows.candidate_rows(probe, now_s, false);
        let stats = SearchStats {
            scanned: rows.templates.len(),
            candidates: candidates.len(),
        };
        let decision = decide(
            probe,
            candidates
                .iter()
                .map(|&i| (&*rows.enrollment[i], &rows.templates[i])),
        );
        Ok((decision, stats))
    }

    /// Every indexed enrollment (deadline after `now_s`, held ones too) within the ambiguity band of
    /// `probe` — where a scan of that palm would be answered `ambiguous` — with its least
    /// distance: the duplicate-palm check ([`crate::palms::holds`]).
    pub fn within_band(
        &self,
        probe: &Template,
        now_s: i64,
    ) -> Result<Vec<(Arc<str>, f32)>, DbError> {
        let rows = self.rows.read().map_err(|_| poisoned())?;
        let candidates = rows.candidate_rows(probe, now_s, true);
        let near = crate::palms::stores::within_band(
            probe,
            candidates
                .iter()
                .map(|&i| (&*rows.enrollment[i], &rows.templates[i])),
        );
        Ok(near.into_iter().map(|(id, d)| (Arc::from(id), d)).collect())
    }
}

impl Rows {
    /// The rows within the candidate stage's cutoff for `probe`, not past their deadline
    /// (and not held, unless `held_too`).
    fn candidate_rows(&self, probe: &Template, now_s: i64, held_too: bool) -> Vec<usize> {
        let mut candidates = Vec::new();
        if probe.algorithm() == signature::CURRENT {
            ProbeCodes::of(probe).candidates(
                &self.locate,
                &self.refine,
                |i| self.expires_at[i] > now_s && (held_too || !self.held[i]),
                &mut candidates,
            );
        }
        candidates
    }

    fn push(&mut self, s: Indexed) {
        if s.template.algorithm() != signature::CURRENT {
            // Another algorithm's shape: not searchable with this build's.
            return;
        }
        let code = CoarseCode::of(&s.template);
        let id: Arc<str> = self
            .by_enrollment
            .get_key_value(s.enrollment_id.as_str())
            .map_or_else(|| Arc::from(s.enrollment_id.as_str()), |(k, _)| k.clone());
        let row = self.templates.len();
        self.locate.extend_from_slice(code.locate_words());
        self.refine.extend_from_slice(code.refine_words());
        self.templates.push(s.template);
        self.enrollment.push(id.clone());
        self.expires_at.push(s.expires_at);
        self.held.push(s.held);
        self.by_enrollment.entry(id).or_default().push(row);
    }

    /// Drops every row of `enrollment_id` (the last row moves into each freed place).
    fn remove(&mut self, enrollment_id: &str) {
        let Some(mut gone) = self.by_enrollment.remove(enrollment_id) else {
            return;
        };
        // From the highest row down, so a row moved into a freed place is never one of
        // those still to remove.
        gone.sort_unstable_by(|a, b| b.cmp(a));
        for row in gone {
            let last = self.templates.len() - 1;
            self.templates.swap_remove(row);
            self.enrollment.swap_remove(row);
            self.expires_at.swap_remove(row);
            self.held.swap_remove(row);
            let (l, r) = (LOCATE_ROW, REFINE_ROW);
            if row != last {
                self.locate.copy_within(last * l..(last + 1) * l, row * l);
                self.refine.copy_within(last * r..(last + 1) * r, row * r);
                let moved = self.enrollment[row].clone();
                if let Some(rows) = self.by_enrollment.get_mut(&moved) {
                    for r in rows.iter_mut().filter(|r| **r == last) {
                        *r = row;
                    }
                }
            }
            self.locate.truncate(last * l);
            self.refine.truncate(last * r);
        }
    }
}

fn poisoned() -> DbError {
    DbError::Task("the search index's lock was poisoned by a panic".into())
}

/// Feed entries older than `keep_s` seconds that every index has applied can go: the
/// sweep calls this (one replica today, so "applied" is this process's index).
pub fn prune_feed(c: &Connection, applied: i64, keep_s: i64) -> Result<usize, DbError> {
    Ok(c.execute(
        "DELETE FROM palm_index_feed WHERE seq <= ?1 AND at < ?2",
        params![applied, now() - keep_s],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palms::stores::Decision;

    /// A random template of the service's algorithm, every bit usable.
    fn random(seed: u64) -> Template {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let planes = signature::CURRENT.planes();
        let rows = planes * 32;
        let mut bytes = vec![signature::FORMAT_VERSION, signature::CURRENT.id(), 32, 32];
        bytes.extend_from_slice(&[planes as u8, 0, 0, 0]);
        for _ in 0..rows {
            bytes.extend_from_slice(&(next() as u32).to_le_bytes());
        }
        bytes.extend(std::iter::repeat_n(0xFF, rows * 4));
        Template::from_bytes(&bytes).unwrap()
    }

    /// `t` with one bit in `one_in` flipped and moved one grid column: a mate of `t`.
    fn mate(t: &Template, one_in: u32, seed: u64) -> Template {
        let mut bytes = t.to_bytes();
        let planes = signature::CURRENT.planes();
        let mut state = seed | 1;
        for row in 0..planes * 32 {
            let at = 8 + 4 * row;
            let mut w = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            for bit in 0..32 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if (state >> 33) as u32 % one_in == 0 {
                    w ^= 1 << bit;
                }
            }
            bytes[at..at + 4].copy_from_slice(&(w << 1).to_le_bytes());
        }
        Template::from_bytes(&bytes).unwrap()
    }

    fn index_of(templates: impl IntoIterator<Item = (String, Template)>) -> SearchIndex {
        SearchIndex::from_templates(templates)
    }

    #[test]
    fn a_planted_mate_among_a_hundred_thousand_is_found_and_a_stranger_matches_none() {
        let enrolled = random(7);
        let gallery = (0..100_000u64)
            .map(|i| (format!("enr-{i}"), random(1_000 + i)))
            .chain([("enr-mate".to_string(), enrolled.clone())]);
        let index = index_of(gallery);
        assert_eq!(index.len(), 100_001);
        let probe = mate(&enrolled, 12, 3);
        let exact = enrolled.distance(&probe, signature::MAX_SHIFT).unwrap();
        assert!(exact.value < 0.15, "the mate is at {}", exact.value);
        let (decision, stats) = index.search(&probe, 0).unwrap();
        assert!(
            matches!(&decision, Decision::Match { enrollment_id, .. } if enrollment_id == "enr-mate"),
            "{decision:?}"
        );
        assert!(
            stats.candidates < 100,
            "{stats:?}: the coarse stage let too much through"
        );
        let (stranger, _) = index.search(&random(99), 0).unwrap();
        assert!(matches!(stranger, Decision::NoMatch { .. }), "{stranger:?}");
    }

    #[test]
    fn two_near_enrollments_are_ambiguous_and_removal_and_deadlines_are_honoured() {
        let palm = random(11);
        let index = index_of([
            ("enr-a".to_string(), mate(&palm, 20, 1)),
            ("enr-b".to_string(), mate(&palm, 20, 2)),
            ("enr-c".to_string(), random(12)),
        ]);
        let (decision, _) = index.search(&palm, 0).unwrap();
        assert!(
            matches!(decision, Decision::Ambiguous { .. }),
            "{decision:?}"
        );
        // One of the two gone (completed, deleted, expired): the other matches alone, and
        // the row that moved into the freed place is still found by its own id.
        index.rows.write().unwrap().remove("enr-a");
        let (decision, _) = index.search(&palm, 0).unwrap();
        assert!(
            matches!(&decision, Decision::Match { enrollment_id, .. } if enrollment_id == "enr-b"),
            "{decision:?}"
        );
        index.rows.write().unwrap().remove("enr-b");
        assert_eq!(index.len(), 1);
        let (c, _) = index.search(&random(12), 0).unwrap();
        assert!(matches!(&c, Decision::Match { enrollment_id, .. } if enrollment_id == "enr-c"));
        // Held for review: no scan's candidate, still found by the duplicate check.
        index.rows.write().unwrap().held[0] = true;
        let (held, _) = index.search(&random(12), 0).unwrap();
        assert!(matches!(held, Decision::NoMatch { best: None }), "{held:?}");
        let near = index.within_band(&random(12), 0).unwrap();
        assert_eq!(near.len(), 1);
        assert_eq!(&*near[0].0, "enr-c");
        assert!(index.within_band(&random(13), 0).unwrap().is_empty());
        index.rows.write().unwrap().held[0] = false;
        // Past its deadline a row is not searched.
        index.rows.write().unwrap().expires_at[0] = 10;
        let (late, _) = index.search(&random(12), 11).unwrap();
        assert!(matches!(late, Decision::NoMatch { best: None }), "{late:?}");
    }

    #[test]
    fn the_feed_keeps_what_is_recent_or_not_yet_applied() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("palmkit.sqlite3")).unwrap();
        let count = |db: &Db| -> i64 {
            db.with(|c| Ok(c.query_row("SELECT count(*) FROM palm_index_feed", [], |r| r.get(0))?))
                .unwrap()
        };
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO palm_index_feed (enrollment_id, at) VALUES ('enr-old', 0);
                 INSERT INTO palm_index_feed (enrollment_id, at) VALUES ('enr-unapplied', 0);
                 INSERT INTO palm_index_feed (enrollment_id) VALUES ('enr-new');",
            )?;
            Ok(())
        })
        .unwrap();
        // Applied up to the first entry: the old, applied one goes; the old one not yet
        // applied and the new one stay.
        assert_eq!(db.with(|c| prune_feed(c, 1, 3600)).unwrap(), 1);
        assert_eq!(count(&db), 2);
        // A server without an index applies everything.
        assert_eq!(db.with(|c| prune_feed(c, i64::MAX, 3600)).unwrap(), 1);
        assert_eq!(count(&db), 1);
    }
}
