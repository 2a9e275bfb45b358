//! `palmkit upload FILE`: seal one palm image (JPEG or PNG) to the service key and upload
//! it resumably as the logged-in shopper, with a progress bar; then submit the enrollment
//! unless asked not to. Ctrl-C cancels: the unfinished upload is terminated at the server.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use palmkit_core::account::AccountClient;
use palmkit_core::enrollment::EnrollmentClient;
use palmkit_core::payment::PaymentClient;
use palmkit_core::protocol::{CaptureSource, Enrollment, Hand};
use palmkit_core::upload::{CancelToken, Capture, TusOptions, UploadProgress, UploadReport};
use zeroize::Zeroizing;

use crate::args::{DEFAULT_CONFIG, HandArg};
use crate::error::{CliError, Result};
use crate::login::account_client;

/// `palmkit upload`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The client configuration written by `palmkit serve`.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Which hand the image shows.
    #[arg(long, value_enum, default_value = "right")]
    hand: HandArg,
    /// Add the capture to this draft enrollment instead of starting a new one.
    #[arg(long)]
    enrollment: Option<String>,
    /// Upload only; leave the enrollment a draft.
    #[arg(long)]
    no_submit: bool,
    /// The image file.
    file: PathBuf,
}

/// Where the shown progress goes.
struct Bar(ProgressBar);

impl UploadProgress for Bar {
    fn on_progress(&self, confirmed: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(confirmed);
    }
}

/// The sealed-upload progress bar (shared with `palmkit demo`).
pub(crate) fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "   sealed upload [{bar:30}] {bytes}/{total_bytes} ({binary_bytes_per_sec})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Seals `capture` for `hand` of `enrollment` and uploads it with a progress bar; Ctrl-C
/// cancels it.
async fn seal_and_send(
    account: &AccountClient,
    enrollment: &Enrollment,
    hand: Hand,
    capture: Capture,
) -> Result<UploadReport> {
    let shown = Bar(bar());
    let cancel = CancelToken::new();
    let on_ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let result = EnrollmentClient::new(account)
        .upload_capture(
            &enrollment.id,
            hand,
            capture,
            &TusOptions::default(),
            &shown,
            &cancel,
        )
        .await;
    on_ctrl_c.abort();
    shown.0.finish_and_clear();
    Ok(result?)
}

/// `palmkit upload`.
pub async fn run(args: Args) -> Result<()> {
    let (config, file, hand) = (&args.config, &args.file, Hand::from(args.hand));
    let image = Zeroizing::new(
        std::fs::read(file)
            .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", file.display())))?,
    );
    // Refuse what is not an image before anything is created at the service.
    let capture = Capture::new(image, CaptureSource::File)?;
    let account = account_client(config)?;
    let enrollments = EnrollmentClient::new(&account);
    let enrollment = match args.enrollment.as_deref() {
        Some(id) => enrollments.get(id).await,
        None => {
            let key = PaymentClient::new_idempotency_key()?;
            enrollments.create_with_key(&[hand], Some(&key)).await
        }
    }?;
    println!("Enrollment {} ({:?} hand)", enrollment.id, hand);
    let report = seal_and_send(&account, &enrollment, hand, capture).await?;
    println!(
        "Uploaded {} sealed bytes as {}{}",
        report.length,
        report.id,
        if report.interruptions > 0 {
            format!(" after {} interruptions", report.interruptions)
        } else {
            String::new()
        }
    );
    if args.no_submit {
        println!("Not submitted (--no-submit): the enrollment stays a draft.");
        return Ok(());
    }
    let key = PaymentClient::new_idempotency_key()?;
    match enrollments.submit(&enrollment.id, &[report.id], &key).await {
        Ok(done) => {
            println!("Submitted: the enrollment is {:?}.", done.state);
            Ok(())
        }
        Err(e) => Err(CliError::Failed(format!(
            "uploaded, but the enrollment was not submitted: {e}"
        ))),
    }
}
