//! A scripted browser for the demo and the tests: it plays the shopper at this server's
//! login form — loads the authorization page, submits the form with an email and a
//! password (or presses Cancel), and returns where the server redirects to.
//!
//! It talks to the real `/authorize` endpoint over the same pinned TLS as the app, so a
//! login driven by it exercises the whole server side.

use palmkit_core::ServiceConfig;
use palmkit_core::net::PinnedClient;
use url::Url;

/// What went wrong while playing the browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The page or the redirect could not be fetched.
    #[error(transparent)]
    Core(#[from] palmkit_core::Error),
    /// The server showed the form again: wrong email or password.
    #[error("the server refused the email or password")]
    WrongPassword,
    /// Too many failed attempts.
    #[error("the server locked the login after too many failures")]
    Locked,
    /// Anything else (no form, no redirect, an error page).
    #[error("unexpected answer from the login page: {0}")]
    Unexpected(String),
}

/// The scripted browser.
pub struct ScriptedBrowser {
    net: PinnedClient,
}

impl ScriptedBrowser {
    /// A browser that trusts the service in `config` (and nothing else).
    pub fn new(config: &ServiceConfig) -> Result<Self, palmkit_core::Error> {
        Ok(Self {
            net: PinnedClient::new(&config.validate()?)?,
        })
    }

    /// Logs in at the page behind `authorize_url`; returns the redirect URL.
    pub async fn login(
        &self,
        authorize_url: &str,
        email: &str,
        password: &str,
    ) -> Result<String, BrowserError> {
        self.submit(
            authorize_url,
            &[
                ("email", email),
                ("password", password),
                ("action", "login"),
            ],
        )
        .await
    }

    /// Presses Cancel on the login page; returns the redirect URL.
    pub async fn cancel(&self, authorize_url: &str) -> Result<String, BrowserError> {
        self.submit(authorize_url, &[("action", "deny")]).await
    }

    async fn submit(
        &self,
        authorize_url: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, BrowserError> {
        let url = Url::parse(authorize_url).map_err(|e| BrowserError::Unexpected(e.to_string()))?;
        let page = self
            .net
            .http()
            .get(url.clone())
            .send()
            .await
            .map_err(palmkit_core::net::classify)?;
        if let Some(location) = page.headers().get("location") {
            // The server rejected the request outright and redirected with an error.
            return location
                .to_str()
                .map(str::to_string)
                .map_err(|e| BrowserError::Unexpected(e.to_string()));
        }
        let status = page.status();
        let html = page.text().await.map_err(palmkit_core::net::classify)?;
        if !status.is_success() || !html.contains("<form method=\"post\" action=\"/authorize\">") {
            return Err(BrowserError::Unexpected(format!(
                "HTTP {status} without the login form"
            )));
        }
        // The form's hidden fields are the authorization request's parameters.
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in url.query_pairs() {
            body.append_pair(&name, &value);
        }
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        let mut action = url.clone();
        action.set_query(None);
        let answer = self
            .net
            .http()
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .map_err(palmkit_core::net::classify)?;
        match answer.status().as_u16() {
            303 | 302 => answer
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| BrowserError::Unexpected("redirect without a location".into())),
            401 => Err(BrowserError::WrongPassword),
            429 => Err(BrowserError::Locked),
            other => Err(BrowserError::Unexpected(format!("HTTP {other}"))),
        }
    }
}
