//! [`EnrollmentClient`]: the service calls on enrollment records, as the signed-in
//! shopper: consent, create a draft, upload its sealed captures, submit, read, delete.
//! [`super::EnrollmentSession`] calls them in order; QA tools may call them directly.

use base64::Engine as _;
use serde_json::json;

use crate::account::{AccountClient, Request};
use crate::attestation::{self, Attestor};
use crate::error::{Error, UploadFailure};
use crate::protocol::{
    AttestationNonce, ConsentRecord, Enrollment, Hand, SubmitEnrollment, upload_metadata,
};
use crate::upload::envelope::{SealContext, SealedEnvelope};
use crate::upload::{
    AeadSuite, CancelToken, Capture, TusAuth, TusClient, TusOptions, UploadProgress, UploadReport,
};

/// Enrollment records of the signed-in shopper.
pub struct EnrollmentClient<'a> {
    account: &'a AccountClient,
    attestor: Option<&'a dyn Attestor>,
}

impl<'a> EnrollmentClient<'a> {
    /// Calls on behalf of the shopper signed in to `account`.
    pub fn new(account: &'a AccountClient) -> Self {
        Self {
            account,
            attestor: None,
        }
    }

    /// Attests every upload with `attestor` (App Attest or Key Attestation: `attestation::platform`):
    /// a fresh service nonce bound to the SHA-256 of the sealed envelope.
    pub fn with_attestor(mut self, attestor: &'a dyn Attestor) -> Self {
        self.attestor = Some(attestor);
        self
    }

    /// `POST /v1/attestation/nonce`: a fresh nonce for one attested upload.
    pub async fn attestation_nonce(&self) -> Result<AttestationNonce, Error> {
        let request = Request::with_json(reqwest::Method::POST, "v1/attestation/nonce", json!({}));
        self.account.authorized(&request).await
    }

    /// `POST /v1/enrollments`: starts a draft enrollment for the given hands.
    pub async fn create(&self, hands: &[Hand]) -> Result<Enrollment, Error> {
        self.create_with_key(hands, None).await
    }

    /// [`create`](Self::create) with an `Idempotency-Key`: a retry after a lost answer
    /// returns the same draft instead of a second one.
    pub async fn create_with_key(
        &self,
        hands: &[Hand],
        idempotency_key: Option<&str>,
    ) -> Result<Enrollment, Error> {
        let mut request = Request::with_json(
            reqwest::Method::POST,
            "v1/enrollments",
            json!({ "hands": hands }),
        );
        request.idempotency_key = idempotency_key;
        self.account.authorized(&request).await
    }

    /// `POST /v1/consent`: records that the shopper agreed to the biometric consent text
    /// of `text_version`, before the first capture. The service keeps the first time given.
    pub async fn give_consent(&self, text_version: &str) -> Result<ConsentRecord, Error> {
        let request = Request::with_json(
            reqwest::Method::POST,
            "v1/consent",
            json!({ "text_version": text_version }),
        );
        self.account.authorized(&request).await
    }

