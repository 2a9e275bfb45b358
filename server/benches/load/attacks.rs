//! The attacks of hardening round two, as load phases (issue 34): against a server with
//! the default limits (development mode, so no attestation is needed to reach the routes),
//! for [`ATTACK_SECS`] each, while `/healthz` is asked every 50 ms from another address:
//!
//! - **slow bodies from 8 addresses**: 32 connections from each of 127.0.0.3–10, each
//!   sending a `POST /token` whose body trickles a byte every 250 ms, reconnecting when
//!   cut (the minimum body rate must cut them, and `/healthz` must not queue);
//! - **picture bomb**: 8 store devices at once post an 82 KB 8192×8192 greyscale PNG
//!   (refused from its header), then a 4096×4096 one (inside the scan side limit: it is
//!   decoded, under the picture budget and the decode slots).
//!
//! Each phase reports the answers, `/healthz` p50/p99/max and the process's peak RSS
//! (`VmHWM`, reset before the phase: the server runs in this process; the attack clients
//! add a few MiB). They run before the wrk phases: glibc keeps the 19 MiB argon2 blocks of
//! the login phase's hashes (its mmap threshold grows with each freed block), ~5.5 GiB of
//! resident memory after 10 s of logins, which would hide what an attack adds.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use palmkit_server::{RunningServer, ServerOptions};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long each attack phase lasts.
const ATTACK_SECS: u64 = 20;
/// Addresses and connections per address of the slow-body attack (the issue's figures).
const SLOW_ADDRESSES: u8 = 8;
const SLOW_PER_ADDRESS: usize = 32;
/// Store devices posting pictures at once.
const BOMBERS: usize = 8;

/// Runs both phases on a fresh server and prints their figures. `models`: the hand
/// models (the scan route reads palms only with them; without, the bomb phase is skipped).
pub async fn run(work: &std::path::Path, models: Option<std::path::PathBuf>) -> Result<(), String> {
    let mut options =
        ServerOptions::development(work.join("attack-data"), "127.0.0.1:0".parse().unwrap());
    options.models = models.clone();
    let server = palmkit_server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nload: attack phases on {} (default limits, development mode)",
        server.addr
    );
    let baseline = measured(&server, async { String::from("nothing else") }).await;
    println!("{}", baseline.table("idle baseline"));
    let slow = measured(&server, slow_bodies(&server)).await;
    println!(
        "{}",
        slow.table(&format!(
            "slow bodies, {SLOW_ADDRESSES} addresses x {SLOW_PER_ADDRESS}"
        ))
    );
    if models.is_none() {
        println!("Phase: picture bomb skipped (no hand models: set PALMKIT_MODELS)");
    } else {
        for side in [8192u32, 4096] {
            let bomb = measured(&server, picture_bomb(&server, side)).await;
            println!(
                "{}",
                bomb.table(&format!(
                    "picture bomb, {BOMBERS} devices at once, {side}x{side} greyscale PNG"
                ))
            );
        }
    }
    server.shutdown().await;
    Ok(())
}

/// What one phase measured.
struct Measured {
    attack: String,
    health: String,
    peak_rss_mib: f64,
}

impl Measured {
    fn table(&self, name: &str) -> String {
        format!(
            "Phase: {name} ({ATTACK_SECS} s)\n  attack: {}\n  /healthz meanwhile: {}\n  peak RSS of the process: {:.0} MiB",
            self.attack, self.health, self.peak_rss_mib
        )
    }
}

