//! Login for native apps: OAuth 2.0 authorization code with PKCE S256 through the system
//! browser (RFC 8252), with the `oauth2` crate doing the protocol.
//!
//! The flow: [`AccountClient::start_login`] discovers the server (RFC 8414 metadata),
//! makes the authorization URL with a fresh `state` and PKCE challenge and remembers them;
//! the shell opens the URL in the system browser; the browser comes back to the app's
//! redirect URI and the shell hands that URL to [`AccountClient::finish_login`], which
//! checks it ([`redirect`]), exchanges the code and stores the tokens ([`store`]).
//!
//! Afterwards [`AccountClient::access_token`] refreshes the access token shortly before it
//! expires, and [`AccountClient::authorized_get`] refreshes once more after a 401. Refresh
//! tokens rotate on every use; a refused refresh deletes the tokens (the shopper is signed
//! out cleanly). [`AccountClient::logout`] revokes at the server and deletes locally.
//!
//! Nothing here logs or returns a token, a code or a password.

mod http;
pub mod redirect;
pub mod store;

use std::sync::{Arc, Mutex};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationUrl, Scope, StandardRevocableToken, TokenResponse as _, TokenUrl,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{ServiceConfig, ValidatedConfig};
use crate::error::{Error, LoginFailure};
use crate::net::{self, PinnedClient};
use crate::protocol::AccountInfo;
use store::{CredentialStore, StoredTokens};

/// The scope the app asks for.
pub const SCOPE: &str = "enroll";
/// Refresh this long before the access token expires, so a request in flight does not
/// carry a token that dies on the way.
const REFRESH_MARGIN_SECS: i64 = 60;

/// A request to a protected service path.
pub struct Request<'a> {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path below the service base URL.
    pub path: &'a str,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// `Idempotency-Key` header, for requests that must not take effect twice.
    pub idempotency_key: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A GET of `path`.
    pub fn get(path: &'a str) -> Self {
        Self {
            method: reqwest::Method::GET,
            path,
            body: None,
            idempotency_key: None,
        }
    }

    /// A request with a JSON body.
    pub fn with_json(method: reqwest::Method, path: &'a str, body: serde_json::Value) -> Self {
        Self {
            method,
            path,
            body: Some(body),
            idempotency_key: None,
        }
    }
}

/// The authorization server's metadata, as much of it as the core uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    /// Issuer identifier (compared with `iss` on the redirect).
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// RFC 7009 revocation.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// PKCE methods; S256 must be among them.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the server always sends `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// A login started by `start_login` and not yet finished.
struct Pending {
    state: String,
    verifier: PkceCodeVerifier,
    redirect_uri: Url,
}

/// The shopper's account session.
pub struct AccountClient {
    net: PinnedClient,
    config: ValidatedConfig,
    store: Arc<dyn CredentialStore>,
    metadata: tokio::sync::OnceCell<Metadata>,
    pending: Mutex<Option<Pending>>,
    // One refresh at a time: two concurrent refreshes would spend the same refresh token
    // twice, which the server treats as theft and answers by revoking the login.
    refreshing: tokio::sync::Mutex<()>,
}

impl AccountClient {
    /// A session for the service in `config`, keeping tokens in `store`. Does no I/O.
    pub fn new(config: &ServiceConfig, store: Arc<dyn CredentialStore>) -> Result<Self, Error> {
        let config = config.validate()?;
        Ok(Self {
            net: PinnedClient::new(&config)?,
            config,
            store,
            metadata: tokio::sync::OnceCell::new(),
            pending: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// The key the tokens are stored under: one login per client and service.
    pub fn store_key(&self) -> String {
        format!("{}@{}", self.config.client_id, self.config.base_url)
    }

    /// The server's metadata (RFC 8414), fetched once. Falls back to the OpenID discovery
    /// document for servers that only publish that one.
    pub async fn metadata(&self) -> Result<&Metadata, Error> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer = self
                    .config
                    .base_url
                    .as_str()
                    .trim_end_matches('/')
                    .to_string();
                let mut found = None;
                for path in [
                    ".well-known/oauth-authorization-server",
                    ".well-known/openid-configuration",
                ] {
                    let response = self
                        .net
                        .http()
                        .get(self.net.url(path)?)
                        .send()
                        .await
                        .map_err(net::classify)?;
                    if response.status() == reqwest::StatusCode::NOT_FOUND {
                        continue;
                    }
                    found = Some(decode::<Metadata>(response).await?);
                    break;
                }
                let metadata = found.ok_or_else(|| {
                    Error::Protocol("the service publishes no authorization server metadata".into())
                })?;
                if metadata.issuer.trim_end_matches('/') != issuer {
                    return Err(Error::Protocol(format!(
                        "metadata issuer {:?} is not the service {issuer:?}",
                        metadata.issuer
                    )));
                }
                if !metadata
                    .code_challenge_methods_supported
                    .iter()
                    .any(|m| m == "S256")
                {
                    return Err(Error::Protocol(
                        "the authorization server does not offer PKCE S256".into(),
                    ));
                }
                Ok(metadata)
            })
            .await
    }

