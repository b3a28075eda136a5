//! The gateway's send stream (`<WAGW_SEND_STREAM_PREFIX>_<gatewayId>`, capturing
//! `<root>.cmd.<gw>.*.*.send`) and each shard's durable pull consumer on it (`send-<shard>`,
//! filtered to the shard's sends). A work queue: a job leaves the stream once acknowledged.

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use std::sync::atomic::Ordering;
use std::time::Duration;

use wagw_common::messages::{SEND_STREAM_DUPLICATE_WINDOW_SECS, SEND_STREAM_MAX_AGE_SECS};

use crate::Worker;
use crate::event_stream::{JETSTREAM_TIMEOUT, ensure_stream};

/// How long the stream remembers a job's `Nats-Msg-Id` (the message id) to drop a republish.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(SEND_STREAM_DUPLICATE_WINDOW_SECS);
/// How long an unconsumed job is kept.
const MAX_AGE: Duration = Duration::from_secs(SEND_STREAM_MAX_AGE_SECS);
/// Jobs of one shard handed out and not yet acknowledged, at most.
pub const MAX_ACK_PENDING: i64 = 1000;

/// The send stream's configuration.
pub fn stream_config(name: &str, subjects: String) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        description: Some("wagw sends: accepted messages waiting for their worker".to_owned()),
        subjects: vec![subjects],
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        ..Default::default()
    }
}

/// The durable name of a shard's consumer.
pub fn consumer_name(shard: u32) -> String {
    format!("send-{shard}")
}

/// A shard's consumer: explicit acks, redelivered without limit `ack_wait` after the last
/// sign of life from its holder.
pub fn consumer_config(shard: u32, filter: String, ack_wait: Duration) -> pull::Config {
    pull::Config {
        durable_name: Some(consumer_name(shard)),
        description: Some(format!("the sends of shard {shard}")),
        filter_subject: filter,
        ack_policy: AckPolicy::Explicit,
        ack_wait,
        // Accepted messages are never dropped: a job comes back until it is acknowledged.
        max_deliver: -1,
        max_ack_pending: MAX_ACK_PENDING,
        ..Default::default()
    }
}

impl Worker {
    /// Creates the send stream if needed; without it (no JetStream) the worker runs without
    /// consuming sends, and says so once.
    pub async fn prepare_send_stream(&self) {
        let name = self.config.send_stream();
        let config = stream_config(&name, self.subjects.sends_all(&self.gateway));
        match ensure_stream(&self.jetstream, config).await {
            Ok(()) => self.sends_enabled.store(true, Ordering::Release),
            Err(error) => tracing::warn!(
                error,
                stream = name,
                "this worker sends no messages: the send stream is unavailable"
            ),
        }
    }

    /// The shard's consumer, created if missing (an existing one is used as it is).
    ///
    /// # Errors
    /// JetStream unavailable or slow, or the stream missing.
    pub async fn send_consumer(&self, shard: u32) -> Result<PullConsumer, String> {
        let name = self.config.send_stream();
        let stream = tokio::time::timeout(JETSTREAM_TIMEOUT, self.jetstream.get_stream(&name))
            .await
            .map_err(|_| format!("looking up the stream {name} timed out"))?
            .map_err(|err| format!("looking up the stream {name}: {err}"))?;
        let ack_wait = Duration::from_secs(self.config.send_ack_wait_secs);
        let filter = self.subjects.shard_sends(&self.gateway, shard);
        let config = consumer_config(shard, filter, ack_wait);
        let name = consumer_name(shard);
        let created = stream.get_or_create_consumer(&name, config);
        tokio::time::timeout(JETSTREAM_TIMEOUT, created)
            .await
            .map_err(|_| format!("creating the consumer of shard {shard} timed out"))?
            .map_err(|err| format!("creating the consumer of shard {shard}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_a_durable_work_queue_of_the_gateways_sends() {
        let config = stream_config("WAGW_SEND_gw-a", "wagw.cmd.gw-a.*.*.send".into());
        assert_eq!(config.retention, RetentionPolicy::WorkQueue);
        assert_eq!(config.storage, StorageType::File);
        assert_eq!(config.subjects, ["wagw.cmd.gw-a.*.*.send"]);
        assert_eq!(config.duplicate_window, Duration::from_secs(120));
        assert_eq!(config.max_age, Duration::from_secs(7 * 24 * 3600));
        let consumer = consumer_config(7, "f".into(), Duration::from_secs(30));
        assert_eq!(consumer.durable_name.as_deref(), Some("send-7"));
        assert_eq!(consumer.ack_policy, AckPolicy::Explicit);
        assert_eq!(consumer.max_deliver, -1);
    }
}
