//! When to try again: exponential backoff with jitter, a budget of attempts without
//! progress, and the service's `Retry-After` (capped, so a hostile or confused server cannot
//! park the app for hours).

use std::time::{Duration, SystemTime};

/// How an upload retries.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first delay.
    pub initial_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// Failed attempts in a row, without a byte of progress, before giving up.
    pub max_attempts_without_progress: u32,
    /// The longest `Retry-After` obeyed; longer ones are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_attempts_without_progress: 10,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The retry state of one upload.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
}

impl Backoff {
    /// A fresh state.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            failures: 0,
        }
    }

    /// Progress was made: the budget starts again.
    pub fn progressed(&mut self) {
        self.failures = 0;
    }

    /// Failed attempts since the last progress.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure; the delay before the next attempt, or `None` when the budget is
    /// spent. `retry_after` (from the service) wins over the computed delay, up to the cap.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        if self.failures >= self.policy.max_attempts_without_progress {
            return None;
        }
        if let Some(wait) = retry_after {
            return Some(wait.min(self.policy.max_retry_after));
        }
        let exponent = (self.failures - 1).min(16);
        let ceiling = self
            .policy
            .initial_delay
            .saturating_mul(1 << exponent)
            .min(self.policy.max_delay);
        // "Equal jitter": at least half the delay, so retries never hammer, and a random
        // rest, so many phones cut off at once do not come back at once.
        let half = ceiling / 2;
        Some(half + half.mul_f64(random_unit()))
    }
}

/// A uniform number in [0, 1); 0.5 if the system has no randomness (jitter is not a secret).
pub(crate) fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_bounds_and_the_budget_ends() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_attempts_without_progress: 6,
            max_retry_after: Duration::from_secs(5),
        };
        let mut b = Backoff::new(policy);
        let ceilings = [100, 200, 400, 800, 800];
        for ceiling in ceilings {
            let d = b.next_delay(None).unwrap();
            let ceiling = Duration::from_millis(ceiling);
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d:?} not in [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
        assert_eq!(
            b.next_delay(None),
            None,
            "the sixth failure ends the budget"
        );
        b.progressed();
        assert!(b.next_delay(None).is_some(), "progress restores the budget");
    }

    #[test]
    fn retry_after_is_obeyed_up_to_the_cap() {
        let mut b = Backoff::new(RetryPolicy::default());
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