    async fn oauth_client(&self, redirect_uri: &Url) -> Result<Client, Error> {
        let m = self.metadata().await?;
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::Protocol(format!("metadata {what}: {e}"))
        };
        let revocation = m.revocation_endpoint.clone().ok_or_else(|| {
            Error::Protocol("the authorization server has no revocation endpoint".into())
        })?;
        Ok(
            BasicClient::new(ClientId::new(self.config.client_id.clone()))
                .set_auth_uri(
                    AuthUrl::new(m.authorization_endpoint.clone())
                        .map_err(|e| bad("authorization_endpoint", &e))?,
                )
                .set_token_uri(
                    TokenUrl::new(m.token_endpoint.clone())
                        .map_err(|e| bad("token_endpoint", &e))?,
                )
                .set_revocation_url(
                    RevocationUrl::new(revocation).map_err(|e| bad("revocation_endpoint", &e))?,
                )
                .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone())),
        )
    }

    /// Starts a login with the configured redirect URI; returns the URL to open in the
    /// system browser. A login started earlier and not finished is forgotten.
    pub async fn start_login(&self) -> Result<Url, Error> {
        let redirect = self.config.redirect_uri.clone();
        self.start_login_with_redirect(redirect).await
    }

    /// Starts a login that comes back to `redirect_uri` (a desktop tool's loopback
    /// `http://127.0.0.1:PORT/callback`, RFC 8252 §7.3).
    pub async fn start_login_with_redirect(&self, redirect_uri: Url) -> Result<Url, Error> {
        let client = self.oauth_client(&redirect_uri).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new(SCOPE.into()))
            .set_pkce_challenge(challenge)
            .url();
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(Pending {
            state: state.secret().clone(),
            verifier,
            redirect_uri,
        });
        tracing::info!("login started");
        Ok(url)
    }

    /// Finishes the login with the redirect URL the browser came back with: checks it,
    /// exchanges the code and stores the tokens. Each started login can be finished once;
    /// on any failure nothing is stored.
    pub async fn finish_login(&self, redirect_url: &str) -> Result<(), Error> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(Error::Login(LoginFailure::NoLoginInProgress))?;
        let metadata = self.metadata().await?;
        let answer = redirect::read(
            redirect_url,
            &pending.redirect_uri,
            &pending.state,
            &metadata.issuer,
            metadata.authorization_response_iss_parameter_supported,
        )?;
        let code = match answer {
            redirect::Answer::Code(code) => code,
            redirect::Answer::Error { code, description } => {
                tracing::info!(error = %code, "login ended with an error from the server");
                return Err(Error::Login(if code == "access_denied" {
                    LoginFailure::Cancelled
                } else {
                    LoginFailure::Refused {
                        code,
                        description: description.unwrap_or_default(),
                    }
                }));
            }
        };
        let client = self.oauth_client(&pending.redirect_uri).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(pending.verifier)
            .request_async(&http::OAuthHttp(&self.net))
            .await
            .map_err(|e| token_error(e, true))?;
        self.save(&token)?;
        tracing::info!("login finished; tokens stored");
        Ok(())
    }

    fn save(&self, token: &oauth2::basic::BasicTokenResponse) -> Result<(), Error> {
        let expires_in = token
            .expires_in()
            .map(|d| d.as_secs() as i64)
            .unwrap_or(3600);
        let stored = StoredTokens {
            access_token: token.access_token().secret().clone(),
            refresh_token: token.refresh_token().map(|r| r.secret().clone()),
            expires_at: now() + expires_in,
            scope: token
                .scopes()
                .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
        };
        let json = zeroize::Zeroizing::new(
            serde_json::to_string(&stored).map_err(|e| Error::Protocol(e.to_string()))?,
        );
        self.store.save(&self.store_key(), &json)?;
        Ok(())
    }

    fn load(&self) -> Result<Option<StoredTokens>, Error> {
        let Some(json) = self.store.load(&self.store_key())? else {
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(tokens) => Ok(Some(tokens)),
            Err(_) => {
                // Unreadable (an older format, a damaged store): treat as signed out.
                self.store.delete(&self.store_key())?;
                Ok(None)
            }
        }
    }

    /// Whether tokens are stored (the server may still have revoked them).
    pub fn is_signed_in(&self) -> Result<bool, Error> {
        Ok(self.load()?.is_some())
    }

    /// A valid access token, refreshed first if it expires within a minute.
    pub async fn access_token(&self) -> Result<String, Error> {
        let tokens = self.load()?.ok_or(Error::NotSignedIn)?;
        if tokens.expires_at - REFRESH_MARGIN_SECS > now() {
            return Ok(tokens.access_token.clone());
        }
        self.refresh(Some(&tokens.access_token)).await
    }

    /// Refreshes unless another task already did since `stale` was read.
    async fn refresh(&self, stale: Option<&str>) -> Result<String, Error> {
        let _one_at_a_time = self.refreshing.lock().await;
        let tokens = self.load()?.ok_or(Error::NotSignedIn)?;
        if stale.is_some_and(|s| s != tokens.access_token)
            && tokens.expires_at - REFRESH_MARGIN_SECS > now()
        {
            return Ok(tokens.access_token.clone());
        }
        let Some(refresh) = tokens.refresh_token.clone() else {
            self.store.delete(&self.store_key())?;
            return Err(Error::SignedOut("the login has expired".into()));
        };
        let client = self.oauth_client(&self.config.redirect_uri).await?;
        let result = client
            .exchange_refresh_token(&RefreshToken::new(refresh))
            .request_async(&http::OAuthHttp(&self.net))
            .await;
        match result {
            Ok(token) => {
                self.save(&token)?;
                tracing::info!("access token refreshed");
                Ok(token.access_token().secret().clone())
            }
            Err(e) => {
                let error = token_error(e, false);
                if matches!(error, Error::SignedOut(_)) {
                    // Refused for good: forget the tokens so the app shows the login.
                    self.store.delete(&self.store_key())?;
                    tracing::info!("refresh refused; signed out");
                }
                Err(error)
            }
        }
    }

    /// GET a protected service path with the bearer token; after a 401, refreshes once
    /// and retries once.
    pub async fn authorized_get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.authorized(&Request::get(path)).await
    }

    /// Sends a request to a protected service path with the bearer token; after a 401,
    /// refreshes once and retries once.
    pub async fn authorized<T: DeserializeOwned>(&self, request: &Request<'_>) -> Result<T, Error> {
        let token = self.access_token().await?;
        let response = self.send_with(request, &token).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return decode(response).await;
        }
        let token = self.refresh(Some(&token)).await?;
        let response = self.send_with(request, &token).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            self.store.delete(&self.store_key())?;
            return Err(Error::SignedOut(
                "the service no longer accepts this login".into(),
            ));
        }
        decode(response).await
    }

    async fn send_with(
        &self,
        request: &Request<'_>,
        token: &str,
    ) -> Result<reqwest::Response, Error> {
        let mut builder = self
            .net
            .http()
            .request(request.method.clone(), self.net.url(request.path)?)
            .bearer_auth(token);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        if let Some(key) = request.idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        builder.send().await.map_err(net::classify)
    }

    /// A fresh access token after the service answered 401 to `stale`: refreshes once
    /// (unless another task already did).
    pub async fn token_after_401(&self, stale: &str) -> Result<String, Error> {
        self.refresh(Some(stale)).await
    }

    /// The validated configuration (service key, base URL).
    pub fn config(&self) -> &ValidatedConfig {
        &self.config
    }

    /// The pinned client, for calls that carry no bearer token (the payment provider).
    pub fn net(&self) -> &PinnedClient {
        &self.net
    }

    /// The signed-in shopper (`GET /v1/me`).
    pub async fn account(&self) -> Result<AccountInfo, Error> {
        self.authorized_get("v1/me").await
    }

    /// Signs out: revokes the refresh token at the server (which ends its access tokens
    /// too) and deletes the tokens here. Local deletion happens even when the server
    /// cannot be reached; that failure is then returned so the app can tell the shopper.
    pub async fn logout(&self) -> Result<(), Error> {
        let Some(tokens) = self.load()? else {
            return Ok(());
        };
        let revoked = async {
            let client = self.oauth_client(&self.config.redirect_uri).await?;
            let token = match &tokens.refresh_token {
                Some(r) => StandardRevocableToken::RefreshToken(RefreshToken::new(r.clone())),
                None => StandardRevocableToken::AccessToken(oauth2::AccessToken::new(
                    tokens.access_token.clone(),
                )),
            };
            client
                .revoke_token(token)
                .map_err(|e| Error::Protocol(e.to_string()))?
                .request_async(&http::OAuthHttp(&self.net))
                .await
                .map_err(|e| match e {
                    RequestTokenError::Request(http::Transport(inner)) => inner,
                    other => Error::Protocol(format!("revocation: {other}")),
                })
        }
        .await;
        self.store.delete(&self.store_key())?;
        tracing::info!(revoked = revoked.is_ok(), "signed out");
        revoked
    }
}

/// Maps a token-endpoint failure. `invalid_grant` means the code (at login) or the refresh
/// token (later) is no good: a failed login, or a clean sign-out.
fn token_error(
    e: RequestTokenError<http::Transport, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
    at_login: bool,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(resp) => {
            let code = resp.error().as_ref().to_string();
            let description = resp.error_description().cloned().unwrap_or_default();
            match (resp.error(), at_login) {
                (_, true) => Error::Login(LoginFailure::CodeRejected { code, description }),
                (BasicErrorResponseType::InvalidGrant, false) => Error::SignedOut(description),
                _ => Error::Service {
                    status: 400,
                    code,
                    message: description,
                },
            }
        }
        RequestTokenError::Request(http::Transport(inner)) => inner,
        RequestTokenError::Parse(err, _) => Error::Protocol(format!("token answer: {err}")),
        RequestTokenError::Other(text) => Error::Protocol(format!("token answer: {text}")),
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    crate::service::decode(response).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
