//! The membership heartbeat: every heartbeat interval the worker scores itself in the gateway's
//! members set and refreshes its self-description (driver, held shards, session counts), which
//! expires three heartbeats after the last one. `GET /gateways` reads both.

use serde_json::{Value, json};
use wagw_common::SessionStatus;
use wagw_common::time::now_ms;

use crate::Worker;

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
            let at = now_ms();
            let info = self.member_info(at).to_string();
            let ttl_ms = self.config.heartbeat_ms.saturating_mul(3);
            match self
                .store
                .heartbeat(&self.gateway, self.id.as_str(), at, &info, ttl_ms)
                .await
            {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("membership heartbeat recovered");
                }
                Ok(()) => {}
                // Warn once per outage; the lease loop reports the consequences.
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(error = %err, "membership heartbeat failed");
                }
                Err(_) => {}
            }
        }
        tracing::debug!(worker.id = %self.id, "heartbeat loop stopped");
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
            "startedAt": self.started_at,
            "at": at,
        })
    }

    /// Leaves the members set at shutdown.
    pub async fn leave_membership(&self) {
        if let Err(err) = self.store.leave(&self.gateway, self.id.as_str()).await {
            tracing::warn!(error = %err, "could not leave the members set; the entry will go stale");
        }
    }
}
