//! [`EnrollmentSession`]: the one entry point an app drives, from login to the pending
//! store match. It owns the pinned client, the login, the frame analyzer, the pending card
//! step, the attestor and the captures, and checks every transition against its state.
//!
//! Captures stay in memory: a raw capture is sealed when the upload starts (the account,
//! enrollment and hand are known then), and the sealed envelope is kept until the service
//! accepts it, so an upload that runs out of retries or is cancelled goes up again without
//! capturing again, as long as the app lives. What survives the app is only
//! [`SavedProgress`].
//!
//! Async calls run one at a time (a second waits for the first); the frame call, the
//! snapshot and the cancellations never wait for them.
//!
//! This file is the session's API and state; the capture watch (`capture`) and the upload
//! run (`upload_run`) are its two long steps, each in its own file.

mod capture;
mod upload_run;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::account::AccountClient;
use crate::account::store::CredentialStore;
use crate::attestation::Attestor;
use crate::config::ServiceConfig;
use crate::error::{Error, ErrorKind, SessionFailure};
use crate::payment::card::{CardInput, current_year_month};
use crate::payment::{AddCardOutcome, PaymentClient, PendingCard};
use crate::protocol::{
    AccountInfo, ConsentRecord, EnrollmentState, Hand, Health, PaymentLink, PaymentMethod, Wallet,
};
use crate::service::ServiceClient;
use crate::upload::envelope::SealedEnvelope;
use crate::upload::{CancelToken, Capture, TusOptions};

use super::EnrollmentClient;
use super::saved::SavedProgress;
use super::state::{HandStatus, SessionSnapshot, SessionState, StateName};

/// Told about every state change and upload progress, on the thread that made it (a
/// background thread for async calls, the camera thread for frames): keep it quick.
pub trait SessionListener: Send + Sync {
    /// The session moved (or a hand's status changed).
    fn on_state_changed(&self, snapshot: &SessionSnapshot);
    /// `confirmed` of `total` sealed bytes (all hands) are confirmed by the service.
    fn on_upload_progress(&self, confirmed: u64, total: u64);
}

/// How a session behaves.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Upload chunking, timeouts and retries.
    pub tus: TusOptions,
    /// Camera time (frame timestamps) allowed for one hand before the capture fails as
    /// timed out.
    pub capture_timeout_ms: u64,
    /// How long the spoof verdict must stay `fail` before the capture fails as spoofed
    /// (one odd frame is not an attack).
    pub spoof_fail_ms: u64,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            tus: TusOptions::default(),
            capture_timeout_ms: 60_000,
            spoof_fail_ms: 1_000,
        }
    }
}

/// A capture held for upload.
// Without `vision` or `dev` nothing can capture (a build that only reads the service).
#[cfg_attr(not(any(feature = "vision", feature = "dev")), allow(dead_code))]
enum Held {
    /// As captured: sealed when the upload starts.
    Raw(Capture),
    /// Sealed for the enrollment; kept until the service accepts it.
    Sealed(SealedEnvelope),
}

/// Camera-time bookkeeping of the hand being captured.
#[derive(Default)]
#[cfg_attr(not(feature = "vision"), allow(dead_code))]
struct CaptureClock {
    first_ms: Option<u64>,
    fail_since_ms: Option<u64>,
}

struct Inner {
    state: SessionState,
    /// The shopper's progress; `Some` once signed in.
    saved: Option<SavedProgress>,
    captures: Vec<(Hand, Held)>,
    pending_card: Option<PendingCard>,
    cancel: Option<CancelToken>,
    clock: CaptureClock,
}

impl Inner {
    fn held(&self, hand: Hand) -> bool {
        self.captures.iter().any(|(h, _)| *h == hand)
    }

    fn held_hands(&self) -> Vec<Hand> {
        [Hand::Left, Hand::Right]
            .into_iter()
            .filter(|h| self.held(*h))
            .collect()
    }

