//! API keys in Redis: creation (also used by `wagw-api create-api-key`), listing, revocation and
//! lookup by secret ([`lookup`]). Only the SHA-256 of a key is stored; revocation deletes the
//! key's hash entry, so it takes effect on the very next request.

pub mod lookup;

pub use lookup::find_by_secret;

use base64::Engine;
use rand::TryRngCore;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wagw_common::keys::Keys;
use wagw_common::time::now_ms;
use wagw_common::{ApiKeyId, OrganizationId};

pub use crate::auth::Capability;

/// Every API key starts with this, so the edge tells keys from JWTs at a glance.
pub const KEY_PREFIX: &str = "wagw_";
/// Random bytes behind each key.
const SECRET_BYTES: usize = 32;

/// An API key as stored: everything but the secret, plus the secret's SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub capabilities: Vec<Capability>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub created_by_user_id: String,
    /// Hex SHA-256 of the key, compared in constant time on every use.
    pub sha256: String,
}

impl ApiKeyRecord {
    /// Past its `expiresAt`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id,
            name: self.name.clone(),
            capabilities: self.capabilities.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            created_by_user_id: self.created_by_user_id.clone(),
        }
    }
}

/// An API key as the API shows it: never the secret, never the hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    #[schema(value_type = String, example = "01J9ZX8K2QHV0M3T6R7P4N5W8C")]
    pub id: ApiKeyId,
    pub name: String,
    pub capabilities: Vec<Capability>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// The JWT `sub` of the creator (or `cli` for keys made with `wagw-api create-api-key`).
    pub created_by_user_id: String,
}

/// Hex SHA-256 of a key.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `wagw_` + base64url (no padding) of 32 bytes from the OS RNG.
///
/// # Errors
/// When the OS RNG fails.
pub fn generate_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| anyhow::anyhow!("reading the OS random number generator: {err}"))?;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(format!("{KEY_PREFIX}{encoded}"))
}

/// Creates a key and returns its view and the secret (shown once).
///
/// # Errors
/// On a capability an API key may not hold (`keys`), no capability at all, or a Redis failure.
pub async fn create_api_key(
    redis: &mut ConnectionManager,
    keys: &Keys,
    org: &OrganizationId,
    name: &str,
    capabilities: &[Capability],
    expires_at: Option<i64>,
    created_by: &str,
) -> anyhow::Result<(ApiKeyView, String)> {
    use anyhow::Context;
    if capabilities.is_empty() || !capabilities.iter().all(|c| c.grantable_to_api_key()) {
        anyhow::bail!("an API key holds a non-empty subset of read, manage, send, admin");
    }
    let mut capabilities = capabilities.to_vec();
    capabilities.sort();
    capabilities.dedup();
    let secret = generate_secret()?;
    let record = ApiKeyRecord {
        id: ApiKeyId::generate(),
        organization_id: org.clone(),
        name: name.to_owned(),
        capabilities,
        created_at: now_ms(),
        expires_at,
        created_by_user_id: created_by.to_owned(),
        sha256: hash_secret(&secret),
    };
    let json = serde_json::to_string(&record).context("serializing the API key record")?;
    // Record first, hash entry second: a key works only once its record exists. The hash entry
    // holds a copy of the (immutable) record, so authenticating takes one read.
    redis::pipe()
        .set(keys.api_key(org, &record.id), &json)
        .ignore()
        .set(keys.api_key_by_hash(&record.sha256), &json)
        .ignore()
        .zadd(keys.org_api_keys(org), record.id.to_string(), 0)
        .ignore()
        .query_async::<()>(redis)
        .await
        .context("writing the API key to Redis")?;
    Ok((record.view(), secret))
}

/// One key of an organization.
///
/// # Errors
/// Redis failures; a corrupt record reads as absent.
pub async fn get_api_key(
    redis: &mut ConnectionManager,
    keys: &Keys,
    org: &OrganizationId,
    id: &ApiKeyId,
) -> redis::RedisResult<Option<ApiKeyRecord>> {
    let json: Option<String> = redis::cmd("GET")
        .arg(keys.api_key(org, id))
        .query_async(redis)
        .await?;
    Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
}

/// An organization's keys, newest first.
///
/// # Errors
/// Redis failures.
pub async fn list_api_keys(
    redis: &mut ConnectionManager,
    keys: &Keys,
    org: &OrganizationId,
) -> redis::RedisResult<Vec<ApiKeyView>> {
    let ids: Vec<String> = redis::cmd("ZREVRANGEBYLEX")
        .arg(keys.org_api_keys(org))
        .arg("+")
        .arg("-")
        .query_async(redis)
        .await?;
    let record_keys: Vec<String> = ids
        .iter()
        .filter_map(|id| ApiKeyId::parse(id).ok())
        .map(|id| keys.api_key(org, &id))
        .collect();
    if record_keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Option<String>> = redis::cmd("MGET")
        .arg(record_keys)
        .query_async(redis)
        .await?;
    Ok(rows
        .into_iter()
        .flatten()
        .filter_map(|json| serde_json::from_str::<ApiKeyRecord>(&json).ok())
        .map(|record| record.view())
        .collect())
}

/// Revokes a key: the hash pointer goes first, so the key stops working at once.
///
/// # Errors
/// Redis failures. `Ok(false)` when the organization has no such key.
pub async fn revoke_api_key(
    redis: &mut ConnectionManager,
    keys: &Keys,
    org: &OrganizationId,
    id: &ApiKeyId,
) -> redis::RedisResult<bool> {
    let Some(record) = get_api_key(redis, keys, org, id).await? else {
        return Ok(false);
    };
    redis::pipe()
        .del(keys.api_key_by_hash(&record.sha256))
        .ignore()
        .del(keys.api_key(org, id))
        .ignore()
        .zrem(keys.org_api_keys(org), id.to_string())
        .ignore()
        .query_async::<()>(redis)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_url_safe_and_unique() {
        let a = generate_secret().expect("OS RNG");
        let b = generate_secret().expect("OS RNG");
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        let body = &a[KEY_PREFIX.len()..];
        assert_eq!(body.len(), 43, "32 bytes in base64url without padding");
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
