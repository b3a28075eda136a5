//! The lease loop: every third of the lease time, renew the leases we hold (one pipeline) and
//! try to acquire every free shard (one pipeline). Acquiring a shard subscribes its commands and
//! reconciles its sessions; losing one closes its links and stops its listener.

use futures::future::join_all;
use std::time::{Duration, Instant};

use crate::Worker;
use crate::sessions::Closer;
use crate::store::StoreError;

/// How long subscribing a shard's command subject may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between two tries at the free shards, so that the shards a stopping worker
/// released are taken over in about a second whatever the lease time.
const MAX_ACQUIRE_PERIOD: Duration = Duration::from_secs(1);

impl Worker {
    /// Runs until the worker stops: renews every third of the lease time, tries the free
    /// shards at least every second.
    pub async fn lease_loop(self) {
        let renew_period = self.config.lease() / 3;
        let period = renew_period.min(MAX_ACQUIRE_PERIOD);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_renewal = Instant::now();
        let mut acquire_failing = false;
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => break,
                _ = tick.tick() => {}
            }
            if Instant::now() >= next_renewal {
                next_renewal = Instant::now() + renew_period;
                self.renew_held().await;
            }
            self.drop_possibly_expired(period).await;
            let acquired = self.acquire_free().await;
            match (acquired, acquire_failing) {
                (Ok(()), true) => {
                    acquire_failing = false;
                    tracing::info!("trying to acquire free shards works again");
                }
                // Warn once per outage, not every tick.
                (Err(err), false) => {
                    acquire_failing = true;
                    tracing::warn!(error = %err, "could not try to acquire free shards");
                }
                _ => {}
            }
        }
        tracing::debug!(worker.id = %self.id, "lease loop stopped");
    }

    async fn renew_held(&self) {
        let fences = self.fleet.fences();
        if fences.is_empty() {
            return;
        }
        let sent_at = Instant::now();
        match self.store.renew_leases(&fences, self.config.lease_ms).await {
            Ok(results) => {
                for (fence, (shard, still_ours)) in fences.iter().zip(results) {
                    if still_ours {
                        self.fleet.renewed(fence, sent_at);
                    } else {
                        self.drop_shard(shard, "the lease is held by another worker")
                            .await;
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, shards = fences.len(), "could not renew shard leases")
            }
        }
    }

    /// Drops every lease that may expire before the next tick, `period` away.
    async fn drop_possibly_expired(&self, period: Duration) {
        let horizon = Instant::now() + period;
        for shard in self.fleet.possibly_expired(horizon, self.config.lease()) {
            self.drop_shard(
                shard,
                "the lease could not be renewed before it may have expired",
            )
            .await;
        }
    }

    async fn acquire_free(&self) -> Result<(), StoreError> {
        let free = self.fleet.free_shards();
        if free.is_empty() || self.stopping.is_cancelled() {
            return Ok(());
        }
        let sent_at = Instant::now();
        let won = self
            .store
            .acquire_leases(&free, self.id.as_str(), self.config.lease_ms)
            .await?;
        for (shard, epoch) in won {
            self.on_acquired(shard, epoch, sent_at).await;
        }
        Ok(())
    }

    /// Takes up a freshly leased shard: listen to its commands, then reconcile its sessions.
    async fn on_acquired(&self, shard: u32, epoch: i64, acquired_at: Instant) {
        let stop = self
            .fleet
            .insert(shard, format!("{} {epoch}", self.id), acquired_at);
        let subject = self.subjects.shard_commands(&self.gateway, shard);
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, self.nats.subscribe(subject)).await {
            Ok(Ok(subscriber)) => {
                tracing::info!(shard, epoch, "acquired shard");
                self.tasks
                    .spawn(self.clone().serve_shard(shard, subscriber, stop));
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
        if let Some(fence) = self.fleet.remove(shard)
            && let Err(err) = self.store.release_lease(&fence).await
        {
            tracing::warn!(shard, error = %err, "could not release a lease; it will expire");
        }
    }

    /// Stops acting on a shard at once: no more writes, its listener stops, its links close
    /// (rows untouched, the next owner reconciles them). Logged once per loss.
    pub async fn drop_shard(&self, shard: u32, reason: &str) {
        if self.fleet.remove(shard).is_none() {
            return;
        }
        tracing::warn!(shard, reason, "lost shard");
        self.close_shard_links(Some(shard)).await;
    }

    /// Closes the links of one shard, or of every shard.
    async fn close_shard_links(&self, shard: Option<u32>) {
        let closers = self.sessions.remove_where(shard);
        if let Some(shard) = shard {
            self.sessions.forget_shard_statuses(shard);
        }
        join_all(closers.into_iter().map(Closer::close)).await;
    }

    /// At shutdown: close every link (without logging out), then delete our leases so that
    /// survivors take the shards over at their next acquisition round.
    pub async fn release_all(&self) {
        self.close_shard_links(None).await;
        for shard in self.fleet.held_shards() {
            self.sessions.forget_shard_statuses(shard);
            let Some(fence) = self.fleet.remove(shard) else {
                continue;
            };
            match self.store.release_lease(&fence).await {
                Ok(true) => tracing::info!(shard, "released shard"),
                Ok(false) => tracing::warn!(shard, "the lease was no longer ours at release"),
                Err(err) => {
                    tracing::warn!(shard, error = %err, "could not release a lease; it will expire")
                }
            }
        }
    }
}
