//! A webhook's dead letters on the edge: paging them newest failure first, and redelivering
//! one (a new delivery job with fresh attempts, then the dead letter is removed: a crash in
//! between leaves a duplicate, never a loss).
//!
//! Dead letters are ordered by (failure time, event id), descending; a page token is
//! `base64url("dl1:<failedAt>:<eventId>")` of the last one shown.

use async_nats::jetstream;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::Duration;
use wagw_common::time::now_ms;
use wagw_common::webhooks::{
    DELIVERY_DUPLICATE_WINDOW_SECS, DELIVERY_STREAM_DESCRIPTION, DeadLetter, DeliveryJob, Webhook,
};
use wagw_common::{OrganizationId, WebhookId};

use crate::error::ApiError;
use crate::state::AppState;

/// Where a page resumes: after this (failure time, event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub failed_at: i64,
    pub event_id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("dl1:{}:{}", self.failed_at, self.event_id))
    }

    /// # Errors
    /// `400 invalid_argument` naming `pageToken` for anything this edge did not issue.
    pub fn decode(token: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid("pageToken", "pageToken is not a token this API issued");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        let rest = text.strip_prefix("dl1:").ok_or_else(bad)?;
        let (failed_at, event_id) = rest.split_once(':').ok_or_else(bad)?;
        let event_id = ulid::Ulid::from_string(event_id).map_err(|_| bad())?;
        Ok(Self {
            failed_at: failed_at.parse().map_err(|_| bad())?,
            event_id: event_id.to_string(),
        })
    }
}

/// One page and where the next starts.
#[derive(Debug)]
pub struct Page {
    pub letters: Vec<DeadLetter>,
    pub next: Option<Cursor>,
}

/// Up to `page_size` dead letters of a webhook, after `after`.
///
/// # Errors
/// Redis failures.
pub async fn page(
    state: &AppState,
    org: &OrganizationId,
    webhook: &WebhookId,
    page_size: usize,
    after: Option<&Cursor>,
) -> Result<Page, ApiError> {
    let index = state.keys().webhook_dead_letters(org, webhook);
    let mut redis = state.redis();
    let wanted = page_size + 1;
    let mut ids: Vec<(String, f64)> = Vec::new();
    let upper = match after {
        Some(cursor) => {
            // The same millisecond first (ids below the cursor's), then strictly older.
            let ties: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(&index)
                .arg(cursor.failed_at)
                .arg(cursor.failed_at)
                .arg("BYSCORE")
                .arg("REV")
                .arg("WITHSCORES")
                .query_async(&mut redis)
                .await?;
            ids.extend(
                ties.into_iter()
                    .filter(|(id, _)| *id < cursor.event_id)
                    .take(wanted),
            );
            format!("({}", cursor.failed_at)
        }
        None => "+inf".to_owned(),
    };
    if ids.len() < wanted {
        let older: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&index)
            .arg(upper)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(wanted - ids.len())
            .arg("WITHSCORES")
            .query_async(&mut redis)
            .await?;
        ids.extend(older);
    }
    let more = ids.len() > page_size;
    ids.truncate(page_size);
    let letters = if ids.is_empty() {
        Vec::new()
    } else {
        let records: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(state.keys().webhook_dead_letter_records(org, webhook))
            .arg(ids.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
            .query_async(&mut redis)
            .await?;
        records
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect()
    };
    let next = more
        .then(|| ids.last())
        .flatten()
        .map(|(event_id, score)| Cursor {
            // Scores are whole milliseconds, well inside f64's exact range.
            failed_at: *score as i64,
            event_id: event_id.clone(),
        });
    Ok(Page { letters, next })
}

/// Queues the dead letter of `event_id` again and removes it; `None` when there is none.
///
/// # Errors
/// Redis failures; `503` when the delivery stream cannot take the job.
pub async fn redeliver(
    state: &AppState,
    webhook: &Webhook,
    event_id: &str,
) -> Result<Option<i64>, ApiError> {
    let (org, id) = (&webhook.organization_id, &webhook.id);
    let keys = state.keys();
    let json: Option<String> = redis::cmd("HGET")
        .arg(keys.webhook_dead_letter_records(org, id))
        .arg(event_id)
        .query_async(&mut state.redis())
        .await?;
    let Some(letter) = json.and_then(|json| serde_json::from_str::<DeadLetter>(&json).ok()) else {
        return Ok(None);
    };
    let queued_at = now_ms();
    let job = DeliveryJob {
        webhook_id: *id,
        organization_id: org.clone(),
        event: letter.event,
        queued_at,
    };
    publish(state, &job).await.map_err(|detail| {
        tracing::warn!(error = detail, "queueing a redelivery failed");
        ApiError::unavailable("the delivery queue is unavailable; retry")
    })?;
    redis::pipe()
        .atomic()
        .zrem(keys.webhook_dead_letters(org, id), event_id)
        .ignore()
        .hdel(keys.webhook_dead_letter_records(org, id), event_id)
        .ignore()
        .hdel(
            keys.webhook_attempts(org, id),
            &[event_id.to_owned(), format!("{event_id}:first")],
        )
        .ignore()
        .query_async::<()>(&mut state.redis())
        .await?;
    Ok(Some(queued_at))
}

/// Publishes a job with a fresh `Nats-Msg-Id`. Only when the delivery stream is missing is it
/// created (the same settings the workers use) and the publish tried once more.
async fn publish(state: &AppState, job: &DeliveryJob) -> Result<(), String> {
    let js = state.jetstream();
    let payload: bytes::Bytes = serde_json::to_vec(job)
        .map_err(|err| err.to_string())?
        .into();
    let mut headers = async_nats::HeaderMap::new();
    let msg_id = format!(
        "{}.{}.{}",
        job.event.id,
        job.webhook_id,
        ulid::Ulid::generate()
    );
    headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id.as_str());
    let subject = state
        .subjects()
        .webhook_delivery(&job.organization_id, &job.webhook_id);
    let attempt = || async {
        let ack = js
            .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
            .await?;
        ack.await.map(drop)
    };
    match attempt().await {
        Err(err) if err.kind() == jetstream::context::PublishErrorKind::StreamNotFound => {
            let config = jetstream::stream::Config {
                name: state.config().webhooks_stream.clone(),
                description: Some(DELIVERY_STREAM_DESCRIPTION.to_owned()),
                subjects: vec![state.subjects().webhook_deliveries_everywhere()],
                retention: jetstream::stream::RetentionPolicy::WorkQueue,
                storage: jetstream::stream::StorageType::File,
                duplicate_window: Duration::from_secs(DELIVERY_DUPLICATE_WINDOW_SECS),
                ..Default::default()
            };
            crate::send_stream::ensure_stream(js, config).await?;
            attempt().await.map_err(|err| err.to_string())
        }
        other => other.map_err(|err| err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_tokens_are_refused() {
        let cursor = Cursor {
            failed_at: 1_719_662_400_000,
            event_id: ulid::Ulid::generate().to_string(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("dl1:x:y"),
            &URL_SAFE_NO_PAD.encode("v1:1"),
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
