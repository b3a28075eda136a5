//! The fleet-wide per-session send limiter: `ratePerMin` and `ratePerHour`, enforced in Redis by
//! one Lua script so every edge sees the same budget.
//!
//! # Algorithm
//! GCRA (generic cell rate algorithm) per limit, O(1) memory: one theoretical arrival time
//! (TAT) per limit per session. For a limit of `L` per window `W` the emission interval is
//! `T = W / L` and the burst tolerance `tau = (L - 1) * T`, so `L` sends pass at once and then
//! one more every `T`. A send is admitted when `max(TAT, now) - now <= tau` for **both** limits;
//! only then are both TATs advanced by their `T`. The check and the update run in one script
//! (`EVALSHA`, loaded on `NOSCRIPT`), so concurrent edges cannot both take the last cell, and a
//! refused check consumes nothing. `retry_after_ms` is the longest wait among the refusing
//! limits (at least 1 ms) and `window` names that limit.
//!
//! What this bounds: the sustained rate is `L / W`, and after an idle period a burst of `L` is
//! allowed. It is not a sliding-window log: a full burst followed by the steady refill admits up
//! to `2L - 1` sends in one rolling window of length `W` (e.g. 20 now and 19 more over the next
//! 57 s for 20/min). The hourly limit caps how long that can go on.
//!
//! # Clock
//! "Now" is Redis `TIME`, read inside the script, not the edge's clock: TATs written by one edge
//! are compared by others, and edges whose clocks disagree would otherwise admit early or refuse
//! late by the skew. Redis 5+ replicates scripts by effect, so a time read before a write is fine.
//!
//! # Changing limits
//! The limits are arguments of every check (the session row's current values), never cached, so
//! a `PATCH` applies to the next send. Each TAT is stored with the interval it was built under;
//! when the interval differs, the backlog `TAT - now` is re-based to the new interval, keeping
//! the number of cells in use: a raised limit grants its extra headroom at once (no penalty for
//! sends made under the old one), and a lowered limit counts recent sends against the new one
//! from now on, clamped to one full bucket, so the wait is at most one new interval and no debt
//! from the old limit is carried. That re-basing is the only write a refused check can make.
//!
//! # Keys
//! One hash per session, [`Keys::send_rate`], under the shard's hash tag (cluster-safe): fields
//! `min` and `hour` (TATs, µs) and `min_t`, `hour_t` (intervals, µs). It expires
//! [`TTL_MARGIN_MS`] after the later TAT, when it would mean "empty" anyway.

// The send endpoint is the caller and is not written yet; drop this once it calls `check`.
#![cfg_attr(
    not(test),
    expect(dead_code, reason = "used by the send endpoint, not written yet")
)]

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use wagw_common::SessionId;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;

/// How long one check may take in all (script load included) before it counts as an outage.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the rate hash outlives its later TAT; past the TAT it is equivalent to no hash.
pub const TTL_MARGIN_MS: u64 = 1_000;

/// Which limit refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `ratePerMin`, over a rolling 60 s.
    Minute,
    /// `ratePerHour`, over a rolling 3600 s.
    Hour,
}

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admitted; one cell of both limits is used.
    Allowed,
    /// Refused; nothing was consumed.
    Limited {
        /// How long until this send would be admitted, in ms, at least 1.
        retry_after_ms: u64,
        /// The limit that binds longest.
        window: Window,
    },
}

impl Admission {
    /// The `Retry-After` value: whole seconds, rounded up, so a client that honours it is not
    /// refused again for waiting too little. `None` when admitted.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Allowed => None,
            Self::Limited { retry_after_ms, .. } => Some(retry_after_ms.div_ceil(1000).max(1)),
        }
    }
}

/// Checks and records sends against the per-session limits; cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    /// The edge's shared connection (it has its own response timeout too).
    redis: ConnectionManager,
    keys: Keys,
    /// Built once: hashing the source for `EVALSHA` on every check would be waste.
    script: Arc<Script>,
    /// Bounds the whole check, including a `SCRIPT LOAD` retry after a Redis restart.
    timeout: Duration,
}

impl RateLimiter {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            script: Arc::new(Script::new(include_str!("rate_limit.lua"))),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces [`DEFAULT_TIMEOUT`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Admits one send from `session` if neither limit is exceeded, and records it; see the
    /// module doc. A limit of 0 is treated as 1 (rows are validated to at least 1).
    ///
    /// # Errors
    /// Redis failures; running out of [`Self::with_timeout`] is an I/O timeout error, so it maps
    /// to `503` like any Redis outage. A malformed reply is a type error.
    pub async fn check(
        &self,
        shard: &ShardRef,
        session: &SessionId,
        per_min: u32,
        per_hour: u32,
    ) -> Result<Admission, redis::RedisError> {
        let mut redis = self.redis.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.keys.send_rate(shard, session))
            .arg(per_min.max(1))
            .arg(per_hour.max(1))
            .arg(TTL_MARGIN_MS);
        let reply: (i64, i64, i64) =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut redis))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "rate limit check timed out")
                })??;
        parse_reply(reply)
    }
}

/// Reads the script's `{admitted, retry_after_ms, window}`.
fn parse_reply(reply: (i64, i64, i64)) -> Result<Admission, redis::RedisError> {
    let window = match reply {
        (1, _, _) => return Ok(Admission::Allowed),
        (0, _, 1) => Window::Minute,
        (0, _, 2) => Window::Hour,
        _ => {
            return Err(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "rate limit script reply",
                format!("{reply:?}"),
            )));
        }
    };
    let retry_after_ms = u64::try_from(reply.1).unwrap_or(0).max(1);
    Ok(Admission::Limited {
        retry_after_ms,
        window,
    })
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;
