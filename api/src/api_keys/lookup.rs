//! Finding the live record of a presented key: one `GET` of its hash entry, which holds a copy of
//! the record. Hash entries written before the copy was kept hold an `<orgId> <keyId>` pointer
//! instead, and those keys cost a second read. The caller may read the hash entry itself, in
//! a pipeline with other reads of the same request ([`HashEntry::parse`], [`resolve`]).

use redis::aio::ConnectionManager;
use subtle::ConstantTimeEq;
use wagw_common::keys::Keys;
use wagw_common::time::now_ms;
use wagw_common::{ApiKeyId, OrganizationId};

use super::{ApiKeyRecord, get_api_key, hash_secret};

/// What a key's hash entry holds.
#[derive(Debug, Clone, PartialEq)]
pub enum HashEntry {
    /// No such key, or revoked.
    Missing,
    /// A copy of the record.
    Record(Box<ApiKeyRecord>),
    /// `<orgId> <keyId>`, as written before the record was copied there.
    Pointer(OrganizationId, ApiKeyId),
}

impl HashEntry {
    /// Reads a stored value; anything unreadable is [`HashEntry::Missing`], never a key.
    pub fn parse(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::Missing;
        };
        if value.starts_with('{') {
            return serde_json::from_str(value)
                .map(|record| Self::Record(Box::new(record)))
                .unwrap_or(Self::Missing);
        }
        let Some((org, id)) = value.split_once(' ') else {
            return Self::Missing;
        };
        match (OrganizationId::parse(org), ApiKeyId::parse(id)) {
            (Ok(org), Ok(id)) => Self::Pointer(org, id),
            _ => Self::Missing,
        }
    }
}

/// The live, unexpired record of a presented key, if any: one read (two for a key whose hash
/// entry is an old pointer).
///
/// # Errors
/// Redis failures (the caller answers 503, not 401).
pub async fn find_by_secret(
    redis: &mut ConnectionManager,
    keys: &Keys,
    secret: &str,
) -> redis::RedisResult<Option<ApiKeyRecord>> {
    let hash = hash_secret(secret);
    let value: Option<String> = redis::cmd("GET")
        .arg(keys.api_key_by_hash(&hash))
        .query_async(redis)
        .await?;
    resolve(redis, keys, &hash, HashEntry::parse(value.as_deref())).await
}

/// The live record behind a hash entry read for the key whose SHA-256 is `hash`.
///
/// # Errors
/// Redis failures, when an old pointer needs its record read.
pub async fn resolve(
    redis: &mut ConnectionManager,
    keys: &Keys,
    hash: &str,
    entry: HashEntry,
) -> redis::RedisResult<Option<ApiKeyRecord>> {
    let record = match entry {
        HashEntry::Missing => return Ok(None),
        HashEntry::Record(record) => *record,
        HashEntry::Pointer(org, id) => match get_api_key(redis, keys, &org, &id).await? {
            Some(record) if record.organization_id == org => record,
            _ => return Ok(None),
        },
    };
    Ok(live(record, hash, now_ms()))
}

/// The record, if it is the one of `hash` (compared in constant time) and not expired at `now`.
fn live(record: ApiKeyRecord, hash: &str, now: i64) -> Option<ApiKeyRecord> {
    let matches: bool = record.sha256.as_bytes().ct_eq(hash.as_bytes()).into();
    (matches && !record.is_expired(now)).then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Capability;

    fn record(expires_at: Option<i64>) -> ApiKeyRecord {
        ApiKeyRecord {
            id: ApiKeyId::generate(),
            organization_id: OrganizationId::parse("org_1").expect("valid"),
            name: "ci".into(),
            capabilities: vec![Capability::Read],
            created_at: 1,
            expires_at,
            created_by_user_id: "user_1".into(),
            sha256: hash_secret("wagw_secret"),
        }
    }

    #[test]
    fn hash_entries_parse_records_pointers_and_nothing_else() {
        let copy = record(None);
        let json = serde_json::to_string(&copy).expect("serializes");
        assert_eq!(
            HashEntry::parse(Some(&json)),
            HashEntry::Record(Box::new(copy.clone()))
        );
        let pointer = format!("org_1 {}", copy.id);
        assert_eq!(
            HashEntry::parse(Some(&pointer)),
            HashEntry::Pointer(copy.organization_id.clone(), copy.id)
        );
        for junk in [
            None,
            Some(""),
            Some("{not json"),
            Some("org_1"),
            Some("org_1 x"),
        ] {
            assert_eq!(HashEntry::parse(junk), HashEntry::Missing, "{junk:?}");
        }
    }

    #[test]
    fn a_record_counts_only_for_its_own_hash_and_until_it_expires() {
        let hash = hash_secret("wagw_secret");
        assert!(live(record(None), &hash, 10).is_some());
        assert!(live(record(Some(11)), &hash, 10).is_some());
        assert!(live(record(Some(10)), &hash, 10).is_none(), "expired");
        assert!(live(record(None), &hash_secret("wagw_other"), 10).is_none());
    }
}
