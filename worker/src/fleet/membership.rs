//! The membership heartbeat: every heartbeat interval the worker scores itself in the gateway's
//! members set, refreshes its self-description (driver, held shards, session counts, counters,
//! the metrics endpoint's address), which expires three heartbeats after the last one, and
//! prunes members gone silent for three heartbeats. `GET /gateways` reads both.

use serde_json::{Value, json};
use std::time::Duration;
use wagw_common::SessionStatus;
use wagw_common::time::now_ms;

use super::assign::{LIVENESS_HEARTBEATS, liveness_cutoff};
use crate::Worker;
use crate::store::StoreError;

/// How long one heartbeat's Redis calls may take.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);

impl Worker {
    /// Runs until the worker stops.
    pub async fn heartbeat_loop(self) {
        let mut tick = tokio::time::interval(self.config.heartbeat());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => break,
                _ = tick.tick() => {}
            }
            match (self.heartbeat_once().await, failing) {
                (Ok(()), true) => {
                    failing = false;
                    tracing::info!("membership heartbeat recovered");
                }
                // Warn once per outage; the lease loop reports the consequences.
                (Err(error), false) => {
                    failing = true;
                    tracing::warn!(error, "membership heartbeat failed");
                }
                _ => {}
            }
        }
        tracing::debug!(worker.id = %self.id, "heartbeat loop stopped");
    }

    /// Scores this worker alive, describes it, and prunes the members gone silent.
    ///
    /// # Errors
    /// Redis errors or a timeout, as text.
    pub async fn heartbeat_once(&self) -> Result<(), String> {
        let beat = async {
            let at = now_ms();
            let info = self.member_info(at).to_string();
            let ttl_ms = self.config.heartbeat_ms.saturating_mul(LIVENESS_HEARTBEATS);
            self.store
                .heartbeat(&self.gateway, self.id.as_str(), at, &info, ttl_ms)
                .await?;
            let cutoff = liveness_cutoff(at, self.config.heartbeat_ms);
            let pruned = self.store.prune_members(&self.gateway, cutoff).await?;
            if pruned > 0 {
                tracing::info!(members.pruned = pruned, "pruned members gone silent");
            }
            Ok::<(), StoreError>(())
        };
        match tokio::time::timeout(HEARTBEAT_TIMEOUT, beat).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// This worker's self-description, as stored at `keys.member_info`.
    pub fn member_info(&self, at: i64) -> Value {
        let counts = self.sessions.status_counts();
        let sessions: serde_json::Map<String, Value> = SessionStatus::ALL
            .iter()
            .map(|status| {
                (
                    status.as_str().to_owned(),
                    json!(counts.get(status).copied().unwrap_or(0)),
                )
            })
            .collect();
        json!({
            "workerId": self.id,
            "driver": self.driver.name(),
            "shards": self.fleet.held_shards(),
            "sessions": sessions,
            "counters": self.fleet.counters.snapshot(),
            "metricsAddr": self.metrics.addr(),
            "startedAt": self.started_at,
            "at": at,
        })
    }

    /// Leaves the members set at shutdown.
    pub async fn leave_membership(&self) {
        let left = tokio::time::timeout(
            HEARTBEAT_TIMEOUT,
            self.store.leave(&self.gateway, self.id.as_str()),
        )
        .await;
        match left {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not leave the members set; the entry will go stale");
            }
            Err(_) => tracing::warn!("leaving the members set timed out; the entry will go stale"),
        }
    }
}
