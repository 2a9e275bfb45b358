//! Finding 4 of the attack on the service: one slow client stalled everyone. The global
//! concurrency limit sat outside the request timeout, there was no per-client limit and
//! no header-read or idle timeout: 256 slow bodies took `/healthz` from 17 ms to 28 s, and
//! idle or half-sent connections stayed open over 90 s. These tests play that client over
//! raw TLS connections from 127.0.0.1 and a well-behaved shopper from 127.0.0.2.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palmkit_server::RunningServer;
use palmkit_server::test_rig::TestRig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

fn tls_config(server: &RunningServer) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let ca = server.client_config.trust.ca_pem.as_deref().unwrap();
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
        .unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// An HTTP/1.1 TLS connection to the server from `local`.
async fn connect(server: &RunningServer, local: IpAddr) -> TlsStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let mut config = tls_config(server);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap()
}

/// The well-behaved shopper: another address than the attackers', a 5 s timeout.
fn shopper_client(server: &RunningServer) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(server))
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Reads until the server closes the connection or `within` passes: `Some(bytes)` if it
/// closed, `None` if it was still open.
async fn closed_within(
    conn: &mut TlsStream<tokio::net::TcpStream>,
    within: Duration,
) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_from_one_client_do_not_stall_another() {
    let (_dir, server) = TestRig::start_with(|o| {
        o.limits.max_concurrent = 8;
        o.limits.max_per_client = 4;
        o.limits.request_timeout = Duration::from_secs(20);
    })
    .await
    .into_parts();
    // The attacker: more slow bodies than the whole server serves at once.
    let attacker: IpAddr = "127.0.0.1".parse().unwrap();
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut conn = connect(&server, attacker).await;
        conn.write_all(
            b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant",
        )
        .await
        .unwrap();
        conn.flush().await.unwrap();
        slow.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The shopper, from another address, is served at once.
    let shopper = shopper_client(&server);
    let asked = Instant::now();
    let answer = shopper
        .get(format!("{}healthz", server.base_url))
        .send()
        .await
        .expect("/healthz did not answer while one client held slow bodies");
    assert!(answer.status().is_success());
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(2), "/healthz took {took:?}");

    // The attacker's requests beyond its share were refused at once, not queued.
    let mut refused = 0;
    for conn in &mut slow {
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), conn.read(&mut buf)).await
        {
            if buf[..n].starts_with(b"HTTP/1.1 429") {
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 12 - 4, "requests beyond the per-client share");
    drop(slow);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_from_several_addresses_are_cut_and_do_not_queue_healthz() {
    // Round two of the attack: three addresses, each within its per-client share, fill
    // the shared pool with bodies that trickle a byte a second.
    let (_dir, server) = TestRig::start_with(|o| {
        o.limits.max_concurrent = 8;
        o.limits.max_per_client = 4;
        o.limits.request_timeout = Duration::from_secs(20);
        o.limits.min_body_rate = palmkit_server::body_rate::MinBodyRate {
            bytes_per_s: 1024,
            window: Duration::from_secs(1),
        };
    })
    .await
    .into_parts();
    let mut slow = Vec::new();
    for attacker in ["127.0.0.1", "127.0.0.3", "127.0.0.4"] {
        for _ in 0..4 {
            let mut conn = connect(&server, attacker.parse().unwrap()).await;
            conn.write_all(
                b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ng",
            )
            .await
            .unwrap();
            conn.flush().await.unwrap();
            slow.push(conn);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    // /healthz is served at once, whatever the pool holds.
    let shopper = shopper_client(&server);
    let asked = Instant::now();
    let health = shopper
        .get(format!("{}healthz", server.base_url))
        .send()
        .await
        .expect("/healthz did not answer while slow bodies filled the pool");
    assert!(health.status().is_success());
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "/healthz took {:?}",
        asked.elapsed()
    );
    // Every trickling body is cut within a couple of windows, far before the 20 s timeout:
    // each connection gets its answer (or is closed).
    for conn in &mut slow {
        let left = Duration::from_secs(4).saturating_sub(started.elapsed());
        let answered = closed_within(conn, left.max(Duration::from_millis(10))).await;
        assert!(
            answered.is_some(),
            "a slow body held its place for {:?}",
            started.elapsed()
        );
    }
    // And a token request of a well-behaved client is served afterwards.
    let token = shopper
        .post(format!("{}token", server.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=nope")
        .send()
        .await
        .unwrap();
    // Refused for what it is (no client, a made-up token), not for the pool.
    assert!(
        matches!(token.status().as_u16(), 400 | 401),
        "{}",
        token.status()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn half_sent_headers_silent_and_idle_connections_are_closed() {
    let (_dir, server) =
        TestRig::start_with(|o| o.limits.header_read_timeout = Duration::from_secs(1))
            .await
            .into_parts();
    let local: IpAddr = "127.0.0.1".parse().unwrap();

    let mut half = connect(&server, local).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    half.flush().await.unwrap();
    let mut silent = connect(&server, local).await;
    let mut idle = connect(&server, local).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    idle.flush().await.unwrap();

    let started = Instant::now();
    assert!(
        closed_within(&mut half, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection with half-sent headers stayed open"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that sent nothing stayed open"
    );
    let answered = closed_within(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection stayed open");
    assert!(
        answered.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answered)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    server.shutdown().await;
}

/// An HTTP/2 frame header: payload length, type, flags, stream id.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Opens an HTTP/2 connection from 127.0.0.1 and asks `GET /healthz` on stream 1 (HPACK
/// by hand: static-table and literal fields, no Huffman).
async fn h2_healthz(server: &RunningServer) -> TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut config = tls_config(server);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let mut conn = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(conn.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut headers = vec![0x82, 0x87]; // :method GET, :scheme https
    headers.extend_from_slice(&[0x44, 8]); // :path, literal
    headers.extend_from_slice(b"/healthz");
    headers.extend_from_slice(&[0x41, 9]); // :authority, literal
    headers.extend_from_slice(b"127.0.0.1");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(4, 0, 0, &[])); // SETTINGS
    hello.extend(frame(1, 0x05, 1, &headers)); // HEADERS, END_STREAM | END_HEADERS
    conn.write_all(&hello).await.unwrap();
    conn.flush().await.unwrap();
    conn
}

/// Reads frames until stream 1's answer has ended (acknowledging the server's
/// SETTINGS); false if the connection ended first.
async fn h2_answered(conn: &mut TlsStream<tokio::net::TcpStream>) -> bool {
    loop {
        let mut head = [0u8; 9];
        if conn.read_exact(&mut head).await.is_err() {
            return false;
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        if conn.read_exact(&mut payload).await.is_err() {
            return false;
        }
        if kind == 4 && flags & 1 == 0 {
            conn.write_all(&frame(4, 1, 0, &[])).await.unwrap();
            conn.flush().await.unwrap();
        }
        // HEADERS or DATA on stream 1 with END_STREAM: answered.
        if stream == 1 && (kind == 0 || kind == 1) && flags & 1 == 1 {
            return true;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed() {
    let (_dir, server) = TestRig::start_with(|o| {
        o.limits.connection_idle_timeout = Duration::from_secs(1);
        o.limits.connections_per_address = 8;
    })
    .await
    .into_parts();
    // HTTP/2 answers its pings, so it stayed open once its streams ended (45 s and more).
    let mut conn = h2_healthz(&server).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(5), h2_answered(&mut conn))
            .await
            .unwrap(),
        "no answer to GET /healthz over HTTP/2"
    );
    let answered = Instant::now();
    assert!(
        closed_within(&mut conn, Duration::from_secs(6))
            .await
            .is_some(),
        "an idle HTTP/2 connection stayed open"
    );
    let idle = answered.elapsed();
    assert!(
        idle >= Duration::from_millis(900),
        "closed after {idle:?}, before its idle time"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_parks_no_more_connections_than_its_cap() {
    let (_dir, server) = TestRig::start_with(|o| o.limits.connections_per_address = 8)
        .await
        .into_parts();
    // Parked TCP connections from one address (1000 all stayed open): 8 stay, the rest
    // are closed at once.
    let parker: IpAddr = "127.0.0.3".parse().unwrap();
    let mut parked = Vec::new();
    for _ in 0..14 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(parker, 0)).unwrap();
        parked.push(socket.connect(server.addr).await.unwrap());
        // One at a time, so which ones are over the cap is the order they came in.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut open = 0;
    for conn in &mut parked {
        let mut buf = [0u8; 16];
        // Still open: the read waits. Closed: EOF or a reset at once.
        let read = tokio::time::timeout(Duration::from_millis(300), conn.read(&mut buf)).await;
        open += usize::from(read.is_err());
    }
    assert_eq!(open, 8, "parked connections left open from one address");
    // Another address is served meanwhile.
    let answer = shopper_client(&server)
        .get(format!("{}healthz", server.base_url))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    // A parked connection closed gives its place back.
    parked.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(parker, 0)).unwrap();
    let mut again = socket.connect(server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), again.read(&mut buf))
            .await
            .is_err(),
        "the address's places were not given back"
    );
    server.shutdown().await;
}
