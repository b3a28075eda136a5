//! Taking up, handing over and losing shards.
//!
//! - Acquired: subscribe its commands and consume its send jobs, then reconcile its sessions (a
//!   takeover when the shard had an owner before, i.e. its epoch is above 1).
//! - Released gracefully (rebalancing, shutdown): stop its listener and let it answer what it
//!   took, close its links (their `closed` journal records flushed to NATS), then delete the
//!   lease so the new owner takes it at once.
//! - Lost (renewal refused, a stale write refused, a lease we can no longer prove): stop
//!   writing at once, close its links; the lease is someone else's or expires.
//!
//! Each event is logged once, with `shard` and `epoch`, and counted.

use futures::future::join_all;
use serde_json::json;
use std::time::{Duration, Instant};

use super::counters::bump;
use crate::Worker;
use crate::sessions::Closer;
use crate::store::Fence;

/// How long subscribing a shard's command subject may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a released shard's listener gets to finish.
const LISTENER_DEADLINE: Duration = Duration::from_secs(3);
/// How long flushing NATS (the links' last journal records) may take before a lease goes.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a Redis call of a handoff may take.
const STORE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long publishing a fleet-change notice may take.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(1);

/// The epoch part of a lease token `<worker> <epoch>`.
fn epoch_of(token: &str) -> &str {
    token.rsplit(' ').next().unwrap_or_default()
}

impl Worker {
    /// Takes up a freshly leased shard: listen to its commands, then reconcile its sessions.
    pub(super) async fn on_acquired(&self, shard: u32, epoch: i64, acquired_at: Instant) {
        let (stop, done) = self
            .fleet
            .insert(shard, format!("{} {epoch}", self.id), acquired_at);
        let subject = self.subjects.shard_commands(&self.gateway, shard);
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, self.nats.subscribe(subject)).await {
            Ok(Ok(subscriber)) => {
                let takeover = epoch > 1;
                bump(&self.fleet.counters.lease_acquired);
                if takeover {
                    bump(&self.fleet.counters.takeovers);
                }
                tracing::info!(shard, epoch, takeover, "acquired shard");
                self.tasks
                    .spawn(self.clone().serve_held_shard(shard, subscriber, stop, done));
                self.tasks.spawn(self.clone().reconcile_shard(shard));
            }
            Ok(Err(err)) => self.give_back(shard, &err.to_string()).await,
            Err(_) => self.give_back(shard, "subscribing timed out").await,
        }
    }

    /// Releases a shard we could not take up, so another worker may.
    async fn give_back(&self, shard: u32, error: &str) {
        tracing::warn!(
            shard,
            error,
            "could not subscribe a shard's commands; releasing it"
        );
        if let Some(fence) = self.fleet.remove(shard) {
            self.release_quietly(&fence).await;
        }
    }

    /// Deletes a lease we no longer act on; failures only mean it expires by itself.
    pub(super) async fn release_quietly(&self, fence: &Fence) {
        let released = tokio::time::timeout(STORE_TIMEOUT, self.store.release_lease(fence)).await;
        if !matches!(released, Ok(Ok(_))) {
            tracing::debug!(
                shard = fence.shard,
                "could not delete a lease; it will expire"
            );
        }
    }

    /// Hands shards over gracefully: listeners stop (answering what they took), links close
    /// and their journal records reach NATS, then the leases are deleted.
    pub async fn release_shards(&self, shards: &[u32], reason: &str) {
        let listeners: Vec<_> = shards
            .iter()
            .filter_map(|shard| self.fleet.stop_listener(*shard))
            .collect();
        let all_done = join_all(listeners.iter().map(|done| done.cancelled()));
        if tokio::time::timeout(LISTENER_DEADLINE, all_done)
            .await
            .is_err()
        {
            tracing::warn!("released shards' listeners did not finish in time");
        }
        let fences: Vec<Fence> = shards
            .iter()
            .filter_map(|shard| self.fleet.remove(*shard))
            .collect();
        let closers = fences
            .iter()
            .flat_map(|fence| self.take_shard_links(fence.shard));
        self.close_links(closers.collect()).await;
        let released =
            tokio::time::timeout(STORE_TIMEOUT, self.store.release_leases(&fences)).await;
        let released = match released {
            Ok(Ok(released)) => released,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, shards = fences.len(), "could not delete released leases; they will expire");
                vec![false; fences.len()]
            }
            Err(_) => {
                tracing::warn!(
                    shards = fences.len(),
                    "deleting released leases timed out; they will expire"
                );
                vec![false; fences.len()]
            }
        };
        for (fence, deleted) in fences.iter().zip(released) {
            bump(&self.fleet.counters.lease_released);
            let epoch = epoch_of(&fence.token);
            tracing::info!(
                shard = fence.shard,
                epoch,
                reason,
                lease.deleted = deleted,
                "released shard"
            );
        }
    }

    /// Stops acting on a shard at once: no more writes, its listener stops, its links close
    /// (rows untouched, the next owner reconciles them). Logged once per loss.
    pub async fn drop_shard(&self, shard: u32, reason: &str) {
        let Some(fence) = self.fleet.remove(shard) else {
            return;
        };
        bump(&self.fleet.counters.lease_lost);
        let epoch = epoch_of(&fence.token);
        tracing::warn!(shard, epoch, reason, "lost shard");
        let closers = self.take_shard_links(shard);
        self.close_links(closers).await;
    }

    /// Removes a shard's session slots (to close) and forgets its statuses.
    fn take_shard_links(&self, shard: u32) -> Vec<Closer> {
        let closers = self.sessions.remove_where(Some(shard));
        self.sessions.forget_shard_statuses(shard);
        closers
    }

    /// Closes links (without logging out), then flushes NATS so what they published (status,
    /// the sim's `closed` records) is out before the lease can move.
    async fn close_links(&self, closers: Vec<Closer>) {
        if closers.is_empty() {
            return;
        }
        join_all(closers.into_iter().map(Closer::close)).await;
        if !matches!(
            tokio::time::timeout(FLUSH_TIMEOUT, self.nats.flush()).await,
            Ok(Ok(()))
        ) {
            tracing::debug!("could not flush NATS after closing links");
        }
    }

    /// At shutdown: hand every shard over, and close any link left.
    pub async fn release_all(&self) {
        let held = self.fleet.held_shards();
        self.release_shards(&held, "the worker is stopping").await;
        let leftovers = self.sessions.remove_where(None);
        self.close_links(leftovers).await;
    }

    /// Tells the fleet that ownership should be looked at again (`join`, `leave`, `release`).
    pub async fn announce(&self, event: &str) {
        let subject = self.subjects.fleet_changed(&self.gateway);
        let payload = json!({"workerId": self.id, "event": event}).to_string();
        let sent = tokio::time::timeout(
            NOTICE_TIMEOUT,
            self.nats.publish(subject, payload.into_bytes().into()),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(event, "could not publish a fleet change notice");
        }
    }
}
