//! Publishing what happened: a [`StatusChange`] on the session's status subject after each row
//! write that changes its status, and typed [`Event`]s on its event subjects (a status change
//! is also a `session.status` event). Events are published through JetStream, acknowledged by
//! the event stream, with their id as `Nats-Msg-Id` so a retry is stored once.
//!
//! Publishing does not undo a transition: the row in Redis is the truth, so a publish that
//! fails after its retries is logged and the transition stands.

use backon::{ExponentialBuilder, Retryable};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;
use wagw_common::events::{Event, StatusChange, types};
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
        let data = json!({
            "status": change.status,
            "previousStatus": change.previous_status,
            "statusReason": change.status_reason,
            "workerId": change.worker_id,
        });
        self.publish_event(row, types::SESSION_STATUS, data).await;
    }

    /// Publishes an event of `event_type` about the session, into the event stream.
    pub async fn publish_event(&self, row: &Session, event_type: &str, data: Value) {
        let event = Event::new(event_type, row, data);
        self.publish_prepared_event(&event).await;
    }

    /// Publishes a built event (e.g. one whose id was recorded beforehand, so a repeat is the
    /// same event); false when the event stream did not confirm it after the retries.
    pub async fn publish_prepared_event(&self, event: &Event) -> bool {
        let subject = self
            .subjects
            .event(&self.gateway, &event.session_id, &event.event_type);
        if !self.events_durable.load(Ordering::Acquire) {
            self.publish_json(subject, event).await;
            return true;
        }
        let payload = match serde_json::to_vec(event) {
            Ok(payload) => bytes::Bytes::from(payload),
            Err(err) => {
                tracing::error!(subject, error = %err, "could not serialize an event");
                return false;
            }
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.as_str());
        let publish = || async {
            let ack = self
                .jetstream
                .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                .await?;
            ack.await.map(drop).map_err(async_nats::Error::from)
        };
        let retries = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(500))
            .with_jitter()
            .with_max_times(3);
        // Each attempt is also a plain publish, so live subscribers already have the event.
        if let Err(err) = publish.retry(retries).sleep(tokio::time::sleep).await {
            tracing::warn!(subject, event.id = event.id, error = %err, "an event could not be stored in the event stream");
            return false;
        }
        true
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
