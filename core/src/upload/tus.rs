//! A tus 1.0 client (no maintained Rust one exists): discovery (`OPTIONS`), creation with
//! metadata, `PATCH` in chunks with the sha256 checksum extension when the server offers
//! it, `HEAD` to resume after any failure, termination (`DELETE`) on cancel.
//!
//! Failures that may pass (network, 5xx, 408, 423, 429, a checksum mismatch) are retried
//! with [`Backoff`], obeying `Retry-After`; after an interruption the client asks the
//! server where it stands and goes on from there, so at most the chunk in flight is sent
//! again. A timeout halves the chunk size (a slow link then still makes progress). An
//! upload the server forgot (expired, `404`/`410`) is created again from the start.
//!
//! The client sends a bearer token only to the endpoint's own origin: an upload URL on
//! another origin is refused.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::progress::{CancelToken, UploadProgress};
use super::retry::{Backoff, RetryPolicy, parse_retry_after};
use crate::account::AccountClient;
use crate::error::{Error, UploadFailure};
use crate::net;
use crate::protocol::{UPLOAD_ERROR_HEADER, UPLOAD_STATE_HEADER};

const TUS_VERSION: &str = "1.0.0";
/// How long a termination on cancel may take; cancelling must be quick.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(5);
/// Smallest chunk the client shrinks to on a slow link.
const MIN_CHUNK: usize = 16 * 1024;
/// How many times an upload the server forgot is created again.
const MAX_CREATIONS: u32 = 3;

/// How an upload is sent.
#[derive(Clone, Debug)]
pub struct TusOptions {
    /// Bytes per PATCH. At most this much is sent twice after an interruption.
    pub chunk_size: usize,
    /// Longest a single PATCH may take.
    pub patch_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl Default for TusOptions {
    fn default() -> Self {
        Self {
            // Small enough that a cut mobile link re-sends little and progress moves often,
            // large enough that per-request overhead stays small.
            chunk_size: 512 * 1024,
            patch_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// How requests are authorized.
#[derive(Clone, Copy)]
pub enum TusAuth<'a> {
    /// No credentials (a third-party tus server in tests).
    None,
    /// The signed-in shopper's bearer token, refreshed after a 401.
    Account(&'a AccountClient),
}

/// Bytes to upload: one buffer, or an envelope in parts.
pub trait Payload: Sync {
    /// Total length.
    fn size(&self) -> u64;
    /// Bytes `start..end`, copied into a request body.
    fn chunk(&self, start: u64, end: u64) -> Vec<u8>;
}

impl Payload for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn chunk(&self, start: u64, end: u64) -> Vec<u8> {
        self[start as usize..end as usize].to_vec()
    }
}

impl Payload for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }
    fn chunk(&self, start: u64, end: u64) -> Vec<u8> {
        self.as_slice().chunk(start, end)
    }
}

impl Payload for super::envelope::SealedEnvelope {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn chunk(&self, start: u64, end: u64) -> Vec<u8> {
        self.copy_range(start as usize, end as usize)
    }
}

/// What an upload did, for logs, tests and the QA tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadReport {
    /// The upload's URL at the service.
    pub url: Url,
    /// Its id: the last path segment of the URL.
    pub id: String,
    /// The upload's length.
    pub length: u64,
    /// Body bytes put on the wire by PATCH attempts, successful or not.
    pub bytes_sent: u64,
    /// Attempts that failed (each followed by a retry).
    pub interruptions: u32,
    /// How many times the upload was created (more than 1 if the server forgot it).
    pub creations: u32,
    /// Whether chunks carried a sha256 `Upload-Checksum`.
    pub checksummed: bool,
}

/// What the server said it speaks.
#[derive(Debug, Default)]
struct Capabilities {
    checksum_sha256: bool,
    max_size: Option<u64>,
}

/// A failed step: the error, the server's `Retry-After`, and what to do next.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
    next: Next,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Ask the server for the offset, after a delay.
    Resume,
    /// Send the same chunk again, after a delay.
    Repeat,
    /// The server forgot the upload: create it again.
    Recreate,
    /// Give up.
    Stop,
}

/// A tus client for one endpoint.
pub struct TusClient<'a> {
    http: &'a reqwest::Client,
    endpoint: Url,
    auth: TusAuth<'a>,
    options: TusOptions,
}

impl<'a> TusClient<'a> {
    /// A client for the creation endpoint `endpoint`, sending through `http` (a pinned
    /// client).
    pub fn new(
        http: &'a reqwest::Client,
        endpoint: Url,
        auth: TusAuth<'a>,
        options: TusOptions,
    ) -> Self {
        Self {
            http,
            endpoint,
            auth,
            options,
        }
    }