    /// The hands the enrollment is for: the draft's once made, else those held.
    fn enrolled_hands(&self) -> Vec<Hand> {
        match &self.saved {
            Some(s) if !s.hands.is_empty() => s.hands.clone(),
            _ => self.held_hands(),
        }
    }

    /// Every enrolled hand is held or accepted, and a card is chosen: ready to upload.
    fn ready_to_upload(&self) -> bool {
        let Some(saved) = &self.saved else {
            return false;
        };
        let hands = self.enrolled_hands();
        saved.payment_method_id.is_some()
            && !hands.is_empty()
            && hands
                .iter()
                .all(|h| self.held(*h) || saved.upload_of(*h).is_some())
    }

    /// Where a session stands between captures: the state after a capture, a cancelled
    /// capture or a cancelled upload.
    fn resting_state(&self) -> SessionState {
        if self.ready_to_upload() {
            SessionState::PaymentChosen
        } else if self.captures.is_empty() {
            SessionState::ConsentGiven
        } else {
            SessionState::Captured {
                hands: self.held_hands(),
            }
        }
    }

    fn hand_status(&self, hand: Hand) -> HandStatus {
        let enrolled = self.saved.as_ref().is_some_and(|s| s.hands.contains(&hand));
        match (&self.state, enrolled) {
            (SessionState::Complete, true) => return HandStatus::Active,
            (SessionState::PendingStoreMatch, true) => return HandStatus::PendingMatch,
            (SessionState::Expired, true) => return HandStatus::Failed,
            _ => {}
        }
        if self
            .saved
            .as_ref()
            .is_some_and(|s| s.upload_of(hand).is_some())
        {
            HandStatus::Uploaded
        } else if self.held(hand) {
            HandStatus::Captured
        } else {
            HandStatus::NotCaptured
        }
    }

    fn snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            state: self.state.clone(),
            left: self.hand_status(Hand::Left),
            right: self.hand_status(Hand::Right),
            enrollment_id: self.saved.as_ref().and_then(|s| s.enrollment_id.clone()),
        }
    }

    fn out_of_order(&self, call: &'static str) -> Error {
        Error::Session(SessionFailure::OutOfOrder {
            call,
            state: self.state.name(),
        })
    }

    /// The shopper's progress; only called in signed-in states, where it exists.
    fn saved_mut(&mut self) -> Result<&mut SavedProgress, Error> {
        let state = self.state.name();
        self.saved
            .as_mut()
            .ok_or(Error::Session(SessionFailure::OutOfOrder {
                call: "a signed-in call",
                state,
            }))
    }
}

/// One shopper's enrollment, from login to the store match. See the module docs.
pub struct EnrollmentSession {
    account: AccountClient,
    service: ServiceClient,
    store: Arc<dyn CredentialStore>,
    options: SessionOptions,
    inner: Mutex<Inner>,
    listener: Mutex<Option<Arc<dyn SessionListener>>>,
    attestor: Mutex<Option<Arc<dyn Attestor>>>,
    #[cfg(feature = "vision")]
    analyzer: Mutex<Option<crate::analysis::FrameAnalyzer>>,
    /// One async step at a time.
    steps: tokio::sync::Mutex<()>,
}

impl EnrollmentSession {
    /// A signed-out session for the service in `config`, keeping tokens and progress in
    /// `store`. Does no I/O: call [`restore`](Self::restore) next.
    pub fn new(
        config: &ServiceConfig,
        store: Arc<dyn CredentialStore>,
        options: SessionOptions,
    ) -> Result<Self, Error> {
        let account = AccountClient::new(config, store.clone())?;
        // One pinned client: the health check shares the login's connection pool.
        let service = ServiceClient::from_net(account.net().clone());
        Ok(Self {
            account,
            service,
            store,
            options,
            inner: Mutex::new(Inner {
                state: SessionState::SignedOut,
                saved: None,
                captures: Vec::new(),
                pending_card: None,
                cancel: None,
                clock: CaptureClock::default(),
            }),
            listener: Mutex::new(None),
            attestor: Mutex::new(None),
            #[cfg(feature = "vision")]
            analyzer: Mutex::new(None),
            steps: tokio::sync::Mutex::new(()),
        })
    }

