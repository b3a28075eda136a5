//! Redis I/O of the worker: reads of rows and credentials, and the fenced Lua scripts that are
//! the only way this worker writes session state (see [`writes`]) or holds leases (see [`lease`]).

pub mod lease;
pub mod members;
pub mod messages;
pub mod pairing;
mod scripts;
#[cfg(test)]
pub(crate) mod test_redis;
#[cfg(test)]
mod tests;
pub mod wa_state;
pub mod writes;

pub use wa_state::scan_matching;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, Session, SessionId};

use crate::driver::Credentials;

/// How long one Redis command may take; redis 1.8 would otherwise give up after 500 ms.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long opening a Redis connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a store call failed; callers branch on [`StoreError::Fenced`] to drop the shard.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The shard's lease is no longer ours: another worker owns the session now.
    #[error("the lease of shard {0} is no longer held by this worker")]
    Fenced(u32),
    /// Redis is unreachable, slow, or refused the command.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored value does not parse; a bug or a foreign writer.
    #[error("unreadable {what} at {key}: {source}")]
    Corrupt {
        what: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Proof of ownership carried by every write: the shard and its lease value `<me> <epoch>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub shard: u32,
    pub token: String,
}

/// The worker's handle on Redis; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    keys: Keys,
    gateway: GatewayId,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.keys)
            .field("gateway", &self.gateway)
            .finish()
    }
}

/// A Redis connection with explicit connection and response timeouts, reconnecting itself.
///
/// # Errors
/// A bad URL, or Redis unreachable within the retries of the connection manager.
pub async fn connection_manager(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_with_config(client, config).await
}

impl Store {
    /// Connects with explicit connection and response timeouts.
    ///
    /// # Errors
    /// A bad URL, or Redis unreachable within the retries of the connection manager.
    pub async fn connect(url: &str, keys: Keys, gateway: GatewayId) -> Result<Self, StoreError> {
        let conn = connection_manager(url).await?;
        Ok(Self {
            conn,
            keys,
            gateway,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn shard_ref(&self, shard: u32) -> ShardRef {
        ShardRef::new(self.gateway.clone(), shard)
    }

    /// Records `wanted` as the gateway's shard count unless one is recorded; returns the
    /// recorded one.
    ///
    /// # Errors
    /// Redis errors, or a recorded value that is not a shard count.
    pub async fn init_shard_count(&self, wanted: u32) -> anyhow::Result<u32> {
        let key = self.keys.shard_count(&self.gateway);
        let mut conn = self.conn();
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(wanted)
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        let recorded: String = conn.get(&key).await?;
        let recorded: u32 = recorded
            .parse()
            .ok()
            .filter(|n| (1..=wagw_common::shard::MAX_SHARDS).contains(n))
            .ok_or_else(|| anyhow::anyhow!("{key} holds {recorded:?}, not a shard count"))?;
        Ok(recorded)
    }

    /// The row of a session, if it exists.
    ///
    /// # Errors
    /// Redis errors, or a row that does not parse.
    pub async fn load_row(
        &self,
        shard: u32,
        id: &SessionId,
    ) -> Result<Option<Session>, StoreError> {
        let key = self.keys.session(&self.shard_ref(shard), id);
        self.get_json(key, "session row").await
    }

    /// The JSON value at `key` (`what` names it in errors), if there is one.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        what: &'static str,
    ) -> Result<Option<T>, StoreError> {
        let json: Option<String> = self.conn().get(&key).await?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|source| StoreError::Corrupt { what, key, source })
        })
        .transpose()
    }

    /// The stored credentials of a paired session.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn load_credentials(
        &self,
        shard: u32,
        id: &SessionId,
    ) -> Result<Option<Credentials>, StoreError> {
        let key = self.keys.credentials(&self.shard_ref(shard), id);
        let bytes: Option<Vec<u8>> = self.conn().get(&key).await?;
        Ok(bytes.map(Credentials))
    }

    /// Every session id of a shard, oldest first.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn shard_session_ids(&self, shard: u32) -> Result<Vec<SessionId>, StoreError> {
        let key = self.keys.shard_sessions(&self.shard_ref(shard));
        let members: Vec<String> = self.conn().zrange(&key, 0, -1).await?;
        // A member that is not a session id is someone else's garbage; skip it.
        Ok(members
            .iter()
            .filter_map(|m| SessionId::parse(m).ok())
            .collect())
    }
}
