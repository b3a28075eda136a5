//! `RedisBackend`: a `whatsapp_rust::store::Backend` keeping every piece of one session's
//! WhatsApp state in Redis under the session's shard hash tag, each value sealed with
//! AES-256-GCM ([`crypto`]), every write fenced by the shard lease (`scripts`).
//!
//! Layout ([`keys`]): one hash per kind, `<prefix>:{<gw>:<shard>}:wa:<sessionId>:<kind>`, the
//! item (address, JID, id...) as the field in clear, the value sealed. Reads need no fence.
//! Read-modify-write methods (merges, take, counters) run under a per-backend lock: the lease
//! already makes this worker the only writer of the session.

mod appsync;
mod batch;
mod buffers;
pub mod crypto;
mod device;
pub mod keys;
mod protocol;
mod scripts;
mod signal;
#[cfg(test)]
mod test_redis;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_oracle;

pub(crate) use batch::Batch;
pub use crypto::{CryptoError, StateKey};
pub use keys::WaKeys;

use redis::aio::ConnectionManager;
use std::collections::HashMap;
use whatsapp_rust::wacore::store::error::StoreError;

/// Why the Redis store failed; boxed inside the library's `StoreError::Database` (or
/// `Serialization`), so a caller can downcast it to branch on [`WaStoreError::Fenced`].
#[derive(Debug, thiserror::Error)]
pub enum WaStoreError {
    /// The shard lease is no longer ours: another worker owns the session now.
    #[error("the lease {0} is no longer held by this worker; write refused")]
    Fenced(String),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("unreadable {what}: {detail}")]
    Corrupt { what: String, detail: String },
}

impl From<WaStoreError> for StoreError {
    fn from(error: WaStoreError) -> Self {
        match error {
            WaStoreError::Corrupt { .. } => StoreError::Serialization(Box::new(error)),
            other => StoreError::Database(Box::new(other)),
        }
    }
}

/// The library's result type.
pub(crate) type Res<T> = whatsapp_rust::wacore::store::error::Result<T>;

/// Where a backend writes and with what proof of ownership.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The session's state keys.
    pub keys: WaKeys,
    /// The shard's lease key (`Keys::lease`).
    pub lease_key: String,
    /// Our lease value `<workerId> <epoch>`.
    pub token: String,
}

/// One session's WhatsApp state in Redis.
pub struct RedisBackend {
    conn: ConnectionManager,
    scope: Scope,
    key: StateKey,
    /// Serializes read-modify-write methods of this backend.
    rmw: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A backend for the session of `scope`, sealing with `key`.
    pub fn new(conn: ConnectionManager, scope: Scope, key: StateKey) -> Self {
        Self {
            conn,
            scope,
            key,
            rmw: tokio::sync::Mutex::new(()),
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rmw.lock().await
    }

    /// The opened value at `kind`/`field`.
    pub(crate) async fn get(
        &self,
        kind: &str,
        field: &str,
    ) -> Result<Option<Vec<u8>>, WaStoreError> {
        let sealed: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.scope.keys.hash(kind))
            .arg(field)
            .query_async(&mut self.conn.clone())
            .await?;
        sealed
            .map(|sealed| Ok(self.key.open(&self.scope.keys.aad(kind, field), &sealed)?))
            .transpose()
    }

    /// The value at `kind`/`field`, parsed from JSON.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        field: &str,
    ) -> Result<Option<T>, WaStoreError> {
        self.get(kind, field)
            .await?
            .map(|plain| parse(kind, &plain))
            .transpose()
    }

    /// Every field of `kind` with its opened value.
    pub(crate) async fn get_all(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, WaStoreError> {
        let all: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(self.scope.keys.hash(kind))
            .query_async(&mut self.conn.clone())
            .await?;
        all.into_iter()
            .map(|(field, sealed)| {
                let plain = self.key.open(&self.scope.keys.aad(kind, &field), &sealed)?;
                Ok((field, plain))
            })
            .collect()
    }

    /// Every field name of `kind`.
    pub(crate) async fn fields(&self, kind: &str) -> Result<Vec<String>, WaStoreError> {
        Ok(redis::cmd("HKEYS")
            .arg(self.scope.keys.hash(kind))
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Deletes every key of the session's WhatsApp state (logout, delete); returns how many.
    /// The worker's store does the same inside its own fenced deletes (`crate::store::writes`).
    ///
    /// # Errors
    /// [`WaStoreError::Fenced`] (nothing deleted), Redis errors.
    pub async fn purge(&self) -> Result<usize, WaStoreError> {
        let found =
            crate::store::scan_matching(&mut self.conn.clone(), &self.scope.keys.pattern()).await?;
        let mut batch = Batch::default();
        for key in &found {
            batch.delete_key(key.clone());
        }
        self.apply(batch).await?;
        Ok(found.len())
    }
}

/// Parses a JSON value of `kind`.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    kind: &str,
    plain: &[u8],
) -> Result<T, WaStoreError> {
    serde_json::from_slice(plain).map_err(|e| WaStoreError::Corrupt {
        what: kind.to_owned(),
        detail: e.to_string(),
    })
}

/// Converts a stored plain value to a fixed-size array.
pub(crate) fn array<const N: usize>(kind: &str, plain: &[u8]) -> Result<[u8; N], WaStoreError> {
    plain.try_into().map_err(|_| WaStoreError::Corrupt {
        what: kind.to_owned(),
        detail: format!("{} bytes, expected {N}", plain.len()),
    })
}
