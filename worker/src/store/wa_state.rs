//! Finding the keys of a session's WhatsApp state by `SCAN MATCH`, for the fenced scripts that
//! delete them: session deletion, credential deletion and the driver's own purge.

use super::{Store, StoreError};
use redis::aio::ConnectionManager;
use wagw_common::SessionId;

/// How many keys one SCAN step looks at: a hint to Redis, not a limit on the result.
const SCAN_COUNT: usize = 100;

/// Every key matching `pattern`, sorted and without duplicates (SCAN may return a key twice).
///
/// # Errors
/// Redis errors.
pub async fn scan_matching(
    conn: &mut ConnectionManager,
    pattern: &str,
) -> Result<Vec<String>, redis::RedisError> {
    let mut cursor: u64 = 0;
    let mut found: Vec<String> = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await?;
        found.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

impl Store {
    /// Every key of the WhatsApp state of session `id` in `shard` (none for the sim driver).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn wa_state_keys(
        &self,
        shard: u32,
        id: &SessionId,
    ) -> Result<Vec<String>, StoreError> {
        let pattern = self.keys.wa_state_pattern(&self.shard_ref(shard), id);
        Ok(scan_matching(&mut self.conn(), &pattern).await?)
    }
}
