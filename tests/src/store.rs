//! Peeking into Redis through the shared key layout (`wagw_common::keys`), to check what the
//! API cannot show: credentials destroyed, rows and index entries removed.

use crate::app::TestApp;
use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, OrganizationId, SessionId};

/// The Redis keys of one session, as `wagw_common::keys` names them.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    pub id: String,
    pub row: String,
    pub credentials: String,
    pub shard_index: String,
    pub org_index: String,
}

impl TestApp {
    /// The keys of session `id` of `org` on gateway `gw` (shard count from the test options).
    pub fn session_keys(&self, gw: &str, org: &str, id: &str) -> SessionKeys {
        let gw = GatewayId::parse(gw).expect("test gateway ids are valid");
        let org = OrganizationId::parse(org).expect("test org ids are valid");
        let session = SessionId::parse(id).unwrap_or_else(|_| panic!("{id:?} is not a session id"));
        let shard = ShardRef::of_session(&gw, &session, self.options.shards);
        SessionKeys {
            id: id.to_owned(),
            row: self.keys.session(&shard, &session),
            credentials: self.keys.credentials(&shard, &session),
            shard_index: self.keys.shard_sessions(&shard),
            org_index: self.keys.org_sessions(&shard, &org),
        }
    }

    /// `EXISTS key`.
    pub async fn redis_exists(&self, key: &str) -> bool {
        let mut redis = self.redis.clone();
        let found: redis::RedisResult<bool> =
            redis::cmd("EXISTS").arg(key).query_async(&mut redis).await;
        found.unwrap_or_else(|error| panic!("EXISTS {key}: {error}"))
    }

    /// `member` is in the sorted set `key`.
    pub async fn redis_in_zset(&self, key: &str, member: &str) -> bool {
        let mut redis = self.redis.clone();
        let score: redis::RedisResult<Option<f64>> = redis::cmd("ZSCORE")
            .arg(key)
            .arg(member)
            .query_async(&mut redis)
            .await;
        score
            .unwrap_or_else(|error| panic!("ZSCORE {key}: {error}"))
            .is_some()
    }
}
