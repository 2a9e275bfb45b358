//! A fixed-window rate limit per client address, for the few routes anyone may call
//! without a login (the provider's tokenization endpoint needs only the public
//! publishable key): without it, 200 requests with 64 KiB cardholder names grew the
//! database by 13 MB.

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

#[cfg(test)]
mod tests {
    use super::*;

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
