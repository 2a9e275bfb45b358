//! The upload run: the draft made (idempotently) for the hands held, each raw capture
//! sealed once, each envelope uploaded resumably (attested when an attestor is set), the
//! enrollment submitted, with progress over all hands to the listener. An envelope the
//! service has not accepted stays held for the next `upload`.

use crate::error::{Error, ErrorKind, SessionFailure};
use crate::payment::PaymentClient;
use crate::upload::{CancelToken, UploadProgress};

use super::super::state::{Failure, FailureReason, SessionSnapshot, SessionState};
use super::{EnrollmentSession, Held, lock};

impl EnrollmentSession {
    /// Seals every held capture for the enrollment (made now, idempotently, for the hands
    /// held), uploads each resumably, and submits: `PendingStoreMatch`. Allowed when a card
    /// is chosen, and again after an upload failed (the sealed captures are still held).
    /// [`cancel_upload`](Self::cancel_upload) stops it and returns to `PaymentChosen`.
    pub async fn upload(&self) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        let cancel = self.update(|inner| {
            let allowed = match &inner.state {
                SessionState::PaymentChosen => true,
                SessionState::Failed { failure: f } => {
                    f.reason.is_service() && inner.ready_to_upload()
                }
                _ => false,
            };
            if !allowed {
                return Err(inner.out_of_order("upload"));
            }
            let cancel = CancelToken::new();
            inner.cancel = Some(cancel.clone());
            inner.state = SessionState::Uploading {
                confirmed: 0,
                total: 0,
            };
            Ok(cancel)
        })?;
        let result = self.upload_steps(&cancel).await;
        let outcome = self.update(|inner| {
            inner.cancel = None;
            match result {
                Ok(()) => {
                    inner.captures.clear();
                    inner.state = SessionState::PendingStoreMatch;
                    Ok(())
                }
                Err(e) => {
                    inner.state = match e.kind() {
                        ErrorKind::Cancelled => inner.resting_state(),
                        ErrorKind::SignInRequired => SessionState::SignedOut,
                        _ => SessionState::Failed {
                            failure: Failure {
                                reason: FailureReason::of_service(e.kind()),
                                message: e.to_string(),
                                retryable: e.is_retryable(),
                            },
                        },
                    };
                    Err(e)
                }
            }
        });
        outcome?;
        Ok(self.snapshot())
    }

    /// Stops a running upload (from any thread): it is terminated at the service, the
    /// sealed captures stay held, and the session returns to `PaymentChosen`. `false` when
    /// no upload is running.
    pub fn cancel_upload(&self) -> bool {
        match &lock(&self.inner).cancel {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

impl EnrollmentSession {
    /// The upload's steps: the draft (idempotent), sealing, each hand's upload, submit.
    async fn upload_steps(&self, cancel: &CancelToken) -> Result<(), Error> {
        let attestor = lock(&self.attestor).clone();
        let client = match &attestor {
            Some(a) => self.client().with_attestor(a.as_ref()),
            None => self.client(),
        };

        // The draft, made once for the hands held.
        let (account_id, enrollment_id, create_key, hands) = self.update(|inner| {
            let hands = inner.enrolled_hands();
            let saved = inner.saved_mut()?;
            if saved.enrollment_id.is_none() && saved.create_key.is_none() {
                saved.create_key = Some(PaymentClient::new_idempotency_key()?);
            }
            Ok((
                saved.account_id.clone(),
                saved.enrollment_id.clone(),
                saved.create_key.clone(),
                hands,
            ))
        })?;
        let enrollment_id = match enrollment_id {
            Some(id) => id,
            None => {
                let draft = client
                    .create_with_key(&hands, create_key.as_deref())
                    .await?;
                self.update(|inner| {
                    let saved = inner.saved_mut()?;
                    saved.enrollment_id = Some(draft.id.clone());
                    saved.hands = draft.hands.clone();
                    saved.create_key = None;
                    Ok(())
                })?;
                draft.id
            }
        };

        // Seal what is still raw, so the total is known and retries never re-encode.
        let total = self.update(|inner| {
            let held = std::mem::take(&mut inner.captures);
            let mut sealed = Vec::with_capacity(held.len());
            let mut result = Ok(());
            for (hand, capture) in held {
                let capture = match capture {
                    Held::Raw(raw) if result.is_ok() => {
                        match client.seal(&account_id, &enrollment_id, hand, raw) {
                            Ok(envelope) => Held::Sealed(envelope),
                            Err(e) => {
                                result = Err(e);
                                continue;
                            }
                        }
                    }
                    other => other,
                };
                sealed.push((hand, capture));
            }
            inner.captures = sealed;
            result?;
            Ok(inner
                .captures
                .iter()
                .map(|(_, c)| match c {
                    Held::Sealed(s) => s.len() as u64,
                    Held::Raw(_) => 0,
                })
                .sum::<u64>())
        })?;

        let mut done = 0u64;
        for hand in hands {
            let envelope = {
                let mut inner = lock(&self.inner);
                if inner
                    .saved
                    .as_ref()
                    .is_some_and(|s| s.upload_of(hand).is_some())
                {
                    continue;
                }
                let at = inner.captures.iter().position(|(h, _)| *h == hand);
                match at.map(|i| inner.captures.remove(i)) {
                    // The envelope says where it goes; it must be where the session is.
                    Some((_, Held::Sealed(envelope)))
                        if envelope.sealed_for().enrollment_id != enrollment_id
                            || envelope.sealed_for().hand != hand =>
                    {
                        return Err(Error::Upload(crate::error::UploadFailure::InvalidCapture(
                            "the held capture was sealed for another enrollment: capture again"
                                .into(),
                        )));
                    }
                    Some((_, Held::Sealed(envelope))) => envelope,
                    _ => {
                        return Err(Error::Session(SessionFailure::OutOfOrder {
                            call: "upload",
                            state: inner.state.name(),
                        }));
                    }
                }
            };
            let progress = Progress {
                session: self,
                done,
                total,
            };
            let result = client
                .upload_sealed(&envelope, &self.options.tus, &progress, cancel)
                .await;
            match result {
                Ok(report) => {
                    done += envelope.len() as u64;
                    self.update(|inner| {
                        inner.saved_mut()?.uploads.push((hand, report.id.clone()));
                        Ok(())
                    })?;
                }
                Err(e) => {
                    // Kept for the next try: no re-capture while the app lives.
                    lock(&self.inner)
                        .captures
                        .push((hand, Held::Sealed(envelope)));
                    return Err(e);
                }
            }
        }

        let (submit_key, uploads) = self.update(|inner| {
            let saved = inner.saved_mut()?;
            if saved.submit_key.is_none() {
                saved.submit_key = Some(PaymentClient::new_idempotency_key()?);
            }
            let uploads: Vec<String> = saved
                .hands
                .iter()
                .filter_map(|h| saved.upload_of(*h).map(str::to_string))
                .collect();
            Ok((saved.submit_key.clone().unwrap_or_default(), uploads))
        })?;
        client.submit(&enrollment_id, &uploads, &submit_key).await?;
        self.update(|inner| {
            let saved = inner.saved_mut()?;
            saved.submitted = true;
            saved.submit_key = None;
            Ok(())
        })
    }
}

/// Upload progress of one hand, reported over all hands.
struct Progress<'a> {
    session: &'a EnrollmentSession,
    done: u64,
    total: u64,
}

impl UploadProgress for Progress<'_> {
    fn on_progress(&self, confirmed: u64, _length: u64) {
        let confirmed = self.done + confirmed;
        {
            let mut inner = lock(&self.session.inner);
            if let SessionState::Uploading { .. } = inner.state {
                inner.state = SessionState::Uploading {
                    confirmed,
                    total: self.total,
                };
            }
        }
        if let Some(listener) = lock(&self.session.listener).clone() {
            listener.on_upload_progress(confirmed, self.total);
        }
    }
}
