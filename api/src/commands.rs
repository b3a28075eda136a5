//! Sends a command to the worker owning a session's shard and waits for its acknowledgement.
//!
//! "No responders" (no worker holds the shard right now, e.g. during a handoff), and a worker's
//! "shard moving" refusal (it is handing the shard over and wrote nothing), are retried with
//! capped, jittered exponential backoff until the command timeout, then answered `503`; a worker
//! that took the request but did not answer in the remaining time is `504`.

use std::time::Instant;

use async_nats::RequestErrorKind;
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use wagw_common::shard::ShardRef;
use wagw_common::wire::{Command, REQUEST_ID_HEADER, Reply};
use wagw_common::{ErrorBody, SessionId};

use crate::error::ApiError;
use crate::metrics::CommandOutcome;
use crate::state::AppState;

const MIN_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends `command` for session `id` in `shard`, forwarding the request id.
///
/// # Errors
/// The worker's refusal as its own error body; `503` when no worker answers within the command
/// timeout or NATS is down; `504` when a worker took the command but did not acknowledge it.
pub async fn send(
    state: &AppState,
    shard: &ShardRef,
    id: &SessionId,
    command: &Command,
    request_id: &str,
) -> Result<Reply, ApiError> {
    let op = command.op();
    let subject = state
        .subjects()
        .command(&shard.gateway, shard.shard, id, op);
    let started = Instant::now();
    let payload = serde_json::to_vec(command)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("serializing a command: {err}")))?;
    let result = request(state, &subject, Bytes::from(payload), request_id).await;
    let outcome = match &result {
        Ok(_) => CommandOutcome::Ok,
        Err(err) => match err.kind() {
            RequestErrorKind::NoResponders => CommandOutcome::NoResponders,
            RequestErrorKind::TimedOut => CommandOutcome::Timeout,
            _ => CommandOutcome::Error,
        },
    };
    let reply = match result {
        Ok(decoded) => decoded.map_err(|err| {
            ApiError::Internal(anyhow::anyhow!("unreadable reply on {subject}: {err}"))
        }),
        Err(err) => Err(match err.kind() {
            RequestErrorKind::NoResponders => ApiError::NoWorker(shard.gateway.clone()),
            RequestErrorKind::TimedOut => ApiError::CommandTimeout {
                subject: subject.clone(),
            },
            _ => ApiError::Nats(err),
        }),
    };
    let outcome = match &reply {
        Ok(reply) if !reply.ok => CommandOutcome::Refused,
        _ => outcome,
    };
    state.metrics().command(op.token(), outcome, started);
    tracing::debug!(
        nats.subject = %subject,
        command.outcome = outcome.as_str(),
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "command answered"
    );
    reply?.into_result().map_err(ApiError::from)
}

/// One request-reply, retried while nobody listens (or the shard is changing hands) and time
/// remains; the reply comes back decoded, or with the reason it could not be.
async fn request(
    state: &AppState,
    subject: &str,
    payload: Bytes,
    request_id: &str,
) -> Result<Result<Reply, serde_json::Error>, async_nats::RequestError> {
    let nats = state.nats();
    if nats.connection_state() != async_nats::connection::State::Connected {
        return Err(async_nats::RequestError::with_source(
            RequestErrorKind::Other,
            "not connected to NATS",
        ));
    }
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(REQUEST_ID_HEADER, request_id);
    let deadline = Instant::now() + state.config().command_timeout();
    let attempt = || async {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let request = async_nats::Request::new()
            .headers(headers.clone())
            .payload(payload.clone())
            .timeout(Some(remaining));
        let message = nats.send_request(subject.to_owned(), request).await?;
        let decoded = serde_json::from_slice::<Reply>(&message.payload);
        // A worker that is handing the shard over wrote nothing: retry like no responders.
        let moving = decoded.as_ref().ok().and_then(|reply| reply.error.as_ref());
        if moving.is_some_and(ErrorBody::is_shard_moving) {
            return Err(async_nats::RequestError::with_source(
                RequestErrorKind::NoResponders,
                "the session's shard is changing hands",
            ));
        }
        Ok(decoded)
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(MIN_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times();
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|err| err.kind() == RequestErrorKind::NoResponders)
        .adjust(|_, delay| delay.filter(|delay| Instant::now() + *delay < deadline))
        .await
}
