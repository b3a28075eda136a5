//! The worker's Redis side of webhooks: reading an organization's webhooks, counting failed
//! attempts of a delivery under retry, and writing dead letters (capped per webhook). Every
//! script touches only the organization's hash tag, so it stays in one slot.

use redis::Script;
use std::sync::LazyLock;
use wagw_common::webhooks::{DEAD_LETTER_CAP, DeadLetter, Webhook};
use wagw_common::{OrganizationId, WebhookId};

use crate::store::{Store, StoreError};

/// Counts a failed attempt. KEYS: webhooks hash, attempts hash. ARGV: webhook id, event id,
/// attempt start (ms), TTL of the attempts hash (ms). Returns `{attempts, firstAttemptAt}`, or
/// nil when the webhook is gone (nothing is written then).
static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return nil end
local attempts = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSETNX', KEYS[2], ARGV[2] .. ':first', ARGV[3])
local first = redis.call('HGET', KEYS[2], ARGV[2] .. ':first')
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {attempts, tonumber(first)}
",
    )
});

/// Stores a dead letter and drops the oldest beyond the cap. KEYS: webhooks hash, dead-letter
/// zset, dead-letter hash, attempts hash. ARGV: webhook id, event id, failed at (ms), JSON,
/// cap. Returns 0 when the webhook is gone (nothing is written then), else 1.
static WRITE_DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('HDEL', KEYS[4], ARGV[2], ARGV[2] .. ':first')
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  redis.call('HDEL', KEYS[3], unpack(oldest))
end
return 1
",
    )
});

impl Store {
    /// Every webhook of an organization; unreadable records are skipped with a warning.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn org_webhooks(&self, org: &OrganizationId) -> Result<Vec<Webhook>, StoreError> {
        let records: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys().webhooks(org))
            .query_async(&mut self.conn())
            .await?;
        Ok(records
            .into_iter()
            .filter_map(|(id, json)| match serde_json::from_str(&json) {
                Ok(webhook) => Some(webhook),
                Err(err) => {
                    tracing::warn!(webhook.id = id, error = %err, "an unreadable webhook record; skipped");
                    None
                }
            })
            .collect())
    }

    /// One webhook, with its current url and secret.
    ///
    /// # Errors
    /// Redis errors, or an unreadable record.
    pub async fn webhook(
        &self,
        org: &OrganizationId,
        id: &WebhookId,
    ) -> Result<Option<Webhook>, StoreError> {
        let key = self.keys().webhooks(org);
        let json: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg(id.to_string())
            .query_async(&mut self.conn())
            .await?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|source| StoreError::Corrupt {
                what: "webhook",
                key,
                source,
            })
        })
        .transpose()
    }

    /// Counts a failed attempt of `event_id` that started at `started_at`; returns the
    /// attempts so far and when the first one started, or `None` if the webhook is gone.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn record_failed_attempt(
        &self,
        org: &OrganizationId,
        webhook: &WebhookId,
        event_id: &str,
        started_at: i64,
        keep_ms: u64,
    ) -> Result<Option<(u32, i64)>, StoreError> {
        let keys = self.keys();
        let counted: Option<(u32, i64)> = RECORD_FAILURE
            .key(keys.webhooks(org))
            .key(keys.webhook_attempts(org, webhook))
            .arg(webhook.to_string())
            .arg(event_id)
            .arg(started_at)
            .arg(keep_ms.max(1))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(counted)
    }

    /// Forgets the attempts of a delivery that succeeded after failing.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn clear_attempts(
        &self,
        org: &OrganizationId,
        webhook: &WebhookId,
        event_id: &str,
    ) -> Result<(), StoreError> {
        redis::cmd("HDEL")
            .arg(self.keys().webhook_attempts(org, webhook))
            .arg(event_id)
            .arg(format!("{event_id}:first"))
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Stores a dead letter; `false` when the webhook was deleted meanwhile.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn write_dead_letter(
        &self,
        org: &OrganizationId,
        webhook: &WebhookId,
        letter: &DeadLetter,
    ) -> Result<bool, StoreError> {
        let keys = self.keys();
        let json = serde_json::to_string(letter).map_err(|source| StoreError::Corrupt {
            what: "dead letter",
            key: keys.webhook_dead_letter_records(org, webhook),
            source,
        })?;
        let written: i64 = WRITE_DEAD_LETTER
            .key(keys.webhooks(org))
            .key(keys.webhook_dead_letters(org, webhook))
            .key(keys.webhook_dead_letter_records(org, webhook))
            .key(keys.webhook_attempts(org, webhook))
            .arg(webhook.to_string())
            .arg(&letter.event.id)
            .arg(letter.failed_at)
            .arg(json)
            .arg(DEAD_LETTER_CAP)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(written == 1)
    }
}
