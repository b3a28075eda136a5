//! The command listener of one held shard: each message on `<root>.cmd.<gw>.<shard>.>` is
//! handled in its own tracked task (bounded by the in-flight semaphore) and answered on its
//! reply subject.

use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wagw_common::wire::{REQUEST_ID_HEADER, Reply};

use crate::Worker;

/// How long handing a reply to the NATS client may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

impl Worker {
    /// Serves a shard's commands until `stop` (shard lost or released) or the worker stops.
    pub async fn serve_shard(
        self,
        shard: u32,
        mut subscriber: async_nats::Subscriber,
        stop: CancellationToken,
    ) {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => break,
                () = self.stopping.cancelled() => break,
                message = subscriber.next() => message,
            };
            let Some(message) = message else { break };
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                break;
            };
            let worker = self.clone();
            self.handlers.spawn(async move {
                worker.answer_command(message).await;
                drop(permit);
            });
        }
        if let Err(err) = subscriber.unsubscribe().await {
            tracing::debug!(shard, error = %err, "unsubscribing a shard's commands failed");
        }
        tracing::debug!(shard, "command listener stopped");
    }

    async fn answer_command(&self, message: async_nats::Message) {
        let request_id = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(REQUEST_ID_HEADER))
            .map(|value| value.as_str().to_owned());
        let reply = self
            .handle_command(
                message.subject.as_str(),
                &message.payload,
                request_id.as_deref(),
            )
            .await;
        self.respond(message.reply, &reply).await;
    }

    /// Sends a reply to a request; a message without a reply subject gets none.
    pub async fn respond(&self, reply_to: Option<async_nats::Subject>, reply: &Reply) {
        let Some(reply_to) = reply_to else { return };
        let payload = match serde_json::to_vec(reply) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "could not serialize a reply");
                return;
            }
        };
        match tokio::time::timeout(REPLY_TIMEOUT, self.nats.publish(reply_to, payload.into())).await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "could not send a reply"),
            Err(_) => tracing::warn!(
                timeout_ms = REPLY_TIMEOUT.as_millis(),
                "sending a reply timed out"
            ),
        }
    }
}
