//! The fleet-wide per-session send limiter: `ratePerMin` and `ratePerHour`, enforced in Redis by
//! one Lua script so every edge sees the same budget. The same script first looks up the send's
//! `Idempotency-Key` record, so a retried send never consumes a second cell (see
//! [`RateLimiter::admit`]).
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
//! # Refunds
//! A send that was admitted but could not be queued gives its cell back ([`RateLimiter::refund`]):
//! each TAT moves back by its interval, never below now.
//!
//! # Scripts
//! The GCRA is a Lua function (`gcra.lua`) that the admission script (`rate_limit.lua`) embeds:
//! the two files are joined at compile time into one script.
//!
//! # Keys
//! One hash per session, [`Keys::send_rate`], under the shard's hash tag (cluster-safe): fields
//! `min` and `hour` (TATs, µs) and `min_t`, `hour_t` (intervals, µs). It expires
//! [`TTL_MARGIN_MS`] after the later TAT, when it would mean "empty" anyway. The idempotency
//! record ([`Keys::idempotency`]) is under the same hash tag, so one script may touch both.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Script, Value};
use wagw_common::SessionId;
use wagw_common::keys::Keys;
use wagw_common::messages::IDEMPOTENCY_TTL_SECS;
use wagw_common::shard::ShardRef;

/// How long one check may take in all (script load included) before it counts as an outage.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the rate hash outlives its later TAT; past the TAT it is equivalent to no hash.
pub const TTL_MARGIN_MS: u64 = 1_000;

/// The admission script: the GCRA function, then the script that calls it.
const ADMIT_LUA: &str = concat!(
    include_str!("gcra.lua"),
    "\n",
    include_str!("rate_limit.lua")
);

/// Which limit refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `ratePerMin`, over a rolling 60 s.
    Minute,
    /// `ratePerHour`, over a rolling 3600 s.
    Hour,
}

impl Window {
    /// The wire spelling of `details.window`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }
}

/// A session's limits, from its row at the time of the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    pub per_min: u32,
    pub per_hour: u32,
}

/// The `Idempotency-Key` side of an admission: the record's key and what to store there.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// [`Keys::idempotency`] of the session and the hashed header value.
    pub key: &'a str,
    /// The record (JSON) stored when the send is admitted.
    pub record: &'a str,
}

/// The answer to one admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Admitted; one cell of both limits is used, and the claim's record is stored.
    Allowed,
    /// Refused; nothing was consumed or stored.
    Limited {
        /// How long until this send would be admitted, in ms, at least 1.
        retry_after_ms: u64,
        /// The limit that binds longest.
        window: Window,
    },
    /// The claim's key already holds a record (returned as stored); nothing was consumed.
    Remembered(String),
}

/// Checks and records sends against the per-session limits; cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    /// The edge's shared connection (it has its own response timeout too).
    redis: ConnectionManager,
    keys: Keys,
    /// Built once: hashing the source for `EVALSHA` on every check would be waste.
    admit: Arc<Script>,
    refund: Arc<Script>,
    /// Bounds each call, including a `SCRIPT LOAD` retry after a Redis restart.
    timeout: Duration,
}

impl RateLimiter {
    pub fn new(redis: ConnectionManager, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            admit: Arc::new(Script::new(ADMIT_LUA)),
            refund: Arc::new(Script::new(include_str!("rate_refund.lua"))),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces [`DEFAULT_TIMEOUT`] (tests shorten it to see an outage quickly).
    #[cfg(test)]
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Admits one send from `session`, atomically: when `claim`'s key already has a record it
    /// is returned and nothing else happens; else, unless `limits` is `None`, the send must fit
    /// both limits (see the module doc); once admitted, `claim`'s record is stored for
    /// [`IDEMPOTENCY_TTL_SECS`]. A limit of 0 is treated as 1 (rows are validated to at least 1).
    ///
    /// # Errors
    /// Redis failures; running out of [`Self::with_timeout`] is an I/O timeout error, so it maps
    /// to `503` like any Redis outage. A malformed reply is a type error.
    pub async fn admit(
        &self,
        shard: &ShardRef,
        session: &SessionId,
        limits: Option<SendLimits>,
        claim: Option<Claim<'_>>,
    ) -> Result<Admission, redis::RedisError> {
        let mut invocation = self.admit.prepare_invoke();
        invocation.key(self.keys.send_rate(shard, session));
        if let Some(claim) = &claim {
            invocation.key(claim.key);
        }
        let (per_min, per_hour) = limits.map_or((0, 0), |l| (l.per_min.max(1), l.per_hour.max(1)));
        invocation
            .arg(per_min)
            .arg(per_hour)
            .arg(TTL_MARGIN_MS)
            .arg(claim.map_or("", |c| c.record))
            .arg(IDEMPOTENCY_TTL_SECS);
        let mut redis = self.redis.clone();
        let reply: Value = bounded(self.timeout, invocation.invoke_async(&mut redis)).await?;
        parse_reply(reply)
    }

    /// Gives back the cell an admitted send took when it could not be queued after all.
    ///
    /// # Errors
    /// Redis failures, as for [`Self::admit`].
    pub async fn refund(
        &self,
        shard: &ShardRef,
        session: &SessionId,
    ) -> Result<(), redis::RedisError> {
        let mut invocation = self.refund.prepare_invoke();
        invocation.key(self.keys.send_rate(shard, session));
        let mut redis = self.redis.clone();
        let _: i64 = bounded(self.timeout, invocation.invoke_async(&mut redis)).await?;
        Ok(())
    }
}

/// `call` within `timeout`, else an I/O timeout error (a Redis outage).
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, redis::RedisError> {
    tokio::time::timeout(timeout, call).await.map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "rate limit script timed out")
    })?
}

/// Reads the script's `{1}`, `{0, retry_after_ms, window}` or `{2, record}`.
fn parse_reply(reply: Value) -> Result<Admission, redis::RedisError> {
    let malformed = |reply: &Value| {
        redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "rate limit script reply",
            format!("{reply:?}"),
        ))
    };
    let Value::Array(items) = &reply else {
        return Err(malformed(&reply));
    };
    match items.as_slice() {
        [Value::Int(1)] => Ok(Admission::Allowed),
        [Value::Int(0), Value::Int(wait), Value::Int(window)] => {
            let window = match window {
                1 => Window::Minute,
                2 => Window::Hour,
                _ => return Err(malformed(&reply)),
            };
            Ok(Admission::Limited {
                retry_after_ms: u64::try_from(*wait).unwrap_or(0).max(1),
                window,
            })
        }
        [Value::Int(2), Value::BulkString(record)] => String::from_utf8(record.clone())
            .map(Admission::Remembered)
            .map_err(|_| malformed(&reply)),
        _ => Err(malformed(&reply)),
    }
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "rate_limit_claim_tests.rs"]
mod claim_tests;
