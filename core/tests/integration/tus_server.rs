//! The core's tus client against a tus server nobody on this team wrote: npm `@tus/server`
//! with `@tus/file-store` (installed by `cargo xtask setup`), over HTTPS on 127.0.0.1. A
//! plain upload and one through connection cuts at random offsets both arrive byte for
//! byte; the client notices that this server offers no checksum extension and does without.

use crate::support;

use std::time::Duration;

use palmkit_core::net::PinnedClient;
use palmkit_core::upload::{CancelToken, NoProgress, RetryPolicy, TusAuth, TusClient, TusOptions};
use palmkit_core::{ServiceConfig, TrustAnchors};

struct TusPeer {
    peer: support::NodePeer,
    config: ServiceConfig,
    store: tempfile::TempDir,
    _tls: tempfile::TempDir,
}

fn start_tus() -> TusPeer {
    support::require_peer("tus/node_modules/@tus/server");
    let tls = tempfile::tempdir().unwrap();
    let data =
        palmkit_server::init_data_dir(tls.path(), palmkit_server::ServerMode::Development).unwrap();
    let store = tempfile::tempdir().unwrap();
    let peer = support::start_node_peer(
        "tus-server.mjs",
        &[
            ("TLS_CERT", tls.path().join("tls/server.pem").as_os_str()),
            ("TLS_KEY", tls.path().join("tls/server-key.pem").as_os_str()),
            ("STORE_DIR", store.path().as_os_str()),
        ],
    );
    let config = ServiceConfig {
        base_url: format!("https://127.0.0.1:{}/", peer.port),
        trust: TrustAnchors {
            ca_pem: Some(data.pki.ca_pem.clone()),
            spki_sha256: vec![data.pki.leaf_spki_pin.clone()],
        },
        ..data.client_config("https://127.0.0.1:1/")
    };
    TusPeer {
        peer,
        config,
        store,
        _tls: tls,
    }
}

fn bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).unwrap();
    v
}

fn options(chunk: usize) -> TusOptions {
    TusOptions {
        chunk_size: chunk,
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        },
        ..TusOptions::default()
    }
}

/// What @tus/file-store wrote for the upload `id`.
fn stored(peer: &TusPeer, id: &str) -> Vec<u8> {
    std::fs::read(peer.store.path().join(id)).unwrap()
}

#[tokio::test]
async fn uploads_to_tus_node_server() {
    let peer = start_tus();
    let net = PinnedClient::new(&peer.config.validate().unwrap()).unwrap();
    let data = bytes(300_000);
    let endpoint = net.url("files/").unwrap();
    let report = TusClient::new(net.http(), endpoint, TusAuth::None, options(64 * 1024))
        .upload(
            &data,
            &[("filename", "palm.bin")],
            &NoProgress,
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert!(
        !report.checksummed,
        "@tus/server offers no checksum extension"
    );
    assert_eq!(report.bytes_sent, data.len() as u64);
    assert_eq!(stored(&peer, &report.id), data);
    let info =
        std::fs::read_to_string(peer.store.path().join(format!("{}.json", report.id))).unwrap();
    assert!(info.contains("palm.bin"), "metadata not stored: {info}");
}

#[tokio::test]
async fn resumes_through_cuts_against_tus_node_server() {
    let peer = start_tus();
    let proxy =
        support::proxy::start(format!("127.0.0.1:{}", peer.peer.port).parse().unwrap()).await;
    let mut config = peer.config.clone();
    config.base_url = format!("https://127.0.0.1:{}/", proxy.addr.port());
    let net = PinnedClient::new(&config.validate().unwrap()).unwrap();
    let data = bytes(600_000);
    let chunk = 64 * 1024;
    let (armer, _offsets) = proxy.cut_repeatedly(3, 5_000..205_000);
    let endpoint = net.url("files/").unwrap();
    let report = TusClient::new(net.http(), endpoint, TusAuth::None, options(chunk))
        .upload(&data, &[], &NoProgress, &CancelToken::new())
        .await
        .unwrap();
    armer.abort();
    println!("{report:?}");
    assert!(report.interruptions >= 1, "no cut reached the client");
    assert_eq!(report.creations, 1);
    assert!(report.bytes_sent - report.length <= u64::from(report.interruptions) * chunk as u64);
    assert_eq!(stored(&peer, &report.id), data);
}
