//! Shared by the server's integration tests: a development server on a free 127.0.0.1
//! port in a fresh data directory, and a pinned client that trusts it.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use palmkit_core::net::PinnedClient;
use palmkit_server::{RunningServer, ServerOptions};

/// Starts a development server after `configure` has adjusted its options.
pub async fn start_with(
    configure: impl FnOnce(&mut ServerOptions),
) -> (tempfile::TempDir, RunningServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = ServerOptions::development(dir.path(), "127.0.0.1:0".parse().unwrap());
    configure(&mut options);
    let server = palmkit_server::start(options).await.unwrap();
    (dir, server)
}

/// A development server with default options, and a pinned client for it.
pub async fn start() -> (tempfile::TempDir, RunningServer, PinnedClient) {
    let (dir, server) = start_with(|_| {}).await;
    let client = PinnedClient::new(&server.client_config.validate().unwrap()).unwrap();
    (dir, server, client)
}
