//! Calls to the enrollment service that need no login, over the pinned client: the health
//! check. Calls on behalf of the shopper go through [`crate::account::AccountClient`].
//!
//! Every answer is read with a size cap and decoded into [`crate::protocol`] types; every
//! failure becomes a typed [`Error`].

use serde::de::DeserializeOwned;

use crate::config::ServiceConfig;
use crate::error::Error;
use crate::net::{self, PinnedClient};
use crate::protocol::{ApiError, Health};

/// A client of the enrollment service.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    net: PinnedClient,
}

impl ServiceClient {
    /// Validates the configuration and builds the pinned client. Does no I/O.
    pub fn new(config: &ServiceConfig) -> Result<Self, Error> {
        let validated = config.validate()?;
        Ok(Self {
            net: PinnedClient::new(&validated)?,
        })
    }

    /// A client over an existing pinned client (sharing its connections).
    pub fn from_net(net: PinnedClient) -> Self {
        Self { net }
    }

    /// `GET /healthz`. Succeeds only if the pinned TLS handshake passes and the service
    /// says it is healthy.
    pub async fn health(&self) -> Result<Health, Error> {
        let health: Health = self.get("healthz").await?;
        if health.status != "ok" {
            return Err(Error::Service {
                status: 200,
                code: "unhealthy".into(),
                message: format!("service reports status {:?}", health.status),
            });
        }
        Ok(health)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let response = self
            .net
            .http()
            .get(self.net.url(path)?)
            .send()
            .await
            .map_err(net::classify)?;
        decode(response).await
    }
}

/// Decodes a success body into `T`, or an error body into [`Error::Service`].
pub(crate) async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status();
    let body = net::read_limited(response, net::MAX_JSON_BODY).await?;
    if status.is_success() {
        // `204 No Content` (a deletion) reads as JSON `null`: what `()` expects.
        let body: &[u8] = if status == reqwest::StatusCode::NO_CONTENT && body.is_empty() {
            b"null"
        } else {
            &body
        };
        return serde_json::from_slice(body).map_err(|e| {
            Error::Protocol(format!(
                "HTTP {status} answer is not the expected JSON: {e}"
            ))
        });
    }
    let (code, message) = match serde_json::from_slice::<ApiError>(&body) {
        Ok(api) => (api.error, truncate(api.message, 300)),
        Err(_) => (
            "unexpected".to_string(),
            format!("HTTP {status} without a JSON error body"),
        ),
    };
    Err(Error::Service {
        status: status.as_u16(),
        code,
        message,
    })
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}