    /// Uploads `data` with tus `metadata` pairs; resumes through any interruption the retry
    /// policy allows. Progress goes to `progress`; `cancel` stops it and terminates the
    /// upload at the server.
    pub async fn upload(
        &self,
        data: &(impl Payload + ?Sized),
        metadata: &[(&str, &str)],
        progress: &dyn UploadProgress,
        cancel: &CancelToken,
    ) -> Result<UploadReport, Error> {
        let length = data.size();
        let mut backoff = Backoff::new(self.options.retry.clone());
        let mut chunk_size = self.options.chunk_size.max(1);
        let mut url: Option<Url> = None;
        let mut offset = 0u64;
        let mut must_ask = false;
        let mut capabilities: Option<Capabilities> = None;
        let mut report = UploadReport {
            url: self.endpoint.clone(),
            id: String::new(),
            length,
            bytes_sent: 0,
            interruptions: 0,
            creations: 0,
            checksummed: false,
        };
        let metadata_header = encode_metadata(metadata);

        loop {
            if cancel.is_cancelled() {
                return Err(self.cancelled(url.as_ref()).await);
            }
            let step = async {
                let caps = match &capabilities {
                    Some(c) => c,
                    None => capabilities.insert(self.discover().await?),
                };
                if let Some(max) = caps.max_size.filter(|max| length > *max) {
                    return Err(stop(UploadFailure::TooLarge { size: length, max }.into()));
                }
                report.checksummed = caps.checksum_sha256;
                let Some(at) = url.clone() else {
                    if report.creations >= MAX_CREATIONS {
                        return Err(stop(Error::Protocol(
                            "the server keeps forgetting the upload".into(),
                        )));
                    }
                    let created = self.create(length, &metadata_header).await?;
                    report.creations += 1;
                    url = Some(created);
                    offset = 0;
                    // A new upload starts at 0: nothing to ask.
                    must_ask = false;
                    progress.on_progress(0, length);
                    return Ok(false);
                };
                if must_ask {
                    let (at_offset, unfinished) = self.ask_offset(&at, length).await?;
                    offset = at_offset;
                    must_ask = false;
                    progress.on_progress(offset, length);
                    // All bytes arrived but the service has not finished with them (it
                    // stopped between the last write and its checks): an empty PATCH at
                    // the end asks it to finish.
                    if offset == length && !unfinished {
                        return Ok(true);
                    }
                }
                let end = (offset + chunk_size as u64).min(length);
                let chunk = data.chunk(offset, end);
                let finishing = chunk.is_empty();
                report.bytes_sent += chunk.len() as u64;
                let confirmed = self.patch(&at, offset, chunk, caps.checksum_sha256).await?;
                let moved = confirmed > offset || (finishing && confirmed == length);
                if !moved || confirmed > length {
                    return Err(Failure {
                        error: Error::Protocol(format!(
                            "the server confirmed offset {confirmed} after a PATCH at {offset}"
                        )),
                        retry_after: None,
                        next: Next::Resume,
                    });
                }
                offset = confirmed;
                progress.on_progress(offset, length);
                Ok(offset == length)
            };
            let outcome = tokio::select! {
                biased;
                _ = cancel.cancelled() => None,
                outcome = step => Some(outcome),
            };
            let Some(outcome) = outcome else {
                return Err(self.cancelled(url.as_ref()).await);
            };
            match outcome {
                Ok(true) => {
                    let url = url.clone().unwrap_or_else(|| self.endpoint.clone());
                    report.id = url
                        .path_segments()
                        .and_then(|mut s| s.next_back())
                        .unwrap_or_default()
                        .to_string();
                    report.url = url;
                    return Ok(report);
                }
                Ok(false) => backoff.progressed(),
                Err(failure) => {
                    if failure.next == Next::Stop {
                        return Err(failure.error);
                    }
                    report.interruptions += 1;
                    if matches!(
                        failure.error,
                        Error::Network {
                            kind: crate::error::NetworkFailure::Timeout,
                            ..
                        }
                    ) {
                        chunk_size = (chunk_size / 2).max(MIN_CHUNK);
                    }
                    match failure.next {
                        Next::Recreate => url = None,
                        Next::Resume => must_ask = url.is_some(),
                        Next::Repeat | Next::Stop => {}
                    }
                    let Some(delay) = backoff.next_delay(failure.retry_after) else {
                        return Err(UploadFailure::RetriesExhausted {
                            attempts: backoff.failures(),
                            last: Box::new(failure.error),
                        }
                        .into());
                    };
                    tracing::info!(
                        error = %failure.error,
                        delay_ms = delay.as_millis() as u64,
                        offset,
                        "upload interrupted; retrying"
                    );
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return Err(self.cancelled(url.as_ref()).await),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Terminates the unfinished upload (best effort, briefly) and says it was cancelled.
    async fn cancelled(&self, url: Option<&Url>) -> Error {
        if let Some(url) = url {
            let request = self.request(Method::DELETE, url.clone());
            match tokio::time::timeout(TERMINATE_TIMEOUT, self.send(request)).await {
                Ok(Ok(r)) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => {
                    tracing::info!("cancelled upload terminated at the server");
                }
                _ => tracing::info!("cancelled upload left to expire at the server"),
            }
        }
        UploadFailure::Cancelled.into()
    }

    /// `OPTIONS`: the server speaks tus 1.0.0 with creation; does it take checksums?
    async fn discover(&self) -> Result<Capabilities, Failure> {
        let response = self
            .send(self.http.request(Method::OPTIONS, self.endpoint.clone()))
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(service_failure(response).await);
        }
        let headers = response.headers();
        let list = |name: &str| -> Vec<String> {
            header_str(headers, name)
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        };
        if !list("tus-version").iter().any(|v| v == TUS_VERSION) {
            return Err(stop(
                UploadFailure::NotResumable("Tus-Version does not list 1.0.0".into()).into(),
            ));
        }
        let extensions = list("tus-extension");
        if !extensions.iter().any(|e| e == "creation") {
            return Err(stop(
                UploadFailure::NotResumable("the creation extension is not offered".into()).into(),
            ));
        }
        Ok(Capabilities {
            checksum_sha256: extensions.iter().any(|e| e == "checksum")
                && list("tus-checksum-algorithm").iter().any(|a| a == "sha256"),
            max_size: header_str(headers, "tus-max-size").and_then(|v| v.parse().ok()),
        })
    }

    /// `POST`: creates the upload; returns its URL (same origin as the endpoint).
    async fn create(&self, length: u64, metadata: &str) -> Result<Url, Failure> {
        let mut request = self
            .request(Method::POST, self.endpoint.clone())
            .header("upload-length", length.to_string());
        if !metadata.is_empty() {
            request = request.header("upload-metadata", metadata);
        }
        let response = self.send_authorized(request).await?;
        if response.status() != StatusCode::CREATED {
            return Err(service_failure(response).await);
        }
        let location = header_str(response.headers(), "location").ok_or_else(|| {
            stop(Error::Protocol(
                "creation answered without a Location".into(),
            ))
        })?;
        let url = self
            .endpoint
            .join(location)
            .map_err(|e| stop(Error::Protocol(format!("unusable Location: {e}"))))?;
        if url.origin() != self.endpoint.origin() {
            // The bearer token must never follow an upload to another origin.
            return Err(stop(Error::Protocol(
                "the upload URL is on another origin than the endpoint".into(),
            )));
        }
        Ok(url)
    }

    /// `HEAD`: where the server stands, and whether it says the upload is still
    /// unfinished (our service's `Palmkit-Upload-State: receiving`; other servers do not
    /// say, and an upload with all its bytes is then taken as finished).
    async fn ask_offset(&self, url: &Url, length: u64) -> Result<(u64, bool), Failure> {
        let response = self
            .send_authorized(self.request(Method::HEAD, url.clone()))
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(Failure {
                error: service_error(status, "upload_gone", "the server forgot the upload"),
                retry_after: None,
                next: Next::Recreate,
            });
        }
        if !status.is_success() {
            return Err(service_failure(response).await);
        }
        if let Some(rejected) = rejection(response.headers(), None) {
            return Err(stop(rejected));
        }
        let offset: u64 = header_str(response.headers(), "upload-offset")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                stop(Error::Protocol(
                    "HEAD answered without Upload-Offset".into(),
                ))
            })?;
        if offset > length {
            return Err(stop(Error::Protocol(format!(
                "the server claims offset {offset} of a {length}-byte upload"
            ))));
        }
        let unfinished = header_str(response.headers(), UPLOAD_STATE_HEADER) == Some("receiving");
        Ok((offset, unfinished))
    }

