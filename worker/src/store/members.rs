//! The gateway's members in Redis: the heartbeat (score in the members set, self-description
//! with a TTL), the live members since a cutoff, pruning of stale ones, and leaving.

use super::{Store, StoreError};
use redis::AsyncCommands;
use wagw_common::GatewayId;

impl Store {
    /// Records this worker as alive and describes it.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn heartbeat(
        &self,
        gw: &GatewayId,
        worker: &str,
        now_ms: i64,
        info: &str,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.zadd(self.keys.members(gw), worker, now_ms)
            .ignore()
            .set_options(
                self.keys.member_info(gw, worker),
                info,
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(ttl_ms)),
            )
            .ignore();
        let () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Every member with a heartbeat at or after `cutoff_ms`, with its heartbeat.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn members_since(
        &self,
        gw: &GatewayId,
        cutoff_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let entries: Vec<(String, i64)> = self
            .conn()
            .zrangebyscore_withscores(self.keys.members(gw), cutoff_ms, "+inf")
            .await?;
        Ok(entries)
    }

    /// Removes the members whose last heartbeat is older than `cutoff_ms`, and their
    /// self-descriptions; returns how many went.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn prune_members(&self, gw: &GatewayId, cutoff_ms: i64) -> Result<usize, StoreError> {
        let key = self.keys.members(gw);
        let below = format!("({cutoff_ms}");
        let mut conn = self.conn();
        let stale: Vec<String> = conn.zrangebyscore(&key, "-inf", &below).await?;
        if stale.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for member in &stale {
            pipe.del(self.keys.member_info(gw, member)).ignore();
        }
        pipe.zrembyscore(&key, "-inf", &below).ignore();
        let () = pipe.query_async(&mut conn).await?;
        Ok(stale.len())
    }

    /// Removes this worker from the gateway's members.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn leave(&self, gw: &GatewayId, worker: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let _: i64 = conn.zrem(self.keys.members(gw), worker).await?;
        let _: i64 = conn.del(self.keys.member_info(gw, worker)).await?;
        Ok(())
    }
}
