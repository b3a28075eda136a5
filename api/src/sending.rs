//! Accepting a send: admission (the `Idempotency-Key` record and the session's rate limits, in
//! one Redis script), then the job into the gateway's send stream, then the record marked
//! `accepted`. When the job cannot be queued (`503`), a key's record stays `pending`, and
//! without a key the rate cell is refunded.
//!
//! A retry whose key holds a `pending` record (the first request still in flight, its edge died
//! before the stream answered, or its publish failed) publishes the job again
//! under the stored message id: the stream drops it if it already has it (`Nats-Msg-Id`), and
//! the worker dedupes by message id.

use bytes::Bytes;
use wagw_common::SessionStatus;
use wagw_common::messages::{MessageAccepted, MessageStatus, SendMessageV1};
use wagw_common::subjects::CommandOp;
use wagw_common::wire::Command;

use crate::error::ApiError;
use crate::metrics::CommandOutcome;
use crate::send_stream::{self, Job};
use crate::state::AppState;
use crate::store::Located;
use crate::store::idempotency::{self, IdempotencyKey, IdempotencyRecord, RecordState};
use crate::store::rate_limit::{Admission, Claim, SendLimits};

/// A validated send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The recipient as a JID.
    pub to: String,
    pub text: String,
    pub idempotency_key: Option<IdempotencyKey>,
    pub request_id: String,
}

/// Admits and queues one send from the session `located`, which must be `working`; a retry
/// whose key was already answered `202` gets that answer whatever the status is now.
///
/// # Errors
/// `409` when the session is not working; `429` when a limit is reached; `400` when the key
/// was used for another request; `503` when Redis or the send stream is unavailable (nothing
/// is remembered then).
pub async fn accept(
    state: &AppState,
    located: &Located,
    request: &SendRequest,
) -> Result<MessageAccepted, ApiError> {
    let row = &located.row;
    if row.status != SessionStatus::Working {
        return answer_retry_of_not_working(state, located, request).await;
    }
    let first = IdempotencyRecord {
        message_id: ulid::Ulid::generate().to_string(),
        fingerprint: idempotency::fingerprint(&request.to, &request.text),
        state: RecordState::Pending,
        accepted_at: wagw_common::time::now_ms(),
    };
    let claim = match &request.idempotency_key {
        Some(key) => {
            let redis_key = (state.keys()).idempotency(&located.shard, &row.id, &key.sha256_hex());
            Some((redis_key, first.to_json()?))
        }
        None => None,
    };
    let limits = (state.config().send_rate_limits.is_on()).then_some(SendLimits {
        per_min: row.rate_per_min,
        per_hour: row.rate_per_hour,
    });
    let admission = match (&claim, limits) {
        // Nothing to check or remember: no Redis round trip.
        (None, None) => Admission::Allowed,
        _ => {
            let claim = claim.as_ref().map(|(key, record)| Claim { key, record });
            let limiter = state.limiter();
            limiter
                .admit(&located.shard, &row.id, limits, claim)
                .await?
        }
    };
    match (admission, claim) {
        (
            Admission::Limited {
                retry_after_ms,
                window,
            },
            _,
        ) => {
            state.metrics().send_rate_limited(window);
            Err(ApiError::rate_limited(retry_after_ms, window.as_str()))
        }
        (Admission::Remembered(stored), Some((key, _))) => {
            replay(state, located, request, &key, &stored).await
        }
        (Admission::Remembered(_), None) => Err(ApiError::Internal(anyhow::anyhow!(
            "an idempotency record came back for a send without a key"
        ))),
        (Admission::Allowed, claim) => {
            if let Err(err) = publish_job(state, located, request, &first).await {
                undo(state, located, claim.as_ref(), limits.is_some()).await;
                return Err(err);
            }
            if let Some((key, pending)) = &claim {
                mark_accepted(state, key, pending, &first).await;
            }
            Ok(accepted(first.message_id))
        }
    }
}

