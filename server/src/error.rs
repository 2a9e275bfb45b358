//! [`StartError`]: anything that stops the server from starting, and the helper the file
//! and key modules use to name the path an I/O error happened on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::db;
use crate::files::FileError;

/// Anything that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or a file in it could not be read or written.
    #[error("data directory {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS material could not be made or loaded.
    #[error("TLS set-up: {0}")]
    Tls(String),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    /// The data keys could not be read, or do not open what the database holds.
    #[error("data keys: {0}")]
    DataKeys(String),
    /// The hand models could not be loaded.
    #[error("hand models: {0}")]
    Models(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl From<FileError> for StartError {
    fn from(e: FileError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}
