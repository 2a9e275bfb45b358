//! Shared helpers of the core's integration tests: the reference server on 127.0.0.1, a
//! shopper logged in through the scripted browser, TLS servers that answer what a test
//! says, log capture, and where the independent peers are installed.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

pub mod proxy;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use palmkit_core::ServiceConfig;
use palmkit_server::accounts::browser::ScriptedBrowser;
use palmkit_server::accounts::{TEST_SHOPPER_EMAIL, TEST_SHOPPER_PASSWORD};
use palmkit_server::test_rig::TestRig;
use palmkit_server::{RunningServer, ServerOptions};

/// Starts the reference server on a free 127.0.0.1 port in a fresh data directory,
/// after `configure` has adjusted its options (the server's test rig).
pub async fn start_server(
    configure: impl FnOnce(&mut ServerOptions),
) -> (tempfile::TempDir, RunningServer) {
    TestRig::start_with(configure).await.into_parts()
}

pub use palmkit_server::test_rig::{
    another_shopper, log_in, memory_store as mock_store, palm_photo, testdata_dir,
};

/// Signs the test shopper in on `session` through the real login page (the scripted
/// browser trusting `browser_config`).
pub async fn sign_in(
    session: &palmkit_core::enrollment::EnrollmentSession,
    browser_config: &ServiceConfig,
) -> palmkit_core::enrollment::SessionSnapshot {
    sign_in_as(
        session,
        browser_config,
        TEST_SHOPPER_EMAIL,
        TEST_SHOPPER_PASSWORD,
    )
    .await
}

/// Signs the shopper with `email` and `password` in on `session`, as [`sign_in`].
pub async fn sign_in_as(
    session: &palmkit_core::enrollment::EnrollmentSession,
    browser_config: &ServiceConfig,
    email: &str,
    password: &str,
) -> palmkit_core::enrollment::SessionSnapshot {
    let url = session.start_login().await.unwrap();
    let redirect = ScriptedBrowser::new(browser_config)
        .unwrap()
        .login(url.as_str(), email, password)
        .await
        .unwrap();
    session.finish_login(&redirect).await.unwrap()
}

/// The provisioned hand models (`PALMKIT_MODELS`, which `cargo xtask test` sets).
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("PALMKIT_MODELS")
        .map(PathBuf::from)
        .expect("PALMKIT_MODELS (cargo xtask test sets it)");
    assert!(
        dir.join("SHA256SUMS").exists(),
        "no models in {}",
        dir.display()
    );
    dir
}

/// A TLS server holding a reference-server certificate for 127.0.0.1, serving the router
/// `make_app` builds for its base URL (`https://127.0.0.1:PORT`, no trailing slash).
pub struct TlsServer {
    /// Its data directory (certificates).
    pub dir: tempfile::TempDir,
    /// A client configuration that trusts it.
    pub config: ServiceConfig,
    /// Stops it.
    pub handle: axum_server::Handle<SocketAddr>,
}

pub fn tls_server(make_app: impl FnOnce(&str) -> axum::Router) -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    let data =
        palmkit_server::init_data_dir(dir.path(), palmkit_server::ServerMode::Development).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let config = data.client_config(&format!("{base}/"));
    let app = make_app(&base);
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(data.pki.server_config().unwrap());
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)
        .unwrap()
        .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    TlsServer {
        dir,
        config,
        handle,
    }
}

/// Everything written to the process's log subscriber, installed by [`capture_logs`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// The captured text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of every crate, at TRACE, into the returned buffer. The
/// subscriber is process-wide, so it is installed on the first call; every call returns the
/// same buffer (the tests running side by side share it, and each sees the others' lines).
pub fn capture_logs() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .init();
            captured
        })
        .clone()
}

/// A Node.js peer from `core/tests/peers/` (started with [`start_node_peer`]), stopped when
/// dropped.
pub struct NodePeer {
    child: std::process::Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `core/tests/peers/SCRIPT` under node with `PALMKIT_PEERS_DIR` and `env` set, and
/// waits for its "listening PORT" line.
pub fn start_node_peer(script: &str, env: &[(&str, &std::ffi::OsStr)]) -> NodePeer {
    use std::io::BufRead as _;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let mut child = std::process::Command::new("node")
        .arg(path)
        .env("PALMKIT_PEERS_DIR", peers_dir())
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start node");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // Keep draining: a peer dies of EPIPE if its stdout is closed.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let port = line
        .strip_prefix("listening ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{script} did not start: {line:?}"));
    NodePeer { child, port }
}

/// Fails with a clear message when the peer at `relative` (under the peers folder) is not
/// installed.
pub fn require_peer(relative: &str) {
    let dir = peers_dir();
    assert!(
        dir.join(relative).exists(),
        "{relative} is not installed under {}: run `cargo xtask setup`",
        dir.display()
    );
}

/// Where `cargo xtask setup` installed the independent peers.
pub fn peers_dir() -> PathBuf {
    std::env::var_os("PALMKIT_PEERS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("PALMKIT_CACHE").map(|c| PathBuf::from(c).join("peers")))
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/palmkit/peers")
        })
}

/// The JPEG and PNG files directly in `folder` of the shared test data whose names pass
/// `keep`, sorted by name, with their bytes.
pub fn image_files(folder: &str, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let dir = testdata_dir().join(folder);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let image = name.ends_with(".jpg") || name.ends_with(".png");
            (image && keep(&name)).then(|| (name, std::fs::read(&path).unwrap()))
        })
        .collect();
    out.sort();
    out
}

/// The test picture `folder/name` scaled to `side` x `side` RGB (nearest pixel, upright).
pub fn square_rgb(folder: &str, name: &str, side: u32) -> Vec<u8> {
    let (_, bytes) = image_files(folder, |n| n == name).remove(0);
    let decoded = palmkit_core::frame::DecodedImage::decode(&bytes).unwrap();
    let frame = decoded.frame();
    let (w, h) = frame.upright_size();
    let mut out = Vec::with_capacity((side * side * 3) as usize);
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = frame.to_sensor(x * w / side, y * h / side);
            out.extend_from_slice(&frame.rgb(sx, sy));
        }
    }
    out
}

/// `rgb` with ±1 of noise seeded by `t`: a sensor never delivers the same picture twice,
/// so capture integrity sees live frames.
pub fn with_sensor_noise(rgb: &[u8], t: u64) -> Vec<u8> {
    let mut noisy = rgb.to_vec();
    let mut s = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for v in noisy.iter_mut() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        *v = v.saturating_add((s % 3) as u8).saturating_sub(1);
    }
    noisy
}
