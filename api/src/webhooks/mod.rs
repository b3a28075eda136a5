//! Webhooks in Redis, under the organization's hash tag: one hash of the organization's
//! webhooks (id → record JSON, secret included), and per webhook its dead letters
//! ([`dead_letters`]). Deleting a webhook removes its dead letters with it.

pub mod dead_letters;

use anyhow::Context;
use rand::TryRngCore;
use redis::Script;
use std::sync::LazyLock;
use wagw_common::webhooks::{SECRET_PREFIX, Webhook};
use wagw_common::{OrganizationId, WebhookId};

use crate::error::ApiError;
use crate::state::AppState;

/// Random bytes behind each secret.
const SECRET_BYTES: usize = 32;

/// Replaces a record only while it exists, so an edit racing a delete cannot bring it back.
/// KEYS: the webhooks hash. ARGV: id, JSON. Returns 1 when replaced.
static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
",
    )
});

/// `whsec_` + hex of 32 bytes from the OS RNG.
///
/// # Errors
/// When the OS RNG fails.
pub fn generate_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| anyhow::anyhow!("reading the OS random number generator: {err}"))?;
    Ok(format!("{SECRET_PREFIX}{}", hex::encode(bytes)))
}

fn to_json(record: &Webhook) -> Result<String, ApiError> {
    Ok(serde_json::to_string(record).context("serializing a webhook")?)
}

/// Stores a new webhook.
///
/// # Errors
/// Redis failures.
pub async fn insert(state: &AppState, record: &Webhook) -> Result<(), ApiError> {
    redis::cmd("HSET")
        .arg(state.keys().webhooks(&record.organization_id))
        .arg(record.id.to_string())
        .arg(to_json(record)?)
        .query_async::<()>(&mut state.redis())
        .await?;
    Ok(())
}

/// Replaces a webhook; `false` when it was deleted meanwhile.
///
/// # Errors
/// Redis failures.
pub async fn replace(state: &AppState, record: &Webhook) -> Result<bool, ApiError> {
    let replaced: i64 = REPLACE
        .key(state.keys().webhooks(&record.organization_id))
        .arg(record.id.to_string())
        .arg(to_json(record)?)
        .invoke_async(&mut state.redis())
        .await?;
    Ok(replaced == 1)
}

/// One webhook of `org`, if it exists.
///
/// # Errors
/// Redis failures; an unreadable record is an internal error.
pub async fn find(
    state: &AppState,
    org: &OrganizationId,
    id: &WebhookId,
) -> Result<Option<Webhook>, ApiError> {
    let json: Option<String> = redis::cmd("HGET")
        .arg(state.keys().webhooks(org))
        .arg(id.to_string())
        .query_async(&mut state.redis())
        .await?;
    json.map(|json| parse(&json)).transpose()
}

/// `org`'s webhooks, newest first.
///
/// # Errors
/// Redis failures; an unreadable record is an internal error.
pub async fn list(state: &AppState, org: &OrganizationId) -> Result<Vec<Webhook>, ApiError> {
    let records: Vec<String> = redis::cmd("HVALS")
        .arg(state.keys().webhooks(org))
        .query_async(&mut state.redis())
        .await?;
    let mut webhooks = records
        .iter()
        .map(|json| parse(json))
        .collect::<Result<Vec<_>, _>>()?;
    webhooks.sort_by_key(|webhook| std::cmp::Reverse(webhook.id));
    Ok(webhooks)
}

/// Deletes a webhook with its dead letters and retry counts; `false` when there was none.
///
/// # Errors
/// Redis failures.
pub async fn delete(
    state: &AppState,
    org: &OrganizationId,
    id: &WebhookId,
) -> Result<bool, ApiError> {
    let keys = state.keys();
    let (removed,): (i64,) = redis::pipe()
        .atomic()
        .cmd("HDEL")
        .arg(keys.webhooks(org))
        .arg(id.to_string())
        .del(keys.webhook_dead_letters(org, id))
        .ignore()
        .del(keys.webhook_dead_letter_records(org, id))
        .ignore()
        .del(keys.webhook_attempts(org, id))
        .ignore()
        .query_async(&mut state.redis())
        .await?;
    Ok(removed == 1)
}

fn parse(json: &str) -> Result<Webhook, ApiError> {
    serde_json::from_str(json)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("unreadable webhook record: {err}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_prefixed_hex_and_unique() {
        let a = super::generate_secret().expect("OS RNG");
        let b = super::generate_secret().expect("OS RNG");
        assert_ne!(a, b);
        let hex = a.strip_prefix("whsec_").expect("prefixed");
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
