//! Wall-clock time as milliseconds since the Unix epoch, the unit of every timestamp we emit.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
///
/// A clock set before 1970 reads as 0 rather than panicking: timestamps are informative, and a
/// broken clock must not take a request down.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