    /// `DELETE /v1/enrollments/{id}`: deletes the enrollment and all its biometric data at
    /// the service (captures, verdicts, attestations, uploads). Afterwards [`get`](Self::get)
    /// answers `not_found`.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        check_id(id, "enrollment")?;
        let path = format!("v1/enrollments/{id}");
        let request = Request {
            method: reqwest::Method::DELETE,
            ..Request::get(&path)
        };
        self.account.authorized(&request).await
    }

    /// `GET /v1/enrollments/{id}`: one of the shopper's enrollments.
    pub async fn get(&self, id: &str) -> Result<Enrollment, Error> {
        check_id(id, "enrollment")?;
        self.account
            .authorized_get(&format!("v1/enrollments/{id}"))
            .await
    }

    /// Seals `capture` for this shopper, enrollment and hand, and uploads it resumably.
    /// The image bytes are wiped when this returns, whatever the outcome; only ciphertext
    /// goes on the wire. Returns the upload's report; its `id` goes into
    /// [`submit`](Self::submit).
    pub async fn upload_capture(
        &self,
        enrollment_id: &str,
        hand: Hand,
        capture: Capture,
        options: &TusOptions,
        progress: &dyn UploadProgress,
        cancel: &CancelToken,
    ) -> Result<UploadReport, Error> {
        let account = self.account.account().await?;
        let sealed = self.seal(&account.account_id, enrollment_id, hand, capture)?;
        self.upload_sealed(&sealed, options, progress, cancel).await
    }

    /// Seals `capture` to the service key for `account_id`, `enrollment_id` and `hand`. The
    /// image buffer is encrypted in place: from here on only ciphertext exists.
    pub fn seal(
        &self,
        account_id: &str,
        enrollment_id: &str,
        hand: Hand,
        capture: Capture,
    ) -> Result<SealedEnvelope, Error> {
        check_id(enrollment_id, "enrollment")?;
        let config = self.account.config();
        let context = SealContext {
            account_id,
            enrollment_id,
            hand,
            key_id: &config.service_key_id,
        };
        Ok(capture
            .seal(&context, &config.service_public_key, AeadSuite::default())
            .map_err(UploadFailure::Seal)?)
    }

    /// Uploads a [`seal`](Self::seal)ed envelope resumably, for the enrollment and hand it
    /// was sealed for (attested when an attestor is set). The envelope stays the caller's:
    /// when retries run out it can be uploaded again without capturing again.
    pub async fn upload_sealed(
        &self,
        sealed: &SealedEnvelope,
        options: &TusOptions,
        progress: &dyn UploadProgress,
        cancel: &CancelToken,
    ) -> Result<UploadReport, Error> {
        let sealed_for = sealed.sealed_for();
        let (enrollment_id, hand) = (sealed_for.enrollment_id.as_str(), sealed_for.hand);
        check_id(enrollment_id, "enrollment")?;
        let endpoint = self.account.net().url("v1/uploads")?;
        let client = TusClient::new(
            self.account.net().http(),
            endpoint,
            TusAuth::Account(self.account),
            options.clone(),
        );
        // An App Attest key the service does not know (its data was reset, or the key
        // was another account's): the attestor drops it and attests a new one, once.
        let mut attempts = 0;
        let report = loop {
            attempts += 1;
            let mut metadata = vec![
                (upload_metadata::ENROLLMENT_ID, enrollment_id.to_string()),
                (upload_metadata::HAND, hand.as_str().to_string()),
            ];
            if let Some(attestor) = self.attestor {
                let nonce = self.attestation_nonce().await?;
                let challenge = attestation::challenge(nonce.nonce.as_bytes(), &sealed.sha256());
                let statement = attestor
                    .attest(&challenge)
                    .map_err(|e| UploadFailure::Attestation(e.to_string()))?;
                metadata.push((upload_metadata::ATTESTATION_FORMAT, statement.format));
                metadata.push((upload_metadata::ATTESTATION_NONCE, nonce.nonce));
                // The service verifies a platform statement at creation, over this hash.
                metadata.push((upload_metadata::UPLOAD_SHA256, hex_lower(&sealed.sha256())));
                metadata.push((
                    upload_metadata::ATTESTATION,
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&statement.token),
                ));
            }
            let metadata: Vec<(&str, &str)> =
                metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match client.upload(sealed, &metadata, progress, cancel).await {
                Err(e) if attempts == 1 && key_unknown(&e) => {
                    if let Some(attestor) = self.attestor {
                        tracing::info!(
                            "the service does not know the attestation key: attesting a new one"
                        );
                        attestor.forget_key();
                        continue;
                    }
                    break Err(e);
                }
                other => break other,
            }
        }?;
        tracing::info!(
            upload = %report.id,
            bytes = report.length,
            interruptions = report.interruptions,
            "capture uploaded"
        );
        Ok(report)
    }

    /// `POST /v1/enrollments/{id}/submit`: the captures (one accepted upload per enrolled
    /// hand) are in; the enrollment moves to `pending_store_match`. Retrying with the same
    /// `idempotency_key` after a lost answer returns the same result.
    pub async fn submit(
        &self,
        enrollment_id: &str,
        upload_ids: &[String],
        idempotency_key: &str,
    ) -> Result<Enrollment, Error> {
        check_id(enrollment_id, "enrollment")?;
        let body = serde_json::to_value(SubmitEnrollment {
            uploads: upload_ids.to_vec(),
        })
        .map_err(|e| Error::Protocol(e.to_string()))?;
        let path = format!("v1/enrollments/{enrollment_id}/submit");
        let mut request = Request::with_json(reqwest::Method::POST, &path, body);
        request.idempotency_key = Some(idempotency_key);
        self.account.authorized(&request).await
    }
}

/// Ids are service-chosen; refuse anything that would change the path.
fn check_id(id: &str, what: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::Protocol(format!("{id:.64?} is not an {what} id")));
    }
    Ok(())
}

/// Whether the service refused the upload's attestation key as unknown.
fn key_unknown(e: &Error) -> bool {
    const CODE: &str = "attestation_key_unknown";
    match e {
        Error::Upload(UploadFailure::Rejected { code, .. }) => code == CODE,
        Error::Service { code, .. } => code == CODE,
        _ => false,
    }
}

/// Lower-case hex of `bytes` (the envelope hash in `Upload-Metadata`).
fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