/// Runs `attack` (which returns its summary) while `/healthz` is polled; with the peak
/// RSS over it.
async fn measured(
    server: &RunningServer,
    attack: impl std::future::Future<Output = String>,
) -> Measured {
    // Resets VmHWM to the current RSS (Linux 4.0+), so the peak is this phase's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(super::poll_health(
        server.base_url.clone(),
        server.client_config.clone(),
        stop.clone(),
    ));
    let attack = tokio::time::timeout(Duration::from_secs(ATTACK_SECS + 10), async {
        let deadline = tokio::time::sleep(Duration::from_secs(ATTACK_SECS));
        let (summary, ()) = tokio::join!(attack, deadline);
        summary
    })
    .await
    .unwrap_or_else(|_| "did not finish in time".into());
    stop.store(true, Ordering::SeqCst);
    let health = poller.await.unwrap_or_else(|e| e.to_string());
    Measured {
        attack,
        health,
        peak_rss_mib: status_kib("VmHWM") as f64 / 1024.0,
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn tls_config(server: &RunningServer) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = server
        .client_config
        .trust
        .ca_pem
        .as_deref()
        .ok_or("the development server names no CA")?;
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The slow-body attack until the phase ends; its summary.
async fn slow_bodies(server: &RunningServer) -> String {
    let config = match tls_config(server) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let started = Instant::now();
    let end = started + Duration::from_secs(ATTACK_SECS);
    let (opened, cut, refused) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let held_ms = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for a in 0..SLOW_ADDRESSES {
        let local = IpAddr::from([127, 0, 0, 3 + a]);
        for _ in 0..SLOW_PER_ADDRESS {
            let (config, target) = (config.clone(), server.addr);
            let (opened, cut, refused, held_ms) = (
                opened.clone(),
                cut.clone(),
                refused.clone(),
                held_ms.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while Instant::now() < end {
                    let began = Instant::now();
                    match trickle(&config, local, target, end).await {
                        Trickled::Cut => {
                            cut.fetch_add(1, Ordering::Relaxed);
                            held_ms
                                .fetch_add(began.elapsed().as_millis() as u64, Ordering::Relaxed);
                        }
                        Trickled::Refused => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Trickled::Outlived => {}
                    }
                    opened.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let cut = cut.load(Ordering::Relaxed);
    format!(
        "{} connections opened, {cut} cut by the server (held {:.1} s on average), {} refused at connect/handshake",
        opened.load(Ordering::Relaxed),
        held_ms.load(Ordering::Relaxed) as f64 / 1000.0 / cut.max(1) as f64,
        refused.load(Ordering::Relaxed)
    )
}

enum Trickled {
    /// The server answered or closed the connection.
    Cut,
    /// No connection (refused, handshake failed).
    Refused,
    /// Still open when the phase ended.
    Outlived,
}

/// One slow body from `local`: headers, then a byte every 250 ms until cut or `end`.
async fn trickle(
    config: &Arc<rustls::ClientConfig>,
    local: IpAddr,
    target: SocketAddr,
    end: Instant,
) -> Trickled {
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return Trickled::Refused;
    };
    if socket.bind(SocketAddr::new(local, 0)).is_err() {
        return Trickled::Refused;
    }
    let Ok(tcp) = socket.connect(target).await else {
        return Trickled::Refused;
    };
    let Ok(mut conn) = tokio_rustls::TlsConnector::from(config.clone())
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
    else {
        return Trickled::Refused;
    };
    let head = b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 65536\r\n\r\n";
    if conn.write_all(head).await.is_err() || conn.flush().await.is_err() {
        return Trickled::Cut;
    }
    let mut buf = [0u8; 1024];
    while Instant::now() < end {
        tokio::select! {
            read = conn.read(&mut buf) => {
                // An answer (408/413/…) or a close: either way the server let go.
                let _ = read;
                return Trickled::Cut;
            }
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                if conn.write_all(b"g").await.is_err() || conn.flush().await.is_err() {
                    return Trickled::Cut;
                }
            }
        }
    }
    Trickled::Outlived
}

/// A greyscale PNG `side` pixels a side, all one shade (a few dozen KB at 8192).
fn grey_png(side: u32) -> Vec<u8> {
    let mut png = Vec::new();
    let image = image::GrayImage::from_pixel(side, side, image::Luma([128]));
    let _ = image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png);
    png
}

/// [`BOMBERS`] store devices post the `side` PNG as fast as they are answered until the
/// phase ends; the answers by status and outcome.
async fn picture_bomb(server: &RunningServer, side: u32) -> String {
    let png = Arc::new(grey_png(side));
    let client = match server
        .client_config
        .validate()
        .map_err(|e| e.to_string())
        .and_then(|c| palmkit_core::net::PinnedClient::new(&c).map_err(|e| e.to_string()))
    {
        Ok(c) => Arc::new(c),
        Err(e) => return e,
    };
    let end = Instant::now() + Duration::from_secs(ATTACK_SECS);
    let answers = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let mut tasks = Vec::new();
    for i in 0..BOMBERS {
        // One store each, so the per-store budget is not what stops them.
        let device = match server.issue_store_device(&format!("bomb-store-{side}-{i}")) {
            Ok(d) => d,
            Err(e) => return e.to_string(),
        };
        let (png, client, answers) = (png.clone(), client.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let sent = client
                    .http()
                    .post(client.url("v1/store/scans").unwrap())
                    .bearer_auth(&device.token)
                    .header("content-type", "image/png")
                    .body(png.to_vec())
                    .send()
                    .await;
                let key = match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body = r.text().await.unwrap_or_default();
                        let what = serde_json::from_str::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| {
                                v.get("reason")
                                    .or_else(|| v.get("error"))
                                    .and_then(|r| r.as_str().map(str::to_string))
                            })
                            .unwrap_or_default();
                        if status == 429 {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        format!("{status} {what}")
                    }
                    Err(_) => "no answer".to_string(),
                };
                *answers.lock().unwrap().entry(key).or_insert(0u64) += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let answers = answers.lock().unwrap();
    let list: Vec<String> = answers.iter().map(|(k, n)| format!("{n} x {k}")).collect();
    format!("{} KB each; answers: {}", png.len() / 1024, list.join(", "))
}
