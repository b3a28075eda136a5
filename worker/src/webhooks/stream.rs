//! The JetStream side of webhooks: the delivery stream (work queue of jobs, created if missing
//! with the same settings as the edge uses) and the two durable pull consumers every worker
//! of every gateway shares.

use async_nats::jetstream::{self, consumer, stream};
use std::time::Duration;
use wagw_common::webhooks::{DELIVERY_DUPLICATE_WINDOW_SECS, DELIVERY_STREAM_DESCRIPTION};

/// The fan-out consumer on the event stream.
pub const FANOUT_CONSUMER: &str = "webhook-fanout";
/// The delivery consumer on the delivery stream.
pub const DELIVERY_CONSUMER: &str = "webhook-deliver";
/// Events being fanned out at once before the server stops handing out more.
const FANOUT_MAX_ACK_PENDING: i64 = 1024;
/// Jobs handed out and not yet acknowledged, over every worker. A full webhook's jobs are
/// handed back at once (nak with a short delay), so one dead endpoint cannot hold these.
const DELIVERY_MAX_ACK_PENDING: i64 = 10_000;
/// How long a fan-out may take before the server hands the event to another worker.
const FANOUT_ACK_WAIT: Duration = Duration::from_secs(15);
/// What an attempt's ack wait adds to its timeout: the Redis reads and writes around it.
const DELIVERY_ACK_MARGIN: Duration = Duration::from_secs(10);

/// The delivery stream: every job under `subjects`, removed once acknowledged.
pub fn delivery_stream_config(name: &str, subjects: String) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        description: Some(DELIVERY_STREAM_DESCRIPTION.to_owned()),
        subjects: vec![subjects],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(DELIVERY_DUPLICATE_WINDOW_SECS),
        ..Default::default()
    }
}

/// The fan-out consumer: new events only (a fresh deployment does not replay history).
pub fn fanout_consumer_config() -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(FANOUT_CONSUMER.to_owned()),
        description: Some(
            "wagw: turns each event into one delivery job per matching webhook".to_owned(),
        ),
        deliver_policy: consumer::DeliverPolicy::New,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: FANOUT_ACK_WAIT,
        max_ack_pending: FANOUT_MAX_ACK_PENDING,
        ..Default::default()
    }
}

/// The delivery consumer: an attempt may take `timeout`; the rest of the ack wait is margin.
/// A job whose handler outlives it is handed out again: at least once, never lost.
pub fn delivery_consumer_config(timeout: Duration) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(DELIVERY_CONSUMER.to_owned()),
        description: Some("wagw: POSTs each delivery job to its webhook".to_owned()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: timeout + DELIVERY_ACK_MARGIN,
        max_ack_pending: DELIVERY_MAX_ACK_PENDING,
        ..Default::default()
    }
}

/// The durable consumer `config` on `stream_name`, created if missing.
///
/// # Errors
/// JetStream unavailable, the stream missing, or a consumer of that name with other settings.
pub async fn durable_consumer(
    js: &jetstream::Context,
    stream_name: &str,
    config: consumer::pull::Config,
) -> Result<consumer::PullConsumer, String> {
    let name = config.durable_name.clone().unwrap_or_default();
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|err| format!("opening the stream {stream_name}: {err}"))?;
    stream
        .get_or_create_consumer(&name, config)
        .await
        .map_err(|err| format!("creating the consumer {name} on {stream_name}: {err}"))
}

/// Creates the delivery stream if it does not exist (an existing one is left as it is).
///
/// # Errors
/// JetStream unavailable, or a stream of that name capturing other subjects.
pub async fn ensure_delivery_stream(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<(), String> {
    let wanted = config.subjects.clone();
    let mut stream = js
        .get_or_create_stream(config)
        .await
        .map_err(|err| format!("creating the webhook delivery stream: {err}"))?;
    let info = stream
        .info()
        .await
        .map_err(|err| format!("reading the webhook delivery stream: {err}"))?;
    if !wanted.iter().all(|s| info.config.subjects.contains(s)) {
        return Err(format!(
            "the stream {} exists but captures {:?}, not {wanted:?}",
            info.config.name, info.config.subjects
        ));
    }
    Ok(())
}
