//! Stage 2: one delivery job from the delivery stream. The webhook is read again (deleted →
//! the job is dropped; its current url and secret are used), an attempt is made when the
//! webhook has a free slot (else the job goes back with a short delay, so a dead endpoint's
//! backlog does not hold the consumer), and its [`Verdict`] decides: ack, retry (`nak` with a
//! delay), or dead letter (then `term`).

use async_nats::jetstream::{AckKind, Message};
use rand::Rng;
use std::time::{Duration, Instant};
use wagw_common::time::now_ms;
use wagw_common::webhooks::{DeadLetter, DeliveryJob};

use super::Webhooks;
use super::attempt::attempt;
use super::fanout::settle;
use super::retry::Verdict;

/// How long a job waits when Redis could not be read or written.
const STORE_RETRY_DELAY: Duration = Duration::from_secs(2);
/// A job for a webhook without a free slot comes back after a random delay up to this.
const BUSY_DELAY_MAX_MS: u64 = 1000;

impl Webhooks {
    /// Handles one delivery job.
    #[tracing::instrument(skip_all, fields(subject = %message.subject))]
    pub async fn deliver(&self, message: Message) {
        let job: DeliveryJob = match serde_json::from_slice(&message.payload) {
            Ok(job) => job,
            Err(err) => {
                tracing::warn!(error = %err, "an unreadable delivery job; dropped");
                return settle(&message, AckKind::Term).await;
            }
        };
        let store = &self.worker.store;
        let webhook = match store.webhook(&job.organization_id, &job.webhook_id).await {
            Ok(Some(webhook)) => webhook,
            Ok(None) => return settle(&message, AckKind::Term).await,
            Err(err) => {
                tracing::warn!(webhook.id = %job.webhook_id, error = %err, "reading the webhook failed");
                return settle(&message, AckKind::Nak(Some(STORE_RETRY_DELAY))).await;
            }
        };
        let Some(_slot) = self.limiter.try_acquire(webhook.id) else {
            let delay = rand::rng().random_range(BUSY_DELAY_MAX_MS / 4..=BUSY_DELAY_MAX_MS);
            return settle(&message, AckKind::Nak(Some(Duration::from_millis(delay)))).await;
        };
        let delivered = message.info().map_or(1, |info| info.delivered.max(1));
        let started_at = now_ms();
        let timeout = self.worker.config.webhooks.timeout();
        let clock = Instant::now();
        let verdict = attempt(&self.client, &webhook, &job.event, timeout).await;
        let metrics = &self.worker.metrics;
        metrics.webhook_attempt(&verdict, clock.elapsed());
        let (status, error, retry_after, permanent) = match verdict {
            Verdict::Delivered => {
                if delivered > 1 {
                    let cleared = store
                        .clear_attempts(&job.organization_id, &job.webhook_id, &job.event.id)
                        .await;
                    if let Err(err) = cleared {
                        tracing::warn!(error = %err, "forgetting a delivery's failed attempts failed");
                    }
                }
                metrics.webhook_delivered.increment(1);
                return settle(&message, AckKind::Ack).await;
            }
            Verdict::Refused { status, error } => (status, error, None, true),
            Verdict::Failed {
                status,
                error,
                retry_after,
            } => (status, error, retry_after, false),
        };
        tracing::info!(webhook.id = %webhook.id, event.id = job.event.id, attempt = delivered, error, "a delivery attempt failed");
        let keep_ms =
            u64::try_from(self.policy.window.as_millis()).unwrap_or(u64::MAX) + 86_400_000;
        let counted = store
            .record_failed_attempt(
                &job.organization_id,
                &job.webhook_id,
                &job.event.id,
                started_at,
                keep_ms,
            )
            .await;
        let (attempts, first_attempt_at) = match counted {
            Ok(Some(counted)) => counted,
            // Deleted meanwhile: nothing to retry for.
            Ok(None) => return settle(&message, AckKind::Term).await,
            Err(err) => {
                tracing::warn!(error = %err, "counting a failed attempt failed");
                return settle(&message, AckKind::Nak(Some(STORE_RETRY_DELAY))).await;
            }
        };
        let elapsed =
            Duration::from_millis(u64::try_from(now_ms() - first_attempt_at).unwrap_or(0));
        let attempt_no = u64::try_from(delivered).unwrap_or(1);
        if !permanent && let Some(delay) = self.policy.next(attempt_no, elapsed, retry_after) {
            metrics.webhook_retried.increment(1);
            return settle(&message, AckKind::Nak(Some(delay))).await;
        }
        let letter = DeadLetter {
            event: job.event,
            attempts,
            last_error: error,
            last_status: status,
            first_attempt_at,
            failed_at: now_ms(),
        };
        match store
            .write_dead_letter(&job.organization_id, &job.webhook_id, &letter)
            .await
        {
            Ok(_) => {
                metrics.webhook_dead_lettered.increment(1);
                tracing::warn!(webhook.id = %webhook.id, event.id = letter.event.id, attempts, "a delivery became a dead letter");
                settle(&message, AckKind::Term).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "writing a dead letter failed; the delivery will be retried");
                settle(&message, AckKind::Nak(Some(STORE_RETRY_DELAY))).await;
            }
        }
    }
}
