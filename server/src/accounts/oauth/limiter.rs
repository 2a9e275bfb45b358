//! Login attempt limits: after [`MAX_FAILURES`] failed logins for one email or from one
//! address within [`WINDOW`], further attempts are refused until the window has passed.
//! In memory: a restart forgets, which is acceptable for a reference server.
//!
//! An attempt counts **when it starts**, not when its password check ends: the check is a
//! deliberately slow hash, and counting afterwards let a burst of concurrent guesses all
//! pass the lock check before the first failure was recorded (30 guesses at once got 30
//! answers against a limit of 5). [`LoginLimiter::begin`] checks and counts every key in
//! one step under one lock and returns an [`Attempt`]: a wrong password keeps the counts
//! ([`Attempt::failed`]), a success clears the email's count and gives the address its
//! attempt back ([`Attempt::succeeded`]), and an attempt that ends without an answer (the
//! client cut the connection, a server error) gives every key its attempt back when it is
//! dropped: its client learned nothing, and a flaky network must not lock a shopper out
//! (the load test's cut connections locked out every login from the address before).
//! Those refunds are bounded, [`MAX_REFUNDS`] per key within the window: the hash runs to
//! its end whether or not the client waits, so unbounded refunds let a client that cuts
//! every attempt hash passwords without limit (1576 cut attempts in 10 s never locked,
//! and slowed every other login 2-3x). Beyond the bound a cut attempt counts as a failure.
//! The hashing itself is bounded by [`LoginLimiter::hashing`], so a flood of logins cannot
//! occupy every blocking thread.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed per key within the window.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Attempts per key within the window given back because they ended without an answer.
pub const MAX_REFUNDS: u32 = 5;

/// One key's attempts within its window.
struct Entry {
    /// Attempts counted (started, not given back).
    count: u32,
    /// Attempts given back for ending without an answer.
    refunds: u32,
    /// When the window started.
    since: Instant,
}

/// Counts attempts per key (a lower-cased email, or a client address).
pub struct LoginLimiter {
    attempts: Mutex<HashMap<String, Entry>>,
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        // One password hash per core at a time: more only queue inside the blocking pool
        // and keep its threads from the database and upload work.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            attempts: Mutex::new(HashMap::new()),
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }
}

