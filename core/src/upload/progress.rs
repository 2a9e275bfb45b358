//! What a long upload tells its caller, and how the caller stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Receives upload progress. Called from the task running the upload; keep it quick.
pub trait UploadProgress: Send + Sync {
    /// `confirmed` bytes of `total` are confirmed by the service (it may go back to 0 if
    /// the upload had to start again).
    fn on_progress(&self, confirmed: u64, total: u64);
}

/// A progress sink that ignores progress.
pub struct NoProgress;

impl UploadProgress for NoProgress {
    fn on_progress(&self, _: u64, _: u64) {}
}

/// Stops an upload from another task or thread. Cheap to clone; all clones cancel the same
/// upload.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<CancelInner>);

#[derive(Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: the upload stops at its next await point, terminates itself at the
    /// service, and returns `UploadFailure::Cancelled`.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
