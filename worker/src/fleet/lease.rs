//! The lease loop and the fence watchdog.
//!
//! Every pass (a tick of at most a second, or a fleet-change notice, debounced) renews the held
//! leases when due (one pipeline), reads the live members, and follows the rendezvous
//! [`plan`]: release gracefully what another live member should own,
//! acquire the free shards that should be ours. The watchdog, independent of Redis, stops
//! acting on any shard whose lease it can no longer prove (self-fencing).

use std::collections::HashSet;
use std::time::{Duration, Instant};
use wagw_common::time::now_ms;

use super::assign::{live_members, liveness_cutoff, plan};
use crate::Worker;
use crate::store::StoreError;

/// The longest wait between two passes, so that the shards a stopping worker released are
/// taken over in about a second whatever the lease time.
const MAX_PASS_PERIOD: Duration = Duration::from_secs(1);
/// Notices arriving within this window cause one extra pass.
const NOTICE_DEBOUNCE: Duration = Duration::from_millis(50);
/// How long one Redis round trip of the lease loop may take.
const STORE_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the watchdog looks for leases it can no longer prove.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(50);

/// Bounds a store call with [`STORE_CALL_TIMEOUT`].
async fn bounded<T>(call: impl Future<Output = Result<T, StoreError>>) -> Result<T, String> {
    match tokio::time::timeout(STORE_CALL_TIMEOUT, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

impl Worker {
    /// Runs until the worker stops.
    pub async fn lease_loop(self) {
        let renew_period = self.config.lease() / 3;
        let tick_period = renew_period.min(MAX_PASS_PERIOD);
        // A renewal due within half a tick is done now: waiting for `now >= due` exactly would
        // skip to the next tick whenever this one fires a hair early, renewing only every
        // other tick, which is later than the watchdog trusts a lease (lease − margin).
        let slack = tick_period / 2;
        let mut tick = tokio::time::interval(tick_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_renewal = Instant::now();
        let mut failing = false;
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => break,
                _ = tick.tick() => {}
                () = self.fleet.wake.notified() => {
                    tokio::time::sleep(NOTICE_DEBOUNCE).await;
                }
            }
            if self.stopping.is_cancelled() {
                break;
            }
            if Instant::now() + slack >= next_renewal {
                next_renewal = Instant::now() + renew_period;
                self.renew_held().await;
            }
            match (self.rebalance().await, failing) {
                (Ok(()), true) => {
                    failing = false;
                    tracing::info!("lease passes work again");
                }
                // Warn once per outage, not every tick.
                (Err(error), false) => {
                    failing = true;
                    tracing::warn!(error, "a lease pass failed; holding what we can prove");
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
        let renewed = bounded(self.store.renew_leases(&fences, self.config.lease_ms)).await;
        match renewed {
            Ok(results) => {
                for (fence, (shard, still_ours)) in fences.iter().zip(results) {
                    if !still_ours {
                        self.drop_shard(shard, "the lease is held by another worker")
                            .await;
                    } else if !self.fleet.renewed(fence, sent_at) {
                        // Dropped by the watchdog meanwhile: hand the lease back.
                        self.release_quietly(fence).await;
                    }
                }
            }
            Err(error) => {
                tracing::debug!(error, shards = fences.len(), "could not renew shard leases");
            }
        }
    }

    /// One rendezvous pass: read the live members, release what another should own, acquire
    /// the free shards that should be ours.
    async fn rebalance(&self) -> Result<(), String> {
        let cutoff = liveness_cutoff(now_ms(), self.config.heartbeat_ms);
        let entries = bounded(self.store.members_since(&self.gateway, cutoff)).await?;
        let live = live_members(&entries, cutoff);
        let held: HashSet<u32> = self.fleet.held_shards().into_iter().collect();
        let pass = plan(self.id.as_str(), &live, self.fleet.shard_count(), &held);
        if !pass.release.is_empty() {
            self.release_shards(&pass.release, "another live member should own it")
                .await;
            self.announce("release").await;
        }
        if pass.acquire.is_empty() || self.stopping.is_cancelled() {
            return Ok(());
        }
        let sent_at = Instant::now();
        let won = bounded(self.store.acquire_leases(
            &pass.acquire,
            self.id.as_str(),
            self.config.lease_ms,
        ))
        .await?;
        for (shard, epoch) in won {
            self.on_acquired(shard, epoch, sent_at).await;
        }
        Ok(())
    }

    /// Runs until the worker stops: drops every shard whose lease may end before the next
    /// look, so its links are closed before another worker can take it.
    pub async fn fence_watchdog(self) {
        let mut tick = tokio::time::interval(WATCHDOG_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => break,
                _ = tick.tick() => {}
            }
            let horizon = Instant::now() + WATCHDOG_PERIOD;
            for shard in self.fleet.possibly_expired(horizon, self.config.lease()) {
                self.drop_shard(shard, "the lease could not be renewed in time")
                    .await;
            }
        }
        tracing::debug!(worker.id = %self.id, "fence watchdog stopped");
    }
}
