//! Quotas: one counter row per key and window, spent inside the transaction that does the
//! counted thing, so concurrent requests cannot overshoot.

use crate::backend;
use feedback_core::ports::{Quota, StoreError};
use rusqlite::{params, OptionalExtension};

/// Spends one unit of the quota's current window; false (and nothing changed) when it is used up.
/// Counters of earlier windows of the same key are dropped on the way.
pub(crate) fn spend_quota(tx: &rusqlite::Transaction<'_>, quota: &Quota) -> Result<bool, StoreError> {
    if quota.max == 0 {
        return Ok(false);
    }
    let window = quota.window_id();
    tx.execute("DELETE FROM quotas WHERE key = ?1 AND window < ?2", params![quota.key, window]).map_err(backend)?;
    let changed = tx
        .execute(
            "INSERT INTO quotas (key, window, count, expires_ms) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(key, window) DO UPDATE SET count = count + 1 WHERE count < ?4",
            params![quota.key, window, quota.window_end().timestamp_millis(), quota.max],
        )
        .map_err(backend)?;
    Ok(changed == 1)
}

/// Units of the quota's current window spent so far.
pub(crate) fn quota_used(tx: &rusqlite::Transaction<'_>, quota: &Quota) -> Result<u32, StoreError> {
    let used: Option<u32> = tx
        .query_row(
            "SELECT count FROM quotas WHERE key = ?1 AND window = ?2",
            params![quota.key, quota.window_id()],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    Ok(used.unwrap_or(0))
}