    /// Receives every state change and upload progress from now on.
    pub fn set_listener(&self, listener: Option<Arc<dyn SessionListener>>) {
        *lock(&self.listener) = listener;
    }

    /// The platform attestor every upload is attested with (`None`: unattested, which a
    /// production service refuses).
    pub fn set_attestor(&self, attestor: Option<Arc<dyn Attestor>>) {
        *lock(&self.attestor) = attestor;
    }

    /// Attaches the frame analyzer (the hand models) the capture steps use.
    #[cfg(feature = "vision")]
    pub fn set_analyzer(&self, analyzer: crate::analysis::FrameAnalyzer) {
        *lock(&self.analyzer) = Some(analyzer);
    }

    /// Adjusts the attached analyzer (challenges, liveness policy); nothing without one.
    #[cfg(feature = "vision")]
    pub fn configure_analyzer(&self, change: impl FnOnce(&mut crate::analysis::FrameAnalyzer)) {
        if let Some(analyzer) = lock(&self.analyzer).as_mut() {
            change(analyzer);
        }
    }

    /// The state and each hand's progress.
    pub fn snapshot(&self) -> SessionSnapshot {
        lock(&self.inner).snapshot()
    }

    /// The state.
    pub fn state(&self) -> SessionState {
        lock(&self.inner).state.clone()
    }

    /// The login, for calls the session does not make itself (QA tools).
    pub fn account_client(&self) -> &AccountClient {
        &self.account
    }

    /// Checks over pinned TLS that the service is reachable and healthy (any state).
    pub async fn health(&self) -> Result<Health, Error> {
        self.service.health().await
    }

