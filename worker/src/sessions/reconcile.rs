//! Reconciliation of a freshly acquired shard: every session whose row says it should run is
//! connected again (at most `--reconnect-concurrency` at a time over
//! every shard, each after a random `0..=--reconnect-jitter-ms`), an interrupted pairing ends, and any other
//! status that disagrees with a desired `stopped` becomes `stopped`.

use backon::{ExponentialBuilder, Retryable};
use rand::Rng;
use std::time::Duration;
use wagw_common::{DesiredState, SessionId, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;

impl Worker {
    /// Reconciles every session of `shard`; runs once per acquisition.
    pub async fn reconcile_shard(self, shard: u32) {
        let list = || self.store.shard_session_ids(shard);
        let retry = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_jitter()
            .with_max_times(5);
        let ids = match list.retry(retry).when(|_| self.fleet.is_held(shard)).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(shard, error = %err, "could not list a shard's sessions; they stay as they are");
                return;
            }
        };
        let mut connecting = 0usize;
        for id in &ids {
            if self.stopping.is_cancelled() || !self.fleet.is_held(shard) {
                break;
            }
            match self.reconcile_session(shard, *id).await {
                Ok(true) => connecting += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(shard, session.id = %id, error = %err, "could not reconcile a session")
                }
            }
        }
        tracing::info!(shard, sessions = ids.len(), connecting, "reconciled shard");
    }

    /// Brings one session in line with its desired state; true when it is being connected.
    async fn reconcile_session(&self, shard: u32, id: SessionId) -> Result<bool, HandlerError> {
        let _guard = self.sessions.locks.lock(id).await;
        // A command may have got here first; a session with a link is already handled.
        if !self.fleet.is_held(shard) || self.sessions.has_slot(&id) {
            return Ok(false);
        }
        let Some(mut row) = self.store.load_row(shard, &id).await? else {
            return Ok(false);
        };
        self.sessions.note_status(id, shard, row.status);
        let before = row.status;
        match (row.desired_state, row.status) {
            (_, SessionStatus::ScanQrCode) => {
                self.stop_session(&mut row, Some("pairing interrupted"))
                    .await?;
                Ok(false)
            }
            // A failed session stays failed until `:restart`, whoever owns it.
            (DesiredState::Running, SessionStatus::Failed) => Ok(false),
            (DesiredState::Running, _) if row.is_paired() => {
                if before != SessionStatus::Starting {
                    row.transition(SessionStatus::Starting, None);
                    self.commit(Some(before), &mut row).await?;
                }
                let jitter = Duration::from_millis(
                    rand::rng().random_range(0..=self.config.reconnect_jitter_ms),
                );
                self.schedule_connect(id, jitter, true).await;
                Ok(true)
            }
            (_, SessionStatus::Stopped) => Ok(false),
            // Nothing to resume: unpaired and not pairing, or meant to be stopped.
            _ => {
                row.transition(SessionStatus::Stopped, None);
                row.desired_state = DesiredState::Stopped;
                self.commit(Some(before), &mut row).await?;
                Ok(false)
            }
        }
    }
}