impl LoginLimiter {
    /// Starts an attempt for every key at once: `Err(wait)` if any of them is locked out
    /// (nothing is counted then), otherwise each key's count goes up by one now.
    pub fn begin(&self, keys: &[&str]) -> Result<Attempt<'_>, Duration> {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the map small: forget windows that have passed.
        map.retain(|_, e| e.since.elapsed() < WINDOW);
        let wait = keys
            .iter()
            .filter_map(|key| {
                let e = map.get(*key)?;
                (e.count >= MAX_FAILURES).then(|| WINDOW.saturating_sub(e.since.elapsed()))
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in keys {
            map.entry((*key).to_string())
                .or_insert(Entry {
                    count: 0,
                    refunds: 0,
                    since: Instant::now(),
                })
                .count += 1;
        }
        Ok(Attempt {
            limiter: self,
            keys: keys.iter().map(|k| (*k).to_string()).collect(),
        })
    }

    /// `Some(wait)` while `key` is locked out (tests only: the handler asks `begin`).
    #[cfg(test)]
    fn locked(&self, key: &str) -> Option<Duration> {
        let map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(key)?;
        let elapsed = e.since.elapsed();
        (e.count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Forgets the attempts of `key` (the email, after a successful login).
    fn succeed(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Gives one attempt back to `key`: always after a success (the address's attempt),
    /// at most [`MAX_REFUNDS`] times in the window for an attempt that ended unanswered.
    fn refund(&self, key: &str, unanswered: bool) {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(key) {
            if unanswered {
                if entry.refunds >= MAX_REFUNDS {
                    return;
                }
                entry.refunds += 1;
            }
            entry.count = entry.count.saturating_sub(1);
            // The entry stays while it remembers refunds: forgetting it would reset them.
            if entry.count == 0 && entry.refunds == 0 {
                map.remove(key);
            }
        }
    }

    /// Waits for a turn to run one password hash. The permit is owned so that it can move
    /// into the blocking task: a hash whose request was cut keeps its turn until it ends.
    pub async fn hashing(&self) -> tokio::sync::OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring cannot fail.
        self.hashing
            .clone()
            .acquire_owned()
            .await
            .expect("the hashing semaphore is never closed")
    }
}

/// One login attempt in progress, counted against its keys (email first, then address).
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: Vec<String>,
}

impl Attempt<'_> {
    /// The password was wrong: the attempt stays counted.
    pub fn failed(mut self) {
        self.keys.clear();
    }

    /// The password was right: `email_key`'s count is cleared, every other key gets its
    /// attempt back.
    pub fn succeeded(mut self, email_key: &str) {
        for key in std::mem::take(&mut self.keys) {
            if key == email_key {
                self.limiter.succeed(&key);
            } else {
                self.limiter.refund(&key, false);
            }
        }
    }
}

impl Drop for Attempt<'_> {
    /// Ended without an answer (cut connection, server error): nothing was learned.
    fn drop(&mut self) {
        for key in &self.keys {
            self.limiter.refund(key, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_success_resets() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            limiter.begin(&["a"]).unwrap().failed();
        }
        assert!(limiter.locked("a").is_none());
        limiter.begin(&["a"]).unwrap().failed();
        assert!(limiter.locked("a").is_some());
        assert!(limiter.begin(&["a"]).is_err());
        assert!(limiter.locked("b").is_none());
        limiter.succeed("a");
        assert!(limiter.locked("a").is_none());
    }

    #[test]
    fn attempts_cut_before_their_answer_are_given_back_a_bounded_number_of_times() {
        let limiter = LoginLimiter::default();
        // A flaky network: the first cut attempts cost the shopper nothing.
        for _ in 0..MAX_REFUNDS {
            drop(limiter.begin(&["email:a", "ip:1"]).unwrap());
        }
        assert!(limiter.locked("email:a").is_none());
        assert!(limiter.locked("ip:1").is_none());
        // Beyond the bound each cut counts: a client cutting every attempt (each still
        // costs a whole password hash) is locked out like one that waits for the answer.
        for _ in 0..MAX_FAILURES {
            drop(limiter.begin(&["email:a", "ip:1"]).unwrap());
        }
        assert!(limiter.begin(&["email:a", "ip:2"]).is_err(), "the email");
        assert!(limiter.begin(&["email:b", "ip:1"]).is_err(), "the address");
        // A success still gives the address its attempt back, without bound.
        let other = LoginLimiter::default();
        for _ in 0..MAX_FAILURES * 3 {
            other
                .begin(&["email:c", "ip:3"])
                .unwrap()
                .succeeded("email:c");
        }
        assert!(other.locked("ip:3").is_none());
    }

    #[test]
    fn attempts_in_flight_count_before_they_end() {
        let limiter = LoginLimiter::default();
        let in_flight: Vec<_> = (0..MAX_FAILURES)
            .map(|_| limiter.begin(&["email:a", "ip:1"]).unwrap())
            .collect();
        assert!(
            limiter.begin(&["email:a", "ip:2"]).is_err(),
            "the email is full"
        );
        assert!(
            limiter.begin(&["email:b", "ip:1"]).is_err(),
            "the address is full"
        );
        drop(in_flight);
    }

    #[test]
    fn a_locked_key_counts_nothing_for_the_others() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES {
            limiter.begin(&["email:a"]).unwrap().failed();
        }
        assert!(limiter.begin(&["email:a", "ip:1"]).is_err());
        // The address was not charged for the refused attempt.
        for _ in 0..MAX_FAILURES {
            limiter.begin(&["ip:1"]).unwrap().failed();
        }
        assert!(limiter.begin(&["ip:1"]).is_err());
    }

    #[test]
    fn success_clears_the_email_and_refunds_the_address() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            limiter.begin(&["email:a", "ip:1"]).unwrap().failed();
        }
        limiter
            .begin(&["email:a", "ip:1"])
            .unwrap()
            .succeeded("email:a");
        assert!(limiter.locked("email:a").is_none());
        // The address keeps its four failures, not five.
        limiter.begin(&["ip:1"]).unwrap().failed();
        assert!(limiter.locked("ip:1").is_some());
    }
}
