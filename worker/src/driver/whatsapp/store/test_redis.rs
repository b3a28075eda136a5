//! Test-only: a private `redis-server` ([`RedisProcess`]) with a shard lease, and backends on it.

use super::{RedisBackend, Scope, StateKey, WaKeys};
use crate::store::test_redis::RedisProcess;
use redis::aio::ConnectionManager;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, SessionId};

/// The lease token the tests hold.
pub const TOKEN: &str = "worker-a 1";

/// One Redis for one test, with a shard lease held by [`TOKEN`].
pub struct TestRedis {
    pub conn: ConnectionManager,
    pub keys: Keys,
    pub shard: ShardRef,
    /// Last, so the connection goes before the server does.
    _process: RedisProcess,
}

impl TestRedis {
    pub async fn start() -> Self {
        let process = RedisProcess::start();
        let client = redis::Client::open(process.url()).expect("url");
        let conn = ConnectionManager::new(client).await.expect("connects");
        let redis = Self {
            conn,
            keys: Keys::new("wagwtest").expect("valid prefix"),
            shard: ShardRef::new(GatewayId::parse("gw-t").expect("valid"), 5),
            _process: process,
        };
        redis.set_lease(TOKEN).await;
        redis
    }

    pub async fn set_lease(&self, token: &str) {
        let _: () = redis::cmd("SET")
            .arg(self.keys.lease(&self.shard))
            .arg(token)
            .query_async(&mut self.conn.clone())
            .await
            .expect("SET lease");
    }

    /// A backend of `session` writing with `token`, sealing with `key`.
    pub fn backend(&self, session: &SessionId, token: &str, key: [u8; 32]) -> RedisBackend {
        let scope = Scope {
            keys: WaKeys::new(&self.keys, &self.shard, session),
            lease_key: self.keys.lease(&self.shard),
            token: token.to_owned(),
        };
        RedisBackend::new(self.conn.clone(), scope, StateKey::from_bytes(key))
    }

    /// Every key in the database, except the lease.
    pub async fn state_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut self.conn.clone())
            .await
            .expect("KEYS");
        keys.retain(|k| *k != self.keys.lease(&self.shard));
        keys.sort();
        keys
    }
}
