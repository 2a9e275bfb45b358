//! Random identifiers for service records: a readable prefix and 128 random bits in hex
//! (`enr-1f0c…`, `acct-…`, `grant-…`).

use crate::db::DbError;

/// A new random id with `prefix`.
pub fn new_id(prefix: &str) -> Result<String, DbError> {
    Ok(format!("{prefix}-{}", random_hex(16)?))
}

/// `bytes` random bytes from the OS, in lower-case hex.
pub fn random_hex(bytes: usize) -> Result<String, DbError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
