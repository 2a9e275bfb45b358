//! A TCP proxy in front of the reference server that behaves like a bad mobile link, on
//! command: it cuts a connection after a number of bytes sent up, swallows the next answer
//! and cuts, throttles uploads, or refuses connections. TLS passes through it untouched
//! (the client still verifies the server), so the failures are the transport's own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The proxy's switches; flip them from the test while traffic flows.
#[derive(Default)]
pub struct Faults {
    /// When non-zero: cut the connection once this many more bytes went up (one shot).
    pub cut_after_up: AtomicU64,
    /// Let the next answer's first bytes reach nobody, then cut (one shot).
    pub lose_next_answer: AtomicBool,
    /// Upload rate limit in bytes per second (0: none).
    pub up_bytes_per_sec: AtomicU64,
    /// Accept and drop every new connection (the server "is down").
    pub refuse: AtomicBool,
    /// Connections cut by the proxy so far.
    pub cuts: AtomicUsize,
    /// Bytes forwarded up so far (TLS records included).
    pub bytes_up: AtomicU64,
}

/// A running proxy.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Its switches.
    pub faults: Arc<Faults>,
}

/// Starts a proxy to `upstream` on a free 127.0.0.1 port.
pub async fn start(upstream: SocketAddr) -> FaultProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let faults = Arc::new(Faults::default());
    let shared = faults.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            if shared.refuse.load(Ordering::SeqCst) {
                drop(client);
                continue;
            }
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let faults = shared.clone();
            tokio::spawn(async move {
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let cut = Arc::new(tokio::sync::Notify::new());
                let up = tokio::spawn(pump_up(
                    client_read,
                    server_write,
                    faults.clone(),
                    cut.clone(),
                ));
                let down = pump_down(server_read, client_write, faults.clone());
                tokio::select! {
                    _ = down => {},
                    _ = cut.notified() => {},
                }
                up.abort();
            });
        }
    });
    FaultProxy { addr, faults }
}

async fn pump_up(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    faults: Arc<Faults>,
    cut: Arc<tokio::sync::Notify>,
) {
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut n = n;
        let budget = faults.cut_after_up.load(Ordering::SeqCst);
        if budget > 0 {
            if (n as u64) >= budget {
                n = budget as usize;
                let _ = to.write_all(&buf[..n]).await;
                faults.cut_after_up.store(0, Ordering::SeqCst);
                faults.cuts.fetch_add(1, Ordering::SeqCst);
                cut.notify_one();
                return;
            }
            faults
                .cut_after_up
                .store(budget - n as u64, Ordering::SeqCst);
        }
        let rate = faults.up_bytes_per_sec.load(Ordering::SeqCst);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        faults.bytes_up.fetch_add(n as u64, Ordering::SeqCst);
    }
}

async fn pump_down(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, faults: Arc<Faults>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if faults.lose_next_answer.swap(false, Ordering::SeqCst) {
            // Let the server finish what it is doing, drop its answer, cut.
            tokio::time::sleep(Duration::from_millis(300)).await;
            faults.cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

impl FaultProxy {
    /// Cuts `times` connections, each after a random number of bytes sent up in `range`
    /// (the next cut is armed once the previous one fired). The offsets chosen are pushed
    /// to the returned list, so a failing run can be replayed by hand.
    pub fn cut_repeatedly(
        &self,
        times: usize,
        range: std::ops::Range<u64>,
    ) -> (tokio::task::JoinHandle<()>, Arc<std::sync::Mutex<Vec<u64>>>) {
        let faults = self.faults.clone();
        let offsets = Arc::new(std::sync::Mutex::new(Vec::new()));
        let chosen = offsets.clone();
        let task = tokio::spawn(async move {
            for _ in 0..times {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).unwrap();
                let at = range.start + u64::from_le_bytes(b) % (range.end - range.start);
                chosen.lock().unwrap().push(at);
                let before = faults.cuts.load(Ordering::SeqCst);
                faults.cut_after_up.store(at, Ordering::SeqCst);
                while faults.cuts.load(Ordering::SeqCst) == before {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        (task, offsets)
    }
}
