//! `Idempotency-Key` of sends: the header's rules, the record a key points to, and its updates.
//!
//! The record lives at [`Keys::idempotency`] (the session's shard hash tag, the header value
//! hashed with SHA-256) for [`IDEMPOTENCY_TTL_SECS`]. It is written `pending` by the admission
//! script when a send is admitted (`rate_limit.lua`), turned `accepted` once the send stream
//! acknowledged the job; a job that could not be queued leaves it `pending`, so a retry with the
//! key republishes the same message. Every update is a compare-and-swap on the exact stored JSON, so an edge never overwrites another's record.
//!
//! [`Keys::idempotency`]: wagw_common::keys::Keys::idempotency
//! [`IDEMPOTENCY_TTL_SECS`]: wagw_common::messages::IDEMPOTENCY_TTL_SECS

use std::sync::LazyLock;

use axum::http::HeaderMap;
use redis::Script;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wagw_common::messages::IDEMPOTENCY_KEY_MAX_LEN;

use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// `SET KEYS[1] ARGV[2] KEEPTTL` only while it holds ARGV[1].
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
",
    )
});

/// A valid `Idempotency-Key` header value: 1-255 bytes of visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The request's key, if it sent one.
    ///
    /// # Errors
    /// `400 invalid_argument` naming `Idempotency-Key` when the value breaks the rules or the
    /// header is repeated.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let mut values = headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        let bytes = value.as_bytes();
        let valid = values.next().is_none()
            && (1..=IDEMPOTENCY_KEY_MAX_LEN).contains(&bytes.len())
            && bytes.iter().all(u8::is_ascii_graphic);
        match std::str::from_utf8(bytes) {
            Ok(text) if valid => Ok(Some(Self(text.to_owned()))),
            _ => Err(ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be one header of 1-255 visible ASCII characters",
            )),
        }
    }

    /// Hex SHA-256 of the value: the last token of the record's Redis key.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// What identifies a send's content: hex SHA-256 of `<to as a JID>\n<text>` (a JID holds no
/// newline, so the split is unambiguous).
pub fn fingerprint(to_jid: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(to_jid.as_bytes());
    hasher.update(b"\n");
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}

/// Where the send a key stands for is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// Admitted; its job may or may not be in the stream yet.
    Pending,
    /// The send stream acknowledged its job.
    Accepted,
}

/// The JSON stored under a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub message_id: String,
    /// [`fingerprint`] of the first request; a retry must match it.
    pub fingerprint: String,
    pub state: RecordState,
    /// When the first request was accepted, ms since the epoch; also the job's `acceptedAt`.
    pub accepted_at: i64,
}

impl IdempotencyRecord {
    /// The record as JSON.
    ///
    /// # Errors
    /// Never in practice (plain strings and integers); an internal error otherwise.
    pub fn to_json(&self) -> Result<String, ApiError> {
        serde_json::to_string(self).map_err(|err| {
            ApiError::Internal(anyhow::anyhow!("serializing an idempotency record: {err}"))
        })
    }

    /// # Errors
    /// An internal error when the stored JSON is unreadable.
    pub fn from_json(json: &str) -> Result<Self, ApiError> {
        serde_json::from_str(json).map_err(|err| {
            ApiError::Internal(anyhow::anyhow!("unreadable idempotency record: {err}"))
        })
    }

    /// The same record, `accepted`.
    #[must_use]
    pub fn accepted(&self) -> Self {
        Self {
            state: RecordState::Accepted,
            ..self.clone()
        }
    }
}

/// Replaces the record at `key` by `replacement` (keeping its TTL), but only while it still
/// holds exactly `expected`. Returns whether it did.
///
/// # Errors
/// Redis failures.
pub async fn swap(
    mut redis: ConnectionManager,
    key: &str,
    expected: &str,
    replacement: &str,
) -> Result<bool, ApiError> {
    let mut invocation = SWAP.prepare_invoke();
    invocation.key(key).arg(expected).arg(replacement);
    let swapped: i64 = invocation.invoke_async(&mut redis).await?;
    Ok(swapped == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                HEADER,
                HeaderValue::from_bytes(value).expect("a header value"),
            );
        }
        map
    }

    fn field_of(result: Result<Option<IdempotencyKey>, ApiError>) -> String {
        match result {
            Err(ApiError::Body(body)) => body.details["field"].as_str().unwrap_or("").to_owned(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_bytes_in_one_header() {
        assert_eq!(
            IdempotencyKey::from_headers(&HeaderMap::new()).ok(),
            Some(None)
        );
        let key = IdempotencyKey::from_headers(&headers(&[b"order-42"])).expect("valid");
        assert_eq!(key, Some(IdempotencyKey("order-42".into())));
        let longest = "k".repeat(255);
        assert!(IdempotencyKey::from_headers(&headers(&[longest.as_bytes()])).is_ok());
        for bad in [
            &b""[..],
            b"with space",
            "é".as_bytes(),
            "k".repeat(256).as_bytes(),
        ] {
            let result = IdempotencyKey::from_headers(&headers(&[bad]));
            assert_eq!(field_of(result), "Idempotency-Key", "{bad:?}");
        }
        let twice = IdempotencyKey::from_headers(&headers(&[b"a", b"a"]));
        assert_eq!(field_of(twice), "Idempotency-Key");
    }

    #[test]
    fn keys_and_fingerprints_are_hex_sha256() {
        let key = IdempotencyKey("abc".into());
        assert_eq!(
            key.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(fingerprint("a", "b"), hex::encode(Sha256::digest(b"a\nb")));
    }

    #[test]
    fn records_have_the_documented_json_shape() {
        let record = IdempotencyRecord {
            message_id: "01J9ZXB3C5D7E9F1G3H5J7K9M1".into(),
            fingerprint: "f".into(),
            state: RecordState::Pending,
            accepted_at: 1,
        };
        let json = record.to_json().expect("serializes");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).expect("json"),
            serde_json::json!({"messageId": "01J9ZXB3C5D7E9F1G3H5J7K9M1", "fingerprint": "f",
                "state": "pending", "acceptedAt": 1})
        );
        assert_eq!(record.accepted().state, RecordState::Accepted);
        assert_eq!(IdempotencyRecord::from_json(&json).expect("parses"), record);
    }
}
