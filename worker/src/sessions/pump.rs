//! The event pump of one live link: each driver event is applied under the session's lock, and
//! only while the link is still the session's current generation.

use futures::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use wagw_common::SessionId;

use super::CONNECT_TIMEOUT;
use crate::Worker;
use crate::driver::DriverEvent;

/// A short name of an event for logs (never its content).
pub fn event_kind(event: &DriverEvent) -> &'static str {
    match event {
        DriverEvent::Qr { .. } => "qr",
        DriverEvent::QrExhausted => "qr_exhausted",
        DriverEvent::PairingCodeExpired => "pairing_code_expired",
        DriverEvent::Paired { .. } => "paired",
        DriverEvent::Connected { .. } => "connected",
        DriverEvent::Disconnected { .. } => "disconnected",
        DriverEvent::LoggedOut { .. } => "logged_out",
        DriverEvent::StreamReplaced => "stream_replaced",
        DriverEvent::Failed { .. } => "failed",
        DriverEvent::IncomingMessage { .. } => "incoming_message",
        DriverEvent::Receipt { .. } => "receipt",
    }
}

impl Worker {
    /// Pumps a link's events until it ends, goes stale, or is cancelled. Boxed, because pumps
    /// and connectors spawn each other.
    ///
    /// `admission` is the takeover-reconnect permit of a reconciled session: it is held until
    /// the link is up (or ends, or `CONNECT_TIMEOUT` passes), so `--reconnect-concurrency`
    /// bounds the connections being established with WhatsApp, not just the calls that start
    /// them.
    pub fn run_pump(
        self,
        id: SessionId,
        generation: u64,
        mut events: mpsc::Receiver<DriverEvent>,
        cancel: CancellationToken,
        mut admission: Option<OwnedSemaphorePermit>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let admission_deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
            loop {
                let event = tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep_until(admission_deadline), if admission.is_some() => {
                        admission = None;
                        continue;
                    }
                    event = events.recv() => event,
                };
                // A stream that ends without saying why is a dropped link.
                let event = event.unwrap_or_else(|| DriverEvent::Disconnected {
                    reason: "the link closed".to_owned(),
                });
                let ends_link = event.ends_link();
                if ends_link || matches!(event, DriverEvent::Connected { .. }) {
                    admission = None;
                }
                let kind = event_kind(&event);
                let _guard = self.sessions.locks.lock(id).await;
                if !self.sessions.is_current(&id, generation) {
                    if ends_link {
                        break;
                    }
                    continue;
                }
                tracing::debug!(session.id = %id, event.kind = kind, generation, "link event");
                if let Err(err) = self.apply_event(id, generation, event).await {
                    tracing::warn!(session.id = %id, event.kind = kind, error = %err, "could not apply a link event");
                    // The link is gone either way; do not keep a dead one as the session's link.
                    if ends_link && self.sessions.is_current(&id, generation) {
                        self.close_link(&id).await;
                    }
                }
                if ends_link {
                    break;
                }
            }
            tracing::debug!(session.id = %id, generation, "link pump ended");
        })
    }
}
