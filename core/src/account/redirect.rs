//! Reading the redirect the browser hands back after login: it must be for the redirect
//! URI the login started with, carry each OAuth parameter at most once, and answer the
//! `state` we sent (RFC 6749 §10.12) from the issuer we asked (RFC 9207).

use url::Url;

use crate::error::LoginFailure;

/// What the authorization server answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A code to exchange.
    Code(String),
    /// An error (`access_denied` when the shopper cancelled).
    Error {
        /// RFC 6749 error code.
        code: String,
        /// The server's description, if any.
        description: Option<String>,
    },
}

/// Checks `redirect` against the expected redirect URI, state and issuer.
pub fn read(
    redirect: &str,
    expected_redirect: &Url,
    expected_state: &str,
    issuer: &str,
    iss_required: bool,
) -> Result<Answer, LoginFailure> {
    let url =
        Url::parse(redirect).map_err(|_| LoginFailure::UnexpectedRedirect("not a URL".into()))?;
    let same_target = url.scheme() == expected_redirect.scheme()
        && url.host_str() == expected_redirect.host_str()
        && url.port_or_known_default() == expected_redirect.port_or_known_default()
        && url.path() == expected_redirect.path();
    if !same_target {
        return Err(LoginFailure::UnexpectedRedirect(
            "the redirect is not for this app's redirect URI".into(),
        ));
    }
    let mut code = None;
    let mut state = None;
    let mut iss = None;
    let mut error = None;
    let mut description = None;
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "iss" => &mut iss,
            "error" => &mut error,
            "error_description" => &mut description,
            // RFC 6749 §3.1: unrecognized response parameters are ignored.
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(LoginFailure::UnexpectedRedirect(format!(
                "parameter {name:?} appears twice"
            )));
        }
    }
    // State first: an answer to a request we did not make is not read any further.
    match state.as_deref() {
        Some(s) if s == expected_state => {}
        Some(_) => return Err(LoginFailure::StateMismatch),
        None => return Err(LoginFailure::MissingState),
    }
    match iss.as_deref() {
        Some(i) if i.trim_end_matches('/') == issuer.trim_end_matches('/') => {}
        Some(_) => return Err(LoginFailure::IssuerMismatch),
        None if iss_required => return Err(LoginFailure::IssuerMismatch),
        None => {}
    }
    match (code, error) {
        (Some(code), None) if !code.is_empty() => Ok(Answer::Code(code)),
        (None, Some(code)) => Ok(Answer::Error { code, description }),
        (Some(_), Some(_)) => Err(LoginFailure::UnexpectedRedirect(
            "both a code and an error".into(),
        )),
        _ => Err(LoginFailure::UnexpectedRedirect(
            "neither a code nor an error".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Url {
        Url::parse("com.palmkit.app:/oauth2redirect").unwrap()
    }

    fn check(redirect: &str) -> Result<Answer, LoginFailure> {
        read(redirect, &expected(), "S1", "https://as.test", true)
    }

    #[test]
    fn good_code() {
        assert_eq!(
            check(
                "com.palmkit.app:/oauth2redirect?code=C&state=S1&iss=https%3A%2F%2Fas.test&x=ignored"
            ),
            Ok(Answer::Code("C".into()))
        );
    }

    #[test]
    fn every_bad_redirect_is_typed() {
        let cases = [
            (
                "com.palmkit.app:/oauth2redirect?code=C&iss=https%3A%2F%2Fas.test",
                LoginFailure::MissingState,
            ),
            (
                "com.palmkit.app:/oauth2redirect?code=C&state=S2&iss=https%3A%2F%2Fas.test",
                LoginFailure::StateMismatch,
            ),
            (
                "com.palmkit.app:/oauth2redirect?code=C&state=S1&iss=https%3A%2F%2Fevil.test",
                LoginFailure::IssuerMismatch,
            ),
            (
                "com.palmkit.app:/oauth2redirect?code=C&state=S1",
                LoginFailure::IssuerMismatch,
            ),
        ];
        for (url, want) in cases {
            assert_eq!(check(url), Err(want), "{url}");
        }
        for url in [
            "com.palmkit.app:/other?code=C&state=S1&iss=https%3A%2F%2Fas.test",
            "com.palmkit.app:/oauth2redirect?code=C&code=D&state=S1&iss=https%3A%2F%2Fas.test",
            "com.palmkit.app:/oauth2redirect?code=C&error=x&state=S1&iss=https%3A%2F%2Fas.test",
            "com.palmkit.app:/oauth2redirect?state=S1&iss=https%3A%2F%2Fas.test",
            "not a url",
        ] {
            assert!(
                matches!(check(url), Err(LoginFailure::UnexpectedRedirect(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn error_answer_is_read_after_state() {
        assert_eq!(
            check(
                "com.palmkit.app:/oauth2redirect?error=access_denied&state=S1&iss=https%3A%2F%2Fas.test"
            ),
            Ok(Answer::Error {
                code: "access_denied".into(),
                description: None
            })
        );
    }
}
