//! The worker's ownership counters: lease acquisitions, losses, graceful releases, refused
//! stale writes, takeovers and reconnects. Published under `"counters"` in the member info
//! and in the micro service's stats.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters since the process started.
#[derive(Debug, Default)]
pub struct Counters {
    pub lease_acquired: AtomicU64,
    pub lease_lost: AtomicU64,
    pub lease_released: AtomicU64,
    pub stale_writes_refused: AtomicU64,
    pub takeovers: AtomicU64,
    pub reconnects: AtomicU64,
}

/// A point-in-time copy, as JSON: `{"leaseAcquired":n,"leaseLost":n,...}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountersSnapshot {
    pub lease_acquired: u64,
    pub lease_lost: u64,
    pub lease_released: u64,
    pub stale_writes_refused: u64,
    pub takeovers: u64,
    pub reconnects: u64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            lease_acquired: get(&self.lease_acquired),
            lease_lost: get(&self.lease_lost),
            lease_released: get(&self.lease_released),
            stale_writes_refused: get(&self.stale_writes_refused),
            takeovers: get(&self.takeovers),
            reconnects: get(&self.reconnects),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_serialize_in_camel_case() {
        let counters = Counters::default();
        bump(&counters.takeovers);
        bump(&counters.lease_acquired);
        bump(&counters.lease_acquired);
        let json = serde_json::to_value(counters.snapshot()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"leaseAcquired": 2, "leaseLost": 0, "leaseReleased": 0,
                "staleWritesRefused": 0, "takeovers": 1, "reconnects": 0})
        );
    }
}
