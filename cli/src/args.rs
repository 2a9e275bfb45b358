//! The arguments several verbs share: the client configuration a verb reaches the service
//! with, and a hand.

use std::path::{Path, PathBuf};

use palmkit_core::ServiceConfig;

use crate::error::{CliError, Result};

/// Where `palmkit serve` writes its client configuration by default.
pub const DEFAULT_CONFIG: &str = "palmkit-data/client-config.json";

/// The client configuration of a running server.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// The client configuration written by `palmkit serve` (in its data directory).
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// A hand on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum HandArg {
    /// The left hand.
    Left,
    /// The right hand.
    Right,
}

impl From<HandArg> for palmkit_core::protocol::Hand {
    fn from(h: HandArg) -> Self {
        match h {
            HandArg::Left => Self::Left,
            HandArg::Right => Self::Right,
        }
    }
}

/// Reads the client configuration written by `palmkit serve`.
pub fn read_config(path: &Path) -> Result<ServiceConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::file(
            path,
            format!("cannot read it: {e} (start `palmkit serve` first, or pass --config)"),
        )
    })?;
    ServiceConfig::from_json(&text).map_err(CliError::at(path))
}
