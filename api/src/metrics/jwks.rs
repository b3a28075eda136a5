//! JWKS fetch counts: kept by the JWT verifier as plain atomics (it knows nothing of the
//! recorder) and copied into `wagw_jwks_fetches_total` at each scrape.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why the verifier fetched the JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksFetchReason {
    /// No key set was cached yet (the first JWT since start, or every fetch so far failed).
    First,
    /// The cached key set outlived `WAGW_JWKS_CACHE_TTL_MS`.
    Expired,
    /// A token named a `kid` the fresh cached set does not have (a key rotation).
    UnknownKid,
}

impl JwksFetchReason {
    pub const ALL: [Self; 3] = [Self::First, Self::Expired, Self::UnknownKid];

    /// The reason of a fetch, from whether a set was cached and whether it was stale.
    pub fn of(cached: bool, stale: bool) -> Self {
        match (cached, stale) {
            (false, _) => Self::First,
            (true, true) => Self::Expired,
            (true, false) => Self::UnknownKid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Expired => "expired",
            Self::UnknownKid => "unknown_kid",
        }
    }
}

/// Fetches since start, by reason and by outcome (`[ok, error]`).
#[derive(Debug, Default)]
pub struct JwksFetches([[AtomicU64; 2]; 3]);

impl JwksFetches {
    /// Counts one fetch.
    pub fn record(&self, reason: JwksFetchReason, ok: bool) {
        self.0[reason as usize][usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    /// `(ok, error)` fetches for `reason`.
    pub fn get(&self, reason: JwksFetchReason) -> (u64, u64) {
        let [ok, error] = &self.0[reason as usize];
        (ok.load(Ordering::Relaxed), error.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_are_counted_by_reason_and_outcome() {
        let fetches = JwksFetches::default();
        fetches.record(JwksFetchReason::of(false, true), true);
        fetches.record(JwksFetchReason::of(true, false), false);
        fetches.record(JwksFetchReason::of(true, false), true);
        assert_eq!(fetches.get(JwksFetchReason::First), (1, 0));
        assert_eq!(fetches.get(JwksFetchReason::Expired), (0, 0));
        assert_eq!(fetches.get(JwksFetchReason::UnknownKid), (1, 1));
        assert_eq!(JwksFetchReason::of(true, true), JwksFetchReason::Expired);
    }
}
