//! Connections, before any request: at most so many open per client address, and a
//! connection with no request in flight closed after an idle time.
//!
//! HTTP/1.1 already closes an idle keep-alive connection (hyper's header-read timeout),
//! but an HTTP/2 connection answers the server's pings and so stayed open for ever once
//! its streams ended: 1000 parked connections from one address all stayed alive, each
//! holding its TLS state and a task. [`ConnectionGuard`] is the acceptor (under TLS) that
//! refuses an address's connection beyond [`Limits::connections_per_address`] (closed at
//! once, before the handshake) and wraps each stream so that its reads end (EOF, so hyper
//! closes the connection) once no request has been in flight on it for
//! [`Limits::connection_idle_timeout`]. A request counts as in flight from its first byte
//! handled to its answer made, so a long upload or a slow scan is never cut as idle.
//!
//! The key is the peer IP address: many shoppers behind one carrier NAT share an address,
//! which is why the default (128) is well above what one app opens (one or two).
//!
//! [`Limits::connections_per_address`]: crate::limits::Limits::connections_per_address
//! [`Limits::connection_idle_timeout`]: crate::limits::Limits::connection_idle_timeout

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The acceptor: a place per address, then the idle watch on the stream and the
/// in-flight count on the connection's service.
#[derive(Clone)]
pub struct ConnectionGuard {
    open: Arc<OpenPerAddress>,
    idle: Duration,
}

struct OpenPerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place among its address's; given back when the connection drops.
struct Place {
    open: Arc<OpenPerAddress>,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut map = self.open.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl ConnectionGuard {
    /// At most `per_address` connections open per client address; each closed after
    /// `idle` without a request in flight.
    pub fn new(per_address: usize, idle: Duration) -> Self {
        Self {
            open: Arc::new(OpenPerAddress {
                max: per_address.max(1),
                open: Mutex::new(HashMap::new()),
            }),
            idle,
        }
    }

    fn place(&self, ip: IpAddr) -> Option<Place> {
        let mut map = self.open.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= self.open.max {
            return None;
        }
        *n += 1;
        Some(Place {
            open: self.open.clone(),
            ip,
        })
    }

    /// Connections open from `ip` now (tests, logs).
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let map = self.open.open.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&ip).copied().unwrap_or(0)
    }
}

impl<S> axum_server::accept::Accept<TcpStream, S> for ConnectionGuard {
    type Stream = GuardedStream<TcpStream>;
    type Service = InFlight<S>;
    type Future = std::future::Ready<io::Result<(Self::Stream, InFlight<S>)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready((|| {
            let ip = stream.peer_addr()?.ip();
            // TCP_NODELAY: without it Nagle holds each short answer (a PATCH's 204) until
            // the client's delayed ACK, ~40 ms per upload chunk.
            stream.set_nodelay(true)?;
            self.guard(ip, stream, service)
        })())
    }
}

impl ConnectionGuard {
    /// `stream` from `ip` with its service, watched; refused beyond the address's cap.
    pub fn guard<T, S>(
        &self,
        ip: IpAddr,
        stream: T,
        service: S,
    ) -> io::Result<(GuardedStream<T>, InFlight<S>)> {
        let Some(place) = self.place(ip) else {
            // Dropping the stream closes it; the log says why, once per refusal, without
            // the address (it is the client's).
            tracing::debug!("connection refused: its address has too many open");
            return Err(io::Error::other("too many connections from one address"));
        };
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            since: Instant::now(),
            last_ms: AtomicU64::new(0),
        });
        Ok((
            GuardedStream {
                inner: stream,
                idle: self.idle,
                timer: Box::pin(tokio::time::sleep(self.idle)),
                activity: activity.clone(),
                _place: place,
            },
            InFlight {
                inner: service,
                activity,
            },
        ))
    }
}

/// What a connection's requests did: how many are in flight, and when one last started
/// or ended.
struct Activity {
    in_flight: AtomicUsize,
    since: Instant,
    /// Milliseconds after `since`.
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = self.since.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's stream: reads end once it has been idle too long.
pub struct GuardedStream<T> {
    inner: T,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    activity: Arc<Activity>,
    _place: Place,
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // hyper always has a read pending on a connection it serves, so this is polled
        // again when the timer fires.
        while this.timer.as_mut().poll(cx).is_ready() {
            if this.activity.in_flight.load(Ordering::Acquire) == 0 {
                let due = this.activity.last() + this.idle;
                if Instant::now() >= due {
                    // End of stream: hyper closes the connection (nothing is in flight).
                    return Poll::Ready(Ok(()));
                }
                this.timer.as_mut().reset(due);
            } else {
                this.timer.as_mut().reset(Instant::now() + this.idle);
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection's service: counts its requests in flight.
#[derive(Clone)]
pub struct InFlight<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// A request's count in flight; given back when its answer is made or it is dropped.
struct Counted(Arc<Activity>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, R> tower::Service<R> for InFlight<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::AcqRel);
        self.activity.touch();
        let counted = Counted(self.activity.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let out = answer.await;
            drop(counted);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// A service whose answer comes when `release` is notified.
    #[derive(Clone)]
    struct Held(Arc<tokio::sync::Notify>);

    impl tower::Service<()> for Held {
        type Response = ();
        type Error = ();
        type Future = Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, (): ()) -> Self::Future {
            let release = self.0.clone();
            Box::pin(async move {
                release.notified().await;
                Ok(())
            })
        }
    }

    /// Whether a read on `stream` ends (EOF) within `within`; the peer never writes.
    async fn ends_within<T: AsyncRead + Unpin>(stream: &mut T, within: Duration) -> bool {
        let mut buf = [0u8; 8];
        matches!(
            tokio::time::timeout(within, stream.read(&mut buf)).await,
            Ok(Ok(0))
        )
    }

    #[tokio::test]
    async fn an_idle_connection_ends_and_a_request_in_flight_keeps_it() {
        let idle = Duration::from_millis(150);
        let guard = ConnectionGuard::new(4, idle);
        let release = Arc::new(tokio::sync::Notify::new());
        let (_peer, ours) = tokio::io::duplex(64);
        let (mut stream, mut service) = guard.guard(HOME, ours, Held(release.clone())).unwrap();
        // A request in flight for many idle times: the connection stays.
        let answer = tokio::spawn(tower::Service::call(&mut service, ()));
        assert!(
            !ends_within(&mut stream, idle * 5).await,
            "cut while a request was in flight"
        );
        // Answered: idle from then, and closed after the idle time.
        release.notify_one();
        answer.await.unwrap().unwrap();
        let answered = Instant::now();
        assert!(
            ends_within(&mut stream, idle * 5).await,
            "an idle connection stayed"
        );
        assert!(answered.elapsed() >= idle - Duration::from_millis(20));
    }

    #[tokio::test]
    async fn an_address_holds_its_cap_of_connections_and_a_closed_one_frees_its_place() {
        let guard = ConnectionGuard::new(2, Duration::from_secs(60));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let open = |ip| guard.guard(ip, tokio::io::duplex(8).1, ());
        let first = open(HOME).unwrap();
        let _second = open(HOME).unwrap();
        assert!(open(HOME).is_err(), "a third connection from one address");
        assert!(open(other).is_ok(), "another address is not affected");
        assert_eq!(guard.open_from(HOME), 2);
        drop(first);
        assert_eq!(guard.open_from(HOME), 1);
        assert!(open(HOME).is_ok());
    }
}
