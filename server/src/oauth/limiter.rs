//! Login attempt limits: after [`MAX_FAILURES`] failed logins for one email or from one
//! address within [`WINDOW`], further attempts are refused until the window has passed.
//! In memory: a restart forgets, which is acceptable for a reference server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed per key within the window.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Counts failures per key (a lower-cased email, or a client address).
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// `Some(wait)` while `key` is locked out.
    pub fn locked(&self, key: &str) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = map.get(key)?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Records a failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the map small: forget windows that have passed.
        map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        let entry = map.entry(key.to_string()).or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// Forgets the failures of `key` (after a successful login).
    pub fn succeed(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_success_resets() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            limiter.fail("a");
        }
        assert!(limiter.locked("a").is_none());
        limiter.fail("a");
        assert!(limiter.locked("a").is_some());
        assert!(limiter.locked("b").is_none());
        limiter.succeed("a");
        assert!(limiter.locked("a").is_none());
    }
}