    /// `PATCH`: sends `chunk` at `offset`; returns the offset the server confirms.
    async fn patch(
        &self,
        url: &Url,
        offset: u64,
        chunk: Vec<u8>,
        checksum: bool,
    ) -> Result<u64, Failure> {
        let sum = checksum.then(|| STANDARD.encode(Sha256::digest(&chunk)));
        let mut request = self
            .request(Method::PATCH, url.clone())
            .timeout(self.options.patch_timeout)
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(chunk);
        if let Some(sum) = sum {
            request = request.header("upload-checksum", format!("sha256 {sum}"));
        }
        let response = self.send_authorized(request).await?;
        let status = response.status();
        match status.as_u16() {
            200 | 204 => header_str(response.headers(), "upload-offset")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    stop(Error::Protocol(
                        "PATCH answered without Upload-Offset".into(),
                    ))
                }),
            409 => Err(Failure {
                error: service_error(status, "offset_mismatch", "the server is at another offset"),
                retry_after: None,
                next: Next::Resume,
            }),
            404 | 410 => Err(Failure {
                error: service_error(status, "upload_gone", "the server forgot the upload"),
                retry_after: None,
                next: Next::Recreate,
            }),
            460 => Err(Failure {
                error: service_error(status, "checksum_mismatch", "the chunk arrived damaged"),
                retry_after: None,
                next: Next::Repeat,
            }),
            _ => {
                let headers = response.headers().clone();
                let failure = service_failure(response).await;
                match rejection(&headers, Some(&failure.error)) {
                    Some(rejected) => Err(stop(rejected)),
                    None => Err(failure),
                }
            }
        }
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("tus-resumable", TUS_VERSION)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let request = match self.auth {
            TusAuth::None => request,
            TusAuth::Account(account) => request.bearer_auth(account.access_token().await?),
        };
        request.send().await.map_err(net::classify)
    }

    /// Sends with the bearer token; after a 401 refreshes once and sends again.
    async fn send_authorized(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let TusAuth::Account(account) = self.auth else {
            return request
                .send()
                .await
                .map_err(|e| transport(net::classify(e)));
        };
        let again = request.try_clone();
        let token = account.access_token().await.map_err(stop)?;
        let response = request
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| transport(net::classify(e)))?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(again) = again else {
            return Ok(response);
        };
        let token = account.token_after_401(&token).await.map_err(stop)?;
        let response = again
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| transport(net::classify(e)))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(stop(Error::SignedOut(
                "the service no longer accepts this login".into(),
            )));
        }
        Ok(response)
    }
}

