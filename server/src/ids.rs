//! Random identifiers for service records: a readable prefix and 128 random bits in hex
//! (`enr-1f0c…`, `acct-…`, `grant-…`).

use crate::db::DbError;

/// A new random id with `prefix`.
pub fn new_id(prefix: &str) -> Result<String, DbError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| DbError::Task(format!("no randomness: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}-{hex}"))
}
