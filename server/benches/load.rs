//! Load test of the reference server with a real load generator (`wrk`), 127.0.0.1 only,
//! bounded in time. `cargo xtask load` installs wrk and runs this in release.
//!
//! Set-up (through the real client): `SHOPPERS` accounts log in through the login page,
//! each gets a draft enrollment and one 400 KB capture sealed for it. Then, for
//! `PHASE_SECS` seconds at once, three wrk processes play the shoppers:
//! - **login**: `POST /authorize` with the right password (an argon2id check each);
//! - **upload**: tus creation then one `PATCH` with the whole sealed capture (the server
//!   opens and decodes it when the last byte is in);
//! - **status**: `GET /v1/enrollments/{id}` polling;
//!
//! while this process asks `/healthz` every 50 ms. wrk reports latency percentiles, rates,
//! non-2xx answers and socket errors per route. The same runs again through a proxy that
//! cuts 10 % of connections at a random byte. A short sweep of the status route over
//! connection counts shows where throughput stops growing (saturation).
//!
//! First, the attacks of hardening round two run as phases against a separate server with the
//! default limits ([`attacks`]): slow bodies from 8 addresses and the picture bomb, each
//! with `/healthz` p99 and the peak RSS over it.
//!
//! Limits meant for the open internet are raised here (all load comes from one address):
//! the per-client limit, caps on captures and enrollments, unfinished uploads per account.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use palmkit_core::account::AccountClient;
use palmkit_core::account::store::KeyringStore;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::protocol::{CaptureMetadata, CaptureSource, Hand};
use palmkit_core::upload::envelope::{self, AeadSuite, SealContext};
use palmkit_server::accounts::browser::ScriptedBrowser;
use palmkit_server::{APP_CLIENT_ID, APP_REDIRECT_URI, ServerOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[path = "load/attacks.rs"]
mod attacks;

const SHOPPERS: usize = 16;
const PHASE_SECS: u64 = 20;
const SWEEP_SECS: u64 = 5;
const PASSWORD: &str = "load-test-password";

fn main() {
    let wrk = std::env::var("PALMKIT_WRK").unwrap_or_else(|_| "wrk".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(&wrk)) {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

async fn run(wrk: &str) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    // The attacks first, while the process is small: its peak RSS is then theirs (the
    // logins below leave gigabytes of argon2 memory with the allocator, see attacks.rs).
    let models = std::env::var_os("PALMKIT_MODELS")
        .map(PathBuf::from)
        .filter(|d| d.join("SHA256SUMS").exists());
    attacks::run(work.path(), models).await?;
    let mut options =
        ServerOptions::development(work.path().join("data"), "127.0.0.1:0".parse().unwrap());
    options.limits.max_per_client = 100_000;
    options.limits.uploads.max_active_per_account = 100_000;
    options.limits.uploads.max_captures_per_hand = 1_000_000;
    options.limits.uploads.max_captures_per_account = 1_000_000;
    options.lifetimes.access = 3600;
    let server = palmkit_server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    println!("load: server on {} (development mode)", server.addr);

    let setup = Instant::now();
    let db = palmkit_server::db::Db::open(&server.data_dir.join("palmkit.sqlite3"))
        .map_err(|e| e.to_string())?;
    let capture = noise_jpeg();
    let service_key = server
        .client_config
        .validate()
        .map_err(|e| e.to_string())?
        .service_public_key;
    let (mut status_lines, mut upload_lines, mut login_lines) = (vec![], vec![], vec![]);
    for i in 0..SHOPPERS {
        let email = format!("load{i}@palmkit.test");
        palmkit_server::accounts::create(&db, &email, "Load", PASSWORD)
            .map_err(|e| e.to_string())?;
        let store = Arc::new(KeyringStore::new(
            keyring_core::mock::Store::new().map_err(|e| e.to_string())?,
        ));
        let account =
            AccountClient::new(&server.client_config, store).map_err(|e| e.to_string())?;
        let url = account.start_login().await.map_err(|e| e.to_string())?;
        let redirect = ScriptedBrowser::new(&server.client_config)
            .map_err(|e| e.to_string())?
            .login(url.as_str(), &email, PASSWORD)
            .await
            .map_err(|e| e.to_string())?;
        account
            .finish_login(&redirect)
            .await
            .map_err(|e| e.to_string())?;
        let token = account.access_token().await.map_err(|e| e.to_string())?;
        let me = account.account().await.map_err(|e| e.to_string())?;
        let draft = EnrollmentClient::new(&account)
            .create(&[Hand::Right])
            .await
            .map_err(|e| e.to_string())?;
        let context = SealContext {
            account_id: &me.account_id,
            enrollment_id: &draft.id,
            hand: Hand::Right,
            key_id: &server.client_config.service_key.id,
        };
        let sealed = envelope::seal(
            &capture.bytes,
            &capture.metadata,
            &context,
            &service_key,
            AeadSuite::ChaCha20Poly1305,
        )
        .map_err(|e| e.to_string())?;
        let body_path = work.path().join(format!("capture{i}.bin"));
        std::fs::write(&body_path, &sealed).map_err(|e| e.to_string())?;
        let tus_metadata = format!(
            "enrollment_id {},hand {}",
            STANDARD.encode(&draft.id),
            STANDARD.encode("right")
        );
        status_lines.push(format!("{token} /v1/enrollments/{}", draft.id));
        upload_lines.push(format!("{token} {} {}", body_path.display(), tus_metadata));
        login_lines.push(login_form(&email));
    }
    let files = Files::write(work.path(), &status_lines, &upload_lines, &login_lines)?;
    println!(
        "load: {SHOPPERS} shoppers logged in, each with a draft and a sealed {} KB capture ({:.1} s)",
        capture.sealed_len_hint / 1024,
        setup.elapsed().as_secs_f64()
    );

    let direct = server.addr;
    let clean = phase(wrk, &files, direct, &server, "clean").await?;
    let proxy = CuttingProxy::start(direct, 0.10).await?;
    let cut = phase(wrk, &files, proxy.addr, &server, "10% of connections cut").await?;
    println!("\n{clean}\n{cut}");
    println!(
        "(proxy: {} connections, {} cut)",
        proxy.total.load(Ordering::SeqCst),
        proxy.cut.load(Ordering::SeqCst)
    );

    println!("\nSaturation sweep, status route alone ({SWEEP_SECS} s each):");
    println!("  connections   requests/s     p50        p99");
    for connections in [4, 16, 64, 256] {
        let out = wrk_run(
            wrk,
            direct,
            &files.status_script,
            &files.status_data,
            connections,
            SWEEP_SECS,
        )?;
        let stats = WrkStats::parse(&out);
        println!(
            "  {connections:>11}   {:>10.0}   {:>8}   {:>8}",
            stats.rate, stats.p50, stats.p99
        );
    }
    server.shutdown().await;
    Ok(())
}

/// One phase: the three routes at once against `target`, `/healthz` polled meanwhile.
async fn phase(
    wrk: &str,
    files: &Files,
    target: SocketAddr,
    server: &palmkit_server::RunningServer,
    name: &str,
) -> Result<String, String> {
    println!("load: phase '{name}' for {PHASE_SECS} s");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(poll_health(
        server.base_url.clone(),
        server.client_config.clone(),
        stop.clone(),
    ));
    let runs = [
        ("login", &files.login_script, &files.login_data, 4usize),
        ("upload", &files.upload_script, &files.upload_data, 8),
        ("status", &files.status_script, &files.status_data, 16),
    ];
    let mut handles = Vec::new();
    for (route, script, data, connections) in runs {
        let (wrk, script, data) = (wrk.to_string(), script.clone(), data.clone());
        handles.push((
            route,
            connections,
            tokio::task::spawn_blocking(move || {
                wrk_run(&wrk, target, &script, &data, connections, PHASE_SECS)
            }),
        ));
    }
    let mut table = format!(
        "Phase: {name} ({PHASE_SECS} s, {SHOPPERS} shoppers)\n  route    conns   requests/s     p50        p99   non-2xx/3xx  socket errors\n"
    );
    for (route, connections, handle) in handles {
        let out = handle.await.map_err(|e| e.to_string())??;
        let s = WrkStats::parse(&out);
        table.push_str(&format!(
            "  {route:<7} {connections:>5}   {:>10.1}   {:>8}   {:>8}   {:>11}  {}\n",
            s.rate, s.p50, s.p99, s.non_2xx, s.socket_errors
        ));
    }
    stop.store(true, Ordering::SeqCst);
    let health = poller.await.map_err(|e| e.to_string())?;
    table.push_str(&format!("  /healthz meanwhile: {health}\n"));
    table.push_str(&format!(
        "  process RSS after the phase: {:.0} MiB (anon {:.0}, file {:.0}, shmem {:.0}; peak so far {:.0} MiB)\n",
        attacks::status_kib("VmRSS") as f64 / 1024.0,
        attacks::status_kib("RssAnon") as f64 / 1024.0,
        attacks::status_kib("RssFile") as f64 / 1024.0,
        attacks::status_kib("RssShmem") as f64 / 1024.0,
        attacks::status_kib("VmHWM") as f64 / 1024.0
    ));
    Ok(table)
}

/// Asks `/healthz` every 50 ms until `stop`; returns p50 / p99 / max and failures.
async fn poll_health(
    base_url: String,
    config: palmkit_core::ServiceConfig,
    stop: Arc<AtomicBool>,
) -> String {
    let Ok(net) = config
        .validate()
        .map_err(|e| e.to_string())
        .and_then(|c| palmkit_core::net::PinnedClient::new(&c).map_err(|e| e.to_string()))
    else {
        return "no client".into();
    };
    let url = format!("{base_url}healthz");
    let (mut times, mut failures) = (Vec::new(), 0);
    while !stop.load(Ordering::SeqCst) {
        let asked = Instant::now();
        match net.http().get(&url).send().await {
            Ok(r) if r.status().is_success() => times.push(asked.elapsed()),
            _ => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
    };
    format!(
        "{} answers, p50 {}, p99 {}, max {}, {failures} failed",
        times.len(),
        at(0.5),
        at(0.99),
        times
            .last()
            .map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
    )
}

fn wrk_run(
    wrk: &str,
    target: SocketAddr,
    script: &Path,
    data: &Path,
    connections: usize,
    secs: u64,
) -> Result<String, String> {
    let out = Command::new(wrk)
        .args(["-t", &connections.min(4).to_string()])
        .args(["-c", &connections.to_string()])
        .args([
            "-d",
            &format!("{secs}s"),
            "--latency",
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .arg(format!("https://{target}"))
        .arg("--")
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run {wrk}: {e} (cargo xtask load installs it)"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// The figures of one wrk run.
struct WrkStats {
    rate: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
    socket_errors: String,
}

impl WrkStats {
    fn parse(out: &str) -> Self {
        let field = |prefix: &str| {
            out.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(prefix).map(|r| r.trim().to_string()))
        };
        Self {
            rate: field("Requests/sec:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            p50: field("50%").unwrap_or_else(|| "-".into()),
            p99: field("99%").unwrap_or_else(|| "-".into()),
            non_2xx: field("Non-2xx or 3xx responses:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            socket_errors: field("Socket errors:").unwrap_or_else(|| "none".into()),
        }
    }
}

/// The login form of one shopper (PKCE challenge fixed: the code is never redeemed).
fn login_form(email: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", APP_CLIENT_ID)
        .append_pair("redirect_uri", APP_REDIRECT_URI)
        .append_pair("state", "load")
        .append_pair("code_challenge_method", "S256")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("email", email)
        .append_pair("password", PASSWORD)
        .append_pair("action", "login")
        .finish()
}

/// A capture about 400 KB: a JPEG of seeded noise, and its metadata.
struct TestCapture {
    bytes: Vec<u8>,
    metadata: Vec<u8>,
    sealed_len_hint: usize,
}

fn noise_jpeg() -> TestCapture {
    let (w, h) = (560u32, 420u32);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pixels = image::RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state.to_le_bytes();
        image::Rgb([b[0], b[1], b[2]])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&pixels)
        .expect("encoding to memory");
    let metadata = serde_json::to_vec(&CaptureMetadata {
        media_type: "image/jpeg".into(),
        width: w,
        height: h,
        captured_at_ms: 0,
        source: CaptureSource::File,
        sealed_spoof: None,
    })
    .expect("plain fields");
    TestCapture {
        sealed_len_hint: bytes.len(),
        bytes,
        metadata,
    }
}

/// The wrk scripts and their data files.
struct Files {
    status_script: PathBuf,
    status_data: PathBuf,
    upload_script: PathBuf,
    upload_data: PathBuf,
    login_script: PathBuf,
    login_data: PathBuf,
}

impl Files {
    fn write(
        dir: &Path,
        status: &[String],
        upload: &[String],
        login: &[String],
    ) -> Result<Self, String> {
        let put = |name: &str, text: &str| -> Result<PathBuf, String> {
            let path = dir.join(name);
            let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            Ok(path)
        };
        Ok(Self {
            status_script: put("status.lua", STATUS_LUA)?,
            status_data: put("status.txt", &status.join("\n"))?,
            upload_script: put("upload.lua", UPLOAD_LUA)?,
            upload_data: put("upload.txt", &upload.join("\n"))?,
            login_script: put("login.lua", LOGIN_LUA)?,
            login_data: put("login.txt", &login.join("\n"))?,
        })
    }
}

/// Polls enrollments round robin: each data line is `TOKEN PATH`.
const STATUS_LUA: &str = r#"
local lines, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do
    local token, path = line:match("(%S+) (%S+)")
    table.insert(lines, { token = token, path = path })
  end
end
function request()
  i = i % #lines + 1
  local s = lines[i]
  return wrk.format("GET", s.path, { ["Authorization"] = "Bearer " .. s.token })
end
"#;

/// Creates an upload, then sends the whole capture in one PATCH (queued per thread: any of
/// the thread's connections may send a created upload's body). Each wrk thread plays one
/// shopper, so an answer always belongs to that thread's shopper. Data lines:
/// `TOKEN FILE METADATA`.
const UPLOAD_LUA: &str = r#"
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local me, pending = nil, {}
function init(args)
  local shoppers = {}
  for line in io.lines(args[1]) do
    local token, file, meta = line:match("(%S+) (%S+) (.+)")
    table.insert(shoppers, { token = token, file = file, meta = meta })
  end
  me = shoppers[id % #shoppers + 1]
  local f = assert(io.open(me.file, "rb"))
  me.body = f:read("*a")
  f:close()
end
function request()
  local location = table.remove(pending)
  if location then
    return wrk.format("PATCH", location, {
      ["Authorization"] = "Bearer " .. me.token, ["Tus-Resumable"] = "1.0.0",
      ["Upload-Offset"] = "0", ["Content-Type"] = "application/offset+octet-stream" }, me.body)
  end
  return wrk.format("POST", "/v1/uploads", {
    ["Authorization"] = "Bearer " .. me.token, ["Tus-Resumable"] = "1.0.0",
    ["Upload-Length"] = tostring(#me.body), ["Upload-Metadata"] = me.meta })
end
function response(status, headers, body)
  if status == 201 and headers["Location"] then
    table.insert(pending, headers["Location"])
  end
end
"#;

/// Logs a shopper in with the right password (the code is never redeemed).
const LOGIN_LUA: &str = r#"
local forms, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do table.insert(forms, line) end
end
function request()
  i = i % #forms + 1
  return wrk.format("POST", "/authorize",
    { ["Content-Type"] = "application/x-www-form-urlencoded" }, forms[i])
end
"#;

/// A TCP proxy that cuts a share of its connections after a random number of bytes.
struct CuttingProxy {
    addr: SocketAddr,
    total: Arc<std::sync::atomic::AtomicU64>,
    cut: Arc<std::sync::atomic::AtomicU64>,
}

impl CuttingProxy {
    async fn start(upstream: SocketAddr, share: f64) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cut = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (t, c) = (total.clone(), cut.clone());
        tokio::spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            while let Ok((client, _)) = listener.accept().await {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                t.fetch_add(1, Ordering::SeqCst);
                let budget = ((seed % 10_000) as f64 / 10_000.0 < share).then(|| {
                    c.fetch_add(1, Ordering::SeqCst);
                    // Somewhere in the handshake, a request or an upload body.
                    (seed >> 20) % (512 * 1024)
                });
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = pipe(client, server, budget).await;
                });
            }
        });
        Ok(Self { addr, total, cut })
    }
}

/// Copies both ways; with a budget, closes both sides once that many bytes went up.
async fn pipe(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    budget: Option<u64>,
) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut sent = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            let n = match budget {
                Some(b) if sent + n as u64 >= b => {
                    let rest = (b - sent) as usize;
                    sw.write_all(&buf[..rest]).await?;
                    return Ok(());
                }
                _ => n,
            };
            sw.write_all(&buf[..n]).await?;
            sent += n as u64;
        }
    };
    let down = tokio::io::copy(&mut sr, &mut cw);
    tokio::select! {
        r = up => r,
        r = down => r.map(|_| ()),
    }
}