    /// At app start: when tokens are stored, checks them with the service, and resumes the
    /// saved progress of that shopper (captures are not saved: the session asks for them
    /// again). A pending enrollment is read back from the service, so an expired, completed
    /// or deleted one shows as such. With no tokens, the session stays signed out.
    pub async fn restore(&self) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        self.expect("restore", &[StateName::SignedOut])?;
        if !self.account.is_signed_in()? {
            return Ok(self.snapshot());
        }
        self.signed_in().await
    }

    /// Starts a login: the URL for the system browser (signed out only).
    pub async fn start_login(&self) -> Result<url::Url, Error> {
        let _step = self.steps.lock().await;
        self.expect("start_login", &[StateName::SignedOut])?;
        self.account.start_login().await
    }

    /// Starts a login that comes back to `redirect_uri` (a desktop loopback port).
    pub async fn start_login_with_redirect(
        &self,
        redirect_uri: url::Url,
    ) -> Result<url::Url, Error> {
        let _step = self.steps.lock().await;
        self.expect("start_login", &[StateName::SignedOut])?;
        self.account.start_login_with_redirect(redirect_uri).await
    }

    /// Finishes the login with the redirect the browser came back with, and resumes the
    /// shopper's saved progress if any.
    pub async fn finish_login(&self, redirect_url: &str) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        self.expect("finish_login", &[StateName::SignedOut])?;
        self.account.finish_login(redirect_url).await?;
        self.signed_in().await
    }

    /// The signed-in shopper.
    pub async fn account(&self) -> Result<AccountInfo, Error> {
        self.expect_signed_in("account")?;
        let result = self.account.account().await;
        self.after(result)
    }

    /// Records the shopper's consent to the biometric text of `text_version` at the
    /// service (with the time); required before the first capture.
    pub async fn give_consent(&self, text_version: &str) -> Result<ConsentRecord, Error> {
        let _step = self.steps.lock().await;
        self.expect("give_consent", &[StateName::SignedIn])?;
        let result = self.client().give_consent(text_version).await;
        let record = self.after(result)?;
        self.update(|inner| {
            inner.saved_mut()?.consent_version = Some(record.text_version.clone());
            inner.state = SessionState::ConsentGiven;
            Ok(())
        })?;
        Ok(record)
    }

    /// The account's payment methods and the linked one.
    pub async fn wallet(&self) -> Result<Wallet, Error> {
        self.expect_signed_in("wallet")?;
        let result = PaymentClient::new(&self.account).wallet().await;
        self.after(result)
    }

    /// Validates the card and saves it at the payment provider, then in the wallet. When
    /// the provider asks the shopper to confirm, open the URL, then call
    /// [`resume_add_card`](Self::resume_add_card). The state does not change.
    pub async fn add_card(&self, card: CardInput) -> Result<AddCardOutcome, Error> {
        let _step = self.steps.lock().await;
        self.expect_signed_in("add_card")?;
        let result = PaymentClient::new(&self.account)
            .add_card(card, current_year_month())
            .await;
        let (outcome, pending) = self.after(result)?;
        if pending.is_some() {
            lock(&self.inner).pending_card = pending;
        }
        Ok(outcome)
    }

    /// Finishes adding the card that required the shopper's confirmation.
    pub async fn resume_add_card(&self) -> Result<PaymentMethod, Error> {
        let _step = self.steps.lock().await;
        self.expect_signed_in("resume_add_card")?;
        let pending = lock(&self.inner)
            .pending_card
            .take()
            .ok_or(Error::Session(SessionFailure::NoPendingCard))?;
        let result = PaymentClient::new(&self.account)
            .resume_add_card(pending)
            .await;
        self.after(result)
    }

    /// Links a wallet card to the palm profile (idempotent across retries and restarts).
    /// After the captures: moves to `PaymentChosen`.
    pub async fn choose_payment(&self, payment_method_id: &str) -> Result<PaymentLink, Error> {
        let _step = self.steps.lock().await;
        self.expect(
            "choose_payment",
            &[StateName::Captured, StateName::PaymentChosen],
        )?;
        let key = self.update(|inner| {
            let saved = inner.saved_mut()?;
            if saved.link_key.is_none() {
                saved.link_key = Some(PaymentClient::new_idempotency_key()?);
            }
            Ok(saved.link_key.clone().unwrap_or_default())
        })?;
        let result = PaymentClient::new(&self.account)
            .link(payment_method_id, &key)
            .await;
        let link = self.after(result)?;
        self.update(|inner| {
            let saved = inner.saved_mut()?;
            saved.payment_method_id = Some(link.payment_method_id.clone());
            saved.link_key = None;
            inner.state = inner.resting_state();
            Ok(())
        })?;
        Ok(link)
    }

    /// Reads the enrollment back from the service: `Complete` once matched in store,
    /// `Expired` when its time ran out, `Deleted` when it is gone.
    pub async fn refresh(&self) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        self.expect(
            "refresh",
            &[
                StateName::PendingStoreMatch,
                StateName::Complete,
                StateName::Expired,
            ],
        )?;
        self.read_back().await?;
        Ok(self.snapshot())
    }

    /// Waits for the store match: reads the enrollment back (as [`refresh`](Self::refresh),
    /// so the listener hears every change) after `first`, then after pauses doubling up to
    /// `longest`, each ±20 % so a city of phones does not poll in step, until it is no
    /// longer pending (`Complete`, `Expired`, `Deleted`) or `give_up_after` has passed
    /// (then the last snapshot, still pending). Offline and service-unavailable reads are
    /// retried on the same schedule; other errors end the wait. Dropping the future (a
    /// cancelled Swift task or Kotlin coroutine: the status screen closed) stops it.
    pub async fn await_store_match(
        &self,
        first: std::time::Duration,
        longest: std::time::Duration,
        give_up_after: std::time::Duration,
    ) -> Result<SessionSnapshot, Error> {
        self.expect("await_store_match", &[StateName::PendingStoreMatch])?;
        let deadline = tokio::time::Instant::now() + give_up_after;
        let mut pause = first.max(std::time::Duration::from_millis(10));
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(self.snapshot());
            }
            tokio::time::sleep(jittered(pause).min(deadline - now)).await;
            match self.refresh().await {
                Ok(snap) if snap.state != SessionState::PendingStoreMatch => return Ok(snap),
                Ok(_) => {}
                Err(e)
                    if matches!(e.kind(), ErrorKind::Offline | ErrorKind::ServiceUnavailable) =>
                {
                    tracing::info!(error = %e, "store-match poll failed; trying again later");
                }
                Err(e) => return Err(e),
            }
            pause = (pause * 2).min(longest.max(first));
        }
    }

    /// Deletes the enrollment and all its biometric data at the service, and drops the
    /// captures held here: `Deleted`. Allowed in every signed-in state but uploading
    /// (cancel first).
    pub async fn delete(&self) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        let id = self.update(|inner| {
            if matches!(
                inner.state.name(),
                StateName::SignedOut | StateName::Uploading
            ) {
                return Err(inner.out_of_order("delete"));
            }
            Ok(inner.saved.as_ref().and_then(|s| s.enrollment_id.clone()))
        })?;
        if let Some(id) = id {
            let result = match self.client().delete(&id).await {
                // Already gone (expired, or deleted from another device): the same outcome.
                Err(Error::Service { status: 404, .. }) => Ok(()),
                other => other,
            };
            self.after(result)?;
        }
        self.update(|inner| {
            inner.captures.clear();
            inner.saved_mut()?.start_over();
            inner.state = SessionState::Deleted;
            Ok(())
        })?;
        Ok(self.snapshot())
    }

    /// After an enrollment expired, was deleted or failed for good: forget it and start
    /// again from consent (kept) or the consent screen.
    pub fn enroll_again(&self) -> Result<SessionSnapshot, Error> {
        self.update(|inner| {
            if !matches!(
                inner.state.name(),
                StateName::Expired | StateName::Deleted | StateName::Failed
            ) {
                return Err(inner.out_of_order("enroll_again"));
            }
            inner.captures.clear();
            let saved = inner.saved_mut()?;
            saved.start_over();
            inner.state = if saved.consent_version.is_some() {
                SessionState::ConsentGiven
            } else {
                SessionState::SignedIn
            };
            Ok(())
        })?;
        Ok(self.snapshot())
    }

    /// Signs out: revokes at the service, deletes the tokens and the saved progress here,
    /// drops the captures. The enrollment at the service stays (delete it first to remove
    /// it). Local deletion happens even when the service cannot be reached.
    pub async fn logout(&self) -> Result<SessionSnapshot, Error> {
        let _step = self.steps.lock().await;
        self.expect_signed_in("logout")?;
        let revoked = self.account.logout().await;
        self.store.delete(&self.progress_key())?;
        self.update(|inner| {
            inner.captures.clear();
            inner.saved = None;
            inner.pending_card = None;
            inner.state = SessionState::SignedOut;
            Ok(())
        })?;
        revoked?;
        Ok(self.snapshot())
    }
}

