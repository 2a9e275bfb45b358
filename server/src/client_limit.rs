//! Requests in flight per client address. Without it one client could take every
//! permit of the global limit with slow bodies (256 slow bodies took `/healthz` from 17 ms
//! to 28 s); with it such a client gets `429` with `Retry-After` for anything beyond its
//! share, at once, and everyone else is served.
//!
//! The key is the peer IP address: clients behind one NAT share a share, which is why the
//! default (32) is well above what one app needs (an upload, a status poll, a login).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::ApiFailure;

/// Counts requests in flight per client address.
pub struct ClientLimit {
    max: usize,
    in_flight: Mutex<HashMap<IpAddr, usize>>,
}

/// One request's place; given back when dropped (the answer is made, or the request was
/// cancelled).
struct Slot {
    limit: Arc<ClientLimit>,
    ip: IpAddr,
}

impl ClientLimit {
    /// At most `max` requests in flight per address.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            limit: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .limit
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// The middleware: a place for the request's address, or `429 too_many_requests`.
pub async fn enforce(State(limit): State<Arc<ClientLimit>>, req: Request, next: Next) -> Response {
    // Requests built without a peer (router tests) are not limited.
    let Some(ip) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    let Some(_slot) = limit.enter(ip) else {
        return ApiFailure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many requests in flight from this client; retry shortly",
        )
        .with_header("retry-after", "1")
        .into_response();
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_share_and_gets_it_back() {
        let limit = Arc::new(ClientLimit::new(2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limit.enter(a).unwrap();
        let _second = limit.enter(a).unwrap();
        assert!(limit.enter(a).is_none());
        assert!(limit.enter(b).is_some(), "another client is not affected");
        drop(first);
        assert!(limit.enter(a).is_some());
    }
}
