//! The request limits every route runs under ([`Limits`]), the upload limits among them.

use std::time::Duration;

use crate::body_rate::MinBodyRate;
use crate::palms::pictures::PictureLimits;
use crate::uploads::store::UploadLimits;

/// Request limits.
///
/// One slow client must not stall everyone: the request timeout covers the wait for a
/// turn as well as the work, a client (one address) has a few requests in flight at most
/// and is told to come back for more, and a connection that does not finish its headers,
/// or sits idle between requests, is closed after `header_read_timeout`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest JSON request body.
    pub max_body_bytes: usize,
    /// Longest a request may take, waiting for a turn and reading the body included.
    pub request_timeout: Duration,
    /// Requests served at once over all clients, capture uploads and `/healthz` apart
    /// (uploads have their own pool, `UploadLimits::max_concurrent_requests`); more wait
    /// (within the request timeout).
    pub max_concurrent: usize,
    /// The data rate every request body must keep ([`MinBodyRate`]).
    pub min_body_rate: MinBodyRate,
    /// Requests one client address may have in flight; more are answered `429` at once.
    pub max_per_client: usize,
    /// Longest a connection may take to send a request's headers, and to send the first
    /// request at all; for HTTP/1.1 also the longest it may sit idle between requests.
    pub header_read_timeout: Duration,
    /// Cards one client address may tokenize per minute at the provider stand-in (the
    /// one write that needs no login).
    pub provider_writes_per_minute: u32,
    /// Store scans that decode, read and search at once (the CPU-heavy part of a scan);
    /// more wait their turn, within the request timeout. Below the core count by one, so a
    /// burst of scans leaves a core for health checks, logins and uploads.
    pub scan_workers: usize,
    /// Store scans one device may send a second on average, and at once (a burst).
    pub scans_per_device: (f64, u32),
    /// Store scans all of one store's devices may send a second, and at once.
    pub scans_per_store: (f64, u32),
    /// Connections one client address may hold open at once; more are closed as they
    /// arrive (`crate::connections`).
    pub connections_per_address: usize,
    /// A connection with no request in flight for this long is closed (HTTP/2 above
    /// all: its pings kept a parked connection alive for ever).
    pub connection_idle_timeout: Duration,
    /// Capture uploads.
    pub uploads: UploadLimits,
    /// The pictures read (captures and scans): sides, memory, how many at once.
    pub pictures: PictureLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            max_concurrent: 256,
            min_body_rate: MinBodyRate::default(),
            max_per_client: 32,
            header_read_timeout: Duration::from_secs(10),
            provider_writes_per_minute: 20,
            scan_workers: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1),
            scans_per_device: (2.0, 5),
            scans_per_store: (20.0, 20),
            connections_per_address: 128,
            connection_idle_timeout: Duration::from_secs(30),
            uploads: UploadLimits::default(),
            pictures: PictureLimits::default(),
        }
    }
}