fn stop(error: Error) -> Failure {
    Failure {
        error,
        retry_after: None,
        next: Next::Stop,
    }
}

/// A transport failure: retry (and ask for the offset) unless the peer is not trusted.
fn transport(error: Error) -> Failure {
    let next = if error.is_retryable() {
        Next::Resume
    } else {
        Next::Stop
    };
    Failure {
        error,
        retry_after: None,
        next,
    }
}

fn service_error(status: StatusCode, code: &str, message: &str) -> Error {
    Error::Service {
        status: status.as_u16(),
        code: code.into(),
        message: message.into(),
    }
}

/// An error answer: retried (after `Retry-After` if given) when it may pass.
async fn service_failure(response: reqwest::Response) -> Failure {
    let status = response.status();
    let retry_after = header_str(response.headers(), "retry-after")
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let error = match crate::service::decode::<serde_json::Value>(response).await {
        Err(e) => e,
        Ok(_) => service_error(status, "unexpected_status", "unexpected status"),
    };
    let passing = status.is_server_error() || matches!(status.as_u16(), 408 | 423 | 429);
    Failure {
        error,
        retry_after,
        next: if passing { Next::Resume } else { Next::Stop },
    }
}

/// The service refused a finished upload (`Palmkit-Upload-State: rejected`).
fn rejection(headers: &HeaderMap, error: Option<&Error>) -> Option<Error> {
    if header_str(headers, UPLOAD_STATE_HEADER) != Some("rejected") {
        return None;
    }
    let code = header_str(headers, UPLOAD_ERROR_HEADER)
        .unwrap_or("rejected")
        .to_string();
    let message = match error {
        Some(Error::Service { message, .. }) => message.clone(),
        _ => "the service refused this capture; capture again".into(),
    };
    Some(UploadFailure::Rejected { code, message }.into())
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

/// `Upload-Metadata`: `key base64(value)` pairs, comma-separated.
fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_base64_pairs() {
        assert_eq!(
            encode_metadata(&[("enrollment_id", "enr-1"), ("hand", "right")]),
            "enrollment_id ZW5yLTE=,hand cmlnaHQ="
        );
    }

    #[test]
    fn a_rejection_is_read_from_the_headers() {
        let mut h = HeaderMap::new();
        assert!(rejection(&h, None).is_none());
        h.insert(UPLOAD_STATE_HEADER, HeaderValue::from_static("rejected"));
        h.insert(UPLOAD_ERROR_HEADER, HeaderValue::from_static("unknown_key"));
        match rejection(&h, None) {
            Some(Error::Upload(UploadFailure::Rejected { code, .. })) => {
                assert_eq!(code, "unknown_key")
            }
            other => panic!("{other:?}"),
        }
    }
}
