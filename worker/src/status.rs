//! Publishing what happened: a [`StatusChange`] on the session's status subject after each row
//! write that changes its status, and typed [`Event`]s on its event subjects.
//!
//! Publishing is best effort: the row in Redis is the truth, so a failed publish is logged and
//! the transition stands.

use serde_json::Value;
use std::time::Duration;
use wagw_common::events::{Event, StatusChange};
use wagw_common::time::now_ms;
use wagw_common::{Session, SessionStatus};

use crate::Worker;

/// How long handing a message to the NATS client may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

impl Worker {
    /// Publishes the row's current status, coming from `previous`.
    pub async fn publish_status(&self, row: &Session, previous: Option<SessionStatus>) {
        let change = StatusChange {
            session_id: row.id,
            organization_id: row.organization_id.clone(),
            gateway_id: row.gateway_id.clone(),
            status: row.status,
            previous_status: previous,
            status_reason: row.status_reason.clone(),
            worker_id: self.id.clone(),
            at: now_ms(),
        };
        let subject = self.subjects.status(&self.gateway, &row.id);
        self.publish_json(subject, &change).await;
    }

    /// Publishes an event of `event_type` about the session.
    pub async fn publish_event(&self, row: &Session, event_type: &str, data: Value) {
        let event = Event::new(event_type, row, data);
        let subject = self.subjects.event(&self.gateway, &row.id, event_type);
        self.publish_json(subject, &event).await;
    }

    async fn publish_json<T: serde::Serialize>(&self, subject: String, value: &T) {
        let payload = match serde_json::to_vec(value) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(subject, error = %err, "could not serialize a message to publish");
                return;
            }
        };
        match tokio::time::timeout(
            PUBLISH_TIMEOUT,
            self.nats.publish(subject.clone(), payload.into()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(subject, error = %err, "publish failed"),
            Err(_) => tracing::warn!(
                subject,
                timeout_ms = PUBLISH_TIMEOUT.as_millis(),
                "publish timed out"
            ),
        }
    }
}
