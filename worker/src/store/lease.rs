//! Shard leases in Redis: pipelined acquisition and renewal, and release, all by Lua script so
//! that a lease is only ever extended or deleted by the holder of its exact `<me> <epoch>`.

use super::scripts::{ACQUIRE_LEASE, RELEASE_LEASE, RELEASE_LEASE_LUA, RENEW_LEASE};
use super::{Fence, Store, StoreError};

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

    /// Deletes every lease in `fences` that is still ours, in one round trip; returns per
    /// fence whether it was.
    ///
    /// # Errors
    /// Redis errors; the leases then expire by themselves.
    pub async fn release_leases(&self, fences: &[Fence]) -> Result<Vec<bool>, StoreError> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for fence in fences {
            pipe.cmd("EVAL")
                .arg(RELEASE_LEASE_LUA)
                .arg(1)
                .arg(self.keys.lease(&self.shard_ref(fence.shard)))
                .arg(&fence.token);
        }
        let released: Vec<i64> = pipe.query_async(&mut self.conn()).await?;
        Ok(released.into_iter().map(|r| r == 1).collect())
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
}
