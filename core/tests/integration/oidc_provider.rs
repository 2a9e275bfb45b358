//! The core's login against an authorization server nobody on this team wrote: npm
//! `oidc-provider` (installed by `cargo xtask setup`), over HTTPS on 127.0.0.1. Login,
//! refresh with rotation, refresh-token reuse detection and revocation must all work, so
//! we know the client speaks the standards and not just our own server's dialect.

use crate::support;

use std::collections::HashMap;
use std::sync::Arc;

use palmkit_core::account::AccountClient;
use palmkit_core::account::store::{CredentialStore, KeyringStore, StoredTokens};
use palmkit_core::error::Error;
use palmkit_core::net::PinnedClient;
use palmkit_core::{ServiceConfig, TrustAnchors};

struct Provider {
    _peer: support::NodePeer,
    config: ServiceConfig,
    _dir: tempfile::TempDir,
}

fn start_provider(access_ttl: u32) -> Provider {
    support::require_peer("oidc/node_modules/oidc-provider");
    let dir = tempfile::tempdir().unwrap();
    let data =
        palmkit_server::init_data_dir(dir.path(), palmkit_server::ServerMode::Development).unwrap();
    let base = data.client_config("https://127.0.0.1:1/");
    let ttl = access_ttl.to_string();
    let peer = support::start_node_peer(
        "oidc-provider.mjs",
        &[
            ("TLS_CERT", dir.path().join("tls/server.pem").as_os_str()),
            ("TLS_KEY", dir.path().join("tls/server-key.pem").as_os_str()),
            ("CLIENT_ID", base.client_id.as_ref()),
            ("REDIRECT_URI", base.redirect_uri.as_ref()),
            ("ACCESS_TTL", ttl.as_ref()),
        ],
    );
    let config = ServiceConfig {
        base_url: format!("https://127.0.0.1:{}/", peer.port),
        trust: TrustAnchors {
            ca_pem: Some(data.pki.ca_pem.clone()),
            spki_sha256: vec![data.pki.leaf_spki_pin.clone()],
        },
        ..base
    };
    Provider {
        _peer: peer,
        config,
        _dir: dir,
    }
}

/// Plays the shopper through oidc-provider's development login and consent pages, with a
/// cookie jar, and returns the redirect to the app.
async fn browser_login(config: &ServiceConfig, authorize_url: &str) -> String {
    let net = PinnedClient::new(&config.validate().unwrap()).unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut next = authorize_url.to_string();
    let mut form: Option<&str> = None;
    for _ in 0..12 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = match form.take() {
            Some(body) => net
                .http()
                .post(&next)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string()),
            None => net.http().get(&next),
        };
        let resp = request.header("cookie", cookie).send().await.unwrap();
        for value in resp.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                jar.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let Some(location) = resp.headers().get("location") else {
            // An interaction page: answer the prompt it shows.
            let html = resp.text().await.unwrap();
            form = Some(if html.contains("name=\"login\"") {
                "prompt=login&login=alice&password=anything"
            } else {
                "prompt=consent"
            });
            continue;
        };
        let location = location.to_str().unwrap().to_string();
        if location.starts_with(&config.redirect_uri) {
            return location;
        }
        next = url::Url::parse(&next)
            .unwrap()
            .join(&location)
            .unwrap()
            .to_string();
    }
    panic!("the login did not reach the redirect URI");
}

fn stored(store: &KeyringStore, client: &AccountClient) -> Option<StoredTokens> {
    store
        .load(&client.store_key())
        .unwrap()
        .map(|json| serde_json::from_str(&json).unwrap())
}

#[tokio::test]
async fn login_refresh_reuse_detection_and_revocation_against_oidc_provider() {
    // Access tokens shorter than the client's refresh margin: every use refreshes.
    let provider = start_provider(30);
    let store = Arc::new(KeyringStore::new(keyring_core::mock::Store::new().unwrap()));
    let client = AccountClient::new(&provider.config, store.clone()).unwrap();

    let url = client.start_login().await.unwrap();
    let redirect = browser_login(&provider.config, url.as_str()).await;
    assert!(
        redirect.contains("iss="),
        "RFC 9207 iss missing: {redirect}"
    );
    client.finish_login(&redirect).await.unwrap();
    let first = stored(&store, &client).unwrap();
    assert!(first.refresh_token.is_some());

    // Refresh, with rotation.
    client.access_token().await.unwrap();
    let second = stored(&store, &client).unwrap();
    assert_ne!(first.access_token, second.access_token);
    assert_ne!(
        first.refresh_token, second.refresh_token,
        "refresh token not rotated"
    );

    // Reuse of the spent refresh token: refused, and the provider revokes the grant.
    store
        .save(&client.store_key(), &serde_json::to_string(&first).unwrap())
        .unwrap();
    let err = client.access_token().await.unwrap_err();
    assert!(matches!(err, Error::SignedOut(_)), "{err:?}");
    assert!(stored(&store, &client).is_none());
    store
        .save(
            &client.store_key(),
            &serde_json::to_string(&second).unwrap(),
        )
        .unwrap();
    assert!(
        matches!(client.access_token().await, Err(Error::SignedOut(_))),
        "grant not revoked"
    );

    // A fresh login, then logout revokes it at the provider.
    let url = client.start_login().await.unwrap();
    let redirect = browser_login(&provider.config, url.as_str()).await;
    client.finish_login(&redirect).await.unwrap();
    let before_logout = stored(&store, &client).unwrap();
    client.logout().await.unwrap();
    assert!(stored(&store, &client).is_none());
    store
        .save(
            &client.store_key(),
            &serde_json::to_string(&before_logout).unwrap(),
        )
        .unwrap();
    assert!(
        matches!(client.access_token().await, Err(Error::SignedOut(_))),
        "refresh token not revoked"
    );
}
