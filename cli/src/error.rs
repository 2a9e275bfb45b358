//! The tool's one error type: what went wrong, typed by where it came from, with the
//! explanation the user reads (`error: …` on stderr) and the exit status it gives.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A verb's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A command-line value cannot be used (exit status 2, as clap's own usage errors).
    #[error("{0}")]
    Usage(String),
    /// A file or folder given (or found) cannot be used: unreadable, not an image, not a
    /// client configuration, no models in it.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// The core refused or failed: the network, the service's answer, the session.
    #[error(transparent)]
    Core(#[from] palmkit_core::Error),
    /// The reference server could not start (or prepare its data directory).
    #[error(transparent)]
    ServerStart(#[from] palmkit_server::StartError),
    /// The reference server's database, opened by the store verbs.
    #[error("the server's database: {0}")]
    Database(#[from] palmkit_server::db::DbError),
    /// Something this machine could not do: listen on a port, run a task, reach the
    /// kernel keyring.
    #[error("{what}: {reason}")]
    System {
        /// What was attempted.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A step of `palmkit demo` failed (the steps before it passed).
    #[error("step {step} ({title}) failed: {reason}")]
    Step {
        /// The step's number.
        step: usize,
        /// What the step does.
        title: String,
        /// Why it failed.
        reason: String,
    },
    /// The hand models could not be loaded or run.
    #[error("the hand models: {0}")]
    Model(#[from] palmkit_core::vision::ModelError),
    /// A picture could not be decoded.
    #[error("the picture: {0}")]
    Decode(#[from] palmkit_core::frame::DecodeError),
    /// A picture could not be read or written by the image library.
    #[error("the image: {0}")]
    Image(#[from] image::ImageError),
    /// JSON that could not be read or written.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The scripted browser at the reference server's login page.
    #[error("the login page: {0}")]
    Browser(#[from] palmkit_server::accounts::browser::BrowserError),
    /// Input or output that failed where no one file is to blame (the terminal, a socket).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The verb ran and its outcome is a failure (a demo step, a scan refused, a report
    /// that could not be written), explained.
    #[error("{0}")]
    Failed(String),
}

/// The core's own error kinds, as the core's [`palmkit_core::Error`].
macro_rules! via_core {
    ($($kind:ty),*) => {$(
        impl From<$kind> for CliError {
            fn from(e: $kind) -> Self {
                Self::Core(e.into())
            }
        }
    )*};
}

via_core!(
    palmkit_core::config::ConfigError,
    palmkit_core::error::UploadFailure,
    palmkit_core::payment::card::CardError
);

impl From<tokio::task::JoinError> for CliError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::System {
            what: "a background task",
            reason: e.to_string(),
        }
    }
}

impl CliError {
    /// A [`CliError::File`] error for `path`.
    pub fn file(path: &Path, reason: impl Display) -> Self {
        Self::File {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    /// A closure for `map_err` that makes a [`CliError::File`] for `path`.
    pub fn at<E: Display>(path: &Path) -> impl FnOnce(E) -> Self + '_ {
        move |e| Self::file(path, e)
    }

    /// A closure for `map_err` that makes a [`CliError::System`] error.
    pub fn system<E: Display>(what: &'static str) -> impl FnOnce(E) -> Self {
        move |e| Self::System {
            what,
            reason: e.to_string(),
        }
    }

    /// A closure-free `map_err` for a library's error that has no variant here: its own
    /// words, as the verb's failure.
    pub fn failed(e: impl Display) -> Self {
        Self::Failed(e.to_string())
    }

    /// The process's exit status for this error: 2 for a usage error, else 1.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

/// The tool's result.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
