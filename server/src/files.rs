//! Files of the data directory that only the service's own user may read: the folder
//! itself (0700), private keys and the database (0600). Modes are set when a file is
//! created and tightened on every start, so a data directory made by an older version,
//! or copied with a loose umask, is fixed rather than trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// An I/O error on one file or folder of the data directory (the start error names it).
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file or folder.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` if needed and makes it the owner's alone.
pub fn private_dir(dir: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    restrict(dir, 0o700)
}

/// Writes `bytes` to a file readable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(at(path))?;
    file.write_all(bytes).map_err(at(path))?;
    // `mode` applies only when the file is created: an existing file is tightened too.
    restrict(path, 0o600)
}

/// Creates `path` empty with mode 0600 if it does not exist, and tightens it if it does:
/// SQLite then opens it as it is, and gives its `-wal` and `-shm` files the same mode.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?;
    set_mode(path, 0o600)
}

fn restrict(path: &Path, mode: u32) -> Result<(), FileError> {
    set_mode(path, mode).map_err(at(path))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}
