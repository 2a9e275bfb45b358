//! A minimum data rate for request bodies. A body that trickles holds its request's place
//! in the concurrency limits until the request timeout (30 s): 32 slow bodies from each of
//! 8 addresses filled the global 256 and `/healthz` took 28.5 s. Every body must bring at
//! least [`MinBodyRate::bytes_per_s`] on average over each [`MinBodyRate::window`] of time
//! its reader spends waiting for it, or it is cut: the reader sees an error, the handler
//! answers, and the connection goes. Only the waiting counts: a request queued for a turn,
//! or a handler busy between reads, is the server's time, not the client's.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// The rate a body must keep.
#[derive(Clone, Copy, Debug)]
pub struct MinBodyRate {
    /// Bytes a second, averaged over a window.
    pub bytes_per_s: u64,
    /// The window.
    pub window: Duration,
}

impl Default for MinBodyRate {
    fn default() -> Self {
        Self {
            bytes_per_s: 8 * 1024,
            window: Duration::from_secs(5),
        }
    }
}

/// Why a body was cut (what its reader sees).
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {0} bytes a second; it was cut")]
pub struct TooSlow(u64);

/// The middleware: the request's body, rate-checked.
pub async fn enforce(State(rate): State<MinBodyRate>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = checked(body, rate);
    next.run(Request::from_parts(parts, body)).await
}

/// Per-window state of one body.
struct Pace<S> {
    inner: S,
    rate: MinBodyRate,
    /// Time spent waiting for the body in this window, and the bytes it brought.
    waited: Duration,
    in_window: u64,
    done: bool,
}

/// `body`, cut with [`TooSlow`] at the end of a window that brought too little.
fn checked(body: Body, rate: MinBodyRate) -> Body {
    let pace = Pace {
        inner: body.into_data_stream(),
        rate,
        waited: Duration::ZERO,
        in_window: 0,
        done: false,
    };
    Body::from_stream(futures_util::stream::unfold(pace, |mut pace| async move {
        if pace.done {
            return None;
        }
        let need = (pace.rate.bytes_per_s as f64 * pace.rate.window.as_secs_f64()) as u64;
        loop {
            let asked = Instant::now();
            let left = pace.rate.window.saturating_sub(pace.waited);
            let next = tokio::time::timeout(left, pace.inner.next()).await;
            pace.waited += asked.elapsed();
            match next {
                Ok(Some(Ok(chunk))) => {
                    pace.in_window += chunk.len() as u64;
                    if pace.waited >= pace.rate.window {
                        if pace.in_window < need {
                            return cut(pace);
                        }
                        pace.next_window();
                    }
                    return Some((Ok::<Bytes, axum::BoxError>(chunk), pace));
                }
                Ok(Some(Err(e))) => {
                    pace.done = true;
                    return Some((Err(e.into()), pace));
                }
                Ok(None) => return None,
                // The window ended with no chunk in its last part: judge it as it is.
                Err(_) if pace.in_window >= need => pace.next_window(),
                Err(_) => return cut(pace),
            }
        }
    }))
}

impl<S> Pace<S> {
    fn next_window(&mut self) {
        self.waited = Duration::ZERO;
        self.in_window = 0;
    }
}

fn cut<S>(mut pace: Pace<S>) -> Option<(Result<Bytes, axum::BoxError>, Pace<S>)> {
    pace.done = true;
    let rate = pace.rate.bytes_per_s;
    Some((Err(Box::new(TooSlow(rate))), pace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trickle(chunks: usize, every: Duration, size: usize) -> Body {
        Body::from_stream(futures_util::stream::unfold(0, move |n| async move {
            if n == chunks {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, std::io::Error>(Bytes::from(vec![1u8; size])), n + 1))
        }))
    }

    const RATE: MinBodyRate = MinBodyRate {
        bytes_per_s: 1000,
        window: Duration::from_millis(200),
    };

    #[tokio::test]
    async fn a_trickling_body_is_cut_after_its_first_window() {
        // 10 bytes every 50 ms: 40 bytes a window where 200 are needed.
        let started = std::time::Instant::now();
        let read = axum::body::to_bytes(
            checked(trickle(100, Duration::from_millis(50), 10), RATE),
            usize::MAX,
        )
        .await;
        assert!(read.is_err());
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_reader_that_waits_elsewhere_is_not_charged_for_it() {
        // The body is all there, but its reader takes its time (a turn in a queue, work
        // between reads): 10 bytes read every 100 ms is no slow client.
        let body = Body::from_stream(futures_util::stream::iter(
            (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 10]))),
        ));
        let mut stream = checked(body, RATE).into_data_stream();
        let mut read = 0;
        while let Some(chunk) = stream.next().await {
            read += chunk.unwrap().len();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(read, 100);
    }

    #[tokio::test]
    async fn a_silent_body_is_cut_and_a_brisk_one_passes_whole() {
        let silent = trickle(1, Duration::from_secs(30), 10);
        let started = std::time::Instant::now();
        assert!(
            axum::body::to_bytes(checked(silent, RATE), usize::MAX)
                .await
                .is_err()
        );
        assert!(started.elapsed() < Duration::from_millis(600));
        // 100 bytes every 20 ms: 1000 a window, five times what is needed, over 4 windows.
        let brisk = trickle(40, Duration::from_millis(20), 100);
        let read = axum::body::to_bytes(checked(brisk, RATE), usize::MAX)
            .await
            .unwrap();
        assert_eq!(read.len(), 4000);
    }
}
