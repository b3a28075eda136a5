//! Shard ownership: the table of shards this worker holds a lease on ([`Fleet`]), the
//! rendezvous assignment ([`assign`]), the lease loop that acquires, renews, releases and loses
//! them ([`lease`], [`handoff`]), the command listener of each held shard ([`listener`]), the
//! membership heartbeat ([`membership`]), fleet-change notices ([`notice`]), the NATS micro
//! service ([`micro`]) and the ownership [`counters`].

pub mod assign;
pub mod counters;
pub mod handoff;
pub mod lease;
pub mod listener;
pub mod membership;
pub mod micro;
pub mod notice;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::store::Fence;
use counters::Counters;

/// How long before its end we stop trusting a lease: a fifth of it, at least 500 ms.
pub fn safety_margin(lease: Duration) -> Duration {
    (lease / 5).max(Duration::from_millis(500))
}

/// One shard we hold.
#[derive(Debug)]
struct Held {
    token: String,
    /// When the last successful renewal was sent; the lease lasts at least until then plus
    /// the lease time.
    renewed_at: Instant,
    /// Stops the shard's command listener.
    listener: CancellationToken,
    /// Cancelled by the listener once it has unsubscribed and its handlers finished.
    listener_done: CancellationToken,
}

/// The shards this worker holds, with their fencing tokens.
#[derive(Debug)]
pub struct Fleet {
    shard_count: u32,
    held: Mutex<HashMap<u32, Held>>,
    pub counters: Counters,
    /// Wakes the lease loop for an extra pass (a fleet-change notice).
    pub wake: tokio::sync::Notify,
}

impl Fleet {
    pub fn new(shard_count: u32) -> Self {
        Self {
            shard_count,
            held: Mutex::default(),
            counters: Counters::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<u32, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The gateway's shard count, as recorded in Redis.
    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    pub fn is_held(&self, shard: u32) -> bool {
        self.held().contains_key(&shard)
    }

    /// Our lease on `shard`, if we hold it.
    pub fn fence(&self, shard: u32) -> Option<Fence> {
        self.held().get(&shard).map(|held| Fence {
            shard,
            token: held.token.clone(),
        })
    }

    /// Every lease we hold.
    pub fn fences(&self) -> Vec<Fence> {
        let mut fences: Vec<Fence> = self
            .held()
            .iter()
            .map(|(shard, held)| Fence {
                shard: *shard,
                token: held.token.clone(),
            })
            .collect();
        fences.sort_by_key(|fence| fence.shard);
        fences
    }

    /// The held shards, sorted.
    pub fn held_shards(&self) -> Vec<u32> {
        let mut shards: Vec<u32> = self.held().keys().copied().collect();
        shards.sort_unstable();
        shards
    }

    /// The shards we do not hold.
    pub fn free_shards(&self) -> Vec<u32> {
        let held = self.held();
        (0..self.shard_count)
            .filter(|shard| !held.contains_key(shard))
            .collect()
    }

    /// Records a freshly acquired lease; returns the token that stops its listener and the
    /// one the listener cancels when it is done.
    pub fn insert(
        &self,
        shard: u32,
        token: String,
        acquired_at: Instant,
    ) -> (CancellationToken, CancellationToken) {
        let listener = CancellationToken::new();
        let listener_done = CancellationToken::new();
        let held = Held {
            token,
            renewed_at: acquired_at,
            listener: listener.clone(),
            listener_done: listener_done.clone(),
        };
        if let Some(previous) = self.held().insert(shard, held) {
            previous.listener.cancel();
        }
        (listener, listener_done)
    }

    /// Stops a held shard's listener without giving up the lease; returns the token the
    /// listener cancels once it has unsubscribed and answered what it had taken.
    pub fn stop_listener(&self, shard: u32) -> Option<CancellationToken> {
        let held = self.held();
        let held = held.get(&shard)?;
        held.listener.cancel();
        Some(held.listener_done.clone())
    }

    /// Forgets a shard and stops its listener; false when it was not held.
    pub fn remove(&self, shard: u32) -> Option<Fence> {
        let held = self.held().remove(&shard)?;
        held.listener.cancel();
        Some(Fence {
            shard,
            token: held.token,
        })
    }

    /// Notes a successful renewal sent at `sent_at`, if the lease is still the same one;
    /// false when we no longer hold it.
    pub fn renewed(&self, fence: &Fence, sent_at: Instant) -> bool {
        match self
            .held()
            .get_mut(&fence.shard)
            .filter(|h| h.token == fence.token)
        {
            Some(held) => {
                held.renewed_at = sent_at;
                true
            }
            None => false,
        }
    }

    /// Shards whose lease we can no longer prove at `now`: a renewal sent at `t0` proves the
    /// lease until `t0 + lease - safety_margin(lease)`, so we stop acting on it well before
    /// another worker may acquire it.
    pub fn possibly_expired(&self, now: Instant, lease: Duration) -> Vec<u32> {
        let trusted = lease.saturating_sub(safety_margin(lease));
        self.held()
            .iter()
            .filter(|(_, held)| now.saturating_duration_since(held.renewed_at) >= trusted)
            .map(|(shard, _)| *shard)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_not_renewed_for_most_of_their_time_may_have_expired() {
        let fleet = Fleet::new(4);
        let start = Instant::now();
        let (listener, _done) = fleet.insert(1, "w 1".into(), start);
        fleet.insert(2, "w 2".into(), start);
        assert_eq!(fleet.free_shards(), [0, 3]);
        let lease = Duration::from_secs(10);
        fleet.renewed(
            &Fence {
                shard: 2,
                token: "w 2".into(),
            },
            start + Duration::from_secs(5),
        );
        let mut expired = fleet.possibly_expired(start + Duration::from_secs(8), lease);
        expired.sort_unstable();
        assert_eq!(expired, [1]);
        assert!(
            fleet
                .possibly_expired(start + Duration::from_millis(7999), lease)
                .is_empty()
        );
        assert_eq!(
            safety_margin(Duration::from_millis(1500)),
            Duration::from_millis(500)
        );
        assert_eq!(fleet.remove(1).map(|f| f.token), Some("w 1".into()));
        assert!(listener.is_cancelled());
        assert_eq!(fleet.held_shards(), [2]);
    }
}
