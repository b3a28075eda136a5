//! Stage 1: an event from the event stream becomes one delivery job per matching webhook of
//! its organization, published to the delivery stream with `Nats-Msg-Id` =
//! `<eventId>.<webhookId>` (a re-run fan-out queues nothing twice), then the event is acked.
//! A Redis or NATS failure hands the event back with a delay: nothing is lost.

use async_nats::jetstream::{AckKind, Message};
use std::time::Duration;
use wagw_common::events::Event;
use wagw_common::time::now_ms;
use wagw_common::webhooks::{DeliveryJob, Webhook};

use super::Webhooks;

/// How long a failed fan-out waits before the event is handed out again.
const RETRY_DELAY: Duration = Duration::from_secs(2);

impl Webhooks {
    /// Fans one event out.
    #[tracing::instrument(skip_all, fields(subject = %message.subject))]
    pub async fn fan_out(&self, message: Message) {
        let event: Event = match serde_json::from_slice(&message.payload) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "an unreadable event; not delivered to webhooks");
                return settle(&message, AckKind::Term).await;
            }
        };
        let webhooks = match self.worker.store.org_webhooks(&event.organization_id).await {
            Ok(webhooks) => webhooks,
            Err(err) => {
                tracing::warn!(event.id = event.id, error = %err, "reading webhooks failed; the event will be fanned out again");
                return settle(&message, AckKind::Nak(Some(RETRY_DELAY))).await;
            }
        };
        for webhook in webhooks.iter().filter(|w| w.matches(&event)) {
            if let Err(error) = self.queue(webhook, &event).await {
                tracing::warn!(event.id = event.id, webhook.id = %webhook.id, error, "queueing a delivery failed; the event will be fanned out again");
                return settle(&message, AckKind::Nak(Some(RETRY_DELAY))).await;
            }
        }
        settle(&message, AckKind::Ack).await;
    }

    /// Publishes the job of `event` for `webhook` and waits for the stream's acknowledgement.
    async fn queue(&self, webhook: &Webhook, event: &Event) -> Result<(), String> {
        let job = DeliveryJob {
            webhook_id: webhook.id,
            organization_id: webhook.organization_id.clone(),
            event: event.clone(),
            queued_at: now_ms(),
        };
        let payload = serde_json::to_vec(&job).map_err(|err| err.to_string())?;
        let subject = self
            .worker
            .subjects
            .webhook_delivery(&webhook.organization_id, &webhook.id);
        let mut headers = async_nats::HeaderMap::new();
        let msg_id = format!("{}.{}", event.id, webhook.id);
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id.as_str());
        let ack = self
            .worker
            .jetstream
            .publish_with_headers(subject, headers, payload.into())
            .await
            .map_err(|err| err.to_string())?;
        ack.await.map(drop).map_err(|err| err.to_string())
    }
}

/// Acknowledges (or naks, or terminates) a message; a failure only means JetStream hands it
/// out again after its ack wait.
pub async fn settle(message: &Message, kind: AckKind) {
    if let Err(err) = message.ack_with(kind).await {
        tracing::warn!(error = %err, "acknowledging a message failed; it will be handed out again");
    }
}
