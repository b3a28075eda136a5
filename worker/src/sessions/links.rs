//! Starting and ending a session's link: install a live link and its event pump, schedule a
//! (re)connection in the background, close a link, or fail a session. Callers hold the
//! session's lock.

use std::sync::Arc;
use std::time::Duration;
use wagw_common::wire::QrCode;
use wagw_common::{Session, SessionId, SessionStatus};

use super::{LinkKind, LinkState};
use crate::Worker;
use crate::driver::Link;
use crate::error::HandlerError;

impl Worker {
    /// Makes `link` the session's live link (a new generation) and starts pumping its events.
    /// A worker that is shutting down closes the link at once instead.
    pub async fn install_link(
        &self,
        id: SessionId,
        link: Link,
        kind: LinkKind,
        qr: Option<QrCode>,
    ) -> u64 {
        if self.stopping.is_cancelled() {
            link.connection.close().await;
            return 0;
        }
        let shard = self.shard_of(&id);
        let state = LinkState::Live {
            connection: Arc::clone(&link.connection),
            kind,
            qr,
        };
        let (generation, cancel, replaced) = self.sessions.start(id, shard, state);
        if let Some(replaced) = replaced {
            replaced.close().await;
        }
        self.tasks.spawn(
            self.clone()
                .run_pump(id, generation, link.events, cancel, None),
        );
        generation
    }

    /// Connects a paired session in the background after `delay`, with the reconnect policy.
    /// A reconciliation sets `bounded`: after the delay the first attempt waits for one of the
    /// `--reconnect-concurrency` permits, so a big takeover does not stampede WhatsApp.
    /// A worker that is shutting down leaves it to the next owner's reconciliation.
    pub async fn schedule_connect(&self, id: SessionId, delay: Duration, bounded: bool) {
        if self.stopping.is_cancelled() {
            return;
        }
        let shard = self.shard_of(&id);
        let (generation, cancel, replaced) = self.sessions.start(id, shard, LinkState::Connecting);
        if let Some(replaced) = replaced {
            replaced.close().await;
        }
        self.tasks.spawn(
            self.clone()
                .run_connector(id, generation, cancel, delay, bounded),
        );
    }

    /// Closes the session's link or pending connection, keeping the pairing. True when there
    /// was one.
    pub async fn close_link(&self, id: &SessionId) -> bool {
        match self.sessions.remove(id) {
            Some(closer) => {
                closer.close().await;
                true
            }
            None => false,
        }
    }

    /// Ends the session's link and marks it `failed` with `reason`; no retry until `:restart`.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn fail_session(&self, row: &mut Session, reason: &str) -> Result<(), HandlerError> {
        self.close_link(&row.id).await;
        let before = row.transition(SessionStatus::Failed, Some(reason.to_owned()));
        self.commit(Some(before), row).await
    }

    /// Ends a pairing (or a link that cannot resume): `stopped` with `reason`, desired stopped,
    /// QR cleared.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn stop_session(
        &self,
        row: &mut Session,
        reason: Option<&str>,
    ) -> Result<(), HandlerError> {
        self.close_link(&row.id).await;
        let before = row.transition(SessionStatus::Stopped, reason.map(str::to_owned));
        row.desired_state = wagw_common::DesiredState::Stopped;
        self.clear_qr(&row.id).await?;
        self.commit(Some(before), row).await
    }
}