impl EnrollmentSession {
    fn client(&self) -> EnrollmentClient<'_> {
        EnrollmentClient::new(&self.account)
    }

    /// Where the progress is saved: beside the tokens, one per client and service.
    fn progress_key(&self) -> String {
        format!("{}#enrollment", self.account.store_key())
    }

    /// Runs `change` on the state under the lock, saves the progress, and tells the
    /// listener (outside the lock) when the snapshot changed.
    fn update<T>(&self, change: impl FnOnce(&mut Inner) -> Result<T, Error>) -> Result<T, Error> {
        let (value, changed) = {
            let mut inner = lock(&self.inner);
            let before = inner.snapshot();
            let saved_before = inner.saved.clone();
            let value = change(&mut inner)?;
            if inner.saved != saved_before {
                if let Some(saved) = &inner.saved {
                    saved.save(self.store.as_ref(), &self.progress_key())?;
                }
            }
            let after = inner.snapshot();
            (value, (after != before).then_some(after))
        };
        if let Some(snapshot) = changed {
            tracing::info!(state = %snapshot.state.name(), "enrollment session");
            if let Some(listener) = lock(&self.listener).clone() {
                listener.on_state_changed(&snapshot);
            }
        }
        Ok(value)
    }

    fn expect(&self, call: &'static str, allowed: &[StateName]) -> Result<(), Error> {
        let inner = lock(&self.inner);
        if allowed.contains(&inner.state.name()) {
            Ok(())
        } else {
            Err(inner.out_of_order(call))
        }
    }

    fn expect_signed_in(&self, call: &'static str) -> Result<(), Error> {
        let inner = lock(&self.inner);
        if inner.state.name() == StateName::SignedOut {
            Err(inner.out_of_order(call))
        } else {
            Ok(())
        }
    }

    /// Passes a service call's result on; a login that ended moves the session to
    /// `SignedOut` (the progress stays saved for the next login).
    fn after<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if matches!(&result, Err(e) if e.kind() == ErrorKind::SignInRequired) {
            let _ = self.update(|inner| {
                inner.state = SessionState::SignedOut;
                Ok(())
            });
        }
        result
    }

    /// After a login (or at start with stored tokens): who is signed in, their saved
    /// progress, and the state it leads to.
    async fn signed_in(&self) -> Result<SessionSnapshot, Error> {
        let me = self.account.account().await?;
        let saved = SavedProgress::load(self.store.as_ref(), &self.progress_key())?
            .filter(|s| s.account_id == me.account_id)
            .unwrap_or_else(|| SavedProgress::new(&me.account_id));
        let submitted = saved.submitted;
        self.update(|inner| {
            inner.state = if saved.submitted {
                SessionState::PendingStoreMatch
            } else if saved.consent_version.is_none() {
                SessionState::SignedIn
            } else {
                SessionState::ConsentGiven
            };
            inner.saved = Some(saved);
            if inner.state == SessionState::ConsentGiven {
                inner.state = inner.resting_state();
            }
            Ok(())
        })?;
        if submitted {
            self.read_back().await?;
        }
        Ok(self.snapshot())
    }

    /// Reads the submitted enrollment back and moves to what the service says.
    async fn read_back(&self) -> Result<(), Error> {
        let Some(id) = lock(&self.inner)
            .saved
            .as_ref()
            .and_then(|s| s.enrollment_id.clone())
        else {
            return Ok(());
        };
        let state = match self.client().get(&id).await {
            Ok(e) => match e.state {
                EnrollmentState::Complete => SessionState::Complete,
                EnrollmentState::Expired => SessionState::Expired,
                EnrollmentState::PendingStoreMatch | EnrollmentState::Draft => {
                    SessionState::PendingStoreMatch
                }
            },
            Err(Error::Service { status: 404, .. }) => SessionState::Deleted,
            Err(e) => return self.after(Err(e)),
        };
        self.update(|inner| {
            if state == SessionState::Deleted {
                inner.saved_mut()?.start_over();
            }
            inner.state = state;
            Ok(())
        })
    }
}

/// A capture of `hand` fits the saved progress: not uploaded already, and one of the
/// draft's hands once the draft exists.
fn check_hand(saved: &SavedProgress, hand: Hand) -> Result<(), Error> {
    if saved.upload_of(hand).is_some() {
        return Err(SessionFailure::HandAlreadyUploaded(hand).into());
    }
    if !saved.hands.is_empty() && !saved.hands.contains(&hand) {
        return Err(SessionFailure::HandNotInEnrollment {
            hand,
            enrolled: saved.hands.clone(),
        }
        .into());
    }
    Ok(())
}

/// A poisoned lock only means another thread panicked mid-update; the state it guards
/// is still consistent enough to report and move on (never panic across the FFI).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// `pause` ±20 % (the upload retries' random source).
fn jittered(pause: std::time::Duration) -> std::time::Duration {
    pause.mul_f64(0.8 + 0.4 * crate::upload::retry::random_unit())
}
