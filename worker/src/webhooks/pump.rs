//! The loop behind both webhook stages: open the durable consumer (retrying with capped,
//! jittered backoff while JetStream or the stream is not there), pull messages, and handle
//! each in its own tracked task, at most `in_flight` at once. It ends when the worker begins
//! to shut down.

use async_nats::jetstream::{self, AckKind, consumer};
use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use super::{Webhooks, stream};

/// Messages pulled per request: small, so few are buffered when a worker stops.
const BATCH: usize = 16;
/// How long one pull request stays open on the server; a stopped worker's open request can
/// strand messages for at most this long before their ack wait starts.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
/// Idle heartbeat of a pull request (must be under half of the expiry).
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);
/// At shutdown, messages already pulled are handed back until none comes for this long.
const HAND_BACK_QUIET: Duration = Duration::from_millis(200);

/// Which stage a pump runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Fanout,
    Deliver,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Self::Fanout => "webhook fan-out",
            Self::Deliver => "webhook delivery",
        }
    }
}

/// Runs `stage` until the worker stops.
pub async fn run(webhooks: Webhooks, stage: Stage, in_flight: usize) {
    let permits = Arc::new(Semaphore::new(in_flight));
    let stopping = webhooks.worker.stopping.clone();
    while !stopping.is_cancelled() {
        let opening = (|| open(&webhooks, stage))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(250))
                    .with_max_delay(Duration::from_secs(30))
                    .with_jitter()
                    .without_max_times(),
            )
            .sleep(tokio::time::sleep)
            .notify(|error, delay| {
                tracing::warn!(
                    stage = stage.name(),
                    error,
                    retry_in_ms = delay.as_millis(),
                    "cannot open the consumer yet"
                );
            });
        let mut messages = tokio::select! {
            () = stopping.cancelled() => return,
            opened = opening => match opened {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::error!(stage = stage.name(), error, "giving up on the consumer");
                    return;
                }
            },
        };
        tracing::info!(stage = stage.name(), "consuming");
        loop {
            let next = tokio::select! {
                () = stopping.cancelled() => return hand_back(stage, &mut messages).await,
                next = messages.next() => next,
            };
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(err)) => {
                    tracing::warn!(stage = stage.name(), error = %err, "pulling messages failed");
                    continue;
                }
                None => break,
            };
            let permit = tokio::select! {
                () = stopping.cancelled() => {
                    super::fanout::settle(&message, AckKind::Nak(None)).await;
                    return hand_back(stage, &mut messages).await;
                }
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let webhooks = webhooks.clone();
            webhooks.worker.handlers.clone().spawn(async move {
                match stage {
                    Stage::Fanout => webhooks.fan_out(message).await,
                    Stage::Deliver => webhooks.deliver(message).await,
                }
                drop(permit);
            });
        }
        tracing::warn!(stage = stage.name(), "the message stream ended; reopening");
    }
}

/// Hands the messages this worker pulled but did not start back to the consumer at once, so
/// another worker takes them now rather than after their ack wait.
async fn hand_back(stage: Stage, messages: &mut consumer::pull::Stream) {
    let mut handed_back = 0usize;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(HAND_BACK_QUIET, messages.next()).await {
        super::fanout::settle(&message, AckKind::Nak(None)).await;
        handed_back += 1;
    }
    tracing::info!(stage = stage.name(), handed_back, "stopped consuming");
}

/// The stage's durable consumer's message stream; the delivery stream is created if missing.
async fn open(webhooks: &Webhooks, stage: Stage) -> Result<consumer::pull::Stream, String> {
    let worker = &webhooks.worker;
    let js: &jetstream::Context = &worker.jetstream;
    let settings = &worker.config.webhooks;
    let consumer = match stage {
        Stage::Fanout => {
            let config = stream::fanout_consumer_config();
            stream::durable_consumer(js, &worker.config.events_stream, config).await?
        }
        Stage::Deliver => {
            let subjects = worker.subjects.webhook_deliveries_everywhere();
            let config = stream::delivery_stream_config(&settings.webhooks_stream, subjects);
            stream::ensure_delivery_stream(js, config).await?;
            let config = stream::delivery_consumer_config(settings.timeout());
            stream::durable_consumer(js, &settings.webhooks_stream, config).await?
        }
    };
    consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .expires(PULL_EXPIRES)
        .heartbeat(PULL_HEARTBEAT)
        .messages()
        .await
        .map_err(|err| format!("pulling from the consumer: {err}"))
}
