//! Progress display for the CLI: a spinner on stderr for anything that may take over a
//! second. indicatif draws nothing when stderr is not a terminal, so logs and CI output
//! stay clean.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner with a message, ticking until finished.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A bar of `len` steps with the current item as its message.
pub fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}
