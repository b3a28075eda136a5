//! Shard leases in Redis: pipelined acquisition and renewal, and release, all by Lua script so
//! that a lease is only ever extended or deleted by the holder of its exact `<me> <epoch>`.

use super::scripts::{ACQUIRE_LEASE, RELEASE_LEASE, RENEW_LEASE};
use super::{Fence, Store, StoreError};
use redis::AsyncCommands;
use wagw_common::GatewayId;

impl Store {
    /// Tries to acquire every shard in `shards` in one round trip; returns the epoch of each
    /// one won.
    ///
    /// # Errors
    /// Redis errors; then nothing is known to be acquired (a won lease simply expires).
    pub async fn acquire_leases(
        &self,
        shards: &[u32],
        me: &str,
        lease_ms: u64,
    ) -> Result<Vec<(u32, i64)>, StoreError> {
        if shards.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for shard in shards {
            let shard = self.shard_ref(*shard);
            pipe.cmd("EVAL")
                .arg(ACQUIRE_LEASE)
                .arg(2)
                .arg(self.keys.lease(&shard))
                .arg(self.keys.epoch(&shard))
                .arg(me)
                .arg(lease_ms);
        }
        let epochs: Vec<Option<i64>> = pipe.query_async(&mut self.conn()).await?;
        Ok(shards
            .iter()
            .zip(epochs)
            .filter_map(|(shard, epoch)| epoch.map(|epoch| (*shard, epoch)))
            .collect())
    }

    /// Extends every lease in `fences` in one round trip; returns, per fence, whether it is
    /// still ours.
    ///
    /// # Errors
    /// Redis errors; then the leases' state is unknown.
    pub async fn renew_leases(
        &self,
        fences: &[Fence],
        lease_ms: u64,
    ) -> Result<Vec<(u32, bool)>, StoreError> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for fence in fences {
            pipe.cmd("EVAL")
                .arg(RENEW_LEASE)
                .arg(1)
                .arg(self.keys.lease(&self.shard_ref(fence.shard)))
                .arg(&fence.token)
                .arg(lease_ms);
        }
        let renewed: Vec<i64> = pipe.query_async(&mut self.conn()).await?;
        Ok(fences
            .iter()
            .zip(renewed)
            .map(|(fence, ok)| (fence.shard, ok == 1))
            .collect())
    }

    /// Deletes our lease so another worker can take the shard at once.
    ///
    /// # Errors
    /// Redis errors; the lease then expires by itself.
    pub async fn release_lease(&self, fence: &Fence) -> Result<bool, StoreError> {
        let released: i64 = RELEASE_LEASE
            .key(self.keys.lease(&self.shard_ref(fence.shard)))
            .arg(&fence.token)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(released == 1)
    }

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
