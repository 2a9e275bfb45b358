//! The `oauth2` crate's HTTP hook, served by the pinned reqwest 0.13 client (the crate's
//! own reqwest feature would pull reqwest 0.12 and its own TLS set-up). Redirects are off
//! in the pinned client, as the OAuth spec requires for the token endpoint.

use std::future::Future;
use std::pin::Pin;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

use crate::error::Error;
use crate::net::{self, PinnedClient};

/// Largest answer read from the authorization server.
const MAX_OAUTH_BODY: usize = 64 * 1024;

/// A transport failure, wrapped so `oauth2` can carry it back to us unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Transport(pub Error);

/// Borrowed pinned client, usable as `oauth2`'s async HTTP client.
pub struct OAuthHttp<'a>(pub &'a PinnedClient);

impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = Transport;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Transport>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let mut builder = self.0.http().request(parts.method, url).body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = builder
                .send()
                .await
                .map_err(|e| Transport(net::classify(e)))?;
            let status = response.status();
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                // Not an OAuth answer: the server is down or overloaded. Say so (retry later)
                // instead of letting `oauth2` report an unparsable error body.
                return Err(Transport(Error::Service {
                    status: status.as_u16(),
                    code: "unavailable".into(),
                    message: format!("the authorization server answered HTTP {status}"),
                }));
            }
            let headers = response.headers().clone();
            let body = net::read_limited(response, MAX_OAUTH_BODY)
                .await
                .map_err(Transport)?;
            let mut out = http::Response::builder().status(status);
            for (name, value) in &headers {
                out = out.header(name, value);
            }
            out.body(body)
                .map_err(|e| Transport(Error::Protocol(format!("bad HTTP answer: {e}"))))
        })
    }
}
