//! The service's HTML pages (the login page, the card provider's 3-D Secure page) answer
//! through [`page`], so each carries the headers a page that takes a secret or a click
//! needs: it must not be framed (clickjacking: the 3-D Secure page confirms a card in one
//! click), nor cached or sent on as a referrer (their URLs carry a state or a client
//! secret), nor run anything it did not ship.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// What a page may load: nothing but its own inline style; never inside a frame.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with `status`, and every page's headers.
pub fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Asserts that `response` carries every page's headers.
    pub(crate) fn assert_page_headers(response: &Response) {
        let h = response.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    }

    #[test]
    fn a_page_is_html_with_every_header() {
        let response = page(StatusCode::OK, "<p>hi</p>".into());
        assert_page_headers(&response);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