/// A send from a session that is not working: `409`, unless its key already holds a record of
/// this request (accepted while the session worked), which answers as any retry does.
async fn answer_retry_of_not_working(
    state: &AppState,
    located: &Located,
    request: &SendRequest,
) -> Result<MessageAccepted, ApiError> {
    let row = &located.row;
    let refusal = || {
        ApiError::failed_precondition(format!(
            "session is {}; only a working session can send",
            row.status.as_str()
        ))
    };
    let Some(key) = &request.idempotency_key else {
        return Err(refusal());
    };
    let redis_key = (state.keys()).idempotency(&located.shard, &row.id, &key.sha256_hex());
    let stored: Option<String> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut state.redis())
        .await?;
    match stored {
        Some(stored) => replay(state, located, request, &redis_key, &stored).await,
        None => Err(refusal()),
    }
}

/// A retry with a key already used: the first answer, the job published again if it may not
/// be in the stream yet, or `400` when the key was used for different content.
async fn replay(
    state: &AppState,
    located: &Located,
    request: &SendRequest,
    key: &str,
    stored: &str,
) -> Result<MessageAccepted, ApiError> {
    let record = IdempotencyRecord::from_json(stored)?;
    if record.fingerprint != idempotency::fingerprint(&request.to, &request.text) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "this Idempotency-Key was used with a different request",
        ));
    }
    if record.state == RecordState::Pending {
        publish_job(state, located, request, &record).await?;
        mark_accepted(state, key, stored, &record).await;
    }
    Ok(accepted(record.message_id))
}

fn accepted(id: String) -> MessageAccepted {
    MessageAccepted {
        id,
        status: MessageStatus::Queued,
    }
}

/// Publishes the job of `record` (its message id and acceptance time) until the stream
/// acknowledges it.
async fn publish_job(
    state: &AppState,
    located: &Located,
    request: &SendRequest,
    record: &IdempotencyRecord,
) -> Result<(), ApiError> {
    let (row, shard) = (&located.row, &located.shard);
    let command = Command::SendMessageV1(SendMessageV1 {
        organization_id: row.organization_id.clone(),
        message_id: record.message_id.clone(),
        to: request.to.clone(),
        text: request.text.clone(),
        accepted_at: record.accepted_at,
    });
    let payload = serde_json::to_vec(&command)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("serializing a send job: {err}")))?;
    let job = Job {
        gateway: &shard.gateway,
        subject: (state.subjects()).command(&shard.gateway, shard.shard, &row.id, CommandOp::Send),
        message_id: &record.message_id,
        payload: Bytes::from(payload),
        request_id: &request.request_id,
    };
    let started = std::time::Instant::now();
    let published = send_stream::publish(state, &job).await;
    let outcome = match &published {
        Ok(_) => CommandOutcome::Ok,
        Err(err) if err.kind() == async_nats::jetstream::context::PublishErrorKind::TimedOut => {
            CommandOutcome::Timeout
        }
        Err(_) => CommandOutcome::Error,
    };
    state
        .metrics()
        .command(CommandOp::Send.token(), outcome, started);
    let duplicate = published?;
    tracing::debug!(message.id = %record.message_id, stream.duplicate = duplicate, "send queued");
    Ok(())
}

/// `pending` → `accepted`, unless the record changed meanwhile. A failure leaves it `pending`:
/// the job is durable already, and a retry would only publish it again under the same id.
async fn mark_accepted(state: &AppState, key: &str, pending: &str, record: &IdempotencyRecord) {
    let done = match record.accepted().to_json() {
        Ok(accepted) => idempotency::swap(state.redis(), key, pending, &accepted).await,
        Err(err) => Err(err),
    };
    if let Err(err) = done {
        tracing::warn!(message.id = %record.message_id, error = %err, "could not mark an idempotency record accepted; it stays pending");
    }
}

/// After a failed publish. With a key, its `pending` record stays: the stream may have stored
/// the job even though no acknowledgement came back, and a retry with the key then publishes
/// it again under the same message id (dropped as a duplicate if it was stored) instead of
/// queuing a second message; the rate cell stays used, as the message may go out. Without a
/// key nothing can tie a retry to this attempt, so the rate cell is given back.
async fn undo(state: &AppState, located: &Located, claim: Option<&(String, String)>, refund: bool) {
    if claim.is_some() || !refund {
        return;
    }
    if let Err(err) = state
        .limiter()
        .refund(&located.shard, &located.row.id)
        .await
    {
        tracing::warn!(error = %err, "could not refund a rate cell after a failed send");
    }
}
