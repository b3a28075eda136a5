//! The gateways' send streams, edge side: their configuration (the workers create the same), making
//! sure they exist, and publishing a send job until its stream acknowledges it.
//!
//! A gateway's stream `<WAGW_SEND_STREAM_PREFIX>_<gw>` captures `<root>.cmd.<gw>.*.*.send`, is a
//! work queue (a job is gone once its worker acknowledged it), on file, and drops a job whose
//! `Nats-Msg-Id` (the message id) it saw in the last two minutes, so republishing a job is safe.
//! The stream's acknowledgement is what makes a send "accepted".

use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, stream};
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use wagw_common::GatewayId;
use wagw_common::messages::{
    SEND_STREAM_DUPLICATE_WINDOW_SECS, SEND_STREAM_MAX_AGE_SECS, send_stream_name,
};
use wagw_common::wire::REQUEST_ID_HEADER;

use crate::state::AppState;

/// How long the stream remembers message ids to drop a republished job.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(SEND_STREAM_DUPLICATE_WINDOW_SECS);
/// How long an accepted job may wait for its worker before the stream drops it.
pub const MAX_AGE: Duration = Duration::from_secs(SEND_STREAM_MAX_AGE_SECS);
/// How long creating (or finding) a stream may take.
const ENSURE_TIMEOUT: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The send stream of gateway `gw`, capturing `subjects` (`Subjects::sends_all(gw)`). The
/// workers build the identical configuration; whoever comes first creates the stream.
pub fn stream_config(prefix: &str, gw: &GatewayId, subjects: String) -> stream::Config {
    stream::Config {
        name: send_stream_name(prefix, gw),
        description: Some(format!(
            "wagw sends of gateway {gw}: accepted jobs for its workers"
        )),
        subjects: vec![subjects],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        ..Default::default()
    }
}

/// Creates the stream if it does not exist; an existing one is left as it is.
///
/// # Errors
/// JetStream unavailable or not answering within two seconds, or the name taken by a stream
/// that captures other subjects.
pub async fn ensure_stream(js: &jetstream::Context, config: stream::Config) -> Result<(), String> {
    let name = config.name.clone();
    let wanted = config.subjects.clone();
    let created = tokio::time::timeout(ENSURE_TIMEOUT, js.get_or_create_stream(config))
        .await
        .map_err(|_| format!("creating the send stream {name} timed out"))?;
    let stream = created.map_err(|err| format!("creating the send stream {name}: {err}"))?;
    let subjects = &stream.cached_info().config.subjects;
    if !wanted.iter().all(|s| subjects.contains(s)) {
        return Err(format!(
            "the stream {name} exists but captures {subjects:?}, not {wanted:?}"
        ));
    }
    Ok(())
}

/// The configuration of `gw`'s send stream under this edge's settings.
pub fn config_of(state: &AppState, gw: &GatewayId) -> stream::Config {
    let prefix = &state.config().send_stream_prefix;
    stream_config(prefix, gw, state.subjects().sends_all(gw))
}

/// At start: makes sure every served gateway has its send stream. Best effort: a failure is
/// logged and the first publish tries again.
pub async fn ensure_all(state: &AppState) {
    for gw in &state.config().gateways {
        if let Err(error) = ensure_stream(state.jetstream(), config_of(state, gw)).await {
            tracing::warn!(gateway = %gw, error, "the send stream is not ready; sends will retry creating it");
        }
    }
}

/// One job to publish.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub gateway: &'a GatewayId,
    /// `Subjects::command(gw, shard, session, CommandOp::Send)`.
    pub subject: String,
    /// The message id, also the job's `Nats-Msg-Id`.
    pub message_id: &'a str,
    /// `Command::SendMessageV1` as JSON.
    pub payload: Bytes,
    pub request_id: &'a str,
}

/// Publishes `job` and waits for the stream's acknowledgement, retrying transient failures
/// (no stream yet, which it then creates; a timeout; a lost connection) with capped, jittered
/// backoff until `WAGW_COMMAND_TIMEOUT_MS` runs out. Returns whether the stream already held
/// the job (a republish).
///
/// # Errors
/// The last failure once the time is up, or a permanent one (e.g. a job over NATS's payload
/// limit).
pub async fn publish(state: &AppState, job: &Job<'_>) -> Result<bool, PublishError> {
    let js = state.jetstream();
    let message = jetstream::message::PublishMessage::build()
        .payload(job.payload.clone())
        .message_id(job.message_id)
        .header(REQUEST_ID_HEADER, job.request_id);
    let deadline = Instant::now() + state.config().command_timeout();
    let attempt = || async {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let acked = tokio::time::timeout(remaining, async {
            js.send_publish(job.subject.clone(), message.clone())
                .await?
                .await
        })
        .await
        .unwrap_or_else(|_| Err(PublishError::new(PublishErrorKind::TimedOut)));
        if let Err(err) = &acked
            && err.kind() == PublishErrorKind::StreamNotFound
            && let Err(error) = ensure_stream(js, config_of(state, job.gateway)).await
        {
            tracing::warn!(gateway = %job.gateway, error, "could not create the send stream");
        }
        acked
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(MIN_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times();
    let ack = attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(is_transient)
        .adjust(|_, delay| delay.filter(|delay| Instant::now() + *delay < deadline))
        .await?;
    Ok(ack.duplicate)
}

/// Failures worth another attempt while time remains.
fn is_transient(err: &PublishError) -> bool {
    matches!(
        err.kind(),
        PublishErrorKind::StreamNotFound
            | PublishErrorKind::TimedOut
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::MaxAckPending
            | PublishErrorKind::Other
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_a_file_work_queue_deduplicating_for_two_minutes() {
        let gw = GatewayId::parse("gw-sg-1").expect("valid");
        let config = stream_config("WAGW_SEND", &gw, "wagw.cmd.gw-sg-1.*.*.send".into());
        assert_eq!(config.name, "WAGW_SEND_gw-sg-1");
        assert_eq!(config.subjects, ["wagw.cmd.gw-sg-1.*.*.send"]);
        assert_eq!(config.retention, stream::RetentionPolicy::WorkQueue);
        assert_eq!(config.storage, stream::StorageType::File);
        assert_eq!(config.duplicate_window, Duration::from_secs(120));
        assert_eq!(config.max_age, Duration::from_secs(604_800));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(is_transient(&PublishError::new(PublishErrorKind::TimedOut)));
        assert!(is_transient(&PublishError::new(
            PublishErrorKind::StreamNotFound
        )));
        assert!(!is_transient(&PublishError::new(
            PublishErrorKind::MaxPayloadExceeded
        )));
    }
}
