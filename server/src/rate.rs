//! Rate limits: a fixed window per client address ([`WindowLimit`]), for the few routes
//! anyone may call without a login (the provider's tokenization endpoint needs only the
//! public publishable key: without it, 200 requests with 64 KiB cardholder names grew the
//! database by 13 MB); and a token bucket per key ([`KeyedBucket`]), for the store scans
//! of each device and each store (one device's 30 scans in 4 s slowed a shopper's upload
//! sevenfold and another store's scans tenfold).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `max` calls per address per `window`.
pub struct WindowLimit {
    max: u32,
    window: Duration,
    calls: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl WindowLimit {
    /// A limit of `max` calls per `window` for each address.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a call from `ip`: `Err(wait)` when its window is full.
    pub fn allow(&self, ip: IpAddr) -> Result<(), Duration> {
        let mut map = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the map small: forget windows that have passed.
        map.retain(|_, (_, since)| since.elapsed() < self.window);
        let (count, since) = map.entry(ip).or_insert((0, Instant::now()));
        if *count >= self.max {
            return Err(self.window.saturating_sub(since.elapsed()));
        }
        *count += 1;
        Ok(())
    }
}

/// A token bucket per key: `rate` calls a second on average, up to `burst` at once.
pub struct KeyedBucket {
    rate: f64,
    burst: f64,
    /// Tokens left and when they were counted, per key.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Keys kept before full buckets are forgotten (a full bucket is the same as none).
const KEYS_KEPT: usize = 4096;

impl KeyedBucket {
    /// A bucket of `burst` tokens per key, refilled at `rate` a second.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate: rate.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`: `Err(wait)` (until one is back) when none is left.
    pub fn allow(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEYS_KEPT {
            let (rate, burst) = (self.rate, self.burst);
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = map.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate_per_key() {
        let bucket = KeyedBucket::new(20.0, 5);
        for _ in 0..5 {
            assert!(bucket.allow("dev-a").is_ok());
        }
        let wait = bucket.allow("dev-a").unwrap_err();
        assert!(wait <= Duration::from_millis(50), "{wait:?}");
        // Another key has its own bucket.
        assert!(bucket.allow("dev-b").is_ok());
        // One token back after 1/20 s.
        std::thread::sleep(Duration::from_millis(60));
        assert!(bucket.allow("dev-a").is_ok());
        assert!(bucket.allow("dev-a").is_err());
    }

    #[test]
    fn a_full_window_refuses_and_others_are_not_affected() {
        let limit = WindowLimit::new(2, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limit.allow(a).is_ok());
        assert!(limit.allow(a).is_ok());
        assert!(limit.allow(a).is_err());
        assert!(limit.allow("10.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_window_passes() {
        let limit = WindowLimit::new(1, Duration::from_millis(20));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limit.allow(a).is_ok());
        assert!(limit.allow(a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.allow(a).is_ok());
    }
}
