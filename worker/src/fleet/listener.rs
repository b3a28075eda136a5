//! The command listener of one held shard: each message on `<root>.cmd.<gw>.<shard>.>` is
//! handled in its own tracked task (bounded by the in-flight semaphore) and answered on its
//! reply subject. When told to stop it unsubscribes, answers what it had already received,
//! waits for its handlers, and only then says it is done, so a graceful release never leaves
//! a command unanswered.
//!
//! Send jobs (`…<session>.send`) match the shard's subscription too, but they are JetStream
//! publishes into the gateway's send stream: the stream acknowledges them and the owner
//! consumes them from it. The listener ignores them, because a reply from it would race the
//! stream's acknowledgement to the publishing edge.

use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wagw_common::subjects::CommandOp;
use wagw_common::wire::{REQUEST_ID_HEADER, Reply};

use crate::Worker;

/// How long handing a reply to the NATS client may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long unsubscribing may take.
const UNSUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(1);
/// After unsubscribing, how long to wait for messages already on their way.
const LATE_MESSAGE_WAIT: Duration = Duration::from_millis(100);
/// How long the shard's in-flight handlers get to finish when it is released.
const HANDLER_DEADLINE: Duration = Duration::from_secs(2);

impl Worker {
    /// Serves a shard's commands until `stop` (shard lost or released) or the worker stops;
    /// cancels `done` once unsubscribed and its handlers finished.
    pub async fn serve_shard(
        self,
        shard: u32,
        mut subscriber: async_nats::Subscriber,
        stop: CancellationToken,
        done: CancellationToken,
    ) {
        let _done = done.drop_guard();
        let shard_handlers = TaskTracker::new();
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => break,
                () = self.stopping.cancelled() => break,
                message = subscriber.next() => message,
            };
            let Some(message) = message else { break };
            self.spawn_answer(&shard_handlers, message).await;
        }
        match tokio::time::timeout(UNSUBSCRIBE_TIMEOUT, subscriber.drain()).await {
            Ok(Ok(())) => {
                while let Ok(Some(message)) =
                    tokio::time::timeout(LATE_MESSAGE_WAIT, subscriber.next()).await
                {
                    self.spawn_answer(&shard_handlers, message).await;
                }
            }
            Ok(Err(err)) => {
                tracing::debug!(shard, error = %err, "unsubscribing a shard's commands failed");
            }
            Err(_) => tracing::debug!(shard, "unsubscribing a shard's commands timed out"),
        }
        shard_handlers.close();
        if tokio::time::timeout(HANDLER_DEADLINE, shard_handlers.wait())
            .await
            .is_err()
        {
            tracing::warn!(shard, "a shard's handlers did not finish in time");
        }
        tracing::debug!(shard, "command listener stopped");
    }

    /// Answers one command in a task tracked both per shard and per worker; send jobs are
    /// left to the send stream (see the module doc).
    async fn spawn_answer(&self, shard_handlers: &TaskTracker, message: async_nats::Message) {
        let parsed = self.subjects.parse_command(message.subject.as_str());
        if parsed.is_some_and(|command| command.op == CommandOp::Send) {
            return;
        }
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return;
        };
        let worker = self.clone();
        let task = shard_handlers.track_future(async move {
            worker.answer_command(message).await;
            drop(permit);
        });
        self.handlers.spawn(task);
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
